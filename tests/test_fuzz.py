# amaranth: UnusedElaboratable=no
"""Generator fuzzing: hypothesis draws valid parameter sets of the FFT engine and of layer-engine
plans; every one elaborates and converts to Verilog, and a sample of them simulates equal to the
golden model in Amaranth's simulator.

Parameter sets that ever failed are kept below as ``@example`` regression cases (with what they
broke).  The suite draws a few dozen cases with hypothesis' ``ci`` profile (derandomized);
``make bench`` runs the wider sweeps marked ``slow``.
"""

import numpy as np
import pytest
from amaranth.back import verilog
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from golden.engine_fixed import run_fixed
from golden.engine_plan import plan_engine
from golden.fft_fixed import FFTParams
from hw.fft_engine import FFTEngine, check_engine_args
from hw.layer_engine import LayerEngine

from .engine_nets import cnn_net, fc_net, quantized, simulate_engine
from .fft_stimulus import stimulus
from .test_fft_engine import check, run_engine



def runs(n):
    """Settings of a fuzz test: ``n`` drawn cases, no deadline (conversion runs Yosys)."""
    return settings(deadline=None, max_examples=n, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def fft_params(draw, max_stages=6, max_p=8, natural_order=None):
    """A valid FFTParams (and technology), drawn over every parameter the engine takes
    (``natural_order`` fixed when given)."""
    stages = draw(st.integers(1, max_stages))
    k = 1 << stages
    width = draw(st.integers(8, 24))
    natural = draw(st.booleans()) if natural_order is None else natural_order
    kw = dict(k=k, width=width, twiddle_width=draw(st.sampled_from([None, 8, 12, 16, 18, 24])),
              guard=draw(st.integers(0, 4)), pipeline=draw(st.integers(0, 2)),
              natural_order=natural)
    if draw(st.booleans()):
        kw.update(forward_shifts=tuple(draw(st.lists(st.integers(0, 1), min_size=stages,
                                                     max_size=stages))))
    if stages >= 1 and draw(st.integers(0, 3)) == 0:
        kw.update(p=1, d=stages, samples_per_clock=1)
    else:
        kw.update(p=min(1 << draw(st.integers(0, stages - 1)), max_p),
                  d=draw(st.integers(1, stages)))
    try:
        params = FFTParams(**kw)
    except ValueError:
        assume(False)
    tech = draw(st.sampled_from(["generic", "ecp5", "ice40"]))
    try:
        check_engine_args(params, tech)
    except TypeError:
        tech = "generic"
    return params, tech


@runs(12)
@given(fft_params())
@example((FFTParams(k=2, width=8, p=1, d=1, samples_per_clock=1), "generic"))
@example((FFTParams(k=16, width=8, p=8, d=1), "ice40"))
def test_fft_engine_elaborates_and_converts(case):
    params, tech = case
    engine = FFTEngine(params, tech)
    text = verilog.convert(engine, name="fft_engine", emit_src=False)
    assert "module fft_engine" in text
    assert engine.delay > 0 and engine.frame_interval >= params.beats


@runs(8)
@given(fft_params(max_stages=5, max_p=4, natural_order=True), st.integers(0, 2**32 - 1))
# found by this test: for k = 2 the pipelined engine took W^0 for the right angle W^(k/4) and
# multiplied the difference by -j (hw/fft_pipelined.py, _constant_twiddle)
@example((FFTParams(k=2, width=8, twiddle_width=8, guard=0), "generic"), 0)
def test_fft_engine_sample_equals_golden(case, seed):
    params, _ = case
    rng = np.random.default_rng(seed)
    frames = stimulus(params, rng, 3)
    inverse = rng.integers(0, 2, len(frames))
    _, out, _, status = run_engine(params, frames, inverse, seed=seed % 1000)
    assert status["saturations"] == check(params, frames, inverse, out)


@st.composite
def engine_plans(draw, max_k=8):
    """A small random network (FC or CNN), quantized, and a valid plan for it."""
    # the engine needs k >= 4; one block size, or one per layer (k = 1: dense)
    kbits = st.integers(2, max_k.bit_length() - 1)
    k = 1 << draw(kbits)
    mixed = draw(st.booleans())
    kbits = st.sampled_from([0] + list(range(2, max_k.bit_length())))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    if draw(st.booleans()):
        sizes = [draw(st.integers(2, 24)) for _ in range(draw(st.integers(2, 4)))]
        if mixed:
            k = [1 << draw(kbits) for _ in sizes[1:]]
        net = fc_net(rng, k, sizes)
    else:
        c = draw(st.integers(1, 2))
        side = draw(st.integers(4, 6))
        stride, padding, pool = (draw(st.integers(1, 2)), draw(st.integers(0, 1)),
                                 draw(st.booleans()))
        out = (side + 2 * padding - 3) // stride + 1
        assume((out // 2 if pool else out) >= 1)   # an image left to flatten
        if mixed:
            k = [1 << draw(kbits) for _ in range(2)]
        net = cnn_net(rng, k, (c, side, side), (draw(st.sampled_from([2, 4])),),
                      draw(st.integers(2, 6)), stride=stride, padding=padding, pool=pool)
    try:
        net.shapes()
    except ValueError:
        assume(False)
    assume(max(layer.k for layer in net.layers) >= 4)     # a block-circulant layer
    qnet, _ = quantized(net, rng, samples=16)
    stages = max(qnet.block_sizes).bit_length() - 1
    kw = dict(p=1 << draw(st.integers(0, max(0, stages - 1))), d=draw(st.integers(1, stages)),
              lanes=1 << draw(st.integers(0, 2)), pipeline=draw(st.sampled_from([0, 2])),
              z_slots=draw(st.sampled_from([2, 4])), y_slots=draw(st.sampled_from([2, 4])),
              act_replicas=draw(st.integers(1, 2)))
    try:
        plan = plan_engine(qnet, **kw)
    except ValueError:
        assume(False)
    return qnet, plan, rng


@runs(4)
@given(engine_plans())
def test_engine_plan_elaborates_and_converts(case):
    _, plan, _ = case
    text = verilog.convert(LayerEngine(plan), name="layer_engine", emit_src=False)
    assert "module layer_engine" in text


@runs(3)
@given(engine_plans(max_k=4))
def test_engine_plan_sample_equals_golden(case):
    _simulates_equal_to_golden(case)


def _simulates_equal_to_golden(case):
    qnet, plan, rng = case
    xq, _ = qnet.quantize_input(rng.normal(size=(2,) + tuple(qnet.input_shape)))
    np.testing.assert_array_equal(simulate_engine(plan, xq), run_fixed(qnet, xq)[0])


def test_regression_single_input_block():
    """Found by test_engine_plan_elaborates_and_converts: a network whose layers all have one
    input block (q = 1) gave the MAC scheduler a zero-width block counter whose parity it reads,
    and elaboration failed (hw/engine_mac_scheduler.py)."""
    rng = np.random.default_rng(0)
    qnet, _ = quantized(fc_net(rng, 4, [2, 2]), rng, samples=16)
    plan = plan_engine(qnet, p=1, d=1, lanes=1, z_slots=2, y_slots=2, act_replicas=1)
    xq, _ = qnet.quantize_input(rng.normal(size=(3, 2)))
    np.testing.assert_array_equal(simulate_engine(plan, xq), run_fixed(qnet, xq)[0])


@pytest.mark.slow
@runs(60)
@given(fft_params(max_stages=8, max_p=16))
def test_fft_engine_wide_sweep(case):
    """make bench: larger transforms and more parallelism."""
    params, tech = case
    verilog.convert(FFTEngine(params, tech), name="fft_engine", emit_src=False)


@pytest.mark.slow
@runs(25)
@given(engine_plans(max_k=16))
def test_engine_plan_wide_sweep(case):
    _simulates_equal_to_golden(case)
