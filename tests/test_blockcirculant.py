"""The float golden block-circulant product against dense matrices built with scipy.linalg."""

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st

from golden import blockcirculant as bc

REL = 1e-9


def dense_reference(w, m, n):
    """Block matrix of scipy.linalg.circulant blocks, cut to m x n (independent of to_dense)."""
    p, q, _ = w.shape
    full = np.block([[scipy.linalg.circulant(w[i, j]) for j in range(q)] for i in range(p)])
    return full[:m, :n]


shapes = st.tuples(
    st.sampled_from([1, 2, 4, 8, 16, 32]),  # k
    st.integers(1, 70),  # m
    st.integers(1, 70),  # n
    st.integers(1, 5),  # batch
    st.integers(0, 2**32 - 1),  # seed
)


def rel_err(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)


@given(shapes)
def test_product_equals_dense(case):
    k, m, n, batch, seed = case
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(bc.block_grid(m, n, k) + (k,))
    x = rng.standard_normal((batch, n))
    ref = x @ dense_reference(w, m, n).T
    assert rel_err(bc.bc_matmul(w, x, m), ref) < REL


@given(shapes)
def test_batched_leading_axes(case):
    k, m, n, batch, seed = case
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(bc.block_grid(m, n, k) + (k,))
    x = rng.standard_normal((batch, 3, n))
    y = bc.bc_matmul(w, x, m)
    assert y.shape == (batch, 3, m)
    assert rel_err(y, np.einsum("mn,bcn->bcm", dense_reference(w, m, n), x)) < REL


@given(shapes)
def test_to_dense_matches_scipy(case):
    k, m, n, _, seed = case
    w = np.random.default_rng(seed).standard_normal(bc.block_grid(m, n, k) + (k,))
    np.testing.assert_array_equal(bc.to_dense(w, (m, n)), dense_reference(w, m, n))


@given(shapes)
def test_projection_residual_is_orthogonal(case):
    k, m, n, _, seed = case
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, n))
    residual = a - bc.to_dense(bc.project(a, k), (m, n))
    for _ in range(3):
        other = bc.to_dense(rng.standard_normal(bc.block_grid(m, n, k) + (k,)), (m, n))
        assert abs(np.sum(residual * other)) <= 1e-9 * np.linalg.norm(a) * np.linalg.norm(other)


@given(shapes)
def test_projection_is_idempotent_and_no_worse_than_others(case):
    k, m, n, _, seed = case
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, n))
    w = bc.project(a, k)
    approx = bc.to_dense(w, (m, n))
    assert rel_err(bc.to_dense(bc.project(approx, k), (m, n)), approx) < REL
    err = np.linalg.norm(a - approx)
    for _ in range(3):  # any perturbation within the subspace is farther away
        other = bc.to_dense(w + 0.1 * rng.standard_normal(w.shape), (m, n))
        assert np.linalg.norm(a - other) >= err - 1e-12


def test_projection_recovers_block_circulant():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((3, 5, 8))
    np.testing.assert_allclose(bc.project(bc.to_dense(w), 8), w, rtol=0, atol=1e-12)


@given(shapes)
def test_backward_matches_dense_gradients(case):
    k, m, n, batch, seed = case
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(bc.block_grid(m, n, k) + (k,))
    x = rng.standard_normal((batch, n))
    dy = rng.standard_normal((batch, m))
    dw, dx = bc.bc_backward(w, x, dy)
    d = dense_reference(w, m, n)
    assert rel_err(dx, dy @ d) < REL
    # dL/dW for the dense matrix, projected onto the weights: each w[i,j,t] appears at the
    # (r, s) with (r - s) % k == t of block (i, j), so its gradient sums those entries.
    g_dense = np.zeros((w.shape[0] * k, w.shape[1] * k))
    g_dense[:m, :n] = dy.T @ x
    expected = bc.project(g_dense, k) * k  # diagonal sums = k * diagonal means
    assert rel_err(dw, expected) < REL


def test_backward_finite_differences():
    rng = np.random.default_rng(7)
    w = rng.standard_normal((2, 3, 4))
    x = rng.standard_normal((5, 11))
    dy = rng.standard_normal((5, 7))
    dw, dx = bc.bc_backward(w, x, dy)
    loss = lambda w_, x_: np.sum(dy * bc.bc_matmul(w_, x_, 7))
    eps = 1e-6
    for idx in [(0, 0, 0), (1, 2, 3), (0, 1, 2)]:
        wp, wm = w.copy(), w.copy()
        wp[idx] += eps
        wm[idx] -= eps
        assert (loss(wp, x) - loss(wm, x)) / (2 * eps) == pytest.approx(dw[idx], rel=1e-6)
    for idx in [(0, 0), (4, 10), (2, 5)]:
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        assert (loss(w, xp) - loss(w, xm)) / (2 * eps) == pytest.approx(dx[idx], rel=1e-6)


@pytest.mark.parametrize("k", [0, 3, 6, -4, 2.0, "8", True])
def test_block_size_validation(k):
    with pytest.raises(ValueError, match="power of two"):
        bc.check_block_size(k)


def test_parameter_count():
    assert bc.parameter_count(4096, 4096, 64) == 4096 * 4096 // 64
    assert bc.parameter_count(10, 13, 4) == 3 * 4 * 4
