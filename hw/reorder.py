"""Bit-reversal reorder buffer: the engine's output back in natural order."""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from golden.fft_fixed import reorder_model

from .fixed import complex_layout
from .pingpong import PingPongControl
from .ram import SimpleDualPortRAM

__all__ = ["BitReverseBuffer", "reorder_payload"]


def reorder_payload(width: int, lanes: int, frame_flags: bool = False,
                    stuffing: int = 0) -> data.StructLayout:
    """A beat: ``lanes`` samples, the frame's direction (and, on the output of a buffer built
    with ``frame_flags``, its first and last beat; with ``stuffing`` > 0 a field of values up to
    it that travels with the frame, as ``inverse`` does)."""
    fields = {"data": data.ArrayLayout(complex_layout(width), lanes), "inverse": 1}
    if frame_flags:
        fields.update(first=1, last=1)
    if stuffing:
        fields["stuffing"] = range(stuffing + 1)
    return data.StructLayout(fields)


def _log2(v: int) -> int:
    return v.bit_length() - 1


class BitReverseBuffer(wiring.Component):
    """Frames of ``k`` samples, ``lanes`` per beat, written in order and read bit-reversed.

    Overview
    --------
    Output sample ``n`` is input sample ``bitrev(n)``.  With ``B = log2 lanes`` and
    ``M = k / lanes`` beats, output beat ``j`` needs, for each lane ``l``, input sample
    ``s = rev_B(l) * M + rev(j)``: all ``lanes`` of them from one input lane (or a few) of
    different beats.  To read them in one cycle the memory has one bank per lane, and input
    beat ``w`` is stored rotated by ``g(w)`` (the top ``min(B, log2 M)`` bits of ``w``): lane
    ``t`` goes to bank ``(t + g(w)) mod lanes`` at address ``w``.  Then the samples of any output
    beat fall in distinct banks, and so do the lanes of any input beat (proof in
    ``docs/fft-engine.md``).  Ping-pong: one frame is written while the previous one is read.

    Latency and resources
    ---------------------
    ``delay = k/lanes + 3`` cycles from a frame's first input beat to its first output beat,
    without stalls; one beat per cycle.  ``lanes`` banks of ``2 k / lanes`` samples, a lane
    rotator on the write side and a ``lanes x lanes`` address and data crossbar on the read
    side.

    Parameters
    ----------
    k : int
        Frame length (power of two).
    width : int
        Component width.
    lanes : int
        Samples per beat (power of two, at most ``k``).
    slots : int
        Frames the memory holds (default 2: ping-pong).  More slots let a writer that cannot
        stall (the fully pipelined FFT) run ahead of a stalled reader.
    reverse : bool
        Read bit-reversed (default) or in the written order (a frame FIFO).
    tech : str
        Memory technology (:class:`hw.ram.SimpleDualPortRAM`): ``"generic"`` or ``"ecp5"``
        (DP16KD with the output register).
    frame_flags : bool
        The output payload also marks each frame's ``first`` and ``last`` beat.
    credited : bool
        The writer holds a credit for every frame it writes (it never writes into a slot that
        is still full, as the free-running FFT cores guarantee): the memories are then written
        on ``i.valid`` alone, with no full-flag logic on the block RAM's write enable (on ECP5
        that path, with the route into the DP16KD, limited the engine's clock).  ``i.ready``
        still says whether the slot is free.
    stuffing : int
        Largest value of the payloads' ``stuffing`` field (0: no such field): a frame's
        transform length in the FFT engine, carried from its input to its output.
    single_port : bool
        Banks with one port (SB_SPRAM256KA on iCE40: :class:`hw.ram.SimpleDualPortRAM` with
        ``single_port``), shared by the writer, the reader and a second user (the FFT engine's
        input buffer) through the ``aux_*`` members: ``aux_words`` more words per bank, after
        the frame slots.  Needs ``credited``.  In a cycle the port serves, in this order: a
        frame beat written (``i.valid``: the writer's schedule never stalls), an ``aux_read``
        (scheduled by the caller, never with ``i.valid``), a beat read out, an ``aux_write``
        (allowed when ``aux_write_ok``: the output is never starved by the input).  A write
        leaves the block's output undefined, so reads are not held in the memory's registers
        across a stall: the reader issues a beat only when the 4-beat output FIFO has room for
        it and the beats in flight (same ``delay``; a 4-beat FIFO of fabric registers more).
    aux_words : int
        Words per bank of the second user's region (``single_port`` only).

    Members
    -------
    aux_addr, aux_read, aux_write, aux_w_data : In (``single_port`` only)
        Word of the second user's region, read (data on ``aux_r_data`` two cycles later) or
        written (lane ``l`` of ``aux_w_data`` into bank ``l``) this cycle.
    aux_write_ok, aux_r_data : Out (``single_port`` only)
        The port is free for an ``aux_write`` this cycle; the banks' read data.
    """

    def __init__(self, k: int, width: int, lanes: int, slots: int = 2, reverse: bool = True,
                 tech: str = "generic", frame_flags: bool = False, credited: bool = False,
                 stuffing: int = 0, single_port: bool = False, aux_words: int = 0):
        if not isinstance(k, int) or k < 2 or k & (k - 1):
            raise TypeError(f"k must be a power of two of at least 2, not {k!r}")
        if not isinstance(lanes, int) or lanes < 1 or lanes & (lanes - 1) or lanes > k:
            raise TypeError(f"lanes must be a power of two from 1 to k = {k}, not {lanes!r}")
        if not isinstance(slots, int) or isinstance(slots, bool) or slots < 2:
            raise TypeError(f"slots must be an integer of at least 2, not {slots!r}")
        self._k, self._width, self._lanes = k, width, lanes
        self._slots, self._reverse, self._tech = slots, bool(reverse), tech
        self._flags, self._credited = bool(frame_flags), bool(credited)
        self._stuffing = stuffing
        self._single, self._aux_words = bool(single_port), aux_words
        if self._single and not self._credited:
            raise ValueError("a single-port buffer needs a credited writer (credited=True)")
        if not isinstance(aux_words, int) or aux_words < 0 or (aux_words and not single_port):
            raise TypeError(f"aux_words must be a non-negative integer, and 0 without "
                            f"single_port, not {aux_words!r}")
        members = {
            "i": In(stream.Signature(reorder_payload(width, lanes, stuffing=stuffing))),
            "o": Out(stream.Signature(reorder_payload(width, lanes, frame_flags, stuffing)))}
        if self._single:
            members.update({
                "aux_addr": In(range(max(aux_words, 1))), "aux_read": In(1), "aux_write": In(1),
                "aux_w_data": In(lanes * 2 * width), "aux_write_ok": Out(1),
                "aux_r_data": Out(lanes * 2 * width)})
        super().__init__(members)

    @property
    def delay(self) -> int:
        return self._k // self._lanes + 3

    def model(self, values):
        return reorder_model(values) if self._reverse else values

    def elaborate(self, platform):
        m = Module()
        k, w, lanes, slots = self._k, self._width, self._lanes, self._slots
        beats = k // lanes
        B, mb = _log2(lanes), _log2(beats)
        gshift = max(mb - B, 0)

        banks = []
        base = slots << mb    # the second user's region (single port): Cat(word, slot) < base
        for b in range(lanes):
            # (generic: whatever memory the device offers, with a register after it; ecp5:
            # DP16KD with its output register)
            ram = (SimpleDualPortRAM(2 * w, base + self._aux_words, self._tech, single_port=True)
                   if self._single else SimpleDualPortRAM(2 * w, slots * beats, self._tech))
            m.submodules[f"bank{b}"] = ram
            banks.append(ram)

        def addr(word, buf):
            return Cat(word, buf) if mb else Cat(buf)

        # ---- write side: lane t of beat wcnt -> bank (t + g(wcnt)) mod lanes ------------------
        m.submodules.pingpong = pp = PingPongControl(beats, slots)
        en = Signal()
        wbuf, wcnt, write_done = pp.wbuf, pp.wcnt, pp.write_done
        rbuf, rcnt, active = pp.rbuf, pp.rcnt, pp.readable
        tag_in = (Cat(self.i.payload.inverse, self.i.payload.stuffing) if self._stuffing
                  else self.i.payload.inverse)
        tw = len(tag_in)
        side_inverse = Signal(slots * tw)
        accept = self.i.valid if self._credited else self.i.valid & self.i.ready
        m.d.comb += [self.i.ready.eq(pp.writable), pp.write.eq(accept)]
        if not self._single:
            m.d.comb += pp.advance.eq(en)
        if self._single:   # the second user's word, in its region after the frame slots
            aux_word = Signal(range(base + max(self._aux_words, 1)), name="aux_word")
            m.d.comb += aux_word.eq(self.aux_addr + base)
        g_w = wcnt[gshift:mb] if mb else Const(0, 1)
        lanes_in = Array([self.i.payload.data[t].as_value() for t in range(lanes)])
        for b in range(lanes):
            src = (Const(b, B + 1) - g_w)[:B] if B else Const(0, 1)
            if self._single:
                m.d.comb += [
                    banks[b].w_addr.eq(Mux(accept, addr(wcnt, wbuf), aux_word)),
                    banks[b].w_data.eq(Mux(accept, lanes_in[src],
                                           self.aux_w_data[b * 2 * w:(b + 1) * 2 * w])),
                    banks[b].w_en.eq(accept | self.aux_write)]
            else:
                m.d.comb += [banks[b].w_addr.eq(addr(wcnt, wbuf)),
                             banks[b].w_data.eq(lanes_in[src]), banks[b].w_en.eq(accept)]
        with m.If(write_done):
            m.d.sync += side_inverse.word_select(wbuf, tw).eq(tag_in)

        # ---- read side: output beat rcnt, lane l <- sample Cat(rev(rcnt), rev_B(l)) --------------

        rev_j = Cat(rcnt[i] for i in reversed(range(mb))) if mb else None
        bank_of, word_of = [], []
        for l in range(lanes):
            u = int(format(l, f"0{B}b")[::-1], 2) if B else 0
            if not self._reverse:
                s_l = Cat(Const(l, B), rcnt) if mb else Const(l, max(B, 1))
            else:
                s_l = Cat(rev_j, Const(u, B)) if mb else Const(u, B)
            t_l = s_l[:B]
            w_l = s_l[B:] if mb else Const(0, 1)
            g_l = w_l[gshift:mb] if mb else Const(0, 1)
            bank = Signal(max(B, 1), name=f"bank_of_lane{l}")  # no zero-width signal
            m.d.comb += bank.eq((t_l + g_l)[:B] if B else 0)
            bank_of.append(bank)
            word_of.append(w_l)
        for b in range(lanes):
            a = Signal(max(mb, 1), name=f"word_for_bank{b}")
            for l in range(lanes):
                with m.If(bank_of[l] == b):
                    m.d.comb += a.eq(word_of[l])
            own = addr(a[:mb], rbuf) if mb else rbuf
            if self._single:
                m.d.comb += [banks[b].r_addr.eq(Mux(self.aux_read, aux_word, own)),
                             banks[b].r_en.eq(1)]
            else:
                m.d.comb += [banks[b].r_addr.eq(own), banks[b].r_en.eq(en)]
        if self._single:
            self._read_out_fifo(m, pp, accept, tw, side_inverse, bank_of,
                                [banks[b].r_data for b in range(lanes)])
            return m

        # memory (a 2-cycle read: address and output registers) -> lane crossbar -> register; on
        # ECP5 the DP16KD output register hides its 5.8 ns clock-to-out
        v1, v2 = Signal(), Signal()
        inv1, inv2 = Signal(tw), Signal(tw)
        flags1, flags2 = Signal(2), Signal(2)  # (first, last) of the beat being read
        bank1 = [Signal.like(b, name=f"bank_of_lane{l}_d") for l, b in enumerate(bank_of)]
        bank2 = [Signal.like(b, name=f"bank_of_lane{l}_d2") for l, b in enumerate(bank_of)]
        rdata = [banks[b].r_data for b in range(lanes)]
        with m.If(en):
            m.d.sync += [v1.eq(active), inv1.eq(side_inverse.word_select(rbuf, tw)),
                         v2.eq(v1), inv2.eq(inv1)]
            m.d.sync += [d.eq(s) for d, s in zip(bank1, bank_of)]
            m.d.sync += [d.eq(s) for d, s in zip(bank2, bank1)]
            m.d.sync += [self.o.valid.eq(v2), self.o.payload.inverse.eq(inv2[0])]
            if self._stuffing:
                m.d.sync += self.o.payload.stuffing.eq(inv2[1:])
            if self._flags:
                m.d.sync += [flags1.eq(Cat(rcnt == 0, pp.read_last)), flags2.eq(flags1),
                             self.o.payload.first.eq(flags2[0]), self.o.payload.last.eq(flags2[1])]
        crossbar = Array(rdata)
        with m.If(en):
            for l in range(lanes):
                m.d.sync += self.o.payload.data[l].as_value().eq(crossbar[bank2[l]])
        m.d.comb += en.eq(~self.o.valid | self.o.ready)
        return m

    def _read_out_fifo(self, m, pp, accept, tw, side_inverse, bank_of, rdata):
        """Single port: the port's arbitration, and the reader's beats through the memory (2
        cycles, never held) and the lane crossbar into a 4-beat FIFO; a beat is issued only
        when the FIFO has room for it and the beats in flight (``credits``)."""
        lanes = self._lanes
        depth = 4
        width = lanes * 2 * self._width + tw + 2
        m.submodules.out_fifo = fifo = SyncFIFO(width=width, depth=depth)
        v1, v2 = Signal(), Signal()
        # FIFO places neither filled nor promised to a beat in flight (a counter: the sum of
        # the FIFO's level and the flags was the UP5K's critical path)
        credits = Signal(range(depth + 1), init=depth)
        room = Signal()
        m.d.comb += room.eq(credits != 0)
        pop = fifo.r_rdy & self.o.ready
        with m.If(pp.issue & ~pop):
            m.d.sync += credits.eq(credits - 1)
        with m.Elif(pop & ~pp.issue):
            m.d.sync += credits.eq(credits + 1)
        free = ~accept & ~self.aux_read          # the port is not taken by a scheduled access
        m.d.comb += [pp.advance.eq(room & free),
                     self.aux_write_ok.eq(free & ~(pp.readable & room)),
                     self.aux_r_data.eq(Cat(*rdata))]
        inv1, inv2 = Signal(tw), Signal(tw)
        flags1, flags2 = Signal(2), Signal(2)
        bank2 = []
        m.d.sync += [v1.eq(pp.issue), v2.eq(v1),
                     inv1.eq(side_inverse.word_select(pp.rbuf, tw)), inv2.eq(inv1),
                     flags1.eq(Cat(pp.rcnt == 0, pp.read_last)), flags2.eq(flags1)]
        for l, b in enumerate(bank_of):
            b1 = Signal.like(b, name=f"bank_of_lane{l}_d")
            b2 = Signal.like(b, name=f"bank_of_lane{l}_d2")
            m.d.sync += [b1.eq(b), b2.eq(b1)]
            bank2.append(b2)
        crossbar = Array(rdata)
        m.d.comb += [fifo.w_en.eq(v2),
                     fifo.w_data.eq(Cat(*(crossbar[b] for b in bank2), inv2, flags2)),
                     self.o.valid.eq(fifo.r_rdy), fifo.r_en.eq(self.o.ready)]
        n = 2 * self._width
        out = fifo.r_data
        for l in range(lanes):
            m.d.comb += self.o.payload.data[l].as_value().eq(out[l * n:(l + 1) * n])
        tag = out[lanes * n:lanes * n + tw]
        m.d.comb += self.o.payload.inverse.eq(tag[0])
        if self._stuffing:
            m.d.comb += self.o.payload.stuffing.eq(tag[1:])
        if self._flags:
            m.d.comb += [self.o.payload.first.eq(out[-2]), self.o.payload.last.eq(out[-1])]
