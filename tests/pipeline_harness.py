"""Drive a clock-enabled pipeline in the Amaranth simulator and collect what it produced.

``run_enabled_pipeline(dut, inputs, outputs, en_pattern)`` applies one input set per cycle
(``inputs``: list of ``[(signal, value), ...]``); when the cycle's enable is low the same input stays
applied and is not consumed.  After each enabled clock edge it reads every ``outputs`` signal.
Result ``k`` (0-based) then belongs to consumed input ``k - delay + 1``.
"""

from amaranth.sim import Simulator


def run_enabled_pipeline(dut, inputs, outputs, en_pattern, en_signal=None):
    en_signal = dut.en if en_signal is None else en_signal
    results = []

    async def bench(ctx):
        idx = 0
        cycle = 0
        while idx < len(inputs):
            en = en_pattern[cycle % len(en_pattern)]
            cycle += 1
            for sig, value in inputs[idx]:
                ctx.set(sig, int(value))
            ctx.set(en_signal, en)
            await ctx.tick()
            if en:
                results.append([ctx.get(sig) for sig in outputs])
                idx += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return results
