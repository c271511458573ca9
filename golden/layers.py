"""Float reference for the non-matrix parts of a layer: im2col lowering, ReLU and 2x2 max pooling.

Layouts
-------
Activations of CONV layers are ``(batch, channels, height, width)`` (NCHW).  ``im2col`` turns
an input into patches of shape ``(batch, H_out * W_out, C_in * r * r)``: one row per output
pixel in row-major order ``(oy, ox)``, columns ordered ``(c, ky, kx)`` (channel slowest).  The
CONV filter matrix is ``C_out x (C_in * r * r)`` in the same column order, so a CONV layer is
``patches @ F.T`` reshaped back to ``(batch, C_out, H_out, W_out)``.  With a block-circulant
``F`` the product is :func:`golden.blockcirculant.bc_matmul` on the patches.

Max pooling takes non-overlapping 2x2 windows; an odd trailing row or column is dropped
(floor), as in most frameworks.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "conv_output_size",
    "im2col",
    "col2im",
    "relu",
    "relu_backward",
    "maxpool2",
    "maxpool2_backward",
]


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output height/width of a convolution; raises ValueError when it would be empty."""
    out = (size + 2 * padding - kernel) // stride + 1
    if out < 1:
        raise ValueError(
            f"convolution of size {size} with kernel {kernel}, stride {stride} and padding "
            f"{padding} has no output pixel")
    return out


def _patch_index(c: int, h: int, w: int, r: int, stride: int, padding: int):
    ho = conv_output_size(h, r, stride, padding)
    wo = conv_output_size(w, r, stride, padding)
    oy, ox = np.meshgrid(np.arange(ho), np.arange(wo), indexing="ij")
    ch, ky, kx = np.meshgrid(np.arange(c), np.arange(r), np.arange(r), indexing="ij")
    rows = oy.reshape(-1, 1) * stride + ky.reshape(1, -1)  # (HoWo, C*r*r) in padded coordinates
    cols = ox.reshape(-1, 1) * stride + kx.reshape(1, -1)
    chans = np.broadcast_to(ch.reshape(1, -1), rows.shape)
    return chans, rows, cols, ho, wo


def im2col(x: np.ndarray, r: int, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Patches of ``x`` (``(B, C, H, W)``) for an ``r x r`` kernel: ``(B, H_out*W_out, C*r*r)``."""
    x = np.asarray(x)
    b, c, h, w = x.shape
    chans, rows, cols, _, _ = _patch_index(c, h, w, r, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    return xp[:, chans, rows, cols]


def col2im(cols_grad: np.ndarray, shape: tuple[int, int, int, int], r: int, stride: int = 1,
           padding: int = 0) -> np.ndarray:
    """Adjoint of :func:`im2col`: scatter-add patch gradients back to an input of ``shape``."""
    b, c, h, w = shape
    chans, rows, cols, _, _ = _patch_index(c, h, w, r, stride, padding)
    hp, wp = h + 2 * padding, w + 2 * padding
    flat = (chans * hp + rows) * wp + cols  # index into one padded (C, Hp, Wp) image
    out = np.zeros((b, c * hp * wp), dtype=np.float64)
    gb = np.asarray(cols_grad, dtype=np.float64).reshape(b, -1)
    idx = np.broadcast_to(flat.reshape(1, -1), gb.shape)
    np.add.at(out, (np.arange(b)[:, None], idx), gb)
    out = out.reshape(b, c, hp, wp)
    return out[:, :, padding:padding + h, padding:padding + w]


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def relu_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Gradient through ReLU given its output ``y``."""
    return dy * (y > 0)


def maxpool2(x: np.ndarray) -> np.ndarray:
    """2x2 max pooling, stride 2, over the last two axes (odd remainder dropped)."""
    x = np.asarray(x)
    h2, w2 = x.shape[-2] // 2, x.shape[-1] // 2
    if h2 < 1 or w2 < 1:
        raise ValueError(f"2x2 pooling needs at least 2x2 pixels, got {x.shape[-2:]}")
    v = x[..., :2 * h2, :2 * w2].reshape(x.shape[:-2] + (h2, 2, w2, 2))
    return v.max(axis=(-3, -1))


def maxpool2_backward(x: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Gradient through :func:`maxpool2`: routed to the first maximum of each window."""
    x = np.asarray(x)
    h2, w2 = x.shape[-2] // 2, x.shape[-1] // 2
    v = x[..., :2 * h2, :2 * w2].reshape(x.shape[:-2] + (h2, 2, w2, 2))
    v = np.moveaxis(v, -3, -2).reshape(x.shape[:-2] + (h2, w2, 4))
    first = np.argmax(v, axis=-1)
    g = np.zeros_like(v, dtype=np.float64)
    np.put_along_axis(g, first[..., None], np.asarray(dy)[..., None], axis=-1)
    g = g.reshape(x.shape[:-2] + (h2, w2, 2, 2))
    g = np.moveaxis(g, -2, -3).reshape(x.shape[:-2] + (2 * h2, 2 * w2))
    out = np.zeros(x.shape, dtype=np.float64)
    out[..., :2 * h2, :2 * w2] = g
    return out
