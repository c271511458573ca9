"""Run-time selection among values as a chain of multiplexers.

Used instead of an Amaranth ``Array`` proxy: Yosys turns a proxy into a ``case`` block that
Icarus may never evaluate when its inputs do not change after time 0 (docs/fft-engine.md).
"""

from __future__ import annotations

from amaranth.hdl import Mux

__all__ = ["select"]


def select(values, index):
    """``values[index]``; an index beyond the end gives the last value."""
    result = values[-1]
    for i, v in enumerate(values[:-1]):
        result = Mux(index == i, v, result)
    return result
