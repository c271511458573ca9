# amaranth: UnusedElaboratable=no
"""Sub-blocks of the layer engine in the Amaranth simulator: the MAC lanes against the golden
separation, exact accumulation and requantization; constructor validation; one whole engine."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from golden.engine_fixed import run_fixed, separate, separate_pair
from golden.engine_plan import plan_engine
from golden.fixedpoint import round_shift, saturate
from hw.engine_mac import MACLanes
from hw.layer_engine import LayerEngine

from .engine_nets import cnn_net, fc_net, quantized, simulate_engine


@pytest.mark.parametrize("pipeline, barrel", [(0, False), (2, False), (0, True)])
def test_mac_lanes_match_golden(pipeline, barrel, monkeypatch):
    """Golden results, the first ``delay`` cycles after its last term (one requantization
    register without multiplier pipelining, three with); the layers' shifts as constants, or
    (more layer shifts than ``CONSTANT_SHIFTS``) through a barrel shifter.  Vectors of 1 to 4
    terms, back to back or with idle cycles (``first``/``last`` at random while not valid)
    between and inside them."""
    if barrel:
        monkeypatch.setattr(MACLanes, "CONSTANT_SHIFTS", 0)
    rng = np.random.default_rng(0)
    qnet, _ = quantized(fc_net(rng, 4, [8, 8]), rng)
    plan = plan_engine(qnet, lanes=2, pipeline=pipeline)
    dut = MACLanes(plan, tag_width=4)
    assert dut.delay == (5 if pipeline == 0 else 11)
    seen = []
    qs = [3, 1, 1, 4, 2, 1, 3, 2]      # terms per accumulation
    shift = plan.layers[0].acc_shift   # the shift of a layer of the plan
    z = [rng.integers(-32768, 32768, (q, 2, 2)) for q in qs]   # Z[m], Z[n] per term (re, im)
    z[0][0] = [[32767, 32767], [32767, -32768]]                # a separated component saturates
    w = [rng.integers(-32767, 32768, (q, 2, 2)) for q in qs]   # lanes x (re, im)
    odd = [rng.integers(0, 2, q) for q in qs]
    gaps = [[0] * qs[0]] + [list(rng.choice([0, 0, 1, 2], q)) for q in qs[1:]]
    got = []

    async def step(ctx):
        await ctx.tick()
        seen.append(ctx.get(dut.y_valid))
        if ctx.get(dut.y_valid):
            got.append([(ctx.get(dut.y[l].re), ctx.get(dut.y[l].im)) for l in range(2)])

    async def bench(ctx):
        for t, q in enumerate(qs):
            for j in range(q):
                ctx.set(dut.valid, 1)
                ctx.set(dut.first, j == 0)
                ctx.set(dut.last, j == q - 1)
                ctx.set(dut.odd, int(odd[t][j]))
                ctx.set(dut.tag, t)
                ctx.set(dut.acc_shift, shift)
                ctx.set(dut.zm, {"re": int(z[t][j, 0, 0]), "im": int(z[t][j, 0, 1])})
                ctx.set(dut.zn, {"re": int(z[t][j, 1, 0]), "im": int(z[t][j, 1, 1])})
                for lane in range(2):
                    ctx.set(dut.w[lane], {"re": int(w[t][j, lane, 0]),
                                          "im": int(w[t][j, lane, 1])})
                await step(ctx)
                for _ in range(gaps[t][j]):
                    ctx.set(dut.valid, 0)
                    ctx.set(dut.first, int(rng.integers(0, 2)))
                    ctx.set(dut.last, int(rng.integers(0, 2)))
                    await step(ctx)
        ctx.set(dut.valid, 0)
        for _ in range(14):
            await step(ctx)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    want = []
    for t, q in enumerate(qs):
        acc = np.zeros((2, 2), dtype=np.int64)
        for j in range(q):
            (a_r, a_i), (b_r, b_i) = z[t][j]
            xr, xi, _ = separate_pair(a_r, a_i, b_r, b_i, odd[t][j], 16)
            for lane in range(2):
                wr, wi = w[t][j, lane]
                acc[lane] += [xr * wr - xi * wi, xr * wi + xi * wr]
        y = saturate(round_shift(acc, shift), 15)[0]
        want.append([tuple(int(v) for v in y[l]) for l in range(2)])
    assert got == want
    assert seen.index(1) + 1 == qs[0] - 1 + dut.delay   # ticks from the first term's cycle


def test_separate_pairs_bins_with_their_mirror():
    zr = np.arange(8)[None] * 100
    zi = np.zeros((1, 8), dtype=np.int64)
    xr, xi, _ = separate(zr, zi, 16)
    # even block, bin m: (Zr[m] + Zr[8-m]) / 2 -> always 400 except bin 0 (0) and 4 (400)
    assert xr[0, 0].tolist() == [0, 400, 400, 400, 400]


def test_engine_constructor_validation():
    with pytest.raises(TypeError, match="plan must be an EnginePlan"):
        LayerEngine({"k": 4})
    rng = np.random.default_rng(0)
    qnet, _ = quantized(fc_net(rng, 4, [8, 8]), rng)
    with pytest.raises(ValueError, match="lanes must be a power of two"):
        plan_engine(qnet, lanes=6)


def test_engine_in_amaranth_simulator():
    """A small CONV+pool+FC network through the gateware in Amaranth's simulator."""
    rng = np.random.default_rng(1)
    qnet, _ = quantized(cnn_net(rng, 4, image=(1, 4, 4), channels=(4,), n_out=3), rng)
    plan = plan_engine(qnet, p=1, lanes=2)
    xq, _ = qnet.quantize_input(rng.normal(size=(2, 1, 4, 4)))
    np.testing.assert_array_equal(simulate_engine(plan, xq), run_fixed(qnet, xq)[0])
