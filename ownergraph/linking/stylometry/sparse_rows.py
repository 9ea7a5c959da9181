"""Products of row pairs of one CSR matrix: the cosine, largest term product and term-set
Jaccard that pair scoring reads for every candidate pair.

One compiled pass (numba, no GIL held) per chunk of pairs: row ``a[k]`` is scattered into
a dense buffer once for its run of pairs (the pairs are grouped by their first row), and
row ``b[k]`` is read against it. The SciPy way (gather ``x[a]`` and
``x[b]``, element-wise product, row sums and maxima) copies both rows of every pair;
``benchmarks/bench_pair_features.py`` prints both side by side. The largest product and
the count of shared terms (only non-zero products count, as SciPy keeps only non-zero
entries of a product) are the same to the bit; the sum is accumulated in float64 and
rounded to float32 once, so it can differ from SciPy's float32 row sum in the last bit
(at most 5e-7 on the demo's features; ``tests/test_sparse_rows.py``).
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp


@numba.njit(nogil=True, cache=True)
def _pair_products(indptr, indices, data, n_cols, a, b, cos, top, inter):  # pragma: no cover
    dense = np.zeros(n_cols, dtype=data.dtype)
    current = -1
    for k in range(len(a)):
        ra = a[k]
        if ra != current:
            if current >= 0:
                for j in range(indptr[current], indptr[current + 1]):
                    dense[indices[j]] = 0
            for j in range(indptr[ra], indptr[ra + 1]):
                dense[indices[j]] = data[j]
            current = ra
        rb = b[k]
        s = 0.0  # float64, as SciPy accumulates the row sum
        m = data.dtype.type(0)
        n = 0
        for j in range(indptr[rb], indptr[rb + 1]):
            p = dense[indices[j]] * data[j]
            if p != 0:
                s += np.float64(p)
                n += 1
                if p > m:
                    m = p
        cos[k] = s
        top[k] = m
        inter[k] = n


def _canonical(x: sp.csr_matrix) -> sp.csr_matrix:
    """``x`` as CSR with sorted, unique column indices (a copy only when it is not)."""
    x = sp.csr_matrix(x)
    if not x.has_canonical_format:
        x = x.copy()
        x.sum_duplicates()
    return x


def pair_products(
    x: sp.csr_matrix, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each pair ``(a[k], b[k])`` of rows of ``x``: the sum of the element-wise
    product (the cosine, for L2-normalised rows), its largest entry (0 when none) and the
    number of its non-zero entries (float32, float32, int64)."""
    x = _canonical(x)
    a = np.ascontiguousarray(a, dtype=np.int64)
    b = np.ascontiguousarray(b, dtype=np.int64)
    if len(a) != len(b):
        raise ValueError(f"pair arrays differ in length: {len(a)} and {len(b)}")
    n = x.shape[0]
    if len(a) and (min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= n):
        raise IndexError(f"row index out of range for a matrix of {n} rows")
    data = x.data.astype(np.float32, copy=False)
    order = None
    if len(a) > 1 and (a[1:] < a[:-1]).any():  # group each first row's pairs together
        order = np.argsort(a, kind="stable")
        a, b = a[order], b[order]
    cos = np.empty(len(a), dtype=np.float32)
    top = np.empty(len(a), dtype=np.float32)
    inter = np.empty(len(a), dtype=np.int64)
    _pair_products(x.indptr, x.indices, data, x.shape[1], a, b, cos, top, inter)
    if order is not None:
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        cos, top, inter = cos[back], top[back], inter[back]
    return cos, top, inter
