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


def test_knn_in_index_merges_the_full_runs_faiss_index_with_the_later_parts(tmp_path) -> None:
    """New ads are searched in the full run's HNSW index (part 0, saved and read back) and
    exactly among the later parts and themselves: the nearest of both, as one search of
    everything would find them."""
    import faiss

    from ownergraph.linking.stylometry.attach import AuthorIndex, knn_in_index, read_ann
    from ownergraph.linking.stylometry.candidates import CandidateSearch, hnsw_index

    rng = np.random.default_rng(3)
    unit = lambda x: (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)  # noqa: E731
    part0, part1, new = (unit(rng.standard_normal((n, 16))) for n in (3_000, 200, 100))
    faiss.omp_set_num_threads(1)  # a deterministic graph
    faiss.write_index(hnsw_index(part0), str(tmp_path / "a.faiss"))
    search = CandidateSearch(n_threads=1)
    ids = [str(i) for i in range(3_200)]
    index = AuthorIndex(search, ids, [part0, part1], None, ann=read_ann(tmp_path / "a.faiss"))
    idx, sim = knn_in_index(index, new, 10)
    everything = np.vstack([part0, part1, new])
    want, want_sim = exact_knn(new, everything, 10)
    assert idx.shape == (100, 10) and (np.diff(sim, axis=1) <= 1e-6).all()
    found = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(idx, want, strict=True)])
    assert found >= 0.99, found  # HNSW at efSearch 96 over 3,000 points
    assert all(3_200 + i in row for i, row in enumerate(idx))  # each new ad finds itself
    assert read_ann(tmp_path / "none.faiss") is None


def test_index_take_reads_rows_across_saved_parts_without_stacking_them(tmp_path) -> None:
    """A daily run reads the old ads' features from every saved part (the full run's, then
    one per day), memory-mapped: the rows it takes equal those of the parts stacked, and
    the parts stay separate, so a later day never copies all old features into memory."""
    from ownergraph.linking.stylometry.attach import AuthorIndex
    from ownergraph.linking.stylometry.candidates import CandidateSearch
    from ownergraph.linking.stylometry.features import AdFeatures, StyleVectorizer

    rng = np.random.default_rng(11)
    words = ["sweet", "new", "in", "town", "call", "me", "!!", "xoxo", "gfe", "incall", "$$"]
    texts = [" ".join(rng.choice(words, 12)) + f" no. {i}" for i in range(300)]
    vec = StyleVectorizer().fit(texts)
    whole = vec.transform(texts)
    emb = rng.standard_normal((300, 4)).astype(np.float32)
    cuts = [(0, 200), (200, 260), (260, 300)]
    for p, (lo, hi) in enumerate(cuts):
        rows = np.arange(lo, hi)
        part = AuthorIndex(
            CandidateSearch(), [str(i) for i in rows], [emb[lo:hi]], [whole.take(rows)]
        )
        part.save(tmp_path, part=p or None)  # part 0 (the full run's) writes the search too
    index = AuthorIndex.load(tmp_path)
    assert [len(f) for f in index.feats] == [200, 60, 40]  # loaded as parts, not stacked
    assert isinstance(index.feats[0].style, np.memmap)
    for rows in (np.array([3, 150, 199, 200, 259, 260, 299]), np.array([201, 250]), np.arange(0)):
        got, want = index.take(rows), whole.take(rows)
        assert len(got) == len(rows)
        np.testing.assert_array_equal(got.style, want.style)
        for k in want.views:
            assert (got.views[k] != want.views[k]).nnz == 0, k
    assert (
        AdFeatures.concat([index.take(np.array([1])), whole.take(np.array([2]))]).style.shape[0]
        == 2
    )
