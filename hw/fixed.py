"""Fixed-point helpers for gateware, mirroring ``golden/fixedpoint.py`` bit for bit.

* :func:`complex_layout` is the complex sample: ``re`` then ``im`` (``re`` in the least
  significant bits once flattened), each a signed integer.
* :func:`round_shift` rounds half up: add ``2**(shift-1)``, then shift right arithmetically.
* :func:`halve_add_sub` is ``golden.fft_radix22``'s rounded half sum or difference on one adder
  (its rounding rides on the carry), :func:`add_sub` the exact one.
* :func:`saturate` clamps to ``width`` signed bits by checking that the bits above the sign all
  equal it (cheaper than a comparator) and flags what it clipped.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Mux, Value, signed
from amaranth.lib import data

from golden.fixedpoint import pack_complex

__all__ = ["complex_layout", "round_shift", "round_shift_var", "shift_among",
           "round_shift_among", "CONSTANT_SHIFTS", "saturate", "pack_complex",
           "halve_add_sub", "add_sub"]


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
    return (Value.cast(v) + _half(shift)) >> shift


def _half(shift: Value) -> Value:
    """``2**shift / 2`` (0 for a shift of 0): the rounding addend of a run-time shift."""
    return (Const(1, len(shift) + 1) << shift) >> 1


#: Up to this many distinct shifts, a shift chosen at run time is a multiplexer of constant
#: shifts (a barrel shifter beyond).
CONSTANT_SHIFTS = 4


def shift_among(v: Value, shift: Value, shifts, constant_shifts: int = CONSTANT_SHIFTS) -> Value:
    """``v >> shift`` where ``shift`` is always one of ``shifts`` (the layers' shifts of a plan):
    a multiplexer of constant shifts when there are at most ``constant_shifts`` of them."""
    shifts = sorted(set(shifts))
    if len(shifts) > constant_shifts:
        return Value.cast(v) >> shift
    out = Value.cast(v) >> shifts[-1]
    for s in shifts[:-1]:
        out = Mux(shift == s, Value.cast(v) >> s, out)
    return out


def round_shift_among(v: Value, shift: Value, shifts,
                      constant_shifts: int = CONSTANT_SHIFTS) -> Value:
    """:func:`round_shift_var` for a ``shift`` that is always one of ``shifts``."""
    return shift_among(Value.cast(v) + _half(shift), shift, shifts, constant_shifts)


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


def _operand(v: Value, sub) -> Value:
    """``v``, or ``~v`` where ``sub`` (a 1-bit value, or a Python bool fixed at build time)."""
    v = Value.cast(v)
    if isinstance(sub, (bool, int)):
        return ~v if sub else v
    return (v.as_unsigned() ^ Value.cast(sub).replicate(len(v))).as_signed()


def _carry_in(sub):
    return Const(int(sub), 1) if isinstance(sub, (bool, int)) else Value.cast(sub)


def halve_add_sub(u: Value, v: Value, sub) -> Value:
    """``(u + v + 1) >> 1`` (``sub`` low) or ``(u - v) >> 1`` (``sub`` high) on one adder,
    with the width of ``u`` and ``v`` (which are equal): the result always fits.

    The sum gives both operands a low bit of 1, whose sum is the carry that rounds (``2u + 1 +
    2v + 1 = 2 (u + v + 1)``); the difference rounded half down is the exact difference without
    its low bit.  A run-time ``sub`` inverts ``v`` (``u + ~v + 1 = u - v``), a LUT per bit."""
    u, v = Value.cast(u), Value.cast(v)
    n = len(u)
    if isinstance(sub, (bool, int)):
        if sub:  # a native subtraction: the device's carry chain inverts v for free
            return (u - v)[1:1 + n].as_signed()
        return (Cat(Const(1, 1), u).as_signed() + Cat(Const(1, 1), v).as_signed())[2:2 + n] \
            .as_signed()
    total = Cat(Const(1, 1), u).as_signed() + Cat(Const(1, 1), _operand(v, sub)).as_signed()
    return total[2:2 + n].as_signed()


def add_sub(u: Value, v: Value, sub) -> Value:
    """``u + v`` or ``u - v`` exactly (one bit wider than ``u``), on one adder."""
    u, v = Value.cast(u), Value.cast(v)
    if isinstance(sub, (bool, int)):
        return (u - v) if sub else (u + v)
    c = Value.cast(sub)
    total = Cat(c, u).as_signed() + Cat(c, _operand(v, sub)).as_signed()
    return total[1:2 + len(u)].as_signed()
