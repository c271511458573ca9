"""Ownership of a buffer's vector slots, handed from a producer to a consumer and back."""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SlotTracker"]


class SlotTracker(wiring.Component):
    """Free and full flags of ``slots`` slots of a buffer between a producer and a consumer.

    Overview
    --------
    A slot goes round: *free* (the producer may claim it) -> claimed -> *full* (the consumer may
    take it) -> taken -> free.  The producer ``claim``s a free slot before writing it and
    ``fill``s it when its last word is written; the consumer ``take``s a full slot before reading
    it and ``release``s it when its last word is read.  Each event names its slot; events on
    different slots may come in the same cycle.  ``clear`` (a new layer) makes every slot free
    and none full.  The layer engine tracks its Z buffer (input spectra, written by the FFT
    engine, read by the MAC lanes) and its Y banks (output spectra, written by the MAC lanes,
    read by the frame reader) with it.

    Latency and resources
    ---------------------
    Flags change the cycle after the event.  ``2 * slots`` flip-flops.

    Members
    -------
    clear : In(1)
    claim, fill, take, release : In(1)  and ``*_slot`` : In(range(slots))
    free, full : Out(slots)
    """

    def __init__(self, slots: int):
        if not isinstance(slots, int) or isinstance(slots, bool) or slots < 1:
            raise TypeError(f"slots must be a positive integer, not {slots!r}")
        self._slots = slots
        members = {"clear": In(1), "free": Out(slots, init=(1 << slots) - 1), "full": Out(slots)}
        for event in ("claim", "fill", "take", "release"):
            members[event] = In(1)
            members[f"{event}_slot"] = In(range(slots))
        super().__init__(members)

    @property
    def slots(self) -> int:
        return self._slots

    def elaborate(self, platform):
        m = Module()
        with m.If(self.clear):
            m.d.sync += [self.free.eq((1 << self._slots) - 1), self.full.eq(0)]
        with m.Else():
            for h in range(self._slots):
                with m.If(self.claim & (self.claim_slot == h)):
                    m.d.sync += self.free[h].eq(0)
                with m.If(self.fill & (self.fill_slot == h)):
                    m.d.sync += self.full[h].eq(1)
                with m.If(self.take & (self.take_slot == h)):
                    m.d.sync += self.full[h].eq(0)
                with m.If(self.release & (self.release_slot == h)):
                    m.d.sync += self.free[h].eq(1)
        return m
