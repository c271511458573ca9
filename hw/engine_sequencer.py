"""The layer engine's control FSM and its layer-descriptor table."""

from __future__ import annotations

import enum

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.engine_plan import EnginePlan

__all__ = ["Phase", "Sequencer", "descriptor_layout", "descriptor_values", "DESCRIPTOR_FIELDS",
           "LAST_FIELDS", "MIXED_FIELDS"]


class Phase(enum.IntEnum):
    """What the engine is doing (the ``phase`` status output)."""

    LOAD = 0     # taking a sample's inputs (and weight writes)
    RUN = 1      # running a layer
    UNLOAD = 2   # streaming the outputs out
    SETUP = 3    # loading the next layer's descriptor


#: Fields of a descriptor (``golden.engine_plan.LayerPlan``) the gateware reads.
DESCRIPTOR_FIELDS = ("conv", "gather", "fast", "relu", "pool", "n", "m", "q", "pb", "frames_in",
                     "frames_out", "groups", "vectors", "in_h", "in_w", "out_w", "stride", "pad",
                     "pad_w", "stride_w", "pool_h", "pool_w", "out_stride", "acc_shift",
                     "out_shift", "wbase", "bbase", "tbase")


#: Counts whose last value (``{name}_last = name - 1``) is a field of its own: the counters
#: compare against a flip-flop, not through an adder shared by the units reading it.
LAST_FIELDS = ("q", "groups", "frames_in", "frames_out", "out_w")

#: Fields of a plan with layers of different block sizes (``EnginePlan.mixed``): the layer's
#: frames' zero stuffing, its last bin (``k/2``) and ``k - 1``.
MIXED_FIELDS = ("stuff", "bins_last", "kmask")


def descriptor_values(lp, mixed: bool = False, dense: bool = False) -> dict:
    """The descriptor row of layer plan ``lp``: :data:`DESCRIPTOR_FIELDS`, (``mixed``)
    :data:`MIXED_FIELDS`, (``dense``: a plan with a dense layer) ``dense``, then
    ``{name}_last`` for each of :data:`LAST_FIELDS`."""
    names = DESCRIPTOR_FIELDS + (MIXED_FIELDS if mixed else ()) + (("dense",) if dense else ())
    row = {name: int(getattr(lp, name)) for name in names}
    for name in LAST_FIELDS:    # counts of at least 1 in every plan
        if row[name] < 1:
            raise ValueError(f"layer {lp.index}: {name} must be at least 1, is {row[name]}")
        row[f"{name}_last"] = row[name] - 1
    return row


def descriptor_layout(plan: EnginePlan) -> data.StructLayout:
    """One row of the descriptor table, each field as wide as its largest value."""
    rows = [descriptor_values(lp, plan.mixed, plan.has_dense) for lp in plan.layers]
    return data.StructLayout({name: unsigned(max(1, max(r[name] for r in rows).bit_length()))
                              for name in rows[0]})


class Sequencer(wiring.Component):
    """LOAD -> (SETUP -> START -> RUN) per layer -> UNLOAD -> LOAD.

    Overview
    --------
    In LOAD the engine takes a sample (``load_done`` after its last input).  Each layer then
    gets its descriptor from the table (SETUP, a ROM of constants: the row is registered in
    ``desc``), a cycle of ``layer_start`` that resets every unit's per-layer state, and RUN until
    ``layer_done``; ``src`` (the activation buffer the layer reads) flips after each layer.
    After the last layer, UNLOAD until ``unload_done``.

    Latency and resources
    ---------------------
    Two cycles between layers (SETUP, START).  The descriptor register and a multiplexer of
    the table's constants; with a pipelined plan ``layer_start``, ``running`` and ``loading``
    are flip-flops of their own (the same cycles as the state they stand for).

    Members
    -------
    load_done, layer_done, unload_done : In(1)
    desc : Out(descriptor_layout(plan))
    layer_start, running, src, busy : Out(1)
    loading : Out(1)      in LOAD (``phase == Phase.LOAD``)
    layer : Out(range(layers + 1))
    phase : Out(Phase)
    """

    def __init__(self, plan: EnginePlan):
        self._plan = plan
        super().__init__({
            "load_done": In(1), "layer_done": In(1), "unload_done": In(1),
            "desc": Out(descriptor_layout(plan)),
            "layer_start": Out(1), "running": Out(1), "loading": Out(1),
            "src": Out(1), "busy": Out(1),
            "layer": Out(range(len(plan.layers) + 1)),
            "phase": Out(Phase),
        })

    def elaborate(self, platform):
        m = Module()
        plan = self._plan
        n_layers = len(plan.layers)
        # pipelined plans: layer_start and running are flip-flops set with the state they stand
        # for (a decode of the state register fanned out to every unit's counters was an ECP5
        # critical path: state -> MAC lanes' start -> their counters' enables)
        registered = bool(plan.fft.pipeline)
        m.d.comb += self.busy.eq(1)
        if registered:
            loading = Signal(init=1, name="loading_r")
            m.d.comb += self.loading.eq(loading)
        with m.FSM(init="LOAD"):
            with m.State("LOAD"):
                m.d.comb += [self.busy.eq(0), self.phase.eq(Phase.LOAD)]
                if not registered:
                    m.d.comb += self.loading.eq(1)
                with m.If(self.load_done):
                    m.d.sync += [self.layer.eq(0), self.src.eq(0)]
                    if registered:
                        m.d.sync += loading.eq(0)
                    m.next = "SETUP"
            with m.State("SETUP"):
                m.d.comb += self.phase.eq(Phase.SETUP)
                with m.Switch(self.layer):
                    for li, lp in enumerate(plan.layers):
                        row = descriptor_values(lp, plan.mixed, plan.has_dense)
                        with m.Case(li):
                            m.d.sync += [self.desc[name].eq(value) for name, value in row.items()]
                if registered:
                    m.d.sync += self.layer_start.eq(1)
                m.next = "START"
            with m.State("START"):
                m.d.comb += self.phase.eq(Phase.SETUP)
                if registered:
                    m.d.sync += [self.layer_start.eq(0), self.running.eq(1)]
                else:
                    m.d.comb += self.layer_start.eq(1)
                m.next = "RUN"
            with m.State("RUN"):
                m.d.comb += self.phase.eq(Phase.RUN)
                if not registered:
                    m.d.comb += self.running.eq(1)
                with m.If(self.layer_done):
                    if registered:
                        m.d.sync += self.running.eq(0)
                    m.d.sync += [self.layer.eq(self.layer + 1), self.src.eq(~self.src)]
                    with m.If(self.layer == n_layers - 1):
                        m.next = "UNLOAD"
                    with m.Else():
                        m.next = "SETUP"
            with m.State("UNLOAD"):
                m.d.comb += self.phase.eq(Phase.UNLOAD)
                with m.If(self.unload_done):
                    if registered:
                        m.d.sync += loading.eq(1)
                    m.next = "LOAD"
        return m
