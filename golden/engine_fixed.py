"""Bit-exact model of circnn's layer engine (``hw/layer_engine.py``): a quantized network run in
fixed point the way the hardware runs it, with per-layer tracing.

One layer, for every input vector (fc: the flattened input; conv: each output pixel's im2col
patch, see :mod:`golden.layers`), in integers throughout:

1. **Input FFTs, two real blocks per complex FFT.**  The vector (``n`` values of ``width`` bits,
   zero padded to ``2R*k``, ``R = ceil(q/2)``) is cut into blocks ``x_j``; frame ``r`` is
   ``x_{2r} + i x_{2r+1}`` and goes through the FFT engine forward
   (:func:`golden.fft_fixed.fft_fixed`, gain ``1/k`` with the default shifts): ``Z_r``.
2. **Separation** (Hermitian symmetry) for bins ``m = 0 .. k/2`` with ``n = (k - m) mod k``::

       X_{2r}[m]   = (Z[m] + conj Z[n]) / 2   ->  re = rnd((Zr[m] + Zr[n]) / 2), im = rnd((Zi[m] - Zi[n]) / 2)
       X_{2r+1}[m] = (Z[m] - conj Z[n]) / 2i  ->  re = rnd((Zi[m] + Zi[n]) / 2), im = rnd((Zr[n] - Zr[m]) / 2)

   rounded half up and saturated to ``width`` bits (only ``+2**(width-1)`` can clip; counted).
3. **Frequency-domain MAC** over the ``q`` input blocks with the quantized weights
   ``Wq[i, j, m]`` (``k/2 + 1`` complex bins per block; bins ``0`` and ``k/2`` are real)::

       acc[i, m] = sum_j Wq[i, j, m] * X_j[m]        (exact; see ACCUMULATOR_WIDTH)

4. **Requantization of the spectrum**: ``Y = sat(rnd(acc / 2**acc_shift), width - 1)`` (one bit
   less than the data width so that packing two blocks into one frame cannot overflow).
5. **Output IFFTs, two real blocks per complex IFFT.**  Frame ``s`` is
   ``Z[t] = Y_{2s}[t] + i Y_{2s+1}[t]`` over the whole circle, the bins above ``k/2`` taken from
   the Hermitian mirror ``Y[t] = conj Y[k - t]``; the IFFT (gain ``k * ifft / 2**sum(inverse
   shifts)``) gives block ``2s`` in the real and block ``2s+1`` in the imaginary part.
6. **Bias, activation, requantization**: ``z = y + bias_q``; ReLU; ``a = sat(rnd(z /
   2**out_shift), width)``; then 2x2 max pooling (conv) by comparisons of the requantized values.

FFT work per vector: ``ceil(q/2) + ceil(p/2)`` complex transforms instead of ``q + p`` (one per
real block): :func:`fft_passes`.

Each layer has its own block size.  A **dense layer** (``k = 1``, weights ``(out, in, 1, 2)``
with zero imaginary parts: the one-point transform is the identity) skips steps 1, 2 and 5:
``acc[i] = sum_j W[i, j] x[j]`` (exact), ``y = sat(rnd(acc / 2**acc_shift), width - 1)``, then
step 6.  The spectrum of a block-circulant layer and the output of a dense one are saturated to
the same ``width - 1`` bits, so both leave the MAC's requantization in the same format.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import layers as L
from .fft_fixed import FFTParams, fft_fixed
from .fixedpoint import round_shift, saturate, signed_range

__all__ = ["QLayer", "QNetwork", "accumulator_width", "fft_passes", "run_fixed",
           "layer_fixed", "fft_numerics", "separate", "separate_pair", "hermitian_frames"]


@dataclass
class QLayer:
    """A quantized layer: geometry of :class:`golden.network.Layer` plus integer parameters.

    Attributes
    ----------
    wq : int64 array ``(P, Q, k/2 + 1, 2)``
        Frequency-domain weights, real and imaginary part, ``width`` bits, ``2**w_frac`` scale.
    bias_q : int64 array ``(out_features,)``
        Bias at the scale of the IFFT output (``2**y_frac``), ``width`` bits.
    acc_shift, out_shift : int
        Right shifts of the accumulator (to the spectrum ``Y``) and of ``y + bias`` (to the
        layer's output activations).
    in_frac, w_frac, y_frac, out_frac : int
        Binary points: input activations, weights, IFFT output, output activations.
    inverse_shifts : tuple of int
        Per-stage right shifts of this layer's IFFTs (``log2 k`` entries; empty for a dense
        layer, ``k = 1``, which has no transforms).
    """

    kind: str
    k: int
    in_features: int
    out_features: int
    activation: str
    pool: int
    in_channels: int
    kernel: int
    stride: int
    padding: int
    wq: np.ndarray
    bias_q: np.ndarray
    acc_shift: int
    out_shift: int
    in_frac: int
    w_frac: int
    y_frac: int
    out_frac: int
    inverse_shifts: tuple = ()

    @property
    def blocks(self) -> tuple[int, int]:
        """``(P, Q)``: output and input blocks."""
        return int(self.wq.shape[0]), int(self.wq.shape[1])

    def output_shape(self, in_shape):
        from .network import Layer
        geom = Layer(kind=self.kind, k=self.k, weights=np.zeros((1, 1, self.k)), bias=np.zeros(1),
                     in_features=self.in_features, out_features=self.out_features,
                     activation=self.activation, pool=self.pool, in_channels=self.in_channels,
                     kernel=self.kernel, stride=self.stride, padding=self.padding)
        return geom.output_shape(tuple(in_shape))


@dataclass
class QNetwork:
    """A quantized network and the engine numerics it was quantized for.

    ``input_frac``: raw inputs become ``sat(rnd((x - offset) * scale * 2**input_frac))``.
    FFT numerics shared by all layers: ``width``, ``guard``, ``twiddle_width``; each layer has
    its own block size and IFFT shifts (``inverse_shifts`` here: those of the largest block
    size).  ``p`` and ``d`` do not change the numbers and are chosen at generation.
    """

    input_shape: tuple
    layers: list
    input_offset: float
    input_scale: float
    input_frac: int
    width: int = 16
    guard: int = 2
    twiddle_width: int = 16
    inverse_shifts: tuple = ()
    meta: dict = field(default_factory=dict)

    @property
    def block_sizes(self) -> list:
        """Each layer's block size ``k`` (1: dense)."""
        return [layer.k for layer in self.layers]

    @property
    def k(self) -> int:
        """The block size of every layer; ValueError when the layers' block sizes differ."""
        ks = sorted(set(self.block_sizes))
        if len(ks) != 1:
            raise ValueError("the layers have different block sizes (k = "
                             + ", ".join(str(k) for k in ks) + ")")
        return ks[0]

    def fft_params(self, **hw) -> FFTParams:
        """FFTParams with this network's numerics (``hw``: ``p``, ``d``, ``pipeline``, ...):
        one block size for all layers (:attr:`k`)."""
        return fft_numerics(self.k, self.width, self.guard, self.twiddle_width,
                            self.inverse_shifts or None, **hw)

    def layer_params(self, layer: QLayer, **hw) -> FFTParams | None:
        """FFTParams of ``layer``'s transforms (its ``k`` and IFFT shifts); None when dense."""
        if layer.k == 1:
            return None
        shifts = layer.inverse_shifts
        if not shifts and len(self.inverse_shifts) == layer.k.bit_length() - 1:
            shifts = self.inverse_shifts    # a layer made without its own: the network's
        return fft_numerics(layer.k, self.width, self.guard, self.twiddle_width,
                            shifts or None, **hw)

    def shapes(self):
        shapes = [tuple(self.input_shape)]
        for layer in self.layers:
            shapes.append(layer.output_shape(shapes[-1]))
        return shapes

    def quantize_input(self, x) -> tuple[np.ndarray, int]:
        """Raw inputs ``(B, ...)`` to integers of ``width`` bits; returns ``(ints, saturations)``."""
        x = (np.asarray(x, dtype=np.float64) - self.input_offset) * self.input_scale
        v = np.floor(x * 2.0 ** self.input_frac + 0.5).astype(np.int64)
        v, clipped = saturate(v, self.width)
        return v, int(clipped.sum())

    def dequantize_output(self, a) -> np.ndarray:
        return np.asarray(a, dtype=np.float64) * 2.0 ** -self.layers[-1].out_frac


def default_inverse_shifts(k: int) -> tuple:
    """A shift in every other IFFT stage, starting with the first: gain ``k * ifft /
    2**ceil(log2(k)/2)``, about unity rms for a spectrum of uncorrelated bins."""
    stages = k.bit_length() - 1
    return tuple(1 - (s % 2) for s in range(stages))


def fft_numerics(k, width=16, guard=2, twiddle_width=16, inverse_shifts=None, **hw) -> FFTParams:
    if inverse_shifts is None:
        inverse_shifts = default_inverse_shifts(k)
    return FFTParams(k=k, width=width, guard=guard, twiddle_width=twiddle_width,
                     inverse_shifts=tuple(inverse_shifts), **hw)


def accumulator_width(width: int, q_max: int) -> int:
    """Bits of the CMAC accumulator that make overflow impossible.

    A real part of one complex product, ``ar*br - ai*bi`` with ``width``-bit operands, is at
    most ``2 * 2**(2*width - 2) = 2**(2*width - 1)`` in magnitude (both products at
    ``(-2**(width-1))**2``), which needs ``2*width + 1`` signed bits; a sum of ``q_max`` of them
    needs ``ceil(log2 q_max)`` more.  16-bit data, ``q_max = 16``: 37 bits.
    """
    return 2 * width + 1 + max(0, (int(q_max) - 1).bit_length())


def fft_passes(q: int, p: int) -> tuple[int, int]:
    """``(two_for_one, naive)`` complex FFT/IFFT passes per vector for ``q`` input and ``p``
    output blocks."""
    return -(-q // 2) + -(-p // 2), q + p


def separate_pair(a_r, a_i, b_r, b_i, odd, width):
    """``X[m]`` of the real block in the real (``odd`` false) or imaginary part of a frame, from
    ``Z[m] = a`` and ``Z[(k - m) mod k] = b``: ``(xr, xi, clipped)`` (step 2 of the module doc)."""
    odd = np.asarray(odd, dtype=bool)
    xr = round_shift(np.where(odd, a_i + b_i, a_r + b_r), 1)
    xi = round_shift(np.where(odd, b_r - a_r, a_i - b_i), 1)
    xr, s1 = saturate(xr, width)
    xi, s2 = saturate(xi, width)
    return xr, xi, s1 | s2


def separate(zr, zi, width):
    """Spectra of the two real blocks packed in each frame: ``(xr, xi, saturations)`` with shape
    ``(..., 2, k/2 + 1)`` from ``(..., k)`` (integers, see step 2 of the module doc)."""
    k = zr.shape[-1]
    m = np.arange(k // 2 + 1)
    n = (k - m) % k
    parts = [zr[..., None, m], zi[..., None, m], zr[..., None, n], zi[..., None, n]]
    odd = np.array([False, True])[:, None]
    xr, xi, clipped = separate_pair(*parts, odd, width)
    return xr, xi, int(clipped.sum())


def hermitian_frames(yr, yi):
    """IFFT frames ``(..., k)`` packing pairs of half spectra ``(..., 2, k/2 + 1)``."""
    half = yr.shape[-1] - 1
    k = 2 * half
    t = np.arange(k)
    mirror = t > half
    mt = np.where(mirror, k - t, t)
    ar, ai = yr[..., 0, mt], yi[..., 0, mt]
    br, bi = yr[..., 1, mt], yi[..., 1, mt]
    zr = np.where(mirror, ar + bi, ar - bi)
    zi = np.where(mirror, br - ai, ai + br)
    return zr, zi


def _vectors(layer: QLayer, a: np.ndarray) -> np.ndarray:
    """Input vectors ``(B, V, n)``: fc one per sample, conv one per output pixel."""
    if layer.kind == "fc":
        return a.reshape(a.shape[0], 1, -1)
    return L.im2col(a, layer.kernel, layer.stride, layer.padding)


def _dense_spectrum(layer: QLayer, vec: np.ndarray, width: int):
    """A dense layer's steps 3 and 4 (``k = 1``: real products, no transforms): ``acc = W x``
    over the ``n`` inputs, ``y = sat(rnd(acc / 2**acc_shift), width - 1)``."""
    wr = layer.wq[:, :, 0, 0].astype(np.int64)
    acc = np.einsum("ij,bvj->bvi", wr, vec[..., :wr.shape[1]])
    y, clipped = saturate(round_shift(acc, layer.acc_shift), width - 1)
    return acc, y, int(clipped.sum())


def layer_fixed(layer: QLayer, a: np.ndarray, params: FFTParams | None,
                trace: dict | None = None, width: int | None = None):
    """One layer on integer activations ``a`` ``(B, ...)``; returns ``(out, saturations)`` where
    ``saturations`` counts clipped values per step (dict).  ``params``: the FFT numerics of the
    layer's block size, None for a dense layer (``k = 1``; then ``width`` is the data width)."""
    w = params.width if params is not None else width
    if w is None:
        raise ValueError("a dense layer needs the data width")
    k = layer.k
    a = np.asarray(a, dtype=np.int64)
    bsz = a.shape[0]
    vec = _vectors(layer, a)
    if k == 1:
        acc_r, yt, sat_y = _dense_spectrum(layer, vec, w)
        acc_i = np.zeros_like(acc_r)
        yt = yt[..., :layer.out_features]
        sat_fft = sat_sep = sat_ifft = 0
    else:
        acc_r, acc_i, yt, sat_fft, sat_sep, sat_y, sat_ifft = _circulant_spectrum(
            layer, vec, params)
    z_out = yt + layer.bias_q.astype(np.int64)
    if layer.activation == "relu":
        z_out = np.maximum(z_out, 0)
    out, s3 = saturate(round_shift(z_out, layer.out_shift), w)
    sat_out = int(s3.sum())
    if layer.kind == "conv":
        ho = L.conv_output_size(a.shape[2], layer.kernel, layer.stride, layer.padding)
        wo = L.conv_output_size(a.shape[3], layer.kernel, layer.stride, layer.padding)
        out = out.transpose(0, 2, 1).reshape(bsz, layer.out_features, ho, wo)
        if layer.pool == 2:
            out = L.maxpool2(out)
    else:
        out = out.reshape(bsz, layer.out_features)
    sats = {"fft": sat_fft, "separate": sat_sep, "spectrum": sat_y, "ifft": sat_ifft,
            "output": sat_out}
    if trace is not None:
        trace.update({"input": a, "acc_re": acc_r, "acc_im": acc_i, "y": yt, "z": z_out,
                      "output": out, "saturations": sats})
    return out, sats


def _circulant_spectrum(layer: QLayer, vec: np.ndarray, params: FFTParams):
    """Steps 1 to 5 of a block-circulant layer on its input vectors ``(B, V, n)``: ``(acc_re,
    acc_im, y (B, V, out_features), and the saturations of the FFT, the separation, the spectrum
    and the IFFT)``."""
    w, k = params.width, layer.k
    pb, q = layer.blocks
    bsz, nv = vec.shape[:2]
    r_frames, s_frames = -(-q // 2), -(-pb // 2)
    padded = np.zeros((bsz, nv, 2 * r_frames * k), dtype=np.int64)
    padded[..., :vec.shape[-1]] = vec
    blocks = padded.reshape(bsz, nv, r_frames, 2, k)
    frames = blocks[..., 0, :] + 1j * blocks[..., 1, :]
    z, sat_fft = fft_fixed(frames.reshape(-1, k), params, inverse=False)
    zr = z.real.astype(np.int64).reshape(bsz, nv, r_frames, k)
    zi = z.imag.astype(np.int64).reshape(bsz, nv, r_frames, k)
    xr, xi, sat_sep = separate(zr, zi, w)
    bins = k // 2 + 1
    xr = xr.reshape(bsz, nv, 2 * r_frames, bins)[:, :, :q]
    xi = xi.reshape(bsz, nv, 2 * r_frames, bins)[:, :, :q]
    wr, wi = layer.wq[..., 0].astype(np.int64), layer.wq[..., 1].astype(np.int64)
    acc_r = np.einsum("ijm,bvjm->bvim", wr, xr) - np.einsum("ijm,bvjm->bvim", wi, xi)
    acc_i = np.einsum("ijm,bvjm->bvim", wr, xi) + np.einsum("ijm,bvjm->bvim", wi, xr)
    yr, s1 = saturate(round_shift(acc_r, layer.acc_shift), w - 1)
    yi, s2 = saturate(round_shift(acc_i, layer.acc_shift), w - 1)
    sat_y = int((s1 | s2).sum())
    ypr = np.zeros((bsz, nv, 2 * s_frames, bins), dtype=np.int64)
    ypi = np.zeros_like(ypr)
    ypr[:, :, :pb], ypi[:, :, :pb] = yr, yi
    fr, fi = hermitian_frames(ypr.reshape(bsz, nv, s_frames, 2, bins),
                              ypi.reshape(bsz, nv, s_frames, 2, bins))
    y, sat_ifft = fft_fixed((fr + 1j * fi).reshape(-1, k), params, inverse=True)
    y = y.reshape(bsz, nv, s_frames, k)
    yt = np.stack([y.real, y.imag], axis=-2).astype(np.int64).reshape(bsz, nv, 2 * s_frames * k)
    yt = yt[..., :layer.out_features]
    return acc_r, acc_i, yt, sat_fft, sat_sep, sat_y, sat_ifft


def run_fixed(qnet: QNetwork, x_int: np.ndarray, params: FFTParams | None = None,
              trace: list | None = None) -> tuple[np.ndarray, dict]:
    """The engine on quantized inputs ``(B,) + input_shape``: ``(outputs (B, out), saturations)``.

    ``trace`` collects one dict per layer (see :func:`layer_fixed`).  ``params`` (optional) is
    used for the layers of its block size; every other layer gets :meth:`QNetwork.layer_params`
    (the numbers do not depend on the hardware parameters).
    """
    a = np.asarray(x_int, dtype=np.int64)
    lo, hi = signed_range(qnet.width)
    if a.size and (a.min() < lo or a.max() > hi):
        raise ValueError(f"engine inputs must lie in the signed {qnet.width}-bit range")
    a = a.reshape((a.shape[0],) + tuple(qnet.input_shape))
    total = {}
    for layer in qnet.layers:
        t = {} if trace is not None else None
        lp = params if params is not None and params.k == layer.k else qnet.layer_params(layer)
        a, sats = layer_fixed(layer, a, lp, t, width=qnet.width)
        for key, v in sats.items():
            total[key] = total.get(key, 0) + v
        if trace is not None:
            trace.append(t)
    return a.reshape(a.shape[0], -1), total
