"""Recirculating FFT core (``d < log2 k``): ``d`` constant-geometry levels in a ring, scheduled in
epochs, free-running between the input and output buffers."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Mux, Signal
from amaranth.lib import data

from golden.fft_fixed import butterfly_latency, recirculating_schedule
from golden.fixedpoint import twiddle_table

from .butterfly import Butterfly
from .fft_freerun import FreeRunningCore, frame_mode, mode_shift
from .fixed import complex_layout, pack_complex
from .ram import SimpleDualPortRAM
from .select import select

__all__ = ["RecirculatingFFTCore"]


def _lookup(index, values, width):
    """Constant ``values[index]`` (the last value beyond the end)."""
    return select([Const(v, width) for v in values], index)


class RecirculatingFFTCore(FreeRunningCore):
    """The structure behind :class:`hw.fft_engine.FFTEngine` when ``d < log2 k``.

    Overview
    --------
    ::

        i -> input buffer -> level 0 memory -> p butterflies -> level 1 memory -> ... -> level d-1
                                  ^                                                        |
                                  +-------------------- a frame's next pass ---------------+
                                                            its last pass -> round, saturate
                                                                             -> output buffer -> o

    Every stage of the constant-geometry radix-2 DIF (``golden/fft_fixed.py``) reads the pair
    ``x[i], x[i + k/2]`` and writes ``y[2i], y[2i + 1]``, so one level can compute any stage:
    level ``i`` computes stage ``npass * d + i`` and a frame goes round ``passes = ceil(log2 k /
    d)`` times (in the last pass the levels beyond ``log2 k`` copy it).

    Time is cut into epochs of ``k/2p`` cycles (:func:`golden.fft_fixed.recirculating_schedule`).
    In each epoch every level reads one frame from its memory, one word of each half per cycle,
    and streams ``k/2p`` beats into the next level's memory; the next level reads that frame
    ``hop`` epochs later (as soon as the half it needs first is written).  A frame's presence,
    direction and pass travel through a register per ring position, shifted once per epoch.  A
    new frame is injected into an epoch that the last level leaves free (its frame leaves the
    engine, or there was none), so frames enter at most one every ``passes`` epochs: the ideal
    ``passes * k / 2p`` cycles apart.  Nothing inside stalls (no clock enable): memories are
    block RAMs with their output register, written every cycle.

    With ``shared_io`` the input buffer lives in the output buffer's single-port banks
    (:class:`hw.reorder.BitReverseBuffer` with ``single_port``: SPRAM on iCE40), read through
    its ``aux`` port while a frame is injected; the input stream is accepted only in cycles
    the port is free, and frames enter on the schedule's longer ``grid`` so that an injection's
    reads never meet an exit's writes.

    Memory per level: ``hop + 1`` frame slots in two banks of words of ``p`` samples (word ``n``
    of a frame in bank ``n[0] xor n[log2 beats]``, so a beat's two words and a butterfly
    cycle's two words fall in different banks).
    """

    def __init__(self, params, tech: str, signature):
        super().__init__(params, tech, signature, recirculating_schedule(params))
        self._read_offset = self._sched["read_offset"]

    # ---- input buffer: beats in natural order ------------------------------------------------
    def _input_buffer(self, m):
        prm = self._params
        w, beats, lanes = prm.width, prm.beats, prm.lanes
        accept, wcnt, wslot, rslot, slots = self._input_slots(m)
        if beats > 1:
            raddr = Cat(self._local_phase(m, self._read_offset, "inbuf_phase"), rslot)
        else:
            raddr = rslot
        x = Signal(data.ArrayLayout(complex_layout(prm.internal_width), lanes), name="in_x")
        waddr = Cat(wcnt, wslot) if beats > 1 else wslot
        if prm.shared_io:   # in the output buffer's single-port banks, after its frames
            ob = self._outbuf
            self._inbuf_reading = reading = Signal(name="inbuf_reading")
            m.d.comb += [ob.aux_addr.eq(Mux(reading, raddr, waddr)),
                         ob.aux_read.eq(reading), ob.aux_write.eq(accept),
                         ob.aux_w_data.eq(self.i.payload.data.as_value())]
        for lane in range(lanes):
            if prm.shared_io:
                word = ob.aux_r_data[lane * 2 * w:(lane + 1) * 2 * w]
            else:
                ram = SimpleDualPortRAM(2 * w, self.input_slots * beats, self._tech)
                m.submodules[f"inbuf{lane}"] = ram
                m.d.comb += [ram.w_addr.eq(waddr), ram.w_data.eq(self.i.payload.data[lane]),
                             ram.w_en.eq(accept), ram.r_addr.eq(raddr), ram.r_en.eq(1)]
                word = ram.r_data
            m.d.sync += [x[lane].re.eq(word[:w].as_signed() << prm.guard),
                         x[lane].im.eq(word[w:].as_signed() << prm.guard)]
        return (*slots, x)

    # ---- ring positions ----------------------------------------------------------------------
    def _positions(self, m):
        """The flags of each ring position (``valid``, ``inverse``, ``npass``): position ``i *
        hop`` holds the frame level ``i`` reads in this epoch."""
        if not hasattr(self, "_sr"):
            prm, sched = self._params, self._sched
            fields = {"valid": 1, "inverse": 1, "npass": range(max(2, prm.passes))}
            if prm.max_stuffing:
                fields["stuffing"] = range(prm.max_stuffing + 1)
            layout = data.StructLayout(fields)
            self._sr = [Signal(layout, name=f"position{j}") for j in range(sched["positions"])]
            x = self._sr[(prm.d - 1) * sched["hop"]]
            self._recirculating = x.valid & (x.npass != prm.passes - 1)
        return self._sr

    def _may_inject(self, m):
        """The last level's epoch is free, and the epoch is on the injection grid: every
        ``passes``-th epoch (the schedule's ``grid``: more with ``shared_io``) counted from the
        last time the engine was empty.  A frame injected
        at a grid epoch ``g`` takes the ring's epochs ``g + j * positions`` (``j < passes``),
        and ``positions`` is coprime to ``passes``, so frames injected on the grid never compete
        for a position: however late a frame arrives, it waits at most ``passes`` epochs, and
        with a continuous input frames enter evenly spaced, one every ``passes`` epochs.  (A
        rule of "``passes`` epochs since the last injection" instead lets one late frame shift
        the injections off the grid, after which returning frames take the epochs the next ones
        need: k = 8, d = 1 in the layer engine then took a frame every 5 epochs, not 3.)"""
        self._positions(m)
        self._grid = Signal(range(self._sched["grid"]), name="inject_grid")
        return ~self._recirculating & (self._grid == 0)

    def _advance_positions(self, m, epoch_end, epoch_start):
        """Shift the positions at the end of each epoch; the one after the last level gets the
        frame written into level 0 during this epoch: the returning one, a new one, or none."""
        prm, sched = self._params, self._sched
        sr = self._positions(m)
        x = sr[(prm.d - 1) * sched["hop"]]
        transit = Signal.like(sr[0], name="transit")
        nxt = Signal.like(sr[0], name="transit_next")
        stuffed = self._params.max_stuffing
        with m.If(self._recirculating):
            m.d.comb += [nxt.valid.eq(1), nxt.inverse.eq(x.inverse), nxt.npass.eq(x.npass + 1)]
            if stuffed:
                m.d.comb += nxt.stuffing.eq(x.stuffing)
        with m.Elif(self._inject):
            m.d.comb += [nxt.valid.eq(1), nxt.inverse.eq(self._inject_mode[0]),
                         nxt.npass.eq(0)]
            if stuffed:
                m.d.comb += nxt.stuffing.eq(self._inject_mode[1:])
        if prm.beats > 1:
            with m.If(epoch_start):
                m.d.sync += transit.eq(nxt)
        else:
            m.d.comb += transit.eq(nxt)
        into = ((prm.d - 1) * sched["hop"] + 1) % len(sr)
        with m.If(epoch_end):
            for j in range(len(sr)):
                m.d.sync += sr[j].eq(transit if j == into else sr[j - 1])

    # ---- the ring ----------------------------------------------------------------------------
    def _needed_offsets(self):
        return []

    def _stages(self, m, x, taps):
        prm, sched = self._params, self._sched
        beats = prm.beats
        busy = Signal()
        m.d.comb += busy.eq(Cat(v for v, _ in taps.values()).any() | self._inject)
        # (the phase only waits at 0, so its last value always ends an epoch)
        epoch_end = self._phase == beats - 1 if beats > 1 else busy
        epoch_start = (self._phase == 0) & busy if beats > 1 else busy
        self._advance_positions(m, epoch_end, epoch_start)
        if prm.shared_io:   # the input buffer is read while the frame's beats are at its offset
            m.d.comb += self._inbuf_reading.eq(taps[self._read_offset - 1][0])
        # the injection grid counts epochs while the engine is busy, from 0 when it was empty
        # (with one-cycle epochs an injecting epoch ends in the same cycle)
        with m.If(epoch_end):
            m.d.sync += self._grid.eq(Mux(self._grid == sched["grid"] - 1, 0, self._grid + 1))
        with m.Elif(~busy):
            m.d.sync += self._grid.eq(0)
        # each level's slot counter: epochs modulo the frames its memory holds
        eps = []
        for i, n in enumerate(sched["level_slots"]):
            ep = Signal(range(n), name=f"l{i}_epoch")
            with m.If(epoch_end):
                m.d.sync += ep.eq(Mux(ep == n - 1, 0, ep + 1))
            eps.append(ep)
        sr = self._positions(m)

        levels = [self._level(m, i, sr[i * sched["hop"]], eps[i], eps[(i + 1) % prm.d])
                  for i in range(prm.d)]
        # level 0 is written by the returning frame or by the injected one
        back = self._delayed(m, self._recirculating, sched["level"], "returning")
        sats = []
        for i, lv in enumerate(levels):
            src = levels[i - 1]["out"] if i else Mux(back, levels[-1]["out"].as_value(),
                                                    x.as_value())
            self._write_side(m, lv, src, levels[i - 1]["slot_w"], levels[i - 1]["beat_w"])
            sats += lv["sats"]
        return [levels[-1]["out"][lane] for lane in range(prm.lanes)], sats

    def _delayed(self, m, value, n, name):
        for i in range(n):
            r = Signal.like(value, name=f"{name}_d{i}")
            m.d.sync += r.eq(value)
            value = r
        return value

    def _level(self, m, i, flags, ep, ep_next):
        """Read side, butterflies and output register of level ``i`` (``ep``, ``ep_next``: the
        slot counters of this level and of the one it writes)."""
        prm, sched = self._params, self._sched
        p, beats, iw, tw = prm.p, prm.beats, prm.internal_width, prm.twiddle_width
        S = sched["level_slots"][i]
        word = data.ArrayLayout(complex_layout(iw), p)
        banks = [SimpleDualPortRAM(word.size, S * beats if beats > 1 else S,
                                   self._tech) for _ in range(2)]
        for b, ram in enumerate(banks):
            m.submodules[f"l{i}_bank{b}"] = ram

        stage = Signal(range(prm.passes * prm.d + 1), name=f"l{i}_stage")
        m.d.comb += stage.eq(flags.npass * prm.d + i)
        may_bypass = (prm.passes - 1) * prm.d + i >= prm.stages
        bypass = (stage >= prm.stages) if may_bypass else Const(0, 1)
        t = self._phase
        slot_r = Signal(range(S), name=f"l{i}_slot_r")  # (epoch + 1) mod S = epoch - hop mod S
        m.d.comb += slot_r.eq(Mux(ep == S - 1, 0, ep + 1))
        # word n of a frame (2 beats words) is in bank n[0] ^ n[B] at address n >> 1 (B = log2
        # beats): a butterfly's words t, t + beats and a beat's words 2t, 2t + 1 are in both banks
        nb = beats.bit_length() - 1
        for b, ram in enumerate(banks):
            if beats > 1:
                pair = Cat(t[1:nb], Const(b, 1) ^ t[0])
                raddr = Cat(Mux(bypass, t[:nb], pair), slot_r)
            else:
                raddr = slot_r
            m.d.comb += [ram.r_addr.eq(raddr), ram.r_en.eq(1)]

        # twiddles by lane: e = ((t p + l) >> stage) << stage, conjugates for the inverse
        re_t, im_t = twiddle_table(prm.k, tw)
        init = ([pack_complex(re_t[e], im_t[e], tw) for e in range(prm.k // 2)]
                + [pack_complex(re_t[e], -im_t[e], tw) for e in range(prm.k // 2)])
        eb = max(1, (prm.k // 2 - 1).bit_length())
        mask = _lookup(stage, [((1 << eb) - 1) & ~((1 << s) - 1) for s in range(prm.stages)], eb)
        lane_bits = (p - 1).bit_length()
        fixed = (prm.forward_shifts == prm.inverse_shifts and len(set(prm.forward_shifts)) == 1
                 and not prm.max_stuffing)
        if prm.max_stuffing:    # by stage, then by direction and length
            mode = frame_mode(prm, flags)
            shift = select([mode_shift(prm, st, mode)[1] for st in range(prm.stages)], stage)
        else:
            shift = Mux(flags.inverse, _lookup(stage, prm.inverse_shifts, 1),
                        _lookup(stage, prm.forward_shifts, 1))

        # control at the memories' data (2 cycles after the address)
        ctl = Cat(flags.valid, flags.inverse, bypass, shift,
                  t[0] if beats > 1 else Const(0, 1), (t >= beats // 2) if beats > 1
                  else Const(0, 1))
        ctl2 = self._delayed(m, ctl, 2, f"l{i}_ctl")
        parity2, half2 = ctl2[4], ctl2[5]
        rd = [word(ram.r_data) for ram in banks]
        bfs = []
        for lane in range(p):
            idx = Cat(Const(lane, lane_bits), t) if lane_bits else t
            addr = Cat((idx & mask)[:eb], flags.inverse)
            twv = self._twiddle_signal(m, self._table_rom(m, init, 2 * tw, addr,
                                                          f"l{i}_tw{lane}"), f"l{i}_{lane}")
            bf = Butterfly(iw, tw, prm.pipeline, self._tech,
                           fixed_shift=prm.forward_shifts[0] if fixed else None)
            m.submodules[f"l{i}_bf{lane}"] = bf
            x0, x1 = rd[0][lane].as_value(), rd[1][lane].as_value()
            if beats > 1:
                x0, x1 = Mux(parity2, x1, x0), Mux(parity2, x0, x1)
            m.d.comb += [bf.en.eq(1), bf.x0.eq(x0), bf.x1.eq(x1), bf.tw.eq(twv),
                         bf.shift.eq(ctl2[3])]
            bfs.append(bf)

        # bypass: the frame's words 2t, 2t+1 (half t >= B/2, both parities), unchanged
        lb = butterfly_latency(prm)
        if may_bypass:
            copied = Cat(rd[0].as_value(), rd[1].as_value())
            if beats > 1:
                copied = Mux(half2, Cat(rd[1].as_value(), rd[0].as_value()), copied)
            copied = self._delayed(m, copied, lb, f"l{i}_copy")
        ctl_out = self._delayed(m, ctl2[:3], lb, f"l{i}_ctl_bf")
        valid_o, bypass_o = ctl_out[0], ctl_out[2]
        out = Signal(data.ArrayLayout(complex_layout(iw), 2 * p), name=f"l{i}_out")
        computed = Cat(Cat(bf.a.as_value(), bf.b.as_value()) for bf in bfs)
        m.d.sync += out.as_value().eq(Mux(bypass_o, copied, computed) if may_bypass
                                      else computed)
        sats = []
        for lane, bf in enumerate(bfs):
            for flag in (bf.sat_a, bf.sat_b):
                r = Signal(name=f"l{i}_sat{len(sats)}")
                m.d.sync += r.eq(flag & valid_o & ~bypass_o)
                sats.append(r)
        # what the next level's write side needs: slot and beat of each output beat
        level = self._sched["level"]
        slot_w = self._delayed(m, ep_next, level, f"l{i}_slot_w")
        beat_w = self._local_phase(m, level, f"l{i}_beat_w") if beats > 1 else Const(0, 1)
        return {"out": out, "banks": banks, "sats": sats, "slot_w": slot_w, "beat_w": beat_w}

    def _write_side(self, m, lv, src, slot_w, beat_w):
        """Beat ``t`` of the stream into words ``2t`` and ``2t + 1`` of slot ``slot_w``: both at
        address ``t``, in banks ``h`` and ``1 - h`` (``h``: the half, ``t >= beats / 2``)."""
        prm = self._params
        beats, p, iw = prm.beats, prm.p, prm.internal_width
        wsize = 2 * iw * p
        src = src.as_value() if hasattr(src, "as_value") else src
        lo, hi = src[:wsize], src[wsize:]
        banks = lv["banks"]
        if beats > 1:
            top = beat_w[-1]
            for b, ram in enumerate(banks):
                m.d.comb += [ram.w_addr.eq(Cat(beat_w, slot_w)),
                             ram.w_data.eq(Mux(top, lo, hi) if b else Mux(top, hi, lo)),
                             ram.w_en.eq(1)]
        else:
            for b, ram in enumerate(banks):
                m.d.comb += [ram.w_addr.eq(slot_w), ram.w_data.eq(hi if b else lo),
                             ram.w_en.eq(1)]
