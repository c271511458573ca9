"""The layer engine's spectrum memories: the Z buffer (input spectra) and the Y banks (output
spectra), each copied so that every memory has one write and one read port."""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .ram import SimpleDualPortRAM

__all__ = ["CopiedMemory"]


class CopiedMemory(wiring.Component):
    """``banks`` memories of ``depth`` words, each kept in ``copies`` copies written together.

    Overview
    --------
    A write puts ``w_data[b]`` at ``w_addr`` in every copy of bank ``b`` (one address for all
    banks); read port ``c`` reads address ``r_addr[c]`` from copy ``c`` of every bank, so each
    memory has one write and one read port.  The Z buffer is one bank of two copies (``Z[m]``
    and ``Z[k - m]`` of a MAC term); the Y banks are one bank per MAC lane, two copies (the two
    samples of an output-frame cycle, or with one lane the frame's two blocks).

    Latency and resources
    ---------------------
    Reads take 2 cycles (``delay``).  ``banks * copies`` :class:`hw.ram.SimpleDualPortRAM`.

    Members
    -------
    w_en : In(1), w_addr : In(range(depth)), w_data : In(ArrayLayout(width, banks))
    r_addr : In(ArrayLayout(range(depth), copies))
    r_data : Out(ArrayLayout(ArrayLayout(width, copies), banks))
    """

    delay = 2

    def __init__(self, width: int, depth: int, banks: int = 1, copies: int = 2,
                 tech: str = "generic"):
        self._width, self._depth, self._banks, self._copies = width, depth, banks, copies
        self._tech = tech
        abits = range(depth)
        super().__init__({
            "w_en": In(1), "w_addr": In(abits), "w_data": In(data.ArrayLayout(width, banks)),
            "r_addr": In(data.ArrayLayout(abits, copies)),
            "r_data": Out(data.ArrayLayout(data.ArrayLayout(width, copies), banks)),
        })

    def elaborate(self, platform):
        m = Module()
        for b in range(self._banks):
            for c in range(self._copies):
                ram = SimpleDualPortRAM(self._width, self._depth, self._tech)
                m.submodules[f"bank{b}_copy{c}"] = ram
                m.d.comb += [ram.w_en.eq(self.w_en), ram.w_addr.eq(self.w_addr),
                             ram.w_data.eq(self.w_data[b]), ram.r_addr.eq(self.r_addr[c]),
                             ram.r_en.eq(1), self.r_data[b][c].eq(ram.r_data)]
        return m
