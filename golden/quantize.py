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


def check_network(net: Network) -> int:
    """The common block size of ``net``'s layers, or QuantizationError."""
    ks = {layer.k for layer in net.layers}
    if len(ks) != 1:
        raise QuantizationError(
            f"the layer engine runs one block size for the whole network; this model mixes "
            f"k = {', '.join(str(k) for k in sorted(ks))}")
    k = ks.pop()
    if k < 4:
        raise QuantizationError(f"the layer engine needs a block size k of at least 4, not {k}")
    return k


def quantize(net: Network, calib, width: int = 16, guard: int = 2, twiddle_width: int = 16,
             inverse_shifts=None) -> tuple[QNetwork, dict]:
    """Quantize ``net`` on raw calibration inputs; returns ``(QNetwork, report)``.

    ``report`` holds per-layer formats, shifts and the saturation counts of the final run over
    the calibration set.
    """
    k = check_network(net)
    if inverse_shifts is None:
        inverse_shifts = default_inverse_shifts(k)
    params = fft_numerics(k, width, guard, twiddle_width, inverse_shifts)
    si = sum(params.inverse_shifts)
    x = net.normalize(net.check_input(calib))
    qnet = QNetwork(input_shape=tuple(net.input_shape), layers=[],
                    input_offset=float(net.input_offset), input_scale=float(net.input_scale),
                    input_frac=frac_for(float(np.abs(x).max()) if x.size else 0.0, width),
                    width=width, guard=guard, twiddle_width=twiddle_width,
                    inverse_shifts=tuple(params.inverse_shifts), meta=dict(net.meta))
    a, in_sat = qnet.quantize_input(net.check_input(calib))
    fa = qnet.input_frac
    report = {"input_frac": fa, "input_saturations": in_sat, "layers": []}
    hi = (1 << (width - 1)) - 1
    for index, layer in enumerate(net.layers):
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
                          in_frac=fa, w_frac=fw, y_frac=y_frac, out_frac=out_frac)

        zero_bias = np.zeros(layer.out_features, dtype=np.int64)
        trace = {}
        layer_fixed(make(0, 0, zero_bias), a, params, trace)
        acc_max = max(int(np.abs(trace["acc_re"]).max(initial=0)),
                      int(np.abs(trace["acc_im"]).max(initial=0)))
        sa0 = 0
        while not _fits(round_shift(np.array([acc_max, -acc_max]), sa0), width - 1):
            sa0 += 1
        acc_shift = sa0
        for sa in range(sa0, sa0 + EXTRA_SHIFTS + 1):
            _, sats = layer_fixed(make(sa, 0, zero_bias), a, params)
            if sats["spectrum"] == 0 and sats["ifft"] == 0:
                acc_shift = sa
                break
        else:
            acc_shift = sa0 + EXTRA_SHIFTS
        fy = fa + fw - acc_shift - si
        scaled = np.clip(np.floor(layer.bias * 2.0 ** fy + 0.5), -2.0 ** 62, 2.0 ** 62)
        bias_q, bias_clip = saturate(scaled.astype(np.int64), width)
        trace = {}
        layer_fixed(make(acc_shift, 0, bias_q), a, params, trace)
        z = trace["z"]
        so = 0
        while not _fits(round_shift(z, so), width):
            so += 1
        ql = make(acc_shift, so, bias_q, fy, fy - so)
        a, sats = layer_fixed(ql, a, params)
        qnet.layers.append(ql)
        report["layers"].append({
            "layer": index, "kind": layer.kind, "in_frac": fa, "w_frac": fw,
            "acc_shift": acc_shift, "y_frac": fy, "out_shift": so, "out_frac": fy - so,
            "bias_saturations": int(bias_clip.sum()), "saturations": sats})
        fa = fy - so
    report["total_saturations"] = in_sat + sum(
        sum(l["saturations"].values()) + l["bias_saturations"] for l in report["layers"])
    return qnet, report
