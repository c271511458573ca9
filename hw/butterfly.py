"""Radix-2 decimation-in-frequency butterfly with twiddle, scaling, rounding and saturation."""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from golden.fixedpoint import round_shift as round_shift_model
from golden.fixedpoint import saturate as saturate_model

from .cmul import ComplexMultiplier
from .fixed import complex_layout, round_shift, saturate

__all__ = ["Butterfly"]


class Butterfly(wiring.Component):
    """``a = (x0 + x1) / 2**shift``, ``b = (x0 - x1) * tw / 2**(tw_width - 1 + shift)``.

    Overview
    --------
    ::

        x0, x1 -> [+/-] -> reg -+-> delay (cmul.delay) ----------> [round, sat] -> reg -> a
                                +-> ComplexMultiplier(diff, tw) --> [round, sat] -> reg -> b

    Rounding is half up, saturation clamps to ``width`` bits and raises ``sat_a``/``sat_b``;
    rounding and saturation get a cycle of their own (better Fmax on ECP5).  ``shift`` (0 or 1)
    is the stage's scaling and may change every cycle.  All registers advance only when ``en``.

    Latency and resources
    ---------------------
    ``delay = 4 + pipeline`` enabled cycles.  One complex multiplier (4 real
    ``(width + 1) x tw_width`` products), 4 adders of ``width + 1`` bits, 4 rounders.

    Parameters
    ----------
    width : int
        Component width of ``x0``, ``x1``, ``a``, ``b``.
    tw_width : int
        Component width of the twiddle (``tw_width - 1`` fractional bits).
    pipeline : int
        Extra registers inside the complex multiplier (0 to 2).
    """

    def __init__(self, width: int, tw_width: int, pipeline: int = 0):
        if not isinstance(width, int) or not 4 <= width <= 32:
            raise TypeError(f"width must be an integer from 4 to 32, not {width!r}")
        if not isinstance(tw_width, int) or not 4 <= tw_width <= 32:
            raise TypeError(f"tw_width must be an integer from 4 to 32, not {tw_width!r}")
        self._width, self._tw_width = width, tw_width
        self._cmul = ComplexMultiplier(width + 1, tw_width, pipeline)
        super().__init__({
            "en": In(1),
            "x0": In(complex_layout(width)),
            "x1": In(complex_layout(width)),
            "tw": In(complex_layout(tw_width)),
            "shift": In(1),
            "a": Out(complex_layout(width)),
            "b": Out(complex_layout(width)),
            "sat_a": Out(1),
            "sat_b": Out(1),
        })

    @property
    def delay(self) -> int:
        return self.delay_for(self._cmul.delay - 2)

    @staticmethod
    def delay_for(pipeline: int) -> int:
        """Latency of a butterfly built with ``pipeline`` extra multiplier registers."""
        return 4 + pipeline

    def model(self, x0r, x0i, x1r, x1i, twr, twi, shift):
        """Integer outputs ``(ar, ai, br, bi, sat_a, sat_b)`` for arrays of inputs."""
        x0r, x0i, x1r, x1i, twr, twi, shift = (np.asarray(v, dtype=np.int64) for v in
                                               (x0r, x0i, x1r, x1i, twr, twi, shift))
        frac = self._tw_width - 1
        pr, pi = ComplexMultiplier.model(x0r - x1r, x0i - x1i, twr, twi)

        def rs(v, extra):
            return np.where(shift == 1, round_shift_model(v, extra + 1), round_shift_model(v, extra))

        ar, sar = saturate_model(rs(x0r + x1r, 0), self._width)
        ai, sai = saturate_model(rs(x0i + x1i, 0), self._width)
        br, sbr = saturate_model(rs(pr, frac), self._width)
        bi, sbi = saturate_model(rs(pi, frac), self._width)
        return ar, ai, br, bi, sar | sai, sbr | sbi

    def elaborate(self, platform):
        m = Module()
        m.submodules.cmul = cmul = self._cmul
        w, frac = self._width, self._tw_width - 1
        en = self.en
        m.d.comb += cmul.en.eq(en)

        s = Signal(complex_layout(w + 1))
        dif = Signal(complex_layout(w + 1))
        tw = Signal(complex_layout(self._tw_width))
        sh = Signal()
        with m.If(en):
            m.d.sync += [
                s.re.eq(self.x0.re + self.x1.re), s.im.eq(self.x0.im + self.x1.im),
                dif.re.eq(self.x0.re - self.x1.re), dif.im.eq(self.x0.im - self.x1.im),
                tw.eq(self.tw), sh.eq(self.shift),
            ]
        m.d.comb += [cmul.a.eq(dif), cmul.b.eq(tw)]
        # The sum and the shift wait for the product.
        for i in range(cmul.delay):
            s_d = Signal.like(s, name=f"sum_d{i}")
            sh_d = Signal(name=f"shift_d{i}")
            with m.If(en):
                m.d.sync += [s_d.eq(s), sh_d.eq(sh)]
            s, sh = s_d, sh_d

        def scaled(v, extra):
            return saturate(Mux(sh, round_shift(v, extra + 1), round_shift(v, extra)), w)

        ar, sar = scaled(s.re, 0)
        ai, sai = scaled(s.im, 0)
        br, sbr = scaled(cmul.o.re, frac)
        bi, sbi = scaled(cmul.o.im, frac)
        with m.If(en):
            m.d.sync += [
                self.a.re.eq(ar), self.a.im.eq(ai), self.b.re.eq(br), self.b.im.eq(bi),
                self.sat_a.eq(sar | sai), self.sat_b.eq(sbr | sbi),
            ]
        return m
