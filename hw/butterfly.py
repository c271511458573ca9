"""Radix-2 decimation-in-frequency butterfly with twiddle, scaling, rounding and saturation."""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from golden.fixedpoint import round_shift as round_shift_model
from golden.fixedpoint import saturate as saturate_model

from .cmul import ComplexMultiplier
from .fixed import complex_layout, round_shift, saturate

__all__ = ["Butterfly"]


class Butterfly(wiring.Component):
    """``a = sat(round((x0 + x1) / 2**shift))``, ``b = sat(round(d * tw / 2**(tw_width - 1)))``
    with ``d = sat(round((x0 - x1) / 2**shift))``.

    Overview
    --------
    ::

        x0, x1 -> [+/-] -> reg -+-> delay (2 + cmul.delay) -----------> [round] -> reg -> [sat] -> reg -> a
                                +-> [round] -> reg -> [sat] -> reg -> ComplexMultiplier(d, tw)
                                                                    -> [round] -> reg -> [sat] -> reg -> b

    Rounding is half up, saturation clamps to ``width`` bits and raises ``sat_a``/``sat_b``;
    rounding and saturation each get a cycle of their own (better Fmax on ECP5).  The difference is
    scaled before the multiplier so that its operand keeps ``width`` bits (18 x 16 for the
    default 16-bit engine: one MULT18X18D per real product).  ``shift`` (0 or 1) is the stage's
    scaling and may change every cycle.  All registers advance only when ``en``.

    Latency and resources
    ---------------------
    ``delay = 7 + pipeline`` enabled cycles.  One complex multiplier (4 real
    ``width x tw_width`` products), 4 adders of ``width + 1`` bits, 6 rounders.

    Parameters
    ----------
    width : int
        Component width of ``x0``, ``x1``, ``a``, ``b``.
    tw_width : int
        Component width of the twiddle (``tw_width - 1`` fractional bits).
    pipeline : int
        Extra registers inside the complex multiplier (0 to 2).
    tech : str
        Complex multiplier technology (see :class:`hw.cmul.ComplexMultiplier`).
    fixed_shift : int or None
        A shift known when the butterfly is built (the ``shift`` input is then ignored): no
        shift multiplexers, and with a shift of 1 the sum is rounded by the carry-in of its own
        adder, ``(x0 + x1 + 1) >> 1``, which cannot overflow (no saturation logic either).  The
        latency and the numerics are unchanged.
    quarter : int or None
        The twiddle is always ``W^0`` (0) or ``W^(k/4)`` and its conjugate (1): no multipliers
        (see :class:`hw.cmul.ComplexMultiplier`).
    """

    def __init__(self, width: int, tw_width: int, pipeline: int = 0, tech: str = "generic",
                 fixed_shift: int | None = None, quarter: int | None = None):
        if fixed_shift not in (None, 0, 1):
            raise TypeError(f"fixed_shift must be None, 0 or 1, not {fixed_shift!r}")
        self._fixed_shift = fixed_shift
        if not isinstance(width, int) or not 4 <= width <= 32:
            raise TypeError(f"width must be an integer from 4 to 32, not {width!r}")
        if not isinstance(tw_width, int) or not 4 <= tw_width <= 32:
            raise TypeError(f"tw_width must be an integer from 4 to 32, not {tw_width!r}")
        self._width, self._tw_width = width, tw_width
        self._cmul = ComplexMultiplier(width, tw_width, pipeline, tech, quarter=quarter)
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
        return 7 + pipeline

    def model(self, x0r, x0i, x1r, x1i, twr, twi, shift):
        """Integer outputs ``(ar, ai, br, bi, sat_a, sat_b)`` for arrays of inputs."""
        x0r, x0i, x1r, x1i, twr, twi, shift = (np.asarray(v, dtype=np.int64) for v in
                                               (x0r, x0i, x1r, x1i, twr, twi, shift))
        frac = self._tw_width - 1

        def scaled(v):
            return saturate_model(np.where(shift == 1, round_shift_model(v, 1), v), self._width)

        ar, sar = scaled(x0r + x1r)
        ai, sai = scaled(x0i + x1i)
        dr, sdr = scaled(x0r - x1r)
        di, sdi = scaled(x0i - x1i)
        pr, pi = ComplexMultiplier.model(dr, di, twr, twi)
        br, sbr = saturate_model(round_shift_model(pr, frac), self._width)
        bi, sbi = saturate_model(round_shift_model(pi, frac), self._width)
        return ar, ai, br, bi, sar | sai, sbr | sbi | sdr | sdi

    @staticmethod
    def _scaled(sh, v):
        """``v``, rounded by one bit when ``sh`` (a constant selects its branch at build time)."""
        if isinstance(sh, Const):
            return round_shift(v, 1) if sh.value else v
        return Mux(sh, round_shift(v, 1), v)

    def elaborate(self, platform):
        m = Module()
        m.submodules.cmul = cmul = self._cmul
        w, frac = self._width, self._tw_width - 1
        en = self.en
        m.d.comb += cmul.en.eq(en)

        fixed = self._fixed_shift
        # with a fixed shift of 1 the sum is rounded at once: (x0 + x1 + 1) >> 1 uses the
        # adder's carry-in and always fits `w` bits, so it needs no later rounding or clamping
        s = Signal(complex_layout(w if fixed == 1 else w + 1))
        dif = Signal(complex_layout(w + 1))
        tw = Signal(complex_layout(self._tw_width))
        sh = Const(fixed, 1) if fixed is not None else Signal()
        with m.If(en):
            for part in ("re", "im"):
                total = self.x0[part] + self.x1[part]
                if fixed == 1:
                    total = (total + 1) >> 1
                m.d.sync += [s[part].eq(total), dif[part].eq(self.x0[part] - self.x1[part])]
            m.d.sync += tw.eq(self.tw)
            if fixed is None:
                m.d.sync += sh.eq(self.shift)

        # the difference is scaled and rounded in one cycle, saturated in the next (each is a
        # carry chain or a wide compare: together they were the ECP5 critical path)
        rnd = Signal(complex_layout(w + 2))
        tw_r = Signal.like(tw)
        with m.If(en):
            m.d.sync += [rnd.re.eq(self._scaled(sh, dif.re)), rnd.im.eq(self._scaled(sh, dif.im)),
                         tw_r.eq(tw)]
        d = Signal(complex_layout(w))
        d_sat = Signal()
        tw_d = Signal.like(tw)
        dr, sdr = saturate(rnd.re, w)
        di, sdi = saturate(rnd.im, w)
        with m.If(en):
            m.d.sync += [d.re.eq(dr), d.im.eq(di), d_sat.eq(sdr | sdi), tw_d.eq(tw_r)]
        m.d.comb += [cmul.a.eq(d), cmul.b.eq(tw_d)]
        # the sum, the shift and the difference's flag wait for the product
        for i in range(2 + cmul.delay):
            s_d = Signal.like(s, name=f"sum_d{i}")
            with m.If(en):
                m.d.sync += s_d.eq(s)
            s = s_d
            if fixed is None:
                sh_d = Signal(name=f"shift_d{i}")
                with m.If(en):
                    m.d.sync += sh_d.eq(sh)
                sh = sh_d
        for i in range(cmul.delay):
            ds = Signal(name=f"dsat_d{i}")
            with m.If(en):
                m.d.sync += ds.eq(d_sat)
            d_sat = ds

        # outputs: rounded in one cycle, saturated in the next
        if fixed == 1:
            rounded = [s.re, s.im]
        else:
            rounded = [self._scaled(sh, s.re), self._scaled(sh, s.im)]
        rounded += [round_shift(cmul.o.re, frac), round_shift(cmul.o.im, frac)]
        regs = [Signal(signed(len(v) + (0 if i < 2 and fixed == 1 else 1)), name=f"rounded_{n}")
                for i, (v, n) in enumerate(zip(rounded, ("ar", "ai", "br", "bi")))]
        d_sat_r = Signal()
        with m.If(en):
            m.d.sync += [r.eq(v) for r, v in zip(regs, rounded)]
            m.d.sync += d_sat_r.eq(d_sat)
        (ar, sar), (ai, sai), (br, sbr), (bi, sbi) = (saturate(r, w) for r in regs)
        with m.If(en):
            m.d.sync += [
                self.a.re.eq(ar), self.a.im.eq(ai), self.b.re.eq(br), self.b.im.eq(bi),
                self.sat_a.eq(sar | sai), self.sat_b.eq(sbr | sbi | d_sat_r),
            ]
        return m
