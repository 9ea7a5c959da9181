"""Products of row pairs of one CSR matrix: the cosine, largest term product and term-set
Jaccard that pair scoring reads for every candidate pair.

One compiled pass (numba, no GIL held) per chunk of pairs: row ``a[k]`` is scattered into
a dense buffer once for its run of pairs (the pairs are grouped by their first row), and
row ``b[k]`` is read against it. The SciPy way (gather ``x[a]`` and
``x[b]``, element-wise product, row sums and maxima) copies both rows of every pair;
``benchmarks/bench_pair_features.py`` prints both side by side. The results are the same
to the bit: the products are summed in ``b``'s column order as SciPy's row sum of the
product does (``np.add.reduceat``: the first term plus NumPy's pairwise float32 sum of
the rest), and only non-zero products count as shared terms, as SciPy keeps only
non-zero entries of a product (``tests/test_sparse_rows.py``). Pair scoring's trees
split on these values, and near-copies sit at cosine ~1, where the last bit decides:
a float64 sum (an earlier version of this pass) moved 24 % more pairs above the
operating threshold of a 100k-ad run.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp


@numba.njit(nogil=True, cache=True)
def _block_sum(buf, lo, n):  # pragma: no cover
    """NumPy's pairwise sum of at most 128 float32 terms: below 8 in order, else eight
    accumulators combined as a tree, then the tail in order."""
    if n < 8:
        res = np.float32(0)
        for i in range(lo, lo + n):
            res += buf[i]
        return res
    r = buf[lo : lo + 8].copy()
    i = 8
    while i < n - n % 8:
        for j in range(8):
            r[j] += buf[lo + i + j]
        i += 8
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < n:
        res += buf[lo + i]
        i += 1
    return res


@numba.njit(nogil=True, cache=True)
def _pairwise_sum(buf, lo, n):  # pragma: no cover
    """NumPy's pairwise float32 sum of ``buf[lo:lo + n]`` (``pairwise_sum`` of its
    ``loops_utils``: blocks of at most 128 terms, above that the sum of two halves, the
    first a multiple of 8), without recursion (numba's cache and recursion do not mix)."""
    if n <= 128:
        return _block_sum(buf, lo, n)
    todo_lo = np.empty(128, np.int64)  # (lo, n, combine?) in post-order
    todo_n = np.empty(128, np.int64)
    todo_join = np.empty(128, np.bool_)
    vals = np.empty(64, np.float32)
    top, nv = 1, 0
    todo_lo[0], todo_n[0], todo_join[0] = lo, n, False
    while top:
        top -= 1
        lo_, n_, join = todo_lo[top], todo_n[top], todo_join[top]
        if join:
            vals[nv - 2] = vals[nv - 2] + vals[nv - 1]
            nv -= 1
        elif n_ <= 128:
            vals[nv] = _block_sum(buf, lo_, n_)
            nv += 1
        else:
            n2 = n_ // 2
            n2 -= n2 % 8
            for a_lo, a_n, a_join in (
                (lo_, n_, True),
                (lo_ + n2, n_ - n2, False),
                (lo_, n2, False),
            ):
                todo_lo[top], todo_n[top], todo_join[top] = a_lo, a_n, a_join
                top += 1
    return vals[0]


@numba.njit(nogil=True, cache=True)
def _pair_products(indptr, indices, data, n_cols, width, a, b, cos, top, inter):  # pragma: no cover
    dense = np.zeros(n_cols, dtype=np.float32)
    buf = np.empty(max(width, 1), dtype=np.float32)
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
        m = np.float32(0)
        n = 0
        for j in range(indptr[rb], indptr[rb + 1]):
            p = dense[indices[j]] * data[j]
            if p != 0:
                buf[n] = p
                n += 1
                if p > m:
                    m = p
        # the row sum as SciPy takes it: np.add.reduceat, i.e. the first term plus the
        # pairwise sum of the others
        cos[k] = buf[0] + _pairwise_sum(buf, 1, n - 1) if n else np.float32(0)
        top[k] = m
        inter[k] = n


def _canonical(x: sp.csr_matrix) -> sp.csr_matrix:
    """``x`` as CSR with sorted, unique column indices (a copy only when it is not). The
    check runs on ``x`` itself, which caches its answer: pair scoring calls this for
    every chunk of pairs, and a scan of 1M ads' indices costs ~0.3 s each time."""
    if not sp.issparse(x) or x.format != "csr":
        x = sp.csr_matrix(x)
    if not x.has_canonical_format:
        x = x.copy()
        x.sum_duplicates()
    return x


def row_lengths(x: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Stored entries of each of ``rows`` of CSR ``x`` (without a pass over all rows)."""
    rows = np.asarray(rows, dtype=np.int64)
    return (x.indptr[rows + 1] - x.indptr[rows]).astype(np.int64)


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
    width = int(row_lengths(x, b).max()) if len(b) else 0  # the longest second row
    order = None
    if len(a) > 1 and (a[1:] < a[:-1]).any():  # group each first row's pairs together
        order = np.argsort(a, kind="stable")
        a, b = a[order], b[order]
    cos = np.empty(len(a), dtype=np.float32)
    top = np.empty(len(a), dtype=np.float32)
    inter = np.empty(len(a), dtype=np.int64)
    _pair_products(x.indptr, x.indices, data, x.shape[1], width, a, b, cos, top, inter)
    if order is not None:
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        cos, top, inter = cos[back], top[back], inter[back]
    return cos, top, inter
