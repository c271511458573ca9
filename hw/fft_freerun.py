"""What the fully pipelined FFT structures share: an input buffer that injects whole frames at
phase 0, a free-running datapath with no clock enable, and an output buffer whose slots are
reserved when a frame is injected (credits)."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import wiring

from golden.fft_fixed import FFTParams, engine_input_slots

from .counters import add_saturating, count_frame_error
from .fixed import complex_layout, round_shift, saturate
from .ram import SimpleDualPortRAM
from .reorder import BitReverseBuffer

__all__ = ["FreeRunningCore", "RAM_DELAY_MIN", "ROM_BRAM_MIN_BITS", "frame_mode", "mode_shifts",
           "mode_shift"]

#: Delay lines at least this long are block-RAM rings; shorter ones are flip-flops.
RAM_DELAY_MIN = 32
#: Twiddle tables of at least this many bits use the device's block RAM.
ROM_BRAM_MIN_BITS = 512


def frame_mode(params: FFTParams, payload):
    """What a frame's arithmetic depends on: ``inverse``, and with a run-time length
    ``stuffing`` above it (:func:`mode_shifts`)."""
    if params.max_stuffing:
        return Cat(payload.inverse, payload.stuffing)
    return payload.inverse


def mode_shifts(params: FFTParams, stage: int) -> tuple:
    """Stage ``stage``'s shift for each frame mode ``inverse + 2 * stuffing`` (codes beyond
    ``max_stuffing`` repeat the largest)."""
    codes = 2 << params.max_stuffing.bit_length()
    return tuple(params.shifts(bool(c & 1), min(c >> 1, params.max_stuffing))[stage]
                 for c in range(codes))


def mode_shift(params: FFTParams, stage: int, mode):
    """Stage ``stage``'s shift of a frame of mode ``mode``: ``(constant or None, value)``; the
    constant when every mode shifts the same (no multiplexer: the butterfly's fixed shift)."""
    table = mode_shifts(params, stage)
    if len(set(table)) == 1:
        return table[0], Const(table[0], 1)
    if len(table) == 2:   # one length: the direction picks
        return None, Mux(mode[0], table[1], table[0])
    return None, Const(sum(v << c for c, v in enumerate(table)), len(table)).bit_select(mode, 1)


class FreeRunningCore(wiring.Component):
    """Base of :class:`hw.fft_pipelined.PipelinedFFTCore` and :class:`hw.fft_sdf.SDFFFTCore`.

    Overview
    --------
    ::

        i -> input buffer (2 frames) -> inject at phase 0 -> stages (subclass) -> round,
             saturate -> output buffer (``slots`` frames, bit-reversal) -> o

    A frame is *injected* (read from the input buffer in ``k / lanes`` consecutive cycles) only
    at phase 0 of a phase counter and only while the output buffer has a slot for it (frames
    injected and not yet read out ``< slots``), so nothing between the two buffers can stall:
    no clock enable, no enable fan-out.  Each frame's presence and direction travel beside it in
    flag registers ("taps"), one per offset where the stages need them, each loaded from the
    previous one at its offset.  With nothing in flight the phase waits at 0, so a lone frame
    is not delayed by the phase.

    Subclasses provide ``_input_buffer(m)``, ``_needed_offsets()`` and ``_stages(m, x, taps)``;
    the schedule (a dict with ``exit`` and ``slots``) comes from the golden model.
    """

    def __init__(self, params, tech: str, signature, schedule: dict):
        self._params, self._tech = params, tech
        self._sched = schedule
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
        # a ring of n >= depth - 1 words (a power of two: free-running pointers, no wrap
        # logic); the read address runs depth - 2 words behind the write address and the read
        # takes 2 cycles
        n = 1 << (depth - 2).bit_length()
        ram = SimpleDualPortRAM(len(Value.cast(value)), n, self._tech)
        m.submodules[name] = ram
        wptr, rptr = self._ring_pointers(m, n, depth)
        out = Signal.like(value, name=f"{name}_out")
        m.d.comb += [ram.w_addr.eq(wptr), ram.w_data.eq(value), ram.w_en.eq(1),
                     ram.r_addr.eq(rptr), ram.r_en.eq(1), out.eq(ram.r_data)]
        return out

    def _ring_pointers(self, m, n, depth):
        """Write and read pointers of a free-running ring of ``n`` words delaying by ``depth``,
        shared by every ring of that delay."""
        if depth not in self._rings:
            wptr = Signal(range(n), name=f"ring{depth}_wptr")
            rptr = Signal(range(n), init=(n - depth + 2) % n, name=f"ring{depth}_rptr")
            m.d.sync += [wptr.eq(wptr + 1), rptr.eq(rptr + 1)]
            self._rings[depth] = (wptr, rptr)
        return self._rings[depth]

    def _local_phase(self, m, offset, name):
        """``(phase - offset) mod beats``: the sample (beat) number at ``offset`` in this cycle.

        A register loaded with ``phase - (offset - 1)``: while the phase runs this is the same
        value, and the phase only stops (at 0) when no frame is in flight, the one cycle it
        differs (the injection cycle) being before any frame reaches ``offset >= 1``.  One
        register per residue of ``offset``, shared; no subtractor on the paths it feeds.  A
        residue up to 4 above an existing one may be that register delayed, if the structure
        sets ``_delayed_phases`` (its value is right whenever a frame is at ``offset``: the
        phase has run since that frame was injected, at least ``offset`` cycles ago).  Measured
        on ECP5: 15 LUTs fewer for the single-path engine at the same Fmax, but 30 MHz lost on
        the delay-commutator pipeline, so only the former does it.
        """
        beats = self._params.beats
        assert offset >= 1, offset
        key = (offset - 1) % beats
        if beats == 1:
            return Signal(range(1), name=name)
        if key not in self._phase_regs:
            # a register a few offsets earlier, delayed, holds the same value whenever a frame
            # is there (the phase has run since that frame was injected): no subtractor
            near = [key - d for d in range(1, 5) if key - d in self._phase_regs] \
                if self._delayed_phases else []
            if near:
                ph = self._phase_regs[near[0]]
                for d in range(key - near[0]):
                    nxt = Signal.like(ph, name=f"phase_minus_{(near[0] + d + 2) % beats}")
                    m.d.sync += nxt.eq(ph)
                    ph = nxt
            else:
                ph = Signal(range(beats), name=f"phase_minus_{(offset % beats)}")
                m.d.sync += ph.eq((self._phase - key)[:len(ph)])
            self._phase_regs[key] = ph
        return self._phase_regs[key]

    def _build_taps(self, m, needed, inject, inverse):
        """Flag registers: the one at offset ``o`` holds ``(valid, mode)`` of the frame whose
        sample ``t`` is at offset ``o + 1`` in cycle ``o + 1 + t`` (mode: :func:`frame_mode`,
        bit 0 the direction)."""
        beats = self._params.beats
        chain = [0]
        for o in sorted(set(needed) - {0}):
            while o - chain[-1] > beats:
                chain.append(chain[-1] + beats)
            chain.append(o)
        taps, prev = {}, (inject, inverse)
        for o in chain:
            v = Signal(name=f"tap{o}_valid")
            inv = Signal(len(inverse), name=f"tap{o}_inverse" if len(inverse) == 1
                         else f"tap{o}_mode")
            load = self._phase == (o % beats) if beats > 1 else Const(1, 1)
            with m.If(load):
                m.d.sync += [v.eq(prev[0]), inv.eq(prev[1])]
            taps[o] = prev = (v, inv)
        return taps

    def _table_rom(self, m, init, width, addr, name):
        """A constant table read in 2 cycles at ``addr`` (block RAM when it is big enough)."""
        tech = self._tech if len(init) * width >= ROM_BRAM_MIN_BITS else "generic"
        rom = SimpleDualPortRAM(width, len(init), tech, init=init)
        m.submodules[name] = rom
        m.d.comb += [rom.r_addr.eq(addr), rom.r_en.eq(1), rom.w_en.eq(0)]
        return rom.r_data

    def _twiddle_signal(self, m, data, name):
        out = Signal(complex_layout(self._params.twiddle_width), name=f"{name}_tw")
        m.d.comb += out.as_value().eq(data)
        return out

    @property
    def input_slots(self) -> int:
        """Frame slots of the input buffer (:func:`golden.fft_fixed.engine_input_slots`, a power
        of two); the buffer holds ``input_slots * k/2p`` words per lane."""
        return engine_input_slots(self._params)

    def _input_slots(self, m):
        """Bookkeeping of the input buffer's frame slots (:attr:`input_slots`, used in turn):
        returns ``(accept, wcnt, wslot, rslot, (frame_ready, inverse, read_done))``; the caller
        writes beat ``wcnt`` of slot ``wslot`` when ``accept`` and reads slot ``rslot`` while
        injecting.  A frame is claimed when it is injected (``frame_ready`` then looks at the
        next slot) and freed when its last beat has been read (``read_done``), which may come
        later than the next injection when a subclass reads the buffer at an offset."""
        beats, n = self._params.beats, self.input_slots
        mode = Value.cast(frame_mode(self._params, self.i.payload))
        mw = len(mode)
        full, slot_inv, claimed = Signal(n), Signal(n * mw), Signal(n)
        # slot counters wrap by themselves (n is a power of two)
        wslot, rslot, cslot = (Signal(range(n), name=name) for name in ("wslot", "rslot", "cslot"))
        wcnt = Signal(range(beats))
        accept = self.i.valid & self.i.ready
        done = accept & (wcnt == beats - 1)
        read_done = Signal()
        free = ~full.bit_select(wslot, 1)
        if self._params.shared_io:   # the one port is not taken by the output buffer
            free = free & self._outbuf.aux_write_ok
        m.d.comb += [self.i.ready.eq(free), self.freed.eq(read_done)]
        count_frame_error(m, self.frame_errors, accept, self.i.payload.last, wcnt, beats)
        with m.If(accept):  # (beats is a power of two: the count wraps by itself)
            m.d.sync += wcnt.eq(wcnt + 1)
        with m.If(done):
            m.d.sync += [wslot.eq(wslot + 1),
                         slot_inv.word_select(wslot, mw).eq(mode)]
        for b in range(n):
            m.d.sync += full[b].eq((full[b] | (done & (wslot == b)))
                                   & ~(read_done & (rslot == b)))
        with m.If(read_done):
            m.d.sync += rslot.eq(rslot + 1)
        if not self._read_offset:
            # read at once: a frame is read out before the next phase 0, claimed = read
            return (accept, wcnt, wslot, rslot,
                    (full.bit_select(rslot, 1), slot_inv.word_select(rslot, mw), read_done))
        self._claim = (cslot, claimed, read_done, rslot)
        ready = full.bit_select(cslot, 1) & ~claimed.bit_select(cslot, 1)
        return (accept, wcnt, wslot, rslot, (ready, slot_inv.word_select(cslot, mw), read_done))

    def _may_inject(self, m):
        """A further condition for injecting a frame at phase 0 (subclasses)."""
        return Const(1, 1)

    #: Offset (from the injection) at which the input buffer's first beat is read.
    _read_offset = 0
    #: Local phases a few offsets apart are delayed copies of each other (see _local_phase).
    _delayed_phases = False

    # ---- top -----------------------------------------------------------------------------------
    def elaborate(self, platform):
        m = Module()
        prm, sched = self._params, self._sched
        beats, lanes = prm.beats, prm.lanes
        self._phase = Signal(range(beats))
        self._phase_regs, self._rings = {}, {}
        outstanding = Signal(range(sched["slots"] + 1))
        # (made first: with shared_io the input buffer is its second user)
        ob = BitReverseBuffer(prm.k, prm.width, lanes, sched["slots"], reverse=prm.natural_order,
                              tech=self._tech, frame_flags=True, credited=True,
                              stuffing=prm.max_stuffing, single_port=prm.shared_io,
                              aux_words=self.input_slots * beats if prm.shared_io else 0)
        self._outbuf = ob
        ready, inverse, read_done, x = self._input_buffer(m)
        inject = Signal()
        at_zero = self._phase == 0 if beats > 1 else Const(1, 1)
        m.d.comb += inject.eq(at_zero & ready & (outstanding < sched["slots"])
                              & self._may_inject(m))
        if self._read_offset:
            cslot, claimed, read_done_, rslot_ = self._claim
            with m.If(inject):
                m.d.sync += cslot.eq(cslot + 1)
            for b in range(self.input_slots):
                m.d.sync += claimed[b].eq((claimed[b] | (inject & (cslot == b)))
                                          & ~(read_done_ & (rslot_ == b)))
        self._inject, self._inject_mode = inject, inverse

        ro = self._read_offset
        taps = self._build_taps(m, [sched["exit"] - 1] + self._needed_offsets()
                                + ([ro - 1] if ro else []), inject, inverse)
        if ro == 0:
            injecting, _ = taps[0]
            m.d.comb += read_done.eq(injecting & (self._phase == beats - 1) if beats > 1
                                     else inject)
        else:
            reading, _ = taps[ro - 1]
            last = (self._local_phase(m, ro, "inbuf_read_phase") == beats - 1) if beats > 1 \
                else Const(1, 1)
            m.d.comb += read_done.eq(reading & last)
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
        m.submodules.outbuf = ob
        out_sat = []
        for lane, value in enumerate(y):
            re, sr = saturate(round_shift(value.re, prm.guard), prm.width)
            im, si = saturate(round_shift(value.im, prm.guard), prm.width)
            dst = ob.i.payload.data[lane]
            clipped = Signal(name=f"out_sat{lane}")
            m.d.sync += [dst.re.eq(re), dst.im.eq(im), clipped.eq(sr | si)]
            out_sat.append(clipped & valid_x)
        m.d.comb += [ob.i.valid.eq(valid_x), ob.i.payload.inverse.eq(inv_x[0])]
        if prm.max_stuffing:
            m.d.comb += ob.i.payload.stuffing.eq(inv_x[1:])
        wiring.connect(m, ob.o, wiring.flipped(self.o))
        # the credit comes back a cycle after the frame's last beat left (a register: the
        # output handshake fans out widely and was the ECP5 critical path); ``slots`` counts it
        retire = Signal()
        m.d.sync += retire.eq(self.o.valid & self.o.ready & self.o.payload.last)
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
            if isinstance(flag, Const) and flag.value == 0:
                continue
            r = Signal(name=f"sat_flag{i}")
            m.d.sync += r.eq(flag)
            level.append(r)
        if not level:
            return
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
