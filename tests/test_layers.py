"""im2col lowering, pooling and CONV layers against direct loops and dense products."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from golden import blockcirculant as bc
from golden import layers as L
from golden.network import Layer


def direct_conv(x, f, r, stride, padding):
    """Plain loops: x (B, C, H, W), f (C_out, C, r, r)."""
    b, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - r) // stride + 1
    wo = (w + 2 * padding - r) // stride + 1
    out = np.zeros((b, f.shape[0], ho, wo))
    for oy in range(ho):
        for ox in range(wo):
            patch = xp[:, :, oy * stride:oy * stride + r, ox * stride:ox * stride + r]
            out[:, :, oy, ox] = np.einsum("bcij,ocij->bo", patch, f)
    return out


conv_cases = st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(3, 9), st.integers(3, 9),
                       st.sampled_from([1, 2, 3]), st.sampled_from([1, 2]), st.integers(0, 2),
                       st.sampled_from([1, 2, 4, 8]), st.integers(0, 2**32 - 1))


@given(conv_cases)
def test_conv_layer_equals_direct_convolution(case):
    b, c, h, w, r, stride, padding, k, seed = case
    if h + 2 * padding < r or w + 2 * padding < r:
        return
    rng = np.random.default_rng(seed)
    c_out = rng.integers(1, 12)
    weights = rng.standard_normal(bc.block_grid(c_out, c * r * r, k) + (k,))
    layer = Layer(kind="conv", k=k, weights=weights, bias=rng.standard_normal(c_out),
                  in_features=c * r * r, out_features=c_out, activation="none", pool=0,
                  in_channels=c, kernel=r, stride=stride, padding=padding)
    x = rng.standard_normal((b, c, h, w))
    f = layer.dense_matrix().reshape(c_out, c, r, r)
    ref = direct_conv(x, f, r, stride, padding) + layer.bias[None, :, None, None]
    y = layer.forward(x)
    assert y.shape == (b,) + layer.output_shape((c, h, w))
    np.testing.assert_allclose(y, ref, rtol=1e-9, atol=1e-9)


@given(conv_cases)
def test_col2im_is_adjoint_of_im2col(case):
    b, c, h, w, r, stride, padding, _, seed = case
    if h + 2 * padding < r or w + 2 * padding < r:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((b, c, h, w))
    cols = L.im2col(x, r, stride, padding)
    g = rng.standard_normal(cols.shape)
    lhs = np.sum(cols * g)
    rhs = np.sum(x * L.col2im(g, x.shape, r, stride, padding))
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-9)


def test_maxpool_and_backward():
    x = np.arange(2 * 5 * 5, dtype=float).reshape(1, 2, 5, 5)[:, :, ::-1]
    y = L.maxpool2(x)
    assert y.shape == (1, 2, 2, 2)
    for c in range(2):
        for i in range(2):
            for j in range(2):
                assert y[0, c, i, j] == x[0, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2].max()
    g = L.maxpool2_backward(x, np.ones_like(y))
    assert g.sum() == y.size
    assert np.all(g[..., 4, :] == 0) and np.all(g[..., :, 4] == 0)  # dropped odd row/column
    assert np.all((g == 0) | (x == np.repeat(np.repeat(y, 2, -1), 2, -2).max()) | (g == 1))


def test_maxpool_too_small():
    with pytest.raises(ValueError, match="at least 2x2"):
        L.maxpool2(np.zeros((1, 1, 1, 4)))


def test_conv_output_size_empty():
    with pytest.raises(ValueError, match="no output pixel"):
        L.conv_output_size(2, 5, 1, 0)
