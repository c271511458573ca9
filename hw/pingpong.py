"""Bookkeeping of a frame buffer of two (ping-pong) or more slots: which slot is written, which is
read, and when."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["PingPongControl"]


class PingPongControl(wiring.Component):
    """Counters and full flags of a memory holding ``slots`` frames of ``beats`` beats.

    Overview
    --------
    The writer fills slot ``wbuf`` beat by beat (``write`` high for each accepted beat at
    ``wcnt``); ``writable`` is low while that slot still holds an unread frame.  When a frame is
    complete its slot becomes readable; the reader issues beat ``rcnt`` of slot ``rbuf`` on every
    cycle where ``readable & advance``, and frees the slot with its last beat.  Slots are used in
    turn.  A slot is never written and read at once, so the memory's read-during-write behaviour
    does not matter.  The memory address of a beat is ``Cat(cnt, buf)`` (``slots * 2**ceil(log2
    beats)`` words).

    Latency and resources
    ---------------------
    A frame written in cycles ``0 .. beats-1`` is readable in cycle ``beats``.  Two
    ``log2(beats)``-bit counters, two slot counters and ``slots`` full flags.

    Parameters
    ----------
    beats : int
        Beats per frame (at least 1).
    slots : int
        Frames the memory holds (at least 2; default 2, a ping-pong buffer).

    Members
    -------
    write : In(1)
        A beat is written this cycle (the caller's ``valid & ready``).
    advance : In(1)
        The reader may issue a beat this cycle (its pipeline is not stalled).
    writable, wbuf, wcnt, write_done : Out
        The writer's half may be written; its index; beat number; last beat written now.
    readable, rbuf, rcnt, issue, read_done, read_last : Out
        A frame waits in the reader's half; its index; beat number; a beat is read now; the
        frame's last beat is read now; ``rcnt`` is the frame's last beat.
    """

    def __init__(self, beats: int, slots: int = 2):
        if not isinstance(beats, int) or beats < 1:
            raise TypeError(f"beats must be a positive integer, not {beats!r}")
        if not isinstance(slots, int) or isinstance(slots, bool) or slots < 2:
            raise TypeError(f"slots must be an integer of at least 2, not {slots!r}")
        self._beats, self._slots = beats, slots
        super().__init__({
            "write": In(1), "advance": In(1),
            "writable": Out(1), "wbuf": Out(range(slots)), "wcnt": Out(range(beats)),
            "write_done": Out(1),
            "readable": Out(1), "rbuf": Out(range(slots)), "rcnt": Out(range(beats)),
            "issue": Out(1), "read_done": Out(1), "read_last": Out(1),
        })

    @property
    def slots(self) -> int:
        return self._slots

    def elaborate(self, platform):
        m = Module()
        last = self._beats - 1
        pow2 = (self._beats & last) == 0
        slots = self._slots
        full = Signal(slots)

        def following(v):
            return v + 1 if slots & (slots - 1) == 0 else Mux(v == slots - 1, 0, v + 1)

        # "the counter is at its last beat" kept in a register beside each counter (a comparator
        # on the full-flag update path was on the ECP5 critical path)
        w_last, r_last = (Signal(init=int(last == 0), name=f"{n}_at_last") for n in "wr")
        m.d.comb += [
            self.writable.eq(~full.bit_select(self.wbuf, 1)),
            self.write_done.eq(self.write & w_last),
            self.readable.eq(full.bit_select(self.rbuf, 1)),
            self.issue.eq(self.readable & self.advance),
            self.read_done.eq(self.issue & r_last),
            self.read_last.eq(r_last),
        ]
        with m.If(self.write):
            m.d.sync += self.wcnt.eq(self.wcnt + 1)
            if last:
                m.d.sync += w_last.eq(self.wcnt == last - 1)
            with m.If(self.write_done):
                m.d.sync += self.wbuf.eq(following(self.wbuf))
                if not pow2:  # a power-of-two counter wraps to 0 by itself
                    m.d.sync += self.wcnt.eq(0)
        with m.If(self.issue):
            m.d.sync += self.rcnt.eq(self.rcnt + 1)
            if last:
                m.d.sync += r_last.eq(self.rcnt == last - 1)
            with m.If(self.read_done):
                m.d.sync += self.rbuf.eq(following(self.rbuf))
                if not pow2:
                    m.d.sync += self.rcnt.eq(0)
        for b in range(slots):
            set_b = self.write_done & (self.wbuf == b)
            clr_b = self.read_done & (self.rbuf == b)
            m.d.sync += full[b].eq((full[b] | set_b) & ~clr_b)
        return m
