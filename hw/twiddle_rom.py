"""Twiddle-factor ROM (memory subsystem), filled from the golden model's quantization."""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from golden.fixedpoint import twiddle_table

from .fixed import complex_layout, pack_complex

__all__ = ["TwiddleROM"]


class TwiddleROM(wiring.Component):
    """``ports`` read ports returning ``W_k^e`` (forward) or its conjugate (inverse).

    Overview
    --------
    One ROM of ``k`` entries: the ``k/2`` forward twiddles of
    :func:`golden.fixedpoint.twiddle_table`, then their conjugates, addressed by
    ``{inverse, e}``.  Storing the conjugates costs ``k/2`` words and saves a negation on the
    data path.  Reads are registered and advance only when ``en``.

    Latency and resources
    ---------------------
    ``delay = 1``.  ``k * 2 * width`` bits of ROM per read port (Yosys duplicates the ROM for
    each port; small ones become LUTs).

    Parameters
    ----------
    k : int
        Transform size (power of two, at least 2).
    width : int
        Twiddle component width.
    ports : int
        Number of read ports.
    """

    def __init__(self, k: int, width: int, ports: int = 1):
        if not isinstance(k, int) or k < 2 or k & (k - 1):
            raise TypeError(f"k must be a power of two of at least 2, not {k!r}")
        if not isinstance(ports, int) or ports < 1:
            raise TypeError(f"ports must be a positive integer, not {ports!r}")
        self._k, self._width, self._ports = k, width, ports
        abits = max(1, (k // 2 - 1).bit_length())
        self._abits = abits
        super().__init__({
            "en": In(1),
            "inverse": In(1),
            "e": In(data.ArrayLayout(unsigned(abits), ports)),
            "tw": Out(data.ArrayLayout(complex_layout(width), ports)),
        })

    @property
    def delay(self) -> int:
        return 1

    def model(self, e, inverse):
        """``(re, im)`` integer twiddles for exponents ``e`` (``e < k/2``)."""
        re, im = twiddle_table(self._k, self._width)
        e = np.asarray(e)
        return re[e], (-im[e] if inverse else im[e])

    def elaborate(self, platform):
        m = Module()
        re, im = twiddle_table(self._k, self._width)
        half = self._k // 2
        init = [pack_complex(re[e], im[e], self._width) for e in range(half)]
        init += [pack_complex(re[e], -im[e], self._width) for e in range(half)]
        m.submodules.rom = rom = memory.Memory(shape=unsigned(2 * self._width), depth=2 * half,
                                               init=init)
        for i in range(self._ports):
            port = rom.read_port(domain="sync")
            addr = Signal(range(2 * half), name=f"addr{i}")
            m.d.comb += [
                addr.eq(self.e[i] | (self.inverse << (half.bit_length() - 1))),
                port.addr.eq(addr),
                port.en.eq(self.en),
                self.tw[i].as_value().eq(port.data),
            ]
        return m
