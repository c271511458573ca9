"""Fully pipelined FFT core (``d = log2 k``): input buffer, ``p`` delay-commutator paths,
output buffer, all free-running between the two buffers."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring

from golden.fft_fixed import butterfly_latency, pipelined_schedule
from golden.fixedpoint import twiddle_table

from .butterfly import Butterfly
from .counters import add_saturating, count_frame_error
from .fixed import complex_layout, pack_complex, round_shift, saturate
from .ram import SimpleDualPortRAM
from .reorder import BitReverseBuffer

__all__ = ["PipelinedFFTCore", "RAM_DELAY_MIN"]

#: Delay lines at least this long are block-RAM rings; shorter ones are flip-flops.
RAM_DELAY_MIN = 32
#: Twiddle tables of at least this many bits use the device's block RAM.
ROM_BRAM_MIN_BITS = 512


class PipelinedFFTCore(wiring.Component):
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
        self._params, self._tech = params, tech
        self._sched = pipelined_schedule(params)
        super().__init__(signature)

    @property
    def schedule(self) -> dict:
        return self._sched

    # ---- building blocks -----------------------------------------------------------------------
    def _delay_line(self, m, value, depth, name):
        """``value`` delayed by ``depth`` cycles (free-running)."""
        if depth < RAM_DELAY_MIN:
            for i in range(depth):
                r = Signal.like(value, name=f"{name}_d{i}")
                m.d.sync += r.eq(value)
                value = r
            return value
        n = depth - 1  # a ring of depth - 1 words: read the word after the one being written
        ram = SimpleDualPortRAM(len(value.as_value()), n, self._tech)
        m.submodules[name] = ram
        wptr = Signal(range(n), name=f"{name}_wptr")
        rptr = Signal(range(n), init=1 % n, name=f"{name}_rptr")
        m.d.sync += [wptr.eq(Mux(wptr == n - 1, 0, wptr + 1)),
                     rptr.eq(Mux(rptr == n - 1, 0, rptr + 1))]
        out = Signal.like(value, name=f"{name}_out")
        m.d.comb += [ram.w_addr.eq(wptr), ram.w_data.eq(value), ram.w_en.eq(1),
                     ram.r_addr.eq(rptr), ram.r_en.eq(1), out.as_value().eq(ram.r_data)]
        return out

    def _local_phase(self, m, offset, name):
        """``(phase - offset) mod k/2p``: the sample number at ``offset`` in this cycle.

        A register loaded with ``phase - (offset - 1)``: while the phase runs this is the same
        value, and the phase only stops (at 0) when no frame is in flight, the one cycle it
        differs (the injection cycle) being before any frame reaches ``offset >= 1``.  One
        register per residue of ``offset``, shared; no subtractor on the paths it feeds.
        """
        beats = self._params.beats
        assert offset >= 1, offset
        key = (offset - 1) % beats
        if beats == 1:
            return Signal(range(1), name=name)
        if key not in self._phase_regs:
            ph = Signal(range(beats), name=f"phase_minus_{(offset % beats)}")
            m.d.sync += ph.eq((self._phase - key)[:len(ph)])
            self._phase_regs[key] = ph
        return self._phase_regs[key]

    def _build_taps(self, m, needed, inject, inverse):
        """Flag registers: the one at offset ``o`` holds ``(valid, inverse)`` of the frame whose
        sample ``t`` is at offset ``o + 1`` in cycle ``o + 1 + t``."""
        beats = self._params.beats
        chain = [0]
        for o in sorted(set(needed) - {0}):
            while o - chain[-1] > beats:
                chain.append(chain[-1] + beats)
            chain.append(o)
        taps, prev = {}, (inject, inverse)
        for o in chain:
            v, inv = Signal(name=f"tap{o}_valid"), Signal(name=f"tap{o}_inverse")
            load = self._phase == (o % beats) if beats > 1 else Const(1, 1)
            with m.If(load):
                m.d.sync += [v.eq(prev[0]), inv.eq(prev[1])]
            taps[o] = prev = (v, inv)
        return taps

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
        tech = self._tech if 2 * span * 2 * tw >= ROM_BRAM_MIN_BITS else "generic"
        rom = SimpleDualPortRAM(2 * tw, 2 * span, tech, init=init)
        m.submodules[name] = rom
        sb = span.bit_length() - 1
        addr = Cat(phase[:sb], inverse) if sb else inverse
        m.d.comb += [rom.r_addr.eq(addr), rom.r_en.eq(1), rom.w_en.eq(0)]
        out = Signal(complex_layout(tw), name=f"{name}_tw")
        m.d.comb += out.as_value().eq(rom.r_data)
        return out

    def _butterfly(self, m, name, x0, x1, tw, inverse, s):
        prm = self._params
        fwd, inv = prm.forward_shifts[s], prm.inverse_shifts[s]
        bf = Butterfly(prm.internal_width, prm.twiddle_width, prm.pipeline, self._tech,
                       fixed_shift=fwd if fwd == inv else None)
        m.submodules[name] = bf
        shift = Const(fwd, 1) if fwd == inv else Mux(inverse, inv, fwd)
        m.d.comb += [bf.en.eq(1), bf.x0.eq(x0), bf.x1.eq(x1), bf.tw.eq(tw), bf.shift.eq(shift)]
        return bf

    # ---- input buffer --------------------------------------------------------------------------
    def _input_buffer(self, m):
        """Two frame slots.  Returns ``(frame_ready, inverse, read_done, x[r][j])``, ``x`` at
        offset ``stage_in[0]`` of the frame injected when ``read_done`` was last followed by
        an injection."""
        prm = self._params
        beats, p, lanes, w = prm.beats, prm.p, prm.lanes, prm.width
        full, slot_inv = Signal(2), Signal(2)
        wslot, rslot = Signal(), Signal()
        wcnt = Signal(range(beats))
        accept = self.i.valid & self.i.ready
        done = accept & (wcnt == beats - 1)
        read_done = Signal()
        m.d.comb += self.i.ready.eq(~full.bit_select(wslot, 1))
        count_frame_error(m, self.frame_errors, accept, self.i.payload.last, wcnt, beats)
        with m.If(accept):
            m.d.sync += wcnt.eq(Mux(done, 0, wcnt + 1))
        with m.If(done):
            m.d.sync += [wslot.eq(~wslot), slot_inv.bit_select(wslot, 1).eq(self.i.payload.inverse)]
        for b in range(2):
            m.d.sync += full[b].eq((full[b] | (done & (wslot == b)))
                                   & ~(read_done & (rslot == b)))
        with m.If(read_done):
            m.d.sync += rslot.eq(~rslot)

        top = wcnt[-1] if beats > 1 else Const(0, 1)
        banks = []
        for b in range(lanes):
            ram = SimpleDualPortRAM(2 * w, 2 * beats, self._tech)
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
        return full.bit_select(rslot, 1), slot_inv.bit_select(rslot, 1), read_done, x

    # ---- the paths -----------------------------------------------------------------------------
    def _stages(self, m, x, taps):
        """All butterflies and commutators; returns the last stage's outputs and the stages'
        saturation flags (gated by the frame's presence)."""
        prm, sched = self._params, self._sched
        p, b = prm.p, butterfly_latency(prm)
        tw_w = prm.twiddle_width
        re_t, im_t = twiddle_table(prm.k, tw_w)
        sats = []
        for s in range(prm.stages):
            o = sched["stage_in"][s]
            valid_out, _ = taps[o + b - 1]
            _, inv_in = taps[o - 1]
            nxt = [[None, None] for _ in range(p)]
            if s < sched["inner"]:
                _, inv_rom = taps[o - 3]
                phase = self._local_phase(m, o - 2, f"s{s}_phase")
                for r in range(p):
                    tw = self._twiddle_rom(m, s, r, phase, inv_rom, f"s{s}_r{r}_twiddles")
                    bf = self._butterfly(m, f"s{s}_r{r}_bf", x[r][0], x[r][1], tw, inv_in, s)
                    sats += [bf.sat_a & valid_out, bf.sat_b & valid_out]
                    nxt[r] = [bf.a, bf.b]
                    if s + 1 < sched["inner"]:
                        nxt[r] = self._commutator(m, s, r, bf.a, bf.b, o + b)
            else:
                hq = prm.k >> (s + 1)
                for r in range(p):
                    if r % (2 * hq) >= hq:
                        continue
                    e = (r % (2 * hq)) << s
                    fwd = pack_complex(re_t[e], im_t[e], tw_w)
                    inv = pack_complex(re_t[e], -im_t[e], tw_w)
                    tw = Signal(complex_layout(tw_w), name=f"s{s}_r{r}_tw")
                    m.d.comb += tw.as_value().eq(Mux(inv_in, inv, fwd))
                    for j in range(2):
                        bf = self._butterfly(m, f"s{s}_r{r}_{j}_bf", x[r][j], x[r + hq][j], tw,
                                             inv_in, s)
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

    # ---- top -----------------------------------------------------------------------------------
    def elaborate(self, platform):
        m = Module()
        prm, sched = self._params, self._sched
        beats, p, lanes, b = prm.beats, prm.p, prm.lanes, butterfly_latency(prm)
        self._phase = Signal(range(beats))
        self._phase_regs = {}
        outstanding = Signal(range(sched["slots"] + 1))
        ready, inverse, read_done, x = self._input_buffer(m)
        inject = Signal()
        at_zero = self._phase == 0 if beats > 1 else Const(1, 1)
        m.d.comb += inject.eq(at_zero & ready & (outstanding < sched["slots"]))

        needed = [sched["exit"] - 1]
        for s in range(prm.stages):
            o = sched["stage_in"][s]
            needed += [o - 1, o + b - 1] + ([o - 3] if s < sched["inner"] else [])
        taps = self._build_taps(m, needed, inject, inverse)
        injecting, _ = taps[0]
        m.d.comb += read_done.eq(injecting & (self._phase == beats - 1) if beats > 1 else inject)
        # registered: a flag set now was loaded from one set a cycle ago, so an all-clear of the
        # previous cycle still proves the pipeline empty (and keeps this OR off the phase's path)
        busy = Signal()
        m.d.sync += busy.eq(Cat(v for v, _ in taps.values()).any())
        if beats > 1:
            with m.If(~at_zero | inject | busy):
                m.d.sync += self._phase.eq(Mux(self._phase == beats - 1, 0, self._phase + 1))

        y, sats = self._stages(m, x, taps)

        # ---- round, saturate, output buffer ----------------------------------------------------
        valid_x, inv_x = taps[sched["exit"] - 1]
        m.submodules.outbuf = ob = BitReverseBuffer(prm.k, prm.width, lanes, sched["slots"],
                                                    reverse=prm.natural_order, tech=self._tech)
        out_sat = []
        for r in range(p):
            for j in range(2):
                re, sr = saturate(round_shift(y[r][j].re, prm.guard), prm.width)
                im, si = saturate(round_shift(y[r][j].im, prm.guard), prm.width)
                lane = ob.i.payload.data[r + p * j]
                clipped = Signal(name=f"out_sat_r{r}_{j}")
                m.d.sync += [lane.re.eq(re), lane.im.eq(im), clipped.eq(sr | si)]
                out_sat.append(clipped & valid_x)
        m.d.comb += [ob.i.valid.eq(valid_x), ob.i.payload.inverse.eq(inv_x)]
        ocnt = Signal(range(beats))
        m.d.comb += [self.o.valid.eq(ob.o.valid), ob.o.ready.eq(self.o.ready),
                     self.o.payload.data.eq(ob.o.payload.data),
                     self.o.payload.inverse.eq(ob.o.payload.inverse),
                     self.o.payload.first.eq(ocnt == 0), self.o.payload.last.eq(ocnt == beats - 1)]
        # the credit comes back a cycle after the frame's last beat left (a register: the
        # output handshake fans out widely and was the ECP5 critical path); ``slots`` counts it
        retire = Signal()
        m.d.sync += retire.eq(self.o.valid & self.o.ready & (ocnt == beats - 1))
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += ocnt.eq(Mux(ocnt == beats - 1, 0, ocnt + 1))
        with m.If(inject & ~retire):
            m.d.sync += outstanding.eq(outstanding + 1)
        with m.Elif(retire & ~inject):
            m.d.sync += outstanding.eq(outstanding - 1)
        self._count_saturations(m, sats, out_sat)
        return m

    def _count_saturations(self, m, sats, out_sat):
        """Add the cycle's saturation flags to the counter through a registered tree of 4-input
        sums (a one-cycle popcount of dozens of flags was the ECP5 critical path)."""
        level = []
        for i, flag in enumerate(sats + out_sat):
            r = Signal(name=f"sat_flag{i}")
            m.d.sync += r.eq(flag)
            level.append(r)
        depth = 0
        while len(level) > 1:
            nxt = []
            for g in range(0, len(level), 4):
                group = level[g:g + 4]
                top = sum((1 << len(v)) - 1 for v in group)
                r = Signal(range(top + 1), name=f"sat_sum{depth}_{g // 4}")
                m.d.sync += r.eq(sum(group))
                nxt.append(r)
            level, depth = nxt, depth + 1
        add_saturating(m, self.saturations, level[0])
