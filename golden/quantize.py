"""Post-training quantization of a block-circulant network for the layer engine.

Every format is chosen from calibration data by running the bit-exact engine model
(:mod:`golden.engine_fixed`) itself, layer by layer, so what is promised on the calibration set
(no saturation where avoidable) is what the hardware does:

* input: the largest binary point at which every normalized calibration input fits;
* weights (per layer): the largest binary point at which every frequency-domain weight component
  (``rfft`` of the defining vectors) fits ``width`` bits, symmetric range;
* ``acc_shift``: the smallest right shift at which the spectrum ``Y`` fits ``width - 1`` bits and
  the IFFT does not saturate on the calibration set (up to 8 more bits are tried);
* bias: rounded at the IFFT output's scale ``y_frac`` (saturations counted);
* ``out_shift``: the smallest right shift at which ``y + bias`` (after ReLU) fits ``width`` bits,
  which sets the next layer's input binary point.

Each layer is quantized at its own block size with the IFFT shifts of that size; a dense layer
(``k = 1``) has no transforms, and its ``acc_shift`` brings ``W x`` to ``width - 1`` bits.
"""

from __future__ import annotations

import math

import numpy as np

from . import blockcirculant as bc
from .engine_fixed import QLayer, QNetwork, default_inverse_shifts, fft_numerics, layer_fixed
from .fixedpoint import round_shift, saturate, signed_range
from .network import Network

__all__ = ["quantize", "frac_for", "QuantizationError"]

EXTRA_SHIFTS = 8


class QuantizationError(ValueError):
    """A network the layer engine cannot run, with the reason."""


def frac_for(max_abs: float, width: int) -> int:
    """Largest ``f`` with ``round(max_abs * 2**f) <= 2**(width-1) - 1`` (0 for an all-zero set)."""
    hi = (1 << (width - 1)) - 1
    if max_abs <= 0 or not math.isfinite(max_abs):
        return 0
    f = math.floor(math.log2(hi / max_abs))
    while math.floor(max_abs * 2.0 ** f + 0.5) > hi:
        f -= 1
    return f


def _fits(v, width: int) -> bool:
    lo, hi = signed_range(width)
    return v.size == 0 or (v.min() >= lo and v.max() <= hi)


def check_network(net: Network) -> list:
    """Each layer's block size (1: dense, else at least 4), or QuantizationError."""
    ks = [layer.k for layer in net.layers]
    for index, k in enumerate(ks):
        if 1 < k < 4:
            raise QuantizationError(
                f"layer {index} has block size k = {k}: the engine's FFT needs k = 1 (a dense "
                f"layer) or at least 4")
    return ks


def quantize(net: Network, calib, width: int = 16, guard: int = 2, twiddle_width: int = 16,
             inverse_shifts=None) -> tuple[QNetwork, dict]:
    """Quantize ``net`` on raw calibration inputs; returns ``(QNetwork, report)``.

    ``report`` holds per-layer formats, shifts and the saturation counts of the final run over
    the calibration set.
    """
    ks = check_network(net)
    k_max = max(ks)
    transforms = sorted({k for k in ks if k > 1})
    if inverse_shifts is not None and len(transforms) > 1:
        raise QuantizationError(
            "inverse_shifts are given for one block size; this model has k = "
            + ", ".join(str(k) for k in transforms))
    shifts = {k: tuple(default_inverse_shifts(k) if inverse_shifts is None else inverse_shifts)
              for k in transforms}
    params_of = {k: fft_numerics(k, width, guard, twiddle_width, shifts[k]) for k in transforms}
    params_of[1] = None
    x = net.normalize(net.check_input(calib))
    qnet = QNetwork(input_shape=tuple(net.input_shape), layers=[],
                    input_offset=float(net.input_offset), input_scale=float(net.input_scale),
                    input_frac=frac_for(float(np.abs(x).max()) if x.size else 0.0, width),
                    width=width, guard=guard, twiddle_width=twiddle_width,
                    inverse_shifts=tuple(params_of[k_max].inverse_shifts) if k_max > 1 else (),
                    meta=dict(net.meta))
    a, in_sat = qnet.quantize_input(net.check_input(calib))
    fa = qnet.input_frac
    report = {"input_frac": fa, "input_saturations": in_sat, "layers": []}
    hi = (1 << (width - 1)) - 1
    for index, layer in enumerate(net.layers):
        k, params = layer.k, params_of[layer.k]
        si = sum(params.inverse_shifts) if params is not None else 0
        wf = bc.weights_to_freq(layer.weights)
        mw = float(max(np.abs(wf.real).max(), np.abs(wf.imag).max()))
        fw = frac_for(mw, width)
        wq = np.stack([np.clip(np.round(wf.real * 2.0 ** fw), -hi, hi),
                       np.clip(np.round(wf.imag * 2.0 ** fw), -hi, hi)], axis=-1).astype(np.int64)
        wq[:, :, 0, 1] = 0
        wq[:, :, k // 2, 1] = 0
        geom = dict(kind=layer.kind, k=k, in_features=layer.in_features,
                    out_features=layer.out_features, activation=layer.activation,
                    pool=layer.pool, in_channels=layer.in_channels, kernel=layer.kernel,
                    stride=layer.stride, padding=layer.padding)

        def make(acc_shift, out_shift, bias_q, y_frac=0, out_frac=0):
            return QLayer(**geom, wq=wq, bias_q=bias_q, acc_shift=acc_shift, out_shift=out_shift,
                          in_frac=fa, w_frac=fw, y_frac=y_frac, out_frac=out_frac,
                          inverse_shifts=params.inverse_shifts if params is not None else ())

        zero_bias = np.zeros(layer.out_features, dtype=np.int64)
        trace = {}
        layer_fixed(make(0, 0, zero_bias), a, params, trace, width=width)
        acc_max = max(int(np.abs(trace["acc_re"]).max(initial=0)),
                      int(np.abs(trace["acc_im"]).max(initial=0)))
        sa0 = 0
        while not _fits(round_shift(np.array([acc_max, -acc_max]), sa0), width - 1):
            sa0 += 1
        acc_shift = sa0
        for sa in range(sa0, sa0 + EXTRA_SHIFTS + 1):
            _, sats = layer_fixed(make(sa, 0, zero_bias), a, params, width=width)
            if sats["spectrum"] == 0 and sats["ifft"] == 0:
                acc_shift = sa
                break
        else:
            acc_shift = sa0 + EXTRA_SHIFTS
        fy = fa + fw - acc_shift - si
        scaled = np.clip(np.floor(layer.bias * 2.0 ** fy + 0.5), -2.0 ** 62, 2.0 ** 62)
        bias_q, bias_clip = saturate(scaled.astype(np.int64), width)
        trace = {}
        layer_fixed(make(acc_shift, 0, bias_q), a, params, trace, width=width)
        z = trace["z"]
        so = 0
        while not _fits(round_shift(z, so), width):
            so += 1
        ql = make(acc_shift, so, bias_q, fy, fy - so)
        a, sats = layer_fixed(ql, a, params, width=width)
        qnet.layers.append(ql)
        report["layers"].append({
            "layer": index, "kind": layer.kind, "k": k, "in_frac": fa, "w_frac": fw,
            "acc_shift": acc_shift, "y_frac": fy, "out_shift": so, "out_frac": fy - so,
            "bias_saturations": int(bias_clip.sum()), "saturations": sats})
        fa = fy - so
    report["total_saturations"] = in_sat + sum(
        sum(l["saturations"].values()) + l["bias_saturations"] for l in report["layers"])
    return qnet, report
