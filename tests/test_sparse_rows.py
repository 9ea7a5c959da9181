"""The compiled row-pair products against the SciPy way they replace."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from ownergraph.linking.stylometry.features import row_cosine, row_overlap
from ownergraph.linking.stylometry.sparse_rows import pair_products


def scipy_products(x: sp.csr_matrix, a: np.ndarray, b: np.ndarray):
    p = x[a].multiply(x[b]).tocsr()
    cos = np.asarray(p.sum(axis=1)).ravel()
    top = p.max(axis=1).toarray().ravel()
    return cos, top, np.diff(p.indptr)


@st.composite
def matrices_and_pairs(draw):
    n = draw(st.integers(1, 12))
    cols = draw(st.integers(1, 40))
    density = draw(st.floats(0.0, 1.0))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = sp.random(n, cols, density=density, format="csr", dtype=np.float32, rng=rng)
    x.data = np.abs(x.data) + np.float32(1e-3)
    k = draw(st.integers(0, 60))
    a = rng.integers(0, n, k)
    b = rng.integers(0, n, k)
    return x, a, b


@settings(max_examples=300, deadline=None)
@given(matrices_and_pairs())
def test_pair_products_agree_with_scipy(case):
    x, a, b = case
    cos, top, inter = pair_products(x, a, b)
    ref_cos, ref_top, ref_inter = scipy_products(x, a, b)
    np.testing.assert_array_equal(top, ref_top)
    np.testing.assert_array_equal(inter, ref_inter)
    np.testing.assert_array_equal(cos, ref_cos)
    assert cos.dtype == top.dtype == np.float32


def test_rows_not_in_canonical_form_are_summed_first():
    # row 0 holds column 2 twice (0.5 + 0.25) and unsorted columns
    x = sp.csr_matrix(
        (np.array([0.5, 0.4, 0.25], dtype=np.float32), np.array([2, 0, 2]), np.array([0, 3, 3])),
        shape=(2, 3),
    )
    x2 = sp.csr_matrix((np.array([1.0], dtype=np.float32), np.array([2]), np.array([0, 1, 1])),
                       shape=(2, 3))  # fmt: skip
    assert not x.has_canonical_format
    cos, top, inter = pair_products(x, np.array([0, 0]), np.array([0, 1]))
    np.testing.assert_allclose(cos, [0.75**2 + 0.4**2, 0.0], rtol=1e-6)
    np.testing.assert_array_equal(inter, [2, 0])
    assert pair_products(x2, np.array([0]), np.array([0]))[0][0] == 1.0


def test_row_overlap_and_cosine_read_the_products():
    x = sp.csr_matrix(np.array([[0.6, 0.8, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], np.float32))
    a, b = np.array([0, 0, 1]), np.array([1, 2, 1])
    cos, top, jac = row_overlap(x, a, b)
    np.testing.assert_allclose(cos, [0.8, 0.0, 1.0])
    np.testing.assert_allclose(top, [0.8, 0.0, 1.0])
    np.testing.assert_allclose(jac, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(row_cosine(x, a, b), cos)


def test_out_of_range_rows_and_unequal_pairs_are_refused():
    x = sp.identity(3, format="csr", dtype=np.float32)
    with pytest.raises(IndexError, match="3 rows"):
        pair_products(x, np.array([0]), np.array([3]))
    with pytest.raises(ValueError, match="differ in length"):
        pair_products(x, np.array([0, 1]), np.array([1]))


@pytest.mark.parametrize("n_terms", [1, 7, 8, 9, 128, 129, 300, 1000, 5000])
def test_long_rows_sum_as_scipy_does_to_the_bit(n_terms):
    # NumPy's pairwise summation changes its shape at 8 and 128 terms
    rng = np.random.default_rng(n_terms)
    x = sp.random(6, 6000, density=n_terms / 6000, format="csr", dtype=np.float32, rng=rng)
    x.data = rng.random(x.nnz, dtype=np.float32) + np.float32(1e-3)
    x = sp.vstack([x[1], x[1:]], format="csr")  # rows 0 and 1 alike: the last bit counts
    a, b = np.repeat(np.arange(6), 6), np.tile(np.arange(6), 6)
    cos, _, _ = pair_products(x, a, b)
    np.testing.assert_array_equal(cos, scipy_products(x, a, b)[0])
