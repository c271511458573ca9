"""Flat payload integers of the FFT engine's streams, packed and unpacked from the Amaranth
layouts themselves (so the testbench can never disagree with the gateware about bit positions)."""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Shape

from golden.fft_fixed import FFTParams
from hw.fft_engine import input_payload, output_payload


def _field(layout, name):
    f = layout[name]
    return f.offset, f.shape


def pack_input(params: FFTParams, samples, inverse: bool, last: bool, stuffing: int = 0) -> int:
    """Payload of one input beat: ``2p`` complex integer samples, direction, end of frame (and
    the frame's ``stuffing`` when the engine has a run-time length)."""
    layout = input_payload(params)
    w = params.width
    mask = (1 << w) - 1
    value = 0
    off, _ = _field(layout, "data")
    for l, s in enumerate(samples):
        value |= (int(s.real) & mask) << (off + 2 * w * l)
        value |= (int(s.imag) & mask) << (off + 2 * w * l + w)
    value |= int(inverse) << _field(layout, "inverse")[0]
    value |= int(last) << _field(layout, "last")[0]
    if params.max_stuffing:
        value |= int(stuffing) << _field(layout, "stuffing")[0]
    elif stuffing:
        raise ValueError("this engine has one transform length (min_length = k)")
    return value


def unpack_output(params: FFTParams, value: int):
    """``(samples, inverse, first, last)`` of one output beat's payload integer."""
    layout = output_payload(params)
    w = params.width
    off, _ = _field(layout, "data")

    def signed(v):
        return v - (1 << w) if v >> (w - 1) else v

    samples = np.array([
        signed((value >> (off + 2 * w * l)) & ((1 << w) - 1))
        + 1j * signed((value >> (off + 2 * w * l + w)) & ((1 << w) - 1))
        for l in range(params.lanes)])
    flags = [(value >> _field(layout, n)[0]) & 1 for n in ("inverse", "first", "last")]
    return samples, *flags


def output_stuffing(params: FFTParams, value: int) -> int:
    """The ``stuffing`` field of one output beat's payload integer (0 without a run-time
    length)."""
    if not params.max_stuffing:
        return 0
    off, shape = _field(output_payload(params), "stuffing")
    return (value >> off) & ((1 << Shape.cast(shape).width) - 1)
