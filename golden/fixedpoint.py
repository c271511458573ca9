"""Fixed-point primitives shared by every bit-exact model (and mirrored by ``hw/fixed.py``).

Numbers are two's-complement integers held in NumPy ``int64`` arrays.  A complex value is a pair
of integer arrays ``(re, im)``.

* :func:`round_shift` divides by ``2**shift`` rounding half up: ``(v + 2**(shift-1)) >> shift``
  (an arithmetic shift, so ``-0.5`` rounds to ``0`` and ``-1.5`` to ``-1``).  In hardware the
  half is one constant added before the shift.
* :func:`saturate` clamps to the signed range of ``width`` bits and reports which values it
  clipped.  Nothing ever wraps.
"""

from __future__ import annotations

import numpy as np

__all__ = ["signed_range", "round_shift", "saturate", "check_signed", "twiddle_table",
           "pack_complex"]


def signed_range(width: int) -> tuple[int, int]:
    """``(min, max)`` of a signed ``width``-bit integer."""
    return -(1 << (width - 1)), (1 << (width - 1)) - 1


def round_shift(v, shift: int) -> np.ndarray:
    """``v / 2**shift`` rounded half up (``shift = 0``: ``v`` unchanged)."""
    v = np.asarray(v, dtype=np.int64)
    if shift == 0:
        return v.copy()
    return (v + (1 << (shift - 1))) >> shift


def saturate(v, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Clamp ``v`` to signed ``width`` bits; returns ``(clamped, clipped_mask)``."""
    lo, hi = signed_range(width)
    v = np.asarray(v, dtype=np.int64)
    return np.clip(v, lo, hi), (v < lo) | (v > hi)


def check_signed(v, width: int, what: str) -> np.ndarray:
    """``v`` as int64 if every value is an integer in the signed ``width``-bit range."""
    a = np.asarray(v)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise ValueError(f"{what} must hold integers")
    elif a.dtype.kind not in "iub":
        raise ValueError(f"{what} must hold integers, not {a.dtype}")
    lo, hi = signed_range(width)
    a = a.astype(np.int64)
    if a.size and (a.min() < lo or a.max() > hi):
        raise ValueError(f"{what} must lie in the signed {width}-bit range [{lo}, {hi}], "
                         f"found [{a.min()}, {a.max()}]")
    return a


def twiddle_table(k: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Quantized forward twiddles ``W_k^e = exp(-2*pi*i*e/k)`` for ``e < k/2``.

    Each component is ``round(value * 2**(width-1))`` clamped to ``[-(2**(width-1) - 1),
    2**(width-1) - 1]`` (symmetric, so negating for the inverse never overflows; ``1.0`` becomes
    ``1 - 2**-(width-1)``).  The hardware ROM is filled from this function.
    """
    e = np.arange(k // 2)
    scale = 1 << (width - 1)
    angle = -2.0 * np.pi * e / k
    lim = scale - 1

    def q(v):
        return np.clip(np.round(v * scale), -lim, lim).astype(np.int64)

    return q(np.cos(angle)), q(np.sin(angle))


def pack_complex(re: int, im: int, width: int) -> int:
    """The flat integer of a complex word (``re`` in the low ``width`` bits), as memories and
    stream payloads hold it."""
    mask = (1 << width) - 1
    return (int(re) & mask) | ((int(im) & mask) << width)
