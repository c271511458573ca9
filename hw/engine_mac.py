"""Peripheral computing block, part 1: spectrum separation and the frequency-domain CMAC lanes."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.engine_plan import EnginePlan

from .cmul import ComplexMultiplier
from .fixed import CONSTANT_SHIFTS, complex_layout, round_shift, saturate, shift_among

__all__ = ["MACLanes"]


class MACLanes(wiring.Component):
    """Separate two packed real spectra, multiply by the weights and accumulate over ``j``.

    Overview
    --------
    Each issued cycle carries ``Z[m]`` and ``Z[(k - m) mod k]`` of the frame holding input block
    ``j`` (``odd``: the block in the imaginary part) and one weight per lane.  The separated
    ``X_j[m]`` (golden.engine_fixed step 2) is multiplied by every lane's weight; lane ``l``
    accumulates ``sum_j W[i_l, j, m] X_j[m]`` exactly (``acc_width`` bits, see
    :func:`golden.engine_fixed.accumulator_width`) from the ``first`` to the ``last`` term (a
    vector's ``first`` term comes after the previous vector's ``last``: the accumulator is
    cleared while the first term is a stage from it), then
    rounds by ``acc_shift`` and saturates to ``width - 1`` bits: ``y`` with ``y_valid`` and the
    ``tag`` (the spectrum address) that came with the last term.

    Latency and resources
    ---------------------
    ``delay = 9 + pipeline`` (``5`` with ``pipeline = 0``): ``y_valid`` rises that many cycles
    after the ``last`` term is at the inputs (with a pipelined multiplier an input register and
    the separation's sums registered, so that the Z buffer's read multiplexer, the sums and
    the rounding are on three paths; the separation register, the multiplier's ``2 +
    pipeline`` stages, accumulator, then the requantization: with a pipelined multiplier three
    registers (rounding addend, shift, saturation, so that no path from the accumulator to the
    Y banks holds more than one of them), without (the compact, slow-clock build) one).
    ``lanes`` complex multipliers (4 real ``width x width`` products each; on ECP5 MULT18X18D
    with their registers, ``pipeline = 2``), ``lanes`` accumulators of ``acc_width`` bits.

    Members
    -------
    valid, first, last, odd : In(1)
    zm, zn : In(complex_layout(width))
    w : In(ArrayLayout(complex_layout(width), lanes))
    tag : In(tag_width)
    acc_shift : In(range(64))   one of the plan's layer shifts
    y : Out(ArrayLayout(complex_layout(width), lanes)), y_valid, y_tag, clipped (per lane)
    sep_clipped : Out(1)  a separated component saturated this cycle
    """

    def __init__(self, plan: EnginePlan, tag_width: int, tech: str = "generic"):
        self._tech = tech
        self._pipeline = plan.fft.pipeline  # the same latency with either technology
        self._w = plan.width
        self._lanes = plan.lanes
        self._acc = plan.acc_width
        self._tag_width = tag_width
        # the layers' accumulator shifts (clamped like the shift itself): a few constant shifts
        # selected by the layer cost less than a barrel shifter
        self._shifts = sorted({min(lp.acc_shift, plan.acc_width) for lp in plan.layers})
        cw = complex_layout(plan.width)
        super().__init__({
            "valid": In(1), "first": In(1), "last": In(1), "odd": In(1),
            "zm": In(cw), "zn": In(cw),
            "w": In(data.ArrayLayout(cw, plan.lanes)),
            "tag": In(tag_width),
            "acc_shift": In(6),
            "y": Out(data.ArrayLayout(cw, plan.lanes)),
            "y_valid": Out(1),
            "y_tag": Out(tag_width),
            "clipped": Out(plan.lanes),
            "sep_clipped": Out(1),
        })

    #: Up to this many distinct layer shifts are a multiplexer of constant shifts.
    CONSTANT_SHIFTS = CONSTANT_SHIFTS

    def _shift_right(self, value, amt):
        """``value >> amt`` where ``amt`` is one of the plan's layer shifts."""
        return shift_among(value, amt, self._shifts, self.CONSTANT_SHIFTS)

    @property
    def requant_stages(self) -> int:
        """Registers of the requantization (3 with a pipelined multiplier, else 1)."""
        return 3 if self._pipeline else 1

    @property
    def front_stages(self) -> int:
        """Registers before the separation's rounding (2 with a pipelined multiplier: the
        inputs, then the separation's sums; 0 without)."""
        return 2 if self._pipeline else 0

    @property
    def delay(self) -> int:
        return 4 + self._pipeline + self.requant_stages + self.front_stages

    def _front(self, m):
        """The inputs, and the separation's sums, registered ``front_stages`` times."""
        w, lanes = self._w, self._lanes
        ins = data.StructLayout({"valid": 1, "first": 1, "last": 1, "odd": 1,
                                 "tag": self._tag_width, "zm": complex_layout(w),
                                 "zn": complex_layout(w),
                                 "w": data.ArrayLayout(complex_layout(w), lanes)})
        now = Signal(ins, name="mac_in")
        m.d.comb += [now.valid.eq(self.valid), now.first.eq(self.first), now.last.eq(self.last),
                     now.odd.eq(self.odd), now.tag.eq(self.tag), now.zm.eq(self.zm),
                     now.zn.eq(self.zn), now.w.eq(self.w)]
        zm, zn = now.zm, now.zn

        def sums(zm, zn, odd):
            return (Mux(odd, zm.im + zn.im, zm.re + zn.re), Mux(odd, zn.re - zm.re, zm.im - zn.im))

        if not self.front_stages:
            return now, sums(zm, zn, now.odd)
        regs = [Signal(ins, name=f"mac_in{i}") for i in range(self.front_stages)]
        m.d.sync += [regs[0].eq(now), regs[1].eq(regs[0])]
        s_re, s_im = sums(regs[0].zm, regs[0].zn, regs[0].odd)
        r_re, r_im = Signal(signed(w + 1), name="sep_re"), Signal(signed(w + 1), name="sep_im")
        m.d.sync += [r_re.eq(s_re), r_im.eq(s_im)]
        return regs[1], (r_re, r_im)

    def elaborate(self, platform):
        m = Module()
        w, lanes = self._w, self._lanes
        # separation (golden.engine_fixed.separate), registered
        inp, (s_re, s_im) = self._front(m)
        x_re, c_re = saturate(round_shift(s_re, 1), w)
        x_im, c_im = saturate(round_shift(s_im, 1), w)
        x = Signal(complex_layout(w))
        wr = Signal(data.ArrayLayout(complex_layout(w), lanes))
        ctrl = data.StructLayout({"valid": 1, "first": 1, "last": 1, "tag": self._tag_width})
        stages = [Signal(ctrl, name=f"ctrl{s}") for s in range(2, 5 + self._pipeline)]
        c2, c3, c4 = stages[0], stages[-2], stages[-1]
        m.d.sync += [x.re.eq(x_re), x.im.eq(x_im), wr.eq(inp.w),
                     c2.valid.eq(inp.valid), c2.first.eq(inp.first), c2.last.eq(inp.last),
                     c2.tag.eq(inp.tag), self.sep_clipped.eq(inp.valid & (c_re | c_im))]
        m.d.sync += [b.eq(a) for a, b in zip(stages, stages[1:])]
        acc_shape = signed(self._acc)
        for lane in range(lanes):
            cm = ComplexMultiplier(w, w, self._pipeline, self._tech)
            m.submodules[f"cmul{lane}"] = cm
            m.d.comb += [cm.en.eq(1), cm.a.eq(x), cm.b.eq(wr[lane])]
            acc_re, acc_im = Signal(acc_shape, name=f"acc_re{lane}"), Signal(acc_shape, name=f"acc_im{lane}")
            # the accumulator is cleared (a synchronous reset) when a vector's first term is a
            # stage away, so no multiplexer stands between it and the adder; the term before
            # that is the previous vector's last, whose sum ``res`` takes
            sum_re, sum_im = acc_re + cm.o.re, acc_im + cm.o.im
            res_re, res_im = Signal(acc_shape, name=f"res_re{lane}"), Signal(acc_shape, name=f"res_im{lane}")
            with m.If(c3.valid & c3.first):
                m.d.sync += [acc_re.eq(0), acc_im.eq(0)]
            with m.Elif(c4.valid):
                m.d.sync += [acc_re.eq(sum_re), acc_im.eq(sum_im)]
            with m.If(c4.valid & c4.last):
                m.d.sync += [res_re.eq(sum_re), res_im.eq(sum_im)]
            # requantization (round_shift_var, then saturate) in requant_stages registers
            # a shift of acc_width or more leaves 0 (|res| < 2**(acc_width - 1)): clamped to it
            amt = Signal(range(self._acc + 1), name=f"shift{lane}")
            half = Signal(self._acc, name=f"half{lane}")
            m.d.sync += [amt.eq(Mux(self.acc_shift > self._acc, self._acc, self.acc_shift)),
                         half.eq((Const(1, self._acc + 1) << amt)[1:])]
            rnd = [Signal(signed(self._acc + 1), name=f"rnd_{n}{lane}") for n in ("re", "im")]
            sh = [Signal(signed(self._acc + 1), name=f"sh_{n}{lane}") for n in ("re", "im")]
            outs = [Signal(signed(w - 1), name=f"y_{n}{lane}") for n in ("re", "im")]
            clip = Signal(2, name=f"clip{lane}")
            for i, res in enumerate((res_re, res_im)):
                domain = m.d.sync if self.requant_stages == 3 else m.d.comb
                domain += [rnd[i].eq(res + half), sh[i].eq(self._shift_right(rnd[i], amt))]
                y_i, k_i = saturate(sh[i], w - 1)
                m.d.sync += [outs[i].eq(y_i), clip[i].eq(k_i)]
            m.d.comb += [self.y[lane].re.eq(outs[0]), self.y[lane].im.eq(outs[1]),
                         self.clipped[lane].eq(self.y_valid & clip.any())]
        ready = c4.valid & c4.last
        for i in range(1 + self.requant_stages):
            nxt = Signal(1 + self._tag_width, name=f"y_ctrl{i}")
            m.d.sync += nxt.eq(Cat(ready, c4.tag) if i == 0 else prev)
            prev = nxt
        m.d.comb += [self.y_valid.eq(prev[0]), self.y_tag.eq(prev[1:])]
        return m
