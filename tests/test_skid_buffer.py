"""The skid buffer: every beat once, in order, at full rate, with ``i.ready`` independent of
``o.ready`` in the same cycle."""

import random

import pytest
from amaranth.sim import Simulator

from hw.skid_buffer import SkidBuffer
from tests.stream_harness import run_streams


@pytest.mark.parametrize("gap,stall,seed", [(0.0, 0.0, 1), (0.3, 0.3, 2), (0.0, 0.6, 3),
                                            (0.6, 0.0, 4)])
def test_skid_buffer_keeps_every_beat_in_order(gap, stall, seed):
    dut = SkidBuffer(12)
    beats = [random.Random(seed).randrange(1 << 12) for _ in range(300)]
    out, cycles = run_streams(dut, beats, len(beats), lambda ctx, b: ctx.set(dut.i.payload, b),
                              lambda ctx: ctx.get(dut.o.payload), gap=gap, stall=stall,
                              seed=seed)
    assert out == dut.model(beats)
    if gap == 0 and stall == 0:  # one beat per cycle after the register
        assert cycles == list(range(dut.delay, dut.delay + len(beats)))


def test_skid_buffer_ready_is_a_register():
    """``i.ready`` does not follow ``o.ready`` within a cycle (that path is what it cuts)."""
    dut = SkidBuffer(4)
    seen = []

    async def bench(ctx):
        ctx.set(dut.i.valid, 1)
        for cycle in range(6):
            for ready in (0, 1, 0):
                ctx.set(dut.o.ready, ready)
                seen.append((cycle, ctx.get(dut.i.ready)))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    by_cycle = {}
    for cycle, ready in seen:
        by_cycle.setdefault(cycle, set()).add(ready)
    assert all(len(v) == 1 for v in by_cycle.values())
    assert {next(iter(v)) for v in by_cycle.values()} == {0, 1}  # it does stall the producer
