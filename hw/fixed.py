"""Fixed-point helpers for gateware, mirroring ``golden/fixedpoint.py`` bit for bit.

* :func:`complex_layout` is the complex sample: ``re`` then ``im`` (``re`` in the least
  significant bits once flattened), each a signed integer.
* :func:`round_shift` rounds half up: add ``2**(shift-1)``, then shift right arithmetically.
* :func:`saturate` clamps to ``width`` signed bits by checking that the bits above the sign all
  equal it (cheaper than a comparator) and flags what it clipped.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Mux, Value, signed
from amaranth.lib import data

from golden.fixedpoint import pack_complex

__all__ = ["complex_layout", "round_shift", "round_shift_var", "saturate", "pack_complex"]


def complex_layout(width: int) -> data.StructLayout:
    """A complex sample of two signed ``width``-bit components."""
    return data.StructLayout({"re": signed(width), "im": signed(width)})


def round_shift(v: Value, shift: int) -> Value:
    """``v / 2**shift`` rounded half up (``shift = 0``: ``v``)."""
    v = Value.cast(v)
    if shift == 0:
        return v
    return (v + Const(1 << (shift - 1), shift)) >> shift


def round_shift_var(v: Value, shift: Value) -> Value:
    """``v / 2**shift`` rounded half up, ``shift`` a run-time value (``0``: ``v``)."""
    half = (Const(1, len(shift) + 1) << shift) >> 1
    return (Value.cast(v) + half) >> shift


def saturate(v: Value, width: int) -> tuple[Value, Value]:
    """``(clamped, clipped)``: ``v`` limited to the signed ``width``-bit range."""
    v = Value.cast(v)
    n = len(v)
    if n <= width:
        return v.as_signed(), Const(0, 1)
    if not v.shape().signed:
        v = Cat(v, Const(0, 1)).as_signed()
        n += 1
    top = v[width - 1:]
    fits = (top == 0) | (top == Const((1 << (n - width + 1)) - 1, n - width + 1))
    lo = Const(-(1 << (width - 1)), signed(width))
    hi = Const((1 << (width - 1)) - 1, signed(width))
    return Mux(fits, v[:width].as_signed(), Mux(v[-1], lo, hi)), ~fits
