"""Board tops: the layer engine behind a UART host link (``golden/board_protocol.py``), and the chip
wrapper that gives it a clock and a power-on reset from a board's pins."""

from __future__ import annotations

from amaranth.hdl import ClockDomain, ClockSignal, Elaboratable, Module, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from golden.engine_plan import EnginePlan

from .board_link import HostLink
from .layer_engine import LayerEngine, weights_in_bitstream
from .uart import UARTReceiver, UARTTransmitter

__all__ = ["BoardTop", "BoardChip", "BOARD_PORTS"]

#: Port names of a chip top, as the constraint files in constraints/ name them.
BOARD_PORTS = ("clk", "uart_rx", "uart_tx", "led")


class BoardTop(wiring.Component):
    """The layer engine, a UART and the host link.

    Overview
    --------
    ::

        uart_rx -> UARTReceiver -> HostLink -> LayerEngine (i, w)
        uart_tx <- UARTTransmitter <- HostLink <- LayerEngine (o)

    ``divisor`` clock cycles per UART bit (``clock / baud``).  ``led[0]`` shows the engine busy,
    ``led[1]`` that a request was answered with an error.

    Members
    -------
    uart_rx : In(1), uart_tx : Out(1), led : Out(2)
    """

    def __init__(self, plan: EnginePlan, identity: int, divisor: int, tech: str = "generic",
                 timeout: int | None = None):
        self._plan, self._identity, self._divisor, self._tech = plan, identity, divisor, tech
        # a frame may pause for up to 64 byte times before it is dropped
        self._timeout = timeout if timeout is not None else 640 * divisor
        self.link = HostLink(plan, identity, self._timeout, not weights_in_bitstream(tech))
        super().__init__({"uart_rx": In(1, init=1), "uart_tx": Out(1, init=1), "led": Out(2)})

    @property
    def plan(self) -> EnginePlan:
        return self._plan

    def elaborate(self, platform):
        m = Module()
        m.submodules.rx = rx = UARTReceiver(self._divisor)
        m.submodules.tx = tx = UARTTransmitter(self._divisor)
        m.submodules.link = link = self.link
        m.submodules.engine = engine = LayerEngine(self._plan, self._tech)
        m.d.comb += [rx.rx.eq(self.uart_rx), self.uart_tx.eq(tx.tx)]
        wiring.connect(m, rx.o, link.rx)
        wiring.connect(m, link.tx, tx.i)
        wiring.connect(m, link.engine_i, engine.i)
        wiring.connect(m, engine.o, link.engine_o)
        wiring.connect(m, link.engine_w, engine.w)
        m.d.comb += [self.led[0].eq(engine.busy), self.led[1].eq(link.errors != 0)]
        return m


class BoardChip(Elaboratable):
    """``BoardTop`` with the board's clock pin as its clock and a power-on reset (16 cycles);
    ``leds_active_low`` for boards whose LEDs light on a low pin (iCEBreaker).

    Attributes
    ----------
    ports : the chip's pins, named as in the constraint files (``BOARD_PORTS``)
    """

    def __init__(self, top: BoardTop, leds: int = 2, leds_active_low: bool = False):
        self.top = top
        self._invert = leds_active_low
        self.clk = Signal(name="clk")
        self.uart_rx = Signal(name="uart_rx", init=1)
        self.uart_tx = Signal(name="uart_tx")
        self.led = Signal(leds, name="led")
        self.ports = [self.clk, self.uart_rx, self.uart_tx, self.led]

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain("sync")
        m.domains.por = ClockDomain("por", reset_less=True)
        m.d.comb += [ClockSignal("sync").eq(self.clk), ClockSignal("por").eq(self.clk)]
        count = Signal(5)  # zero at configuration
        with m.If(~count[-1]):
            m.d.por += count.eq(count + 1)
        m.d.comb += ResetSignal("sync").eq(~count[-1])
        m.submodules.top = self.top
        m.d.comb += [self.top.uart_rx.eq(self.uart_rx), self.uart_tx.eq(self.top.uart_tx),
                     self.led.eq(~self.top.led if self._invert else self.top.led)]
        return m
