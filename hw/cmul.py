"""Pipelined complex multiplier with a clock enable."""

from __future__ import annotations

import numpy as np
from amaranth.hdl import ClockSignal, Const, Instance, Module, Mux, Signal, signed
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
    tech : str
        ``"generic"`` (``*`` operators, any device) or ``"ecp5"``: four ``MULT18X18D``
        primitives with their input, pipeline and output registers enabled (needs operands of at
        most 18 bits and ``pipeline = 2``, which has the same latency, so the two are
        interchangeable; ``sim/ecp5_models.py`` provides a behavioural model for simulation), or
        ``"ice40"``: each product of an operand wider than 16 bits by one of 16 bits split into
        ``a[0:16] * b`` (unsigned by signed: one 16 x 16 SB_MAC16) plus ``a[16:] * b`` for a top
        of 2 bits, selected from ``0, b, -b, -2b`` in LUTs (Yosys would spend a second DSP on
        it); the same exact product, the same latency.
    quarter : int or None
        ``b`` is known to be the quantized twiddle ``W^0 = (C, 0)`` (0) or ``W^(k/4) = (0, -C)``
        or its conjugate (1; the sign of ``b.im`` tells which), ``C = 2**(b_width-1) - 1``: the
        products are then ``(x << (b_width - 1)) - x``, an adder each and no multiplier, with
        the same latency and the same (exact) result.

    Members
    -------
    en : In(1)
    a, b : In(complex_layout(a_width)), In(complex_layout(b_width))
    o : Out(complex_layout(a_width + b_width + 1))
    """

    TECHS = ("generic", "ecp5", "ice40")

    def __init__(self, a_width: int, b_width: int, pipeline: int = 0, tech: str = "generic",
                 quarter: int | None = None):
        if quarter not in (None, 0, 1):
            raise TypeError(f"quarter must be None, 0 or 1, not {quarter!r}")
        self._quarter = quarter
        for name, v in (("a_width", a_width), ("b_width", b_width)):
            if not isinstance(v, int) or not 2 <= v <= 36:
                raise TypeError(f"{name} must be an integer from 2 to 36, not {v!r}")
        if pipeline not in (0, 1, 2):
            raise TypeError(f"pipeline must be 0, 1 or 2, not {pipeline!r}")
        if tech not in self.TECHS:
            raise TypeError(f"tech must be 'generic', 'ecp5' or 'ice40', not {tech!r}")
        if tech == "ecp5" and (pipeline != 2 or a_width > 18 or b_width > 18):
            raise TypeError(f"tech 'ecp5' needs pipeline 2 and operands of at most 18 bits, not "
                            f"pipeline {pipeline} with {a_width} x {b_width} bits")
        self._a_width, self._b_width, self._pipeline = a_width, b_width, pipeline
        self._tech = tech
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

    def _ecp5_product(self, m, name, a, b):
        """``a * b`` through a MULT18X18D with its three registers (latency 3, enable ``en``)."""
        p = Signal(signed(36), name=f"dsp_{name}")
        a18 = Signal(signed(18), name=f"dsp_{name}_a")
        b18 = Signal(signed(18), name=f"dsp_{name}_b")
        m.d.comb += [a18.eq(a), b18.eq(b)]
        ports = {f"i_A{i}": a18[i] for i in range(18)}
        ports.update({f"i_B{i}": b18[i] for i in range(18)})
        ports.update({f"o_P{i}": p[i] for i in range(36)})
        m.submodules[f"dsp_{name}"] = Instance(
            "MULT18X18D",
            p_REG_INPUTA_CLK="CLK0", p_REG_INPUTA_CE="CE0", p_REG_INPUTA_RST="RST0",
            p_REG_INPUTB_CLK="CLK0", p_REG_INPUTB_CE="CE0", p_REG_INPUTB_RST="RST0",
            p_REG_PIPELINE_CLK="CLK0", p_REG_PIPELINE_CE="CE0", p_REG_PIPELINE_RST="RST0",
            p_REG_OUTPUT_CLK="CLK0", p_REG_OUTPUT_CE="CE0", p_REG_OUTPUT_RST="RST0",
            p_GSR="DISABLED", p_RESETMODE="SYNC", p_MULT_BYPASS="DISABLED",
            i_SIGNEDA=Const(1, 1), i_SIGNEDB=Const(1, 1), i_SOURCEA=Const(0, 1),
            i_SOURCEB=Const(0, 1), i_CLK0=ClockSignal(), i_CE0=self.en, i_RST0=Const(0, 1),
            **ports)
        return p

    @staticmethod
    def _split_product(a, b):
        """``a * b`` as a 16 x 16 product (the low 16 bits of ``a``, unsigned) plus the top bits
        of ``a`` (at most 2, signed) times ``b`` as a selection: what one iCE40 SB_MAC16 and a
        few LUTs compute."""
        if len(a) <= 16 or len(a) > 18 or len(b) > 16:
            return a * b
        low = a.as_unsigned()[:16] * b          # unsigned 16 by signed 16
        top = a[16:].as_signed()                # -2 .. 1 (or -1 .. 0 for 17 bits)
        sel = Mux(top == 1, b, Mux(top == -1, -b, Mux(top == -2, -(b << 1), 0)))
        return low + (sel << 16)

    def _quarter_products(self, m):
        """``a * b`` for a right-angle constant ``b``: ``x * C = (x << n) - x``."""
        n = self._b_width - 1
        pw = self._a_width + self._b_width
        re_c = Signal(signed(pw), name="re_times_c")
        im_c = Signal(signed(pw), name="im_times_c")
        conj = Signal(name="conjugate")  # b = (0, +C): the inverse's twiddle
        with m.If(self.en):
            m.d.sync += [re_c.eq((self.a.re << n) - self.a.re),
                         im_c.eq((self.a.im << n) - self.a.im), conj.eq(~self.b.im[-1])]
        for stage in range(self._pipeline):
            delayed = [Signal.like(v, name=f"{v.name}_p{stage}") for v in (re_c, im_c, conj)]
            with m.If(self.en):
                m.d.sync += [d.eq(v) for d, v in zip(delayed, (re_c, im_c, conj))]
            re_c, im_c, conj = delayed
        with m.If(self.en):
            if self._quarter == 0:
                m.d.sync += [self.o.re.eq(re_c), self.o.im.eq(im_c)]
            else:  # forward (0, -C): (im C, -re C); inverse (0, C): (-im C, re C)
                m.d.sync += [self.o.re.eq(Mux(conj, -im_c, im_c)),
                             self.o.im.eq(Mux(conj, re_c, -re_c))]
        return m

    def elaborate(self, platform):
        m = Module()
        if self._quarter is not None:
            return self._quarter_products(m)
        if self._tech == "ecp5":
            rr = self._ecp5_product(m, "rr", self.a.re, self.b.re)
            ii = self._ecp5_product(m, "ii", self.a.im, self.b.im)
            ri = self._ecp5_product(m, "ri", self.a.re, self.b.im)
            ir = self._ecp5_product(m, "ir", self.a.im, self.b.re)
            with m.If(self.en):
                m.d.sync += [self.o.re.eq(rr - ii), self.o.im.eq(ri + ir)]
            return m
        pw = self._a_width + self._b_width
        prods = [Signal(signed(pw), name=f"prod_{n}") for n in ("rr", "ii", "ri", "ir")]
        mul = self._split_product if self._tech == "ice40" else (lambda x, y: x * y)
        with m.If(self.en):
            m.d.sync += [
                prods[0].eq(mul(self.a.re, self.b.re)),
                prods[1].eq(mul(self.a.im, self.b.im)),
                prods[2].eq(mul(self.a.re, self.b.im)),
                prods[3].eq(mul(self.a.im, self.b.re)),
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
