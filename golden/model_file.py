"""The circnn model file: a versioned NumPy ``.npz`` holding a block-circulant network.

See ``docs/model-format.md`` for the full description.  :func:`load` validates everything and
raises :class:`ModelFileError` (a ``ValueError``) with a message naming the problem; it never
unpickles anything (``allow_pickle=False``).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile

import numpy as np

from .blockcirculant import block_grid, check_block_size
from .network import ACTIVATIONS, KINDS, Layer, Network

__all__ = ["FORMAT", "VERSION", "ModelFileError", "save", "load", "atomic_write",
           "atomic_save_npz"]

FORMAT = "circnn-model"
VERSION = 1
#: Versions 2 and 3 are version 1 plus the quantization of the layer engine (golden/quantized_file.py);
#: its float part reads the same.
READABLE_VERSIONS = (1, 2, 3)

_INT_FIELDS = ("k", "in_features", "out_features", "pool", "in_channels", "kernel", "stride",
               "padding")


class ModelFileError(ValueError):
    """A model file that cannot be used, with the reason."""


def atomic_write(path: str | os.PathLike, mode: str, write) -> None:
    """Call ``write(file)`` on a temporary file next to ``path``, then rename it to ``path``:
    a reader never sees a half-written file."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".circnn-", dir=directory)
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_save_npz(path: str | os.PathLike, arrays: dict) -> None:
    """Write ``arrays`` as an ``.npz`` at ``path`` atomically."""
    atomic_write(path, "wb", lambda f: np.savez(f, **arrays))


def to_arrays(net: Network) -> dict:
    """The ``.npz`` members describing ``net`` (validated first)."""
    net.shapes()
    arrays = {
        "format": np.array(FORMAT),
        "version": np.array(VERSION),
        "input_shape": np.array(net.input_shape, dtype=np.int64),
        "input_offset": np.array(float(net.input_offset)),
        "input_scale": np.array(float(net.input_scale)),
        "n_layers": np.array(len(net.layers)),
        "meta": np.array(json.dumps(net.meta, sort_keys=True)),
    }
    for i, layer in enumerate(net.layers):
        pre = f"layer{i}."
        arrays[pre + "kind"] = np.array(layer.kind)
        arrays[pre + "activation"] = np.array(layer.activation)
        arrays[pre + "weights"] = np.asarray(layer.weights, dtype=np.float64)
        arrays[pre + "bias"] = np.asarray(layer.bias, dtype=np.float64)
        for name in _INT_FIELDS:
            arrays[pre + name] = np.array(int(getattr(layer, name)))
    return arrays


def save(net: Network, path: str | os.PathLike) -> None:
    """Write ``net`` to ``path`` (atomically)."""
    atomic_save_npz(path, to_arrays(net))


class _Reader:
    def __init__(self, data, path):
        self.data, self.path = data, path

    def get(self, key):
        if key not in self.data:
            raise ModelFileError(f"{self.path}: missing key '{key}'")
        return self.data[key]

    def scalar(self, key, kind):
        a = self.get(key)
        if a.shape != ():
            raise ModelFileError(f"{self.path}: '{key}' must be a scalar, has shape {a.shape}")
        if kind is str:
            if a.dtype.kind != "U":
                raise ModelFileError(f"{self.path}: '{key}' must be a string")
            return str(a)
        if kind is int:
            if a.dtype.kind not in "iu":
                raise ModelFileError(f"{self.path}: '{key}' must be an integer")
            return int(a)
        if a.dtype.kind not in "iuf":
            raise ModelFileError(f"{self.path}: '{key}' must be a number")
        return float(a)

    def array(self, key, shape):
        a = self.get(key)
        if a.dtype.kind not in "iuf":
            raise ModelFileError(f"{self.path}: '{key}' must be numeric, has dtype {a.dtype}")
        if a.shape != tuple(shape):
            raise ModelFileError(
                f"{self.path}: '{key}' has shape {a.shape}, expected {tuple(shape)}")
        if not np.all(np.isfinite(a)):
            raise ModelFileError(f"{self.path}: '{key}' holds NaN or infinite values")
        return a.astype(np.float64)


def _read_layer(r: _Reader, i: int) -> Layer:
    pre = f"layer{i}."
    kind = r.scalar(pre + "kind", str)
    if kind not in KINDS:
        raise ModelFileError(f"{r.path}: '{pre}kind' is '{kind}', must be one of {', '.join(KINDS)}")
    activation = r.scalar(pre + "activation", str)
    if activation not in ACTIVATIONS:
        raise ModelFileError(
            f"{r.path}: '{pre}activation' is '{activation}', must be one of {', '.join(ACTIVATIONS)}")
    ints = {name: r.scalar(pre + name, int) for name in _INT_FIELDS}
    try:
        check_block_size(ints["k"])
    except ValueError as e:
        raise ModelFileError(f"{r.path}: '{pre}k': {e}") from None
    for name in ("in_features", "out_features", "stride"):
        if ints[name] < 1:
            raise ModelFileError(f"{r.path}: '{pre}{name}' must be at least 1, is {ints[name]}")
    if ints["pool"] not in (0, 2):
        raise ModelFileError(f"{r.path}: '{pre}pool' must be 0 or 2, is {ints['pool']}")
    if kind == "fc" and ints["pool"]:
        raise ModelFileError(f"{r.path}: '{pre}pool' must be 0 for an fc layer")
    if kind == "conv":
        if ints["in_channels"] < 1 or ints["kernel"] < 1 or ints["padding"] < 0:
            raise ModelFileError(
                f"{r.path}: conv layer {i} needs in_channels >= 1, kernel >= 1, padding >= 0")
        if ints["in_features"] != ints["in_channels"] * ints["kernel"] ** 2:
            raise ModelFileError(
                f"{r.path}: '{pre}in_features' must equal in_channels * kernel**2 = "
                f"{ints['in_channels'] * ints['kernel'] ** 2}, is {ints['in_features']}")
    p, q = block_grid(ints["out_features"], ints["in_features"], ints["k"])
    weights = r.array(pre + "weights", (p, q, ints["k"]))
    bias = r.array(pre + "bias", (ints["out_features"],))
    return Layer(kind=kind, weights=weights, bias=bias, activation=activation, **ints)


def load(path: str | os.PathLike) -> Network:
    """Read and validate a model file; raises :class:`ModelFileError` on any problem."""
    path = os.fspath(path)
    try:
        # from memory: NumPy leaves its file open when a truncated .npz fails to parse
        with open(path, "rb") as f:
            data = np.load(io.BytesIO(f.read()), allow_pickle=False)
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ModelFileError(f"{path}: not a circnn model file ({e})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ModelFileError(f"{path}: not a circnn model file (a single array, not an .npz)")
    with data:
        r = _Reader(data, path)
        if "format" not in data or str(data["format"]) != FORMAT:
            raise ModelFileError(f"{path}: not a circnn model file (no format '{FORMAT}')")
        version = r.scalar("version", int)
        if version not in READABLE_VERSIONS:
            raise ModelFileError(
                f"{path}: model file version {version} is not supported (this circnn reads "
                f"versions {', '.join(str(v) for v in READABLE_VERSIONS)})")
        input_shape = r.get("input_shape")
        if input_shape.ndim != 1 or input_shape.dtype.kind not in "iu" or np.any(input_shape < 1):
            raise ModelFileError(f"{path}: 'input_shape' must be a list of positive integers")
        n_layers = r.scalar("n_layers", int)
        if n_layers < 1:
            raise ModelFileError(f"{path}: 'n_layers' must be at least 1, is {n_layers}")
        try:
            meta = json.loads(r.scalar("meta", str)) if "meta" in data else {}
        except json.JSONDecodeError as e:
            raise ModelFileError(f"{path}: 'meta' is not valid JSON ({e})") from None
        net = Network(
            input_shape=tuple(int(s) for s in input_shape),
            layers=[_read_layer(r, i) for i in range(n_layers)],
            input_offset=r.scalar("input_offset", float),
            input_scale=r.scalar("input_scale", float),
            meta=meta,
        )
    try:
        net.shapes()
    except ValueError as e:
        raise ModelFileError(f"{path}: {e}") from None
    return net
