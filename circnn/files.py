"""Reading the user's input files and writing outputs atomically (temporary file, then rename)."""

from __future__ import annotations

import json
import os

import numpy as np

from golden import model_file
from golden.network import Network

from .errors import UsageError


def _atomic(path: str, mode: str, write) -> None:
    directory = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(directory):
        raise UsageError(f"cannot write {path}: directory {directory} does not exist")
    if os.path.isdir(path):
        raise UsageError(f"cannot write {path}: it is a directory")
    try:
        model_file.atomic_write(path, mode, write)
    except OSError as e:
        # a full disk, a read-only or forbidden directory: the temporary file is gone already
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from None


def check_output_paths(*paths) -> None:
    """Each given output path (None: not asked for) can be written: its directory exists and it
    is not a directory.  Commands call this before any work, so a mistake costs nothing and
    leaves nothing behind."""
    for path in paths:
        if path is None or path == "-":
            continue
        if os.path.isdir(path):
            raise UsageError(f"cannot write {path}: it is a directory")
        directory = os.path.dirname(os.path.abspath(os.fspath(path)))
        if not os.path.isdir(directory):
            raise UsageError(f"cannot write {path}: directory {directory} does not exist")
        if not os.access(directory, os.W_OK):
            raise UsageError(f"cannot write {path}: directory {directory} is not writable")


def save_npy(path: str, array: np.ndarray) -> None:
    _atomic(path, "wb", lambda f: np.save(f, array))


def save_bytes(path: str, data: bytes) -> None:
    _atomic(path, "wb", lambda f: f.write(data))


def save_text(path: str, text: str) -> None:
    _atomic(path, "w", lambda f: f.write(text))


def save_json(path: str, obj) -> None:
    save_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def save_model(path: str, net: Network) -> None:
    _atomic(path, "wb", lambda f: np.savez(f, **model_file.to_arrays(net)))


def save_quantized_model(path: str, net: Network, qnet) -> None:
    from golden import quantized_file

    _atomic(path, "wb", lambda f: np.savez(f, **quantized_file.to_arrays(net, qnet)))


def load_model(path: str) -> Network:
    try:
        return model_file.load(path)
    except model_file.ModelFileError as e:
        raise UsageError(str(e)) from None


def load_npy(path: str, what: str = "input") -> np.ndarray:
    """A numeric ``.npy`` array (no pickles), or a UsageError naming the problem."""
    try:
        a = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UsageError(f"{what} file {path}: no such file") from None
    except (OSError, ValueError) as e:
        raise UsageError(f"{what} file {path}: not a NumPy .npy array ({e})") from None
    if not isinstance(a, np.ndarray):
        raise UsageError(f"{what} file {path}: expected a single .npy array, got an .npz archive")
    if a.dtype.kind not in "biufc":
        raise UsageError(f"{what} file {path}: expected numbers, got dtype {a.dtype}")
    return a
