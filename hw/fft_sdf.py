"""Single-path radix-2² FFT core (one complex sample per clock, ``samples_per_clock = 1``)."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Mux, Signal

from golden.fft_fixed import sdf_schedule
from golden.fft_radix22 import has_twiddle, radix22_twiddles

from .cmul import ComplexMultiplier
from .fft_freerun import FreeRunningCore
from .fixed import add_sub, complex_layout, halve_add_sub, pack_complex, saturate
from .ram import SimpleDualPortRAM

__all__ = ["SDFFFTCore"]


class SDFFFTCore(FreeRunningCore):
    """The radix-2² single-path delay-feedback structure behind :class:`hw.fft_engine.FFTEngine`
    when ``params.samples_per_clock == 1`` (numerics: :mod:`golden.fft_radix22`).

    Overview
    --------
    ::

        i -> input buffer -> inject -> stage 0 -> stage 1 -> x W -> stage 2 -> stage 3 -> x W
             -> ... -> round, saturate -> output buffer (bit reversal) -> o

        stage s (h = k / 2**(s+1)):   x ---+--> delay h --> x0 --+
                                           +-------------- x1 ---+-> [x0 + t x1, x0 - t x1] -> reg
                                                                            a |      b v
                                                   out <- reg <- mux(upper: a, lower: delay h (b))

    Samples flow in frame order, one per clock.  In the second half of each block of ``2h``
    samples the stage adds and subtracts the sample of ``h`` cycles ago (``x0``) and the current
    one (``x1``): the sum leaves at once, the difference ``h`` cycles later, so the output is in
    the stage's in-place order again.  Odd stages turn ``t x1 = -j x1`` (``+j`` inverse) in the
    second half of each ``4h`` block into swapped components and flipped add/subtract; after an
    odd stage that is not the last, one complex multiplier applies the regrouped twiddles from a
    ROM addressed by the position.  With a shift of one bit each rounded sum or difference is a
    single adder whose carry rounds (:func:`hw.fixed.halve_add_sub`), which cannot overflow.

    Free-running between the input and output buffers (see :class:`hw.fft_freerun.
    FreeRunningCore`).

    Latency and resources
    ---------------------
    :func:`golden.fft_fixed.sdf_schedule`.  ``ceil(log2 k / 2) - 1`` complex multipliers, four
    adders of ``width + guard + 1`` bits per stage, ``2 (k - 1)`` delay words (flip-flops below
    32 words, block-RAM rings from 32).
    """

    _delayed_phases = True

    def __init__(self, params, tech: str, signature):
        super().__init__(params, tech, signature, sdf_schedule(params))

    def _input_buffer(self, m):
        prm = self._params
        w, beats = prm.width, prm.beats
        accept, wcnt, wslot, rslot, slots = self._input_slots(m)
        ram = SimpleDualPortRAM(2 * w, self.input_slots * beats, self._tech)
        m.submodules.inbuf = ram
        m.d.comb += [ram.w_addr.eq(Cat(wcnt, wslot)), ram.w_data.eq(self.i.payload.data[0]),
                     ram.w_en.eq(accept), ram.r_addr.eq(Cat(self._phase, rslot)),
                     ram.r_en.eq(1)]
        x = Signal(complex_layout(prm.internal_width), name="in_x")
        m.d.sync += [x.re.eq(ram.r_data[:w].as_signed() << prm.guard),
                     x.im.eq(ram.r_data[w:].as_signed() << prm.guard)]
        return (*slots, x)

    def _needed_offsets(self):
        sched, needed = self._sched, []
        for s in range(self._params.stages):
            o, out = sched["stage_in"][s], sched["stage_out"][s]
            needed += [o - 1, out - 1]
            if has_twiddle(self._params.k, s):
                needed += [out - 3, sched["stage_in"][s + 1] - 1]
        return needed

    def _stages(self, m, x, taps):
        prm, sched = self._params, self._sched
        sats = []
        for s in range(prm.stages):
            x, flag = self._stage(m, s, x, taps)
            if has_twiddle(prm.k, s):
                # one flag per sample and stage: a clipped sum and a clipped product count once
                x, flag = self._twiddle_product(m, s, x, flag, taps)
                valid, _ = taps[sched["stage_in"][s + 1] - 1]
            else:
                valid, _ = taps[sched["stage_out"][s] - 1]
            sats.append(flag if isinstance(flag, Const) else flag & valid)
        return [x], sats

    def _stage(self, m, s, x, taps):
        """The adders, the two delays and the output choice of stage ``s``."""
        prm, sched = self._params, self._sched
        w = prm.internal_width
        h = prm.k >> (s + 1)
        hb = h.bit_length() - 1
        o, out_off = sched["stage_in"][s], sched["stage_out"][s]
        _, inv = taps[o - 1]
        fwd_sh, inv_sh = prm.forward_shifts[s], prm.inverse_shifts[s]
        x0 = self._delay_line(m, x, h, f"s{s}_upper")
        # odd stages: the second half of each 4h block is rotated (2h < k there)
        rot = self._local_phase(m, o, f"s{s}_phase")[hb + 1] if s % 2 else Const(0, 1)
        v_re, v_im = (Mux(rot, x.im, x.re), Mux(rot, x.re, x.im)) if s % 2 else (x.re, x.im)
        # which real operation of 'a' subtracts (that of 'b' does the other): only in rotated
        # blocks, re forward-adds/inverse-subtracts, im the other way round
        sub_ar = rot & inv if s % 2 else False
        sub_ai = rot & ~inv if s % 2 else False
        a, b = Signal(complex_layout(w), name=f"s{s}_a"), Signal(complex_layout(w), name=f"s{s}_b")
        sat_a, sat_b = Signal(name=f"s{s}_sat_a"), Signal(name=f"s{s}_sat_b")
        flips = {"re": sub_ar, "im": sub_ai}
        clip = {"a": [], "b": []}
        for part, u, v in (("re", x0.re, v_re), ("im", x0.im, v_im)):
            sub_a = flips[part]
            sub_b = ~sub_a if not isinstance(sub_a, bool) else not sub_a
            for dst, sub, key in ((a, sub_a, "a"), (b, sub_b, "b")):
                value, clipped = self._add_sub(u, v, sub, fwd_sh, inv_sh, inv, w)
                m.d.sync += dst[part].eq(value)
                clip[key].append(clipped)
        m.d.sync += [sat_a.eq(clip["a"][0] | clip["a"][1]), sat_b.eq(clip["b"][0] | clip["b"][1])]
        lower = self._delay_line(m, b, h, f"s{s}_lower")
        lower_sat = self._delay_line(m, sat_b, h, f"s{s}_lower_sat") if fwd_sh == 0 or \
            inv_sh == 0 else Const(0, 1)
        sel = self._local_phase(m, out_off - 1, f"s{s}_out_phase")[hb]
        y = Signal(complex_layout(w), name=f"s{s}_out")
        flag = Signal(name=f"s{s}_out_sat")
        m.d.sync += [y.eq(Mux(sel, lower, a)), flag.eq(Mux(sel, lower_sat, sat_a))]
        return y, flag if (fwd_sh == 0 or inv_sh == 0) else Const(0, 1)

    @staticmethod
    def _add_sub(u, v, sub, fwd_sh, inv_sh, inverse, w):
        """``(value, clipped)`` of one rounded (shift 1) or saturated (shift 0) operation."""
        if fwd_sh == inv_sh == 1:
            return halve_add_sub(u, v, sub), Const(0, 1)
        exact, clipped = saturate(add_sub(u, v, sub), w)
        if fwd_sh == inv_sh == 0:
            return exact, clipped
        halved = halve_add_sub(u, v, sub)
        shifted = inverse if inv_sh else ~inverse
        return Mux(shifted, halved, exact), ~shifted & clipped

    def _twiddle_product(self, m, s, x, stage_flag, taps):
        """``x`` times the regrouped twiddles after stage ``s``: ROM, multiplier, truncation,
        saturation (offsets ``stage_out[s]`` to ``stage_in[s + 1]``); the returned flag also
        holds the stage's own ``stage_flag``, delayed to match."""
        prm, sched = self._params, self._sched
        w, tw = prm.internal_width, prm.twiddle_width
        o, nxt = sched["stage_out"][s], sched["stage_in"][s + 1]
        h = prm.k >> (s + 1)
        init = []
        for inverse in (False, True):
            re, im = radix22_twiddles(prm.k, tw, s, inverse)
            init += [pack_complex(r, i, tw) for r, i in zip(re, im)]
        _, inv_rom = taps[o - 3]
        phase = self._local_phase(m, o - 2, f"s{s}_tw_phase")
        pb = (4 * h).bit_length() - 1
        addr = Cat(phase[:pb], inv_rom)
        twv = self._twiddle_signal(m, self._table_rom(m, init, 2 * tw, addr, f"s{s}_twiddles"),
                                   f"s{s}")
        cm = ComplexMultiplier(w, tw, prm.pipeline, self._tech)
        m.submodules[f"s{s}_cmul"] = cm
        m.d.comb += [cm.en.eq(1), cm.a.eq(x), cm.b.eq(twv)]
        frac = tw - 1  # truncated: the golden model rounds the product down
        (yr, sr), (yi, si) = saturate(cm.o.re[frac:].as_signed(), w), \
            saturate(cm.o.im[frac:].as_signed(), w)
        y = Signal(complex_layout(w), name=f"s{s}_tw_out")
        flag = Signal(name=f"s{s}_tw_sat")
        if not isinstance(stage_flag, Const):
            for i in range(nxt - 1 - o):
                r = Signal(name=f"s{s}_flag_d{i}")
                m.d.sync += r.eq(stage_flag)
                stage_flag = r
        m.d.sync += [y.re.eq(yr), y.im.eq(yi), flag.eq(sr | si | stage_flag)]
        return y, flag

