"""The quantized model file: versions 2 and 3 of the circnn model file.

A quantized file is a complete version-1 file (the float network, so the float reference stays
available for tracing) plus the quantization chosen by :mod:`golden.quantize`.  See
``docs/model-format.md``.  :func:`save` writes version 3 (each layer its own block size, 1 for
a dense layer, and IFFT shifts); :func:`load` reads 2 (one block size) and 3 and returns both
the float network and the :class:`golden.engine_fixed.QNetwork`;
:func:`golden.model_file.load` reads the float part of every version.
"""

from __future__ import annotations

import os

import numpy as np

from . import model_file
from .engine_fixed import QLayer, QNetwork
from .fft_fixed import FFTParams
from .fixedpoint import signed_range
from .model_file import ModelFileError, _Reader
from .network import Network

__all__ = ["VERSION", "save", "load", "to_arrays"]

VERSION = 3
READABLE = (2, 3)   # version 2: one block size, its IFFT shifts only in 'q.inverse_shifts'
_LAYER_INTS = ("acc_shift", "out_shift", "in_frac", "w_frac", "y_frac", "out_frac")


def to_arrays(net: Network, qnet: QNetwork) -> dict:
    arrays = model_file.to_arrays(net)
    arrays["version"] = np.array(VERSION)
    arrays["q.input_frac"] = np.array(int(qnet.input_frac))
    arrays["q.width"] = np.array(int(qnet.width))
    arrays["q.guard"] = np.array(int(qnet.guard))
    arrays["q.twiddle_width"] = np.array(int(qnet.twiddle_width))
    arrays["q.inverse_shifts"] = np.array(qnet.inverse_shifts, dtype=np.int64)
    for i, ql in enumerate(qnet.layers):
        pre = f"layer{i}.q."
        arrays[pre + "wq"] = np.asarray(ql.wq, dtype=np.int32)
        arrays[pre + "bias"] = np.asarray(ql.bias_q, dtype=np.int32)
        for name in _LAYER_INTS:
            arrays[pre + name] = np.array(int(getattr(ql, name)))
        arrays[pre + "inverse_shifts"] = np.array(ql.inverse_shifts, dtype=np.int64)
    return arrays


def save(net: Network, qnet: QNetwork, path: str | os.PathLike) -> None:
    model_file.atomic_save_npz(path, to_arrays(net, qnet))


def _ints(r: _Reader, key: str, shape, width: int) -> np.ndarray:
    a = r.get(key)
    if a.dtype.kind not in "iu":
        raise ModelFileError(f"{r.path}: '{key}' must hold integers, has dtype {a.dtype}")
    if a.shape != tuple(shape):
        raise ModelFileError(f"{r.path}: '{key}' has shape {a.shape}, expected {tuple(shape)}")
    lo, hi = signed_range(width)
    a = a.astype(np.int64)
    if a.size and (a.min() < lo or a.max() > hi):
        raise ModelFileError(f"{r.path}: '{key}' must lie in the signed {width}-bit range")
    return a


def _shifts(r: _Reader, key: str, k: int, width: int, guard: int, tw: int) -> tuple:
    """The IFFT shifts under ``key`` for block size ``k`` (empty when ``k = 1``), checked with the
    file's other FFT numerics."""
    shifts = tuple(int(v) for v in np.ravel(r.get(key)))
    if k == 1:
        if shifts:
            raise ModelFileError(f"{r.path}: '{key}' must be empty for a dense layer")
        return ()
    try:
        FFTParams(k=k, width=width, guard=guard, twiddle_width=tw, inverse_shifts=shifts)
    except ValueError as e:
        raise ModelFileError(f"{r.path}: quantized FFT numerics ('{key}'): {e}") from None
    return shifts


def load(path: str | os.PathLike) -> tuple[Network, QNetwork]:
    """``(float network, quantized network)`` of a version-2 or -3 file; ModelFileError
    otherwise."""
    path = os.fspath(path)
    net = model_file.load(path)
    with np.load(path, allow_pickle=False) as data:
        r = _Reader(data, path)
        version = r.scalar("version", int)
        if version not in READABLE:
            raise ModelFileError(
                f"{path}: not a quantized model (version {version}); make one with "
                f"'circnn quantize --model {path} --calib X.npy -o Q.npz'")
        width = r.scalar("q.width", int)
        if not 8 <= width <= 24:
            raise ModelFileError(f"{path}: 'q.width' must be 8 to 24, is {width}")
        guard, tw = r.scalar("q.guard", int), r.scalar("q.twiddle_width", int)
        ks = [layer.k for layer in net.layers]
        if version == 2 and len(set(ks)) != 1:
            raise ModelFileError(f"{path}: a version-2 quantized model has one block size, "
                                 f"this one has k = {', '.join(str(k) for k in ks)}")
        net_shifts = _shifts(r, "q.inverse_shifts", max(ks), width, guard, tw)
        qnet = QNetwork(input_shape=tuple(net.input_shape), layers=[],
                        input_offset=net.input_offset, input_scale=net.input_scale,
                        input_frac=r.scalar("q.input_frac", int), width=width, guard=guard,
                        twiddle_width=tw, inverse_shifts=net_shifts, meta=net.meta)
        for i, layer in enumerate(net.layers):
            k = layer.k
            if 1 < k < 4:
                raise ModelFileError(f"{path}: layer {i} has k = {k}; a quantized layer has "
                                     "k = 1 (dense) or at least 4")
            pre = f"layer{i}.q."
            shifts = (net_shifts if version == 2
                      else _shifts(r, pre + "inverse_shifts", k, width, guard, tw))
            pb, q = layer.weights.shape[:2]
            ints = {name: r.scalar(pre + name, int) for name in _LAYER_INTS}
            for name in ("acc_shift", "out_shift"):
                if not 0 <= ints[name] <= 62:
                    raise ModelFileError(f"{path}: '{pre}{name}' must be 0 to 62, is {ints[name]}")
            qnet.layers.append(QLayer(
                kind=layer.kind, k=k, in_features=layer.in_features,
                out_features=layer.out_features, activation=layer.activation, pool=layer.pool,
                in_channels=layer.in_channels, kernel=layer.kernel, stride=layer.stride,
                padding=layer.padding,
                wq=_ints(r, pre + "wq", (pb, q, k // 2 + 1, 2), width),
                bias_q=_ints(r, pre + "bias", (layer.out_features,), width),
                inverse_shifts=shifts, **ints))
    return net, qnet
