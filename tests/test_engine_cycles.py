"""The engine's cycle formulas (golden/engine_cycles.py) against the RTL: the cycles per
inference the tuner and `circnn synth engine` estimate are within 5 % of the measured ones, and
the unit delays the formulas use are the hardware units' own."""

import numpy as np
import pytest
from amaranth.hdl import Fragment

from golden.engine_cycles import estimate_cycles, estimate_layer_cycles, unit_delays
from golden.engine_fixed import run_fixed
from golden.engine_plan import plan_engine
from hw.engine_mac_scheduler import MACScheduler
from hw.engine_post import PostProcessor
from hw.engine_reader import FrameReader
from sim.engine_run import run_engine_rtl

from .engine_nets import cnn_net, fc_net, quantized

CASES = [
    # name, network, p, d, lanes, pipeline: a convolution whose first layer is bound by the Z
    # slots' turnaround and whose second by the MAC lanes, an MLP with several MAC passes, a
    # recirculating FFT engine, a pipelined plan, mixed block sizes, dense layers
    ("cnn-k8-4lanes", lambda r: cnn_net(r, 8, (1, 8, 8), (8, 16), 10), 1, None, 4, 0),
    ("mlp-k8-recirculating", lambda r: fc_net(r, 8, [64, 96, 10]), 1, 1, 2, 0),
    ("cnn-k4-pipelined", lambda r: cnn_net(r, 4, (2, 6, 6), (8,), 5), 1, None, 2, 2),
    # a block size per layer: a k = 4 conv zero-stuffed in the 8-point engine, a dense fc
    # past it (pipelined: the MAC's registered read addresses)
    ("cnn-mixed-dense-k4-8-1", lambda r: cnn_net(r, [4, 8, 1], (1, 8, 8), (8, 16), 10), 1,
     None, 2, 2),
]


@pytest.mark.parametrize("name, build, p, d, lanes, pipeline", CASES, ids=[c[0] for c in CASES])
def test_cycle_estimate_within_5_percent_of_rtl(name, build, p, d, lanes, pipeline, tmp_path):
    rng = np.random.default_rng(5)
    qnet, _ = quantized(build(rng), rng)
    x = qnet.quantize_input(rng.normal(0, 1, (2,) + tuple(qnet.input_shape)))[0]
    plan = plan_engine(qnet, p=p, d=d, lanes=lanes, pipeline=pipeline)
    want, _ = run_fixed(qnet, x)
    r = run_engine_rtl(plan, [{"op": "infer", "inputs": "x", "expect": "y"}],
                       {"x": x.reshape(len(x), -1), "y": want}, "verilator", tmp_path, fast=True)
    measured = int(r["sample_cycles"][-1])
    est = estimate_cycles(plan)
    assert abs(est - measured) <= 0.05 * measured, (est, measured)
    # every layer too, within 10 % (the total's error is not several layers' errors cancelling)
    for i, lp in enumerate(plan.layers):
        got = int(r["layer_cycles"][-1, i])
        assert abs(estimate_layer_cycles(plan, lp) - got) <= 0.10 * got, (i, got)


@pytest.mark.parametrize("pipeline, ks", [(0, 8), (1, 8), (2, 8), (0, [4, 8]), (2, [4, 8])])
def test_unit_delays_are_the_units_own(pipeline, ks):
    rng = np.random.default_rng(1)
    qnet, _ = quantized(cnn_net(rng, ks, (1, 6, 6), (8,), 4), rng)
    plan = plan_engine(qnet, lanes=2, pipeline=pipeline)
    u = unit_delays(plan)
    units = {"reader": FrameReader(plan), "mac": MACScheduler(plan), "post": PostProcessor(plan)}
    for name, unit in units.items():
        assert u[name] == unit.delay, name
        Fragment.get(unit, None)    # elaborated: its sub-blocks are used (no warning at exit)
    assert u["skid"] == (1 if pipeline else 0)
