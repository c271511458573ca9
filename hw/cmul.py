"""Pipelined complex multiplier with a clock enable."""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .fixed import complex_layout

__all__ = ["ComplexMultiplier"]


class ComplexMultiplier(wiring.Component):
    """Full-precision complex product ``o = a * b``.

    Overview
    --------
    Four real products are registered, optionally delayed by ``pipeline`` more registers
    (intra-level pipelining: room for the DSP's own registers and routing), then combined
    (``re = ar*br - ai*bi``, ``im = ar*bi + ai*br``) into a register.  Everything advances only
    when ``en`` is high, so a stalled pipeline keeps its contents.

    Latency and resources
    ---------------------
    ``delay = 2 + pipeline`` enabled cycles.  Four ``a_width x b_width`` multipliers, two adders
    of ``a_width + b_width + 1`` bits.

    Parameters
    ----------
    a_width, b_width : int
        Component widths of the operands (signed).
    pipeline : int
        Extra register stages after the products, 0 to 2.

    Members
    -------
    en : In(1)
    a, b : In(complex_layout(a_width)), In(complex_layout(b_width))
    o : Out(complex_layout(a_width + b_width + 1))
    """

    def __init__(self, a_width: int, b_width: int, pipeline: int = 0):
        for name, v in (("a_width", a_width), ("b_width", b_width)):
            if not isinstance(v, int) or not 2 <= v <= 36:
                raise TypeError(f"{name} must be an integer from 2 to 36, not {v!r}")
        if pipeline not in (0, 1, 2):
            raise TypeError(f"pipeline must be 0, 1 or 2, not {pipeline!r}")
        self._a_width, self._b_width, self._pipeline = a_width, b_width, pipeline
        super().__init__({
            "en": In(1),
            "a": In(complex_layout(a_width)),
            "b": In(complex_layout(b_width)),
            "o": Out(complex_layout(a_width + b_width + 1)),
        })

    @property
    def delay(self) -> int:
        return 2 + self._pipeline

    @property
    def out_width(self) -> int:
        return self._a_width + self._b_width + 1

    @staticmethod
    def model(a_re, a_im, b_re, b_im):
        """Exact integer product ``(re, im)``."""
        a_re, a_im, b_re, b_im = (np.asarray(v, dtype=np.int64) for v in (a_re, a_im, b_re, b_im))
        return a_re * b_re - a_im * b_im, a_re * b_im + a_im * b_re

    def elaborate(self, platform):
        m = Module()
        pw = self._a_width + self._b_width
        prods = [Signal(signed(pw), name=f"prod_{n}") for n in ("rr", "ii", "ri", "ir")]
        with m.If(self.en):
            m.d.sync += [
                prods[0].eq(self.a.re * self.b.re),
                prods[1].eq(self.a.im * self.b.im),
                prods[2].eq(self.a.re * self.b.im),
                prods[3].eq(self.a.im * self.b.re),
            ]
        for stage in range(self._pipeline):
            delayed = [Signal(signed(pw), name=f"prod_{n}_p{stage}")
                       for n in ("rr", "ii", "ri", "ir")]
            with m.If(self.en):
                m.d.sync += [d.eq(s) for d, s in zip(delayed, prods)]
            prods = delayed
        with m.If(self.en):
            m.d.sync += [
                self.o.re.eq(prods[0] - prods[1]),
                self.o.im.eq(prods[2] + prods[3]),
            ]
        return m
