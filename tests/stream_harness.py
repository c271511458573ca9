"""Drive a stream component in the Amaranth simulator with random valid gaps and backpressure.

``run_streams(dut, beats, n_out, put, get, ...)`` sends every beat of ``beats`` into ``dut.i``
(``put(ctx, beat)`` sets the payload), holding ``valid`` low on random cycles, while
``dut.o.ready`` is low on random cycles; returns the first ``n_out`` accepted output beats as
read by ``get(ctx)`` (before the clock edge that transfers them), and the cycle each was taken.
``observe(ctx)`` (optional) is called every cycle before the edge, e.g. to read status
outputs, and for ``drain`` cycles after the last output beat.
"""

import random

from amaranth.sim import Simulator


def run_streams(dut, beats, n_out, put, get, gap=0.3, stall=0.3, seed=0, max_cycles=200000,
                observe=None, vcd=None, drain=4):
    rng_in = random.Random(seed)
    rng_out = random.Random(seed + 1)
    out = []
    cycles = []

    async def producer(ctx):
        for beat in beats:
            while rng_in.random() < gap:
                ctx.set(dut.i.valid, 0)
                await ctx.tick()
            ctx.set(dut.i.valid, 1)
            put(ctx, beat)
            while True:
                ready = ctx.get(dut.i.ready)
                await ctx.tick()
                if ready:
                    break
        ctx.set(dut.i.valid, 0)

    async def consumer(ctx):
        cycle = 0
        while len(out) < n_out:
            if cycle > max_cycles:
                raise AssertionError(f"only {len(out)} of {n_out} beats after {cycle} cycles")
            ready = int(rng_out.random() >= stall)
            ctx.set(dut.o.ready, ready)
            valid = ctx.get(dut.o.valid)
            if valid and ready:
                out.append(get(ctx))
                cycles.append(cycle)
            if observe is not None:
                observe(ctx)
            await ctx.tick()
            cycle += 1
        ctx.set(dut.o.ready, 0)
        for _ in range(drain):  # let status counters catch up with the last beat
            await ctx.tick()
            if observe is not None:
                observe(ctx)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(producer, background=True)
    sim.add_testbench(consumer)
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()
    return out, cycles
