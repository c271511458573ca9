"""The generated layer engine Verilog under cocotb (Verilator; Icarus when installed), checked bit
for bit against golden.engine_fixed by sim/tb_layer_engine.py: random networks, several k, p, d
and lane counts, random valid gaps and backpressure, a run-time weight reload and a reset in the
middle of a layer."""

import numpy as np
import pytest

from golden.engine_fixed import run_fixed
from golden.engine_plan import plan_engine, weight_address
from golden.fixedpoint import pack_complex
from sim.engine_run import expected_outputs, infer_rtl, run_engine_rtl
from sim.simulators import SimulatorError, available

from .engine_nets import cnn_net, fc_net, quantized


def need(sim):
    if not available(sim):
        pytest.skip(f"{sim} is not installed (Icarus is optional: apt-get install iverilog)")


def _inputs(qnet, rng, n):
    x = rng.normal(0, 1, (n,) + tuple(qnet.input_shape))
    return qnet.quantize_input(x)[0]


CASES = [
    # name, network builder, p, d, lanes, simulator
    ("fc-k4", lambda r: fc_net(r, 4, [10, 12, 6]), 1, None, 2, "verilator"),
    ("fc-k4-icarus", lambda r: fc_net(r, 4, [10, 12, 6]), 1, None, 2, "icarus"),
    pytest.param("fc-k16-p4-d2", lambda r: fc_net(r, 16, [40, 33, 20]), 4, 2, 4, "verilator",
                 marks=pytest.mark.slow, id="fc-k16-p4-d2"),     # long: make bench
    ("fc-k64", lambda r: fc_net(r, 64, [128, 200, 10]), 1, None, 4, "verilator"),
    ("cnn-k4-pool", lambda r: cnn_net(r, 4, (1, 6, 6), (4, 8), 5), 1, None, 2, "verilator"),
    ("cnn-k8-p2-d2-pool", lambda r: cnn_net(r, 8, (2, 5, 5), (8,), 3), 2, 2, 4, "icarus"),
    ("cnn-k8-stride2-nopad", lambda r: cnn_net(r, 8, (3, 7, 7), (8,), 4, stride=2, padding=0,
                                                pool=False), 1, None, 2, "verilator"),
    # a block size per layer: the smaller ones zero-stuffed through the k_max-point engine
    pytest.param("fc-mixed-k4-8", lambda r: fc_net(r, [4, 8, 4], [20, 24, 12, 6]), 1, None, 2,
                 "verilator", marks=pytest.mark.slow, id="fc-mixed-k4-8"),   # make bench
    ("fc-mixed-k16-4-p2-icarus", lambda r: fc_net(r, [16, 4], [40, 24, 10]), 2, 2, 4, "icarus"),
    pytest.param("cnn-mixed-k4-8-pool", lambda r: cnn_net(r, [4, 8, 8], (1, 6, 6), (4, 8), 5), 1,
                 None, 2, "verilator", marks=pytest.mark.slow, id="cnn-mixed-k4-8-pool"),
    # dense layers (k = 1): real products on the MAC lanes, the FFT engine bypassed
    ("fc-dense-last-k8-8-1-icarus", lambda r: fc_net(r, [8, 8, 1], [20, 24, 16, 6]), 1, None, 2,
     "icarus"),
    pytest.param("cnn-dense-k4-8-1-p2", lambda r: cnn_net(r, [4, 8, 1], (1, 6, 6), (4, 8), 5), 2,
                 2, 4, "verilator", marks=pytest.mark.slow, id="cnn-dense-k4-8-1-p2"),
]


@pytest.mark.parametrize("name, build, p, d, lanes, sim", CASES,
                         ids=[c.id if hasattr(c, "id") else c[0] for c in CASES])
def test_engine_rtl_bit_exact(name, build, p, d, lanes, sim, tmp_path):
    need(sim)
    rng = np.random.default_rng(len(name))
    qnet, _ = quantized(build(rng), rng)
    x = _inputs(qnet, rng, 3)
    r = infer_rtl(qnet, x, sim, tmp_path, p=p, d=d, lanes=lanes, gap=0.3, stall=0.3, seed=7)
    want, sats = run_fixed(qnet, x)
    np.testing.assert_array_equal(r["outputs"], want)
    assert r["saturations"] == sats["spectrum"] + sats["output"]
    assert r["fft_saturations"] == sats["fft"] + sats["ifft"]
    assert np.all(r["layer_cycles"] > 0) and np.all(r["sample_cycles"] > 0)


@pytest.mark.parametrize("tech, sim, pipeline, lanes, net", [
    ("ecp5", "verilator", 2, 2, "cnn"), ("ice40", "icarus", 0, 1, "mlp"),
    ("ecp5", "icarus", 2, 2, "cnn-k4"),     # pooled vectors 4 cycles long: the forwarded write
    # k = 4 then 8: stuffed frames, pipelined units (long: make bench)
    pytest.param("ecp5", "verilator", 2, 1, "cnn-mixed", marks=pytest.mark.slow),
    ("ice40", "icarus", 0, 1, "mlp-dense"),     # dense first and last: the bypass's credits
    pytest.param("ice40", "verilator", 1, 2, "cnn", marks=pytest.mark.slow)])
def test_engine_rtl_technology_layers(tech, sim, pipeline, lanes, net, tmp_path):
    """The engine on a device's primitives (ECP5: DP16KD and MULT18X18D; iCE40: SB_RAM40_4K,
    SB_SPRAM256KA weight banks written through the port first, split products, no FIFO around
    the FFT engine, and for the MLP both activation buffers in one memory per bank), simulated
    with the primitives' behavioural models, equals the golden bit for bit under gaps and
    stalls."""
    need(sim)
    rng = np.random.default_rng(21)
    model = {"cnn": lambda: cnn_net(rng, 8, (2, 5, 5), (8,), 3),
             "cnn-k4": lambda: cnn_net(rng, 4, (1, 6, 6), (4,), 3),
             "mlp": lambda: fc_net(rng, 8, [24, 40, 10]),
             "cnn-mixed": lambda: cnn_net(rng, [4, 8], (2, 5, 5), (8,), 3),
             "mlp-dense": lambda: fc_net(rng, [1, 8, 1], [24, 40, 16, 10])}[net]()
    qnet, _ = quantized(model, rng)
    x = _inputs(qnet, rng, 2)
    plan = plan_engine(qnet, p=1, d=1 if tech == "ice40" else None, lanes=lanes,
                       pipeline=pipeline, act_replicas=1 if net.startswith("mlp") else 2)
    want, _ = run_fixed(qnet, x)
    r = run_engine_rtl(plan, [{"op": "infer", "inputs": "x", "expect": "y"}],
                       {"x": x.reshape(len(x), -1), "y": want}, sim, tmp_path, gap=0.2,
                       stall=0.2, seed=3, tech=tech)
    np.testing.assert_array_equal(r["outputs"], want)
    source = next(tmp_path.rglob("layer_engine.v")).read_text()
    prims = {"ecp5": ("DP16KD ", "MULT18X18D "), "ice40": ("SB_RAM40_4K ", "SB_SPRAM256KA ")}
    assert all(name in source for name in prims[tech])


def test_engine_rtl_saturations_counted(tmp_path):
    """Inputs far outside the calibration range make the requantizers clip; the RTL counts
    exactly what the golden counts."""
    need("verilator")
    rng = np.random.default_rng(3)
    qnet, _ = quantized(fc_net(rng, 4, [8, 8, 4]), rng)
    x = rng.choice([-32768, 32767], size=(2, 8))
    r = infer_rtl(qnet, x, "verilator", tmp_path, seed=2)
    want, sats = run_fixed(qnet, x)
    np.testing.assert_array_equal(r["outputs"], want)
    assert sats["spectrum"] + sats["output"] > 0
    assert r["saturations"] == sats["spectrum"] + sats["output"]


def test_engine_rtl_reload_and_reset(tmp_path):
    """Run, reload layer 1's weights through the write port, run (new golden), reset in the
    middle of a layer, run again: every result bit exact."""
    need("verilator")
    rng = np.random.default_rng(11)
    qnet, _ = quantized(cnn_net(rng, 4, (1, 6, 6), (4,), 5), rng)
    plan = plan_engine(qnet, p=1, lanes=2)
    x = _inputs(qnet, rng, 2)
    y0 = expected_outputs(qnet, x)
    # new weights for the fc layer (layer 1): scrambled values of the same range
    new = qnet.layers[1].wq.copy()
    new[..., 0] = rng.permutation(new[..., 0].ravel()).reshape(new[..., 0].shape)
    new[..., 1] = -new[..., 1]
    k = qnet.k
    new[:, :, 0, 1] = 0
    new[:, :, k // 2, 1] = 0
    lanes, addrs, words = [], [], []
    pb, q = qnet.layers[1].blocks
    for i in range(pb):
        for j in range(q):
            for m in range(k // 2 + 1):
                lane, addr = weight_address(plan, 1, i, j, m)
                lanes.append(lane)
                addrs.append(addr)
                words.append(pack_complex(new[i, j, m, 0], new[i, j, m, 1], qnet.width))
    qnet.layers[1].wq = new
    y1 = expected_outputs(qnet, x)
    assert not np.array_equal(y0, y1)
    steps = [
        {"op": "infer", "inputs": "x", "expect": "y0"},
        {"op": "reload", "lanes": "lanes", "addrs": "addrs", "data": "words"},
        {"op": "infer", "inputs": "x", "expect": "y1"},
        {"op": "reset", "inputs": "x", "cycles": 150},
        {"op": "infer", "inputs": "x", "expect": "y1"},
    ]
    arrays = {"x": x.reshape(len(x), -1), "y0": y0, "y1": y1, "lanes": np.array(lanes),
              "addrs": np.array(addrs), "words": np.array(words)}
    r = run_engine_rtl(plan, steps, arrays, "verilator", tmp_path, gap=0.2, stall=0.2, seed=5)
    np.testing.assert_array_equal(r["outputs"], np.concatenate([y0, y1, y1]))
    log = (r["build_dir"] / "sim.log").read_text()
    assert "reset in layer 0" in log  # the reset hit the conv layer, mid-network


def test_engine_rtl_checker_fails_on_wrong_model(tmp_path, monkeypatch):
    """Self-test: a golden off by one in one output must make the cocotb run fail."""
    need("verilator")
    monkeypatch.setenv("CIRCNN_ENGINE_BREAK_MODEL", "1")
    rng = np.random.default_rng(0)
    qnet, _ = quantized(fc_net(rng, 4, [8, 8, 4]), rng)
    with pytest.raises(SimulatorError, match="layer_engine failed|cocotb tests failed"):
        infer_rtl(qnet, _inputs(qnet, rng, 1), "verilator", tmp_path)
    log = next(tmp_path.glob("engine-*/sim.log")).read_text()
    assert "outputs differ" in log


def test_engine_rtl_overlaps_vectors(tmp_path):
    """Consecutive vectors overlap: the marginal cost of a vector (between 8 and 16 per run)
    is the busiest resource's interval, here the MAC lanes (groups * (k/2 + 1) * q + 1 cycles),
    within 10 %, far below a vector alone."""
    need("verilator")
    from circnn.bench_engine import fc_layer_bench

    args = dict(n=64, m=64, k=8, p=1, d=None, lanes=8, build_root=tmp_path)
    one = fc_layer_bench(**args, batch=1)
    r8 = fc_layer_bench(**args, batch=8)
    r16 = fc_layer_bench(**args, batch=16)
    marginal = (r16["rtl_cycles_batch"] - r8["rtl_cycles_batch"]) / 8
    mac = 1 * 5 * 8 + 1
    assert mac <= marginal <= 1.1 * mac
    assert one["rtl_cycles"] > 3 * marginal


@pytest.mark.slow
def test_engine_rtl_dense_layer_on_the_same_engine(tmp_path):
    """make bench (two engine builds).  The dense baseline is measured, not computed: the same FC layer with k = 1 on the engine
    built for k = 8 runs its real products on the MAC lanes (bit exact, checked inside), a
    marginal vector costing the lanes' interval (groups * q + 1 cycles) within 10 %."""
    need("verilator")
    from circnn.bench_engine import fc_layer_bench

    args = dict(n=64, m=48, p=1, d=None, lanes=8, build_root=tmp_path)
    r2 = fc_layer_bench(k=1, engine_k=8, batch=2, **args)
    r4 = fc_layer_bench(k=1, engine_k=8, batch=4, **args)
    marginal = (r4["rtl_cycles_batch"] - r2["rtl_cycles_batch"]) / 2
    mac = (48 // 8) * 64 + 1
    assert mac <= marginal <= 1.1 * mac
    assert r2["butterflies"] == 0 and r2["cmacs"] == 48 * 64
