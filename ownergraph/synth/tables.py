"""A synthetic world's files read back as the tables the linking code takes.

For evaluation and benchmarks that run the matcher without a store: the ads with their
``posted_ts`` (epoch seconds), the Bitcoin tables, the processor addresses, the rates
and the price table the world was generated with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ownergraph.linking.prices import PriceTable
from ownergraph.loaders.bitcoin import BitcoinTables, load_bitcoin, read_processors
from ownergraph.loaders.rates import RateTable


@dataclass(frozen=True)
class WorldTables:
    ads: pd.DataFrame
    bitcoin: BitcoinTables
    processors: list[str]
    rates: RateTable
    prices: PriceTable


def read_world_tables(world: str | Path) -> WorldTables:
    """Read ``ads.jsonl``, ``bitcoin/``, ``rates.csv`` and ``prices.json`` of a world."""
    world = Path(world)
    ads = pd.read_json(world / "ads.jsonl", lines=True, dtype={"id": str})
    posted = pd.to_datetime(ads["posted_at"], utc=True, format="ISO8601")
    ads["posted_ts"] = (posted - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    bitcoin = world / "bitcoin"
    return WorldTables(
        ads=ads,
        bitcoin=load_bitcoin(
            [bitcoin / "blocks.jsonl"], mempool=[bitcoin / "mempool_first_seen.csv"]
        ),
        processors=read_processors(bitcoin / "processor_addresses.txt"),
        rates=RateTable.from_csv(world / "rates.csv"),
        prices=PriceTable.from_json(world / "prices.json"),
    )
