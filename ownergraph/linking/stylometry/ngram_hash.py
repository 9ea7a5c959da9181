"""Hashed character n-gram counts inside word boundaries, vectorised with numpy.

``char_wb_counts(texts, (lo, hi), n_features)`` returns exactly what scikit-learn's
``HashingVectorizer(analyzer="char_wb", ngram_range=(lo, hi), lowercase=False,
n_features=n_features, alternate_sign=False, norm=None, dtype=float32).transform(texts)``
returns (the same n-grams of each whitespace-separated word padded with one space on
either side, the same MurmurHash3 of their UTF-8 bytes, the same column and count), but
builds and hashes the n-grams of a batch of texts as arrays instead of one Python string
at a time: the ``char`` and ``title`` views took ~0.35 ms an ad of the ~0.76 ms of all
features; see ``tests/test_ngram_hash.py`` for the equality checks and
``benchmarks/bench_authors_stage.py`` for the stage's figures.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import scipy.sparse as sp

_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)
_M5, _N1 = np.uint32(5), np.uint32(0xE6546B64)
_F1, _F2 = np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35)
_TAIL = np.array([0, 0xFF, 0xFFFF, 0xFFFFFF], dtype=np.uint32)


@lru_cache(maxsize=1)
def _space_table() -> np.ndarray:
    """True for the code points ``str.split()`` splits on (all lie below U+3001)."""
    table = np.zeros(0x110000, dtype=bool)
    table[[c for c in range(0x3001) if chr(c).isspace()]] = True
    return table


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def murmur3_32(data: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """MurmurHash3 (x86, 32 bit, seed 0), as signed int32 (what
    ``sklearn.utils.murmurhash3_32`` gives for bytes), of the byte strings
    ``data[start[i] : start[i] + length[i]]`` (``data``: uint8)."""
    width = 4 * (int(length.max(initial=0)) // 4 + 1)
    buf = np.concatenate([data.astype(np.uint32), np.zeros(width + 3, dtype=np.uint32)])
    # the little-endian 32-bit word at every byte offset
    word = buf[:-3] | (buf[1:-2] << 8) | (buf[2:-1] << 16) | (buf[3:] << 24)
    nblocks = (length >> 2).astype(np.int64)
    h = np.zeros(len(start), dtype=np.uint32)
    # rows by falling block count: block i is hashed for the first live[i] rows only
    order = np.argsort(-nblocks, kind="stable")
    live = np.bincount(nblocks, minlength=width // 4)[::-1].cumsum()[::-1]
    with np.errstate(over="ignore"):
        for i in range(1, width // 4):
            rows = order[: live[i]]
            if len(rows) == 0:
                break
            k = word[start[rows] + 4 * (i - 1)] * _C1
            k = _rotl(k, 15) * _C2
            h[rows] = _rotl(h[rows] ^ k, 13) * _M5 + _N1
        # the tail: the 0-3 bytes after the last full block (none: a zero word, which
        # leaves h unchanged, as the reference's switch does)
        tail = word[start + 4 * nblocks] & _TAIL[length & 3]
        h ^= _rotl(tail * _C1, 15) * _C2
        h ^= length.astype(np.uint32)
        h ^= h >> np.uint32(16)
        h *= _F1
        h ^= h >> np.uint32(13)
        h *= _F2
        h ^= h >> np.uint32(16)
    return h.view(np.int32)


def _batch_grams(texts: list[str], lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes (int32) and text rows of every char_wb n-gram of ``texts``."""
    joined = "\n".join(texts)  # a separator that is whitespace: no n-gram crosses it
    cp = np.frombuffer(joined.encode("utf-32-le"), dtype="<u4").astype(np.uint32)
    ws = _space_table()[cp]
    lens = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
    row_of = np.repeat(np.arange(len(texts), dtype=np.int64), lens)[: len(cp)]
    prev_ws = np.r_[True, ws[:-1]]
    next_ws = np.r_[ws[1:], True]
    starts = np.flatnonzero(~ws & prev_ws)
    ends = np.flatnonzero(~ws & next_ws) + 1
    wl = ends - starts
    plen = wl + 2  # " " + word + " "
    pstart = np.cumsum(plen) - plen
    padded = np.full(int(plen.sum()), 32, dtype=np.uint32)
    chars = np.flatnonzero(~ws)
    wid = np.repeat(np.arange(len(wl)), wl)
    padded[chars - starts[wid] + pstart[wid] + 1] = cp[chars]
    word_row = row_of[starts]
    # UTF-8 of the padded words, and each code point's byte offset in it
    utf8 = np.frombuffer(padded.tobytes().decode("utf-32-le").encode("utf-8"), dtype=np.uint8)
    blen = 1 + (padded >= 0x80) + (padded >= 0x800) + (padded >= 0x10000)
    boff = np.r_[0, np.cumsum(blen)]
    g_start, g_len, g_row = [], [], []
    for n in range(lo, hi + 1):
        # sklearn: a padded word longer than n gives its n-grams; one of length n (or
        # shorter than the smallest n) counts once, whole, and ends the word's n-grams
        many = plen > n
        cnt = plen[many] - n + 1
        first = np.repeat(pstart[many], cnt)
        off = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        g_start += [first + off]
        g_len += [np.full(len(first), n, dtype=np.int64)]
        g_row += [np.repeat(word_row[many], cnt)]
        whole = (plen == n) | ((plen < n) & (n == lo))
        g_start += [pstart[whole]]
        g_len += [plen[whole]]
        g_row += [word_row[whole]]
    s = np.concatenate(g_start)
    e = s + np.concatenate(g_len)
    return murmur3_32(utf8, boff[s], boff[e] - boff[s]), np.concatenate(g_row)


def _windows(texts: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes (int32) and text rows of every ``k``-character window of each whole text
    (the whole text, even empty, when it is at most ``k`` long)."""
    cp_len = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    joined = "".join(texts)
    cp = np.frombuffer(joined.encode("utf-32-le"), dtype="<u4")
    utf8 = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)
    blen = 1 + (cp >= 0x80) + (cp >= 0x800) + (cp >= 0x10000)
    boff = np.r_[0, np.cumsum(blen)]
    tstart = np.cumsum(cp_len) - cp_len
    cnt = np.where(cp_len > k, cp_len - k + 1, 1)
    off = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    s = np.repeat(tstart, cnt) + off
    e = s + np.repeat(np.minimum(cp_len, k), cnt)
    rows = np.repeat(np.arange(len(texts), dtype=np.int64), cnt)
    return murmur3_32(utf8, boff[s], boff[e] - boff[s]), rows


def _hashed_csr(
    h: np.ndarray, r: np.ndarray, n_texts: int, n_features: int, dtype: type, binary: bool
) -> sp.csr_matrix:
    """CSR counts (or ones, ``binary``) of hashed features ``h`` of rows ``r``."""
    col = np.abs(h.astype(np.int64)) % n_features  # abs(-2**31) % n, as sklearn defines it
    x = sp.csr_matrix((np.ones(len(col), dtype=dtype), (r, col)), shape=(n_texts, n_features))
    x.sum_duplicates()
    x.sort_indices()
    if binary:
        x.data.fill(1)
    return x


def _batched(
    texts: list[str], batch: int, grams: Any, n_features: int, dtype: type, binary: bool
) -> sp.csr_matrix:
    """Row-stack the CSR matrices of batches of ``batch`` texts (``grams(batch_texts)``
    gives hashes and batch rows): each batch's n-grams are counted into a small CSR
    matrix at once, so the transient memory is one batch's, not all n-grams'."""
    parts = []
    for s in range(0, len(texts), batch):
        chunk = list(texts[s : s + batch])
        h, r = grams(chunk)
        parts.append(_hashed_csr(h, r, len(chunk), n_features, dtype, binary))
        del h, r
    # stacked into preallocated arrays, each part released once copied
    nnz = sum(p.nnz for p in parts)
    idx_t = np.int32 if max(nnz, n_features) < 2**31 - 1 else np.int64
    data = np.empty(nnz, dtype=dtype)
    indices = np.empty(nnz, dtype=idx_t)
    indptr = np.zeros(len(texts) + 1, dtype=idx_t)
    r = e = 0
    parts.reverse()
    while parts:
        p = parts.pop()
        data[e : e + p.nnz] = p.data
        indices[e : e + p.nnz] = p.indices
        indptr[r + 1 : r + p.shape[0] + 1] = p.indptr[1:] + e
        r, e = r + p.shape[0], e + p.nnz
        del p
    return sp.csr_matrix((data, indices, indptr), shape=(len(texts), n_features))


def char_wb_counts(
    texts: list[str],
    ngram_range: tuple[int, int],
    n_features: int,
    dtype: type = np.float32,
    batch: int = 500,
) -> sp.csr_matrix:
    """Counts of hashed char_wb n-grams per text (see the module docstring), computed in
    batches of ``batch`` texts (~45 MB of transient arrays each; the peak is about
    the result plus one batch, as for scikit-learn's path)."""
    lo, hi = ngram_range
    return _batched(texts, batch, lambda t: _batch_grams(t, lo, hi), n_features, dtype, False)


def char_window_sets(
    texts: list[str], k: int, n_features: int, dtype: type = np.float32, batch: int = 500
) -> sp.csr_matrix:
    """Binary hashed sets of each text's ``k``-character windows (the whole text when it
    is at most ``k`` long): ``HashingVectorizer(analyzer=<those windows>, binary=True,
    alternate_sign=False, norm=None)``'s matrix."""
    return _batched(texts, batch, lambda t: _windows(t, k), n_features, dtype, True)
