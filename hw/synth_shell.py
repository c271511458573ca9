"""Shells that give a block registered ports for out-of-context synthesis measurements.

Timing of a block is only meaningful between registers: nextpnr reports no Fmax for paths that
run port to port.  :class:`PortRegisters` registers every input and output of a component (the
shell used on ECP5 with ``--out-of-context``).  :class:`SerialShell` feeds every input bit from
one shift register and captures every output bit into another, so a block with hundreds of port
bits fits a small package (iCE40, which has no out-of-context mode); its cost is about one LUT
per output bit, and it is reported with the block.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Elaboratable, Module, Signal
from amaranth.lib.wiring import Flow

__all__ = ["PortRegisters", "SerialShell", "flat_ports"]


def flat_ports(component):
    """``[(name, value, is_input)]`` for every port of a component's signature."""
    from amaranth.hdl import Value

    ports = []
    for path, member, value in component.signature.flatten(component):
        name = "__".join(str(p) for p in path)
        ports.append((name, Value.cast(value), member.flow == Flow.In))
    return ports


class PortRegisters(Elaboratable):
    """``component`` with a register on each of its inputs and outputs.

    Attributes
    ----------
    ports : list of Signal
        The shell's ports (same names as the component's flattened ports), for
        ``amaranth.back.verilog.convert(shell, ports=shell.ports)``.
    """

    def __init__(self, component):
        self._component = component
        self._map = []
        for name, value, is_input in flat_ports(component):
            self._map.append((Signal(len(value), name=name), value, is_input))
        self.ports = [s for s, _, _ in self._map]

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = self._component
        for port, value, is_input in self._map:
            reg = Signal(len(value), name=f"{port.name}_reg")
            if is_input:
                m.d.sync += reg.eq(port)
                m.d.comb += value.eq(reg)
            else:
                m.d.sync += reg.eq(value)
                m.d.comb += port.eq(reg)
        return m


class SerialShell(Elaboratable):
    """``component`` whose inputs come from a shift register fed by ``sin`` and whose outputs
    are loaded (when ``load``) into a shift register read out at ``sout``."""

    def __init__(self, component):
        self._component = component
        ports = flat_ports(component)
        self._inputs = [v for _, v, i in ports if i]
        self._outputs = [v for _, v, i in ports if not i]
        self.sin = Signal()
        self.load = Signal()
        self.sout = Signal()
        self.ports = [self.sin, self.load, self.sout]

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = self._component
        n_in = sum(len(v) for v in self._inputs)
        n_out = sum(len(v) for v in self._outputs)
        chain_in = Signal(max(n_in, 1))
        m.d.sync += chain_in.eq(Cat(self.sin, chain_in[:-1]))
        offset = 0
        for v in self._inputs:
            m.d.comb += v.eq(chain_in[offset:offset + len(v)])
            offset += len(v)
        chain_out = Signal(max(n_out, 1))
        with m.If(self.load):
            m.d.sync += chain_out.eq(Cat(*self._outputs))
        with m.Else():
            m.d.sync += chain_out.eq(chain_out >> 1)
        m.d.comb += self.sout.eq(chain_out[0])
        return m
