"""A UART (8 data bits, no parity, 1 stop bit) for the board tops' host link."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["UARTReceiver", "UARTTransmitter"]


def _check_divisor(divisor):
    if not isinstance(divisor, int) or isinstance(divisor, bool) or divisor < 4:
        raise TypeError(f"divisor (clock cycles per bit) must be an integer of at least 4, "
                        f"not {divisor!r}")


class UARTReceiver(wiring.Component):
    """Bytes from the ``rx`` line, ``divisor`` clock cycles per bit.

    Overview
    --------
    ``rx`` goes through two synchronizing registers.  A falling edge starts a byte; the line is
    sampled in the middle of the start bit (a start bit that is gone by then was a glitch), of
    each data bit (least significant first) and of the stop bit.  A byte with a low stop bit is
    dropped and counted in ``framing_errors``.  ``o`` is not backpressured: a byte not taken by
    the next byte's end is lost (the consumer keeps up at one byte per ``10 * divisor`` cycles).

    Latency and resources
    ---------------------
    A byte is on ``o`` about ``9.5 * divisor + 3`` cycles after its start bit's falling edge.  A
    ``log2 divisor`` bit counter, a bit counter, a shift register.

    Members
    -------
    rx : In(1)
    o : Out(stream.Signature(8))
    framing_errors : Out(8)
    """

    def __init__(self, divisor: int):
        _check_divisor(divisor)
        self._divisor = divisor
        super().__init__({"rx": In(1, init=1), "o": Out(stream.Signature(8)),
                          "framing_errors": Out(8)})

    def elaborate(self, platform):
        m = Module()
        div = self._divisor
        s1, s2 = Signal(init=1), Signal(init=1)
        m.d.sync += [s1.eq(self.rx), s2.eq(s1)]
        timer = Signal(range(div))
        bit = Signal(range(10))
        shift = Signal(8)
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~s2):
                    m.d.sync += timer.eq(div // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    with m.If(s2):          # a glitch, not a start bit
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += [timer.eq(div - 1), bit.eq(0)]
                        m.next = "DATA"
            with m.State("DATA"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [timer.eq(div - 1), bit.eq(bit + 1)]
                    with m.If(bit == 8):    # the stop bit
                        with m.If(s2):
                            m.d.sync += [self.o.payload.eq(shift), self.o.valid.eq(1)]
                        with m.Elif(self.framing_errors != 0xFF):
                            m.d.sync += self.framing_errors.eq(self.framing_errors + 1)
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += shift.eq(Cat(shift[1:], s2))
        return m


class UARTTransmitter(wiring.Component):
    """Bytes from ``i`` onto the ``tx`` line, ``divisor`` clock cycles per bit.

    Latency and resources
    ---------------------
    A byte takes ``10 * divisor`` cycles; the next is taken as the stop bit ends.  A 10-bit
    shift register and two counters.

    Members
    -------
    i : In(stream.Signature(8))
    tx : Out(1)
    """

    def __init__(self, divisor: int):
        _check_divisor(divisor)
        self._divisor = divisor
        super().__init__({"i": In(stream.Signature(8)), "tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        div = self._divisor
        shift = Signal(10, init=0x3FF)
        timer = Signal(range(div))
        bits = Signal(range(11))
        m.d.comb += [self.tx.eq(shift[0]), self.i.ready.eq(bits == 0)]
        with m.If(bits == 0):
            with m.If(self.i.valid):
                m.d.sync += [shift.eq(Cat(Const(0, 1), self.i.payload, Const(1, 1))),
                             bits.eq(10), timer.eq(div - 1)]
        with m.Else():
            m.d.sync += timer.eq(timer - 1)
            with m.If(timer == 0):
                m.d.sync += [timer.eq(div - 1), bits.eq(bits - 1),
                             shift.eq(Cat(shift[1:], Const(1, 1)))]
        return m
