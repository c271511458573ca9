"""Fully pipelined FFT core (``d = log2 k``, ``2p`` samples per clock): input buffer, ``p``
delay-commutator paths, output buffer, all free-running between the two buffers."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Mux, Signal

from golden.fft_fixed import butterfly_latency, pipelined_schedule, right_angle
from golden.fixedpoint import twiddle_table

from .butterfly import Butterfly
from .fft_freerun import FreeRunningCore, mode_shift
from .fixed import complex_layout, pack_complex
from .ram import SimpleDualPortRAM

__all__ = ["PipelinedFFTCore"]


class PipelinedFFTCore(FreeRunningCore):
    """The fully pipelined structure behind :class:`hw.fft_engine.FFTEngine` (same members).

    Overview
    --------
    ::

        i -> input buffer (2 frames) -> inject at phase 0 -> p paths of log2(k/p) radix-2
             butterflies with delay-commutators -> log2 p stages across paths -> round, saturate
             -> output buffer (``slots`` frames, bit-reversal) -> o

    Between the two buffers nothing stalls: a frame is *injected* (read from the input buffer
    in ``k/2p`` consecutive cycles) only at phase 0 of a free-running phase counter, and only
    while the output buffer has a slot reserved for it (credits), so the arithmetic has no clock
    enable and no backpressure path.  Commutator switches and twiddle addresses follow the phase;
    each frame's direction and presence travel beside it as flag registers, one per point where
    they are needed, each loaded from the previous one at its offset.  When nothing is in flight
    the phase waits at 0, so a lone frame does not wait for a phase.

    Stage ``s`` of path ``r`` pairs samples ``i`` and ``i + k/2**(s+1)`` with ``i = q p + r``: the
    radix-2 DIF butterflies of ``golden/fft_fixed.py`` in the standard (in-place) order, which
    computes the same values as the constant-geometry form, so the output is bit exact with the
    golden model.  After the last stage, beat ``t`` holds in-place positions ``2pt .. 2pt+2p-1``,
    the order the bit-reversal buffer expects.
    """


    def __init__(self, params, tech: str, signature):
        super().__init__(params, tech, signature, pipelined_schedule(params))

    def _twiddle_rom(self, m, s, r, phase, inverse, name):
        """Twiddles of stage ``s`` of path ``r`` by sample number: ``W^e``, ``e = ((t mod
        k/2p/2**s) p + r) 2**s`` (conjugates for the inverse); read in 2 cycles."""
        prm = self._params
        tw = prm.twiddle_width
        span = prm.beats >> s
        re, im = twiddle_table(prm.k, tw)
        es = [((t * prm.p + r) << s) for t in range(span)]
        init = ([pack_complex(re[e], im[e], tw) for e in es]
                + [pack_complex(re[e], -im[e], tw) for e in es])
        sb = span.bit_length() - 1
        addr = Cat(phase[:sb], inverse) if sb else inverse
        return self._twiddle_signal(m, self._table_rom(m, init, 2 * tw, addr, name), name)

    def _constant_twiddle(self, m, e, inverse, name):
        """The twiddle ``W^e`` (its conjugate for inverse frames) of a butterfly whose twiddle
        never changes, and whether it is a right angle (``quarter``: no multiplier needed)."""
        prm = self._params
        tw_w = prm.twiddle_width
        re_t, im_t = twiddle_table(prm.k, tw_w)
        fwd = pack_complex(re_t[e], im_t[e], tw_w)
        inv = pack_complex(re_t[e], -im_t[e], tw_w)
        tw = Signal(complex_layout(tw_w), name=f"{name}_tw")
        m.d.comb += tw.as_value().eq(Mux(inverse, inv, fwd))
        return tw, right_angle(prm.k, e)   # W^0 = 1 and W^(k/4) = -j need no multiplier

    def _butterfly(self, m, name, x0, x1, tw, mode, s, quarter=None):
        prm = self._params
        fixed, shift = mode_shift(prm, s, mode)
        bf = Butterfly(prm.internal_width, prm.twiddle_width, prm.pipeline, self._tech,
                       fixed_shift=fixed, quarter=quarter)
        m.submodules[name] = bf
        m.d.comb += [bf.en.eq(1), bf.x0.eq(x0), bf.x1.eq(x1), bf.tw.eq(tw), bf.shift.eq(shift)]
        return bf

    # ---- input buffer --------------------------------------------------------------------------
    def _input_buffer(self, m):
        """Two frame slots.  Returns ``(frame_ready, inverse, read_done, x[r][j])``, ``x`` at
        offset ``stage_in[0]`` of the frame injected when ``read_done`` was last followed by
        an injection."""
        prm = self._params
        beats, p, lanes, w = prm.beats, prm.p, prm.lanes, prm.width
        accept, wcnt, wslot, rslot, slots = self._input_slots(m)
        top = wcnt[-1] if beats > 1 else Const(0, 1)
        banks = []
        for b in range(lanes):
            ram = SimpleDualPortRAM(2 * w, self.input_slots * beats, self._tech)
            m.submodules[f"inbuf{b}"] = ram
            x = Const(int(b >= p), 1) ^ top
            word = Cat(x, wcnt[:-1]) if beats > 1 else Const(0, 0)
            data = self.i.payload.data[b].as_value()
            if beats > 1:
                data = Mux(top, self.i.payload.data[b ^ p].as_value(), data)
            m.d.comb += [ram.w_addr.eq(Cat(word, wslot)), ram.w_data.eq(data),
                         ram.w_en.eq(accept), ram.r_addr.eq(Cat(self._phase, rslot)),
                         ram.r_en.eq(1)]
            banks.append(ram.r_data)
        odd = self._phase[0] if beats > 1 else Const(0, 1)
        for i in range(self._sched["stage_in"][0] - 1):
            o = Signal(name=f"inbuf_odd_d{i}")
            m.d.sync += o.eq(odd)
            odd = o
        x = [[Signal(complex_layout(prm.internal_width), name=f"in_r{r}_{j}") for j in range(2)]
             for r in range(p)]
        for r in range(p):
            for j in range(2):
                word = Mux(odd ^ j, banks[r + p], banks[r]) if beats > 1 else banks[r + p * j]
                m.d.sync += [x[r][j].re.eq(word[:w].as_signed() << prm.guard),
                             x[r][j].im.eq(word[w:].as_signed() << prm.guard)]
        return (*slots, x)

    # ---- the paths -----------------------------------------------------------------------------
    def _paths(self, m, x, taps):
        """All butterflies and commutators; returns the last stage's outputs and the stages'
        saturation flags (gated by the frame's presence)."""
        prm, sched = self._params, self._sched
        p, b = prm.p, butterfly_latency(prm)
        sats = []
        for s in range(prm.stages):
            o = sched["stage_in"][s]
            valid_out, _ = taps[o + b - 1]
            _, mode_in = taps[o - 1]
            inv_in = mode_in[0]
            nxt = [[None, None] for _ in range(p)]
            if s < sched["inner"]:
                inv_rom = taps[o - 3][1][0]
                phase = self._local_phase(m, o - 2, f"s{s}_phase")
                for r in range(p):
                    if prm.beats >> s == 1:  # one twiddle per path: a constant
                        tw, quarter = self._constant_twiddle(m, r << s, inv_in, f"s{s}_r{r}")
                    else:
                        tw = self._twiddle_rom(m, s, r, phase, inv_rom, f"s{s}_r{r}_twiddles")
                        quarter = None
                    bf = self._butterfly(m, f"s{s}_r{r}_bf", x[r][0], x[r][1], tw, mode_in, s,
                                         quarter)
                    sats += [bf.sat_a & valid_out, bf.sat_b & valid_out]
                    nxt[r] = [bf.a, bf.b]
                    if s + 1 < sched["inner"]:
                        nxt[r] = self._commutator(m, s, r, bf.a, bf.b, o + b)
            else:
                hq = prm.k >> (s + 1)
                for r in range(p):
                    if r % (2 * hq) >= hq:
                        continue
                    tw, quarter = self._constant_twiddle(m, (r % (2 * hq)) << s, inv_in,
                                                         f"s{s}_r{r}")
                    for j in range(2):
                        bf = self._butterfly(m, f"s{s}_r{r}_{j}_bf", x[r][j], x[r + hq][j], tw,
                                             mode_in, s, quarter)
                        sats += [bf.sat_a & valid_out, bf.sat_b & valid_out]
                        nxt[r][j], nxt[r + hq][j] = bf.a, bf.b
            x = nxt
        return x, sats

    def _commutator(self, m, s, r, a, bo, offset):
        """Delay-commutator between stages ``s`` and ``s + 1`` of path ``r``: the lower lane
        delayed by ``D``, lanes crossed in odd blocks of ``D`` samples, a register, the upper lane
        delayed by ``D``."""
        dly = self._sched["delay"][s + 1]
        lower = self._delay_line(m, bo, dly, f"s{s}_r{r}_lower")
        phase = self._local_phase(m, offset, f"s{s}_r{r}_switch_phase")
        cross = phase[dly.bit_length() - 1]
        up_s = Signal.like(a, name=f"s{s}_r{r}_up")
        lo_s = Signal.like(a, name=f"s{s}_r{r}_lo")
        m.d.sync += [up_s.eq(Mux(cross, lower, a)), lo_s.eq(Mux(cross, a, lower))]
        return [self._delay_line(m, up_s, dly, f"s{s}_r{r}_upper"), lo_s]

    def _needed_offsets(self):
        sched, b = self._sched, butterfly_latency(self._params)
        needed = []
        for s in range(self._params.stages):
            o = sched["stage_in"][s]
            needed += [o - 1, o + b - 1] + ([o - 3] if s < sched["inner"] else [])
        return needed

    def _stages(self, m, x, taps):
        y, sats = self._paths(m, x, taps)
        p = self._params.p
        return [y[lane % p][lane // p] for lane in range(2 * p)], sats
