"""A seeded synthetic world with ground truth: ads, Bitcoin payments, owners.

``generate_world(out_dir, n_ads, seed, config) -> WorldSummary`` writes it in the team's
file formats (ads JSONL, Bitcoin Core ``getblock 2`` JSON, mempool log, rates CSV) plus a
``truth/`` folder the pipeline never reads.
"""

from ownergraph.synth.config import WorldConfig
from ownergraph.synth.world import WorldSummary, generate_world

__all__ = ["WorldConfig", "WorldSummary", "generate_world"]
