"""The exact neighbour search that links new ads to a saved author index."""

from __future__ import annotations

import numpy as np

from ownergraph.linking.stylometry.attach import exact_knn


def test_exact_knn_finds_the_brute_force_neighbours() -> None:
    rng = np.random.default_rng(7)
    base = rng.standard_normal((2_000, 32)).astype(np.float32)
    query = np.vstack([base[:5], rng.standard_normal((45, 32)).astype(np.float32)])
    idx, sim = exact_knn(query, base, 10)
    full = query @ base.T
    want = np.argsort(-full, axis=1)[:, :10]
    assert all(i in row for i, row in enumerate(idx[:5]))  # an indexed ad finds itself
    assert idx.dtype == np.int64 and idx.shape == (50, 10)
    assert [set(r) for r in idx] == [set(r) for r in want]  # continuous values: no ties
    np.testing.assert_allclose(
        np.sort(sim, axis=1), np.sort(np.take_along_axis(full, want, 1), axis=1), rtol=1e-4
    )


def test_exact_knn_caps_k_at_the_base_size() -> None:
    base = np.eye(3, dtype=np.float32)
    idx, _ = exact_knn(base, base, 10)
    assert idx.shape == (3, 3) and (idx >= 0).all()
