# amaranth: UnusedElaboratable=no
"""Ping-pong buffer bookkeeping: a frame is readable the cycle after its last beat, the writer
stops when both halves are full, the reader frees a half with its last beat."""

import pytest
from amaranth.sim import Simulator

from hw.pingpong import PingPongControl


def test_pingpong_sequence():
    dut = PingPongControl(3)
    log = []

    async def bench(ctx):
        ctx.set(dut.advance, 0)
        for cycle in range(12):
            writable = ctx.get(dut.writable)
            ctx.set(dut.write, writable)  # write whenever allowed, never read at first
            if cycle == 8:
                ctx.set(dut.advance, 1)
            log.append((cycle, writable, ctx.get(dut.readable), ctx.get(dut.wbuf),
                        ctx.get(dut.rbuf), ctx.get(dut.rcnt)))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    writable = [w for _, w, *_ in log]
    readable = [r for _, _, r, *_ in log]
    assert writable[:6] == [1] * 6 and writable[6:9] == [0, 0, 0]  # two frames, then full
    assert readable[:3] == [0, 0, 0] and readable[3] == 1          # ready after 3 beats
    # reading starts in cycle 8 and frees half 0 after its third beat (cycle 10)
    assert [r[5] for r in log[8:11]] == [0, 1, 2]
    assert log[11][1] == 1 and log[11][4] == 1  # writer may go on; reader moved to half 1


def test_pingpong_validation():
    with pytest.raises(TypeError, match="beats must be a positive integer, not 0"):
        PingPongControl(0)


def test_three_slots_fill_and_drain_in_turn():
    dut = PingPongControl(2, slots=3)
    log = []

    async def bench(ctx):
        for cycle in range(14):
            writable = ctx.get(dut.writable)
            ctx.set(dut.write, writable)
            ctx.set(dut.advance, int(cycle >= 8))
            log.append((writable, ctx.get(dut.wbuf), ctx.get(dut.rbuf), ctx.get(dut.issue)))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert [w for w, *_ in log[:8]] == [1] * 6 + [0, 0]      # three frames of two beats, full
    assert [b for _, b, _, _ in log[:7]] == [0, 0, 1, 1, 2, 2, 0]  # slots in turn, wrapping
    assert [i for *_, i in log[8:14]] == [1] * 6              # reads slot 0, 1, ... back to back
    assert [r for _, _, r, _ in log[8:14:2]] == [0, 1, 2]


def test_slots_validation():
    with pytest.raises(TypeError, match="slots must be an integer of at least 2, not 1"):
        PingPongControl(4, slots=1)
