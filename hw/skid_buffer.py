"""A stream register slice with a skid register: cuts the ``ready`` path between two blocks."""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SkidBuffer"]


class SkidBuffer(wiring.Component):
    """Passes a stream through one register, with ``i.ready`` coming from a flip-flop.

    Overview
    --------
    The output register takes a beat whenever it is empty or its beat leaves.  When the
    consumer stalls while a beat arrives, the beat goes into the skid register, and ``i.ready``
    (``~skid full``, a register) drops for the next cycle.  So ``i.ready`` depends on no input
    of this cycle: the consumer's ``ready``, however far it comes from, ends at these two
    registers instead of fanning out into the producer (on ECP5 the serializer's FIFO level
    reached the FFT output buffer's block-RAM clock enables through the FFT's ``o.ready``).
    Beats leave in order, none is lost or duplicated, at one beat per cycle.

    Latency and resources
    ---------------------
    ``delay = 1`` cycle.  Two payload registers, a payload-wide multiplexer, two flags.

    Parameters
    ----------
    payload_shape : shape-castable
        The stream's payload.
    """

    def __init__(self, payload_shape):
        self._shape = payload_shape
        super().__init__({"i": In(stream.Signature(payload_shape)),
                          "o": Out(stream.Signature(payload_shape))})

    @property
    def delay(self) -> int:
        return 1

    def model(self, beats):
        """The beats, unchanged and in order."""
        return list(beats)

    def elaborate(self, platform):
        m = Module()
        skid = Signal(self._shape, name="skid")
        skid_full = Signal()
        m.d.comb += self.i.ready.eq(~skid_full)
        accept = self.i.valid & ~skid_full
        with m.If(~self.o.valid | self.o.ready):
            with m.If(skid_full):
                m.d.sync += [self.o.payload.eq(skid), self.o.valid.eq(1), skid_full.eq(0)]
            with m.Else():
                m.d.sync += [self.o.payload.eq(self.i.payload), self.o.valid.eq(self.i.valid)]
        with m.Elif(accept):
            m.d.sync += [skid.eq(self.i.payload), skid_full.eq(1)]
        return m
