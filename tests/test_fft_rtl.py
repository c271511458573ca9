"""The generated FFT engine Verilog under cocotb (Verilator; Icarus when installed), checked bit for
bit against golden.fft_fixed by the testbench in sim/tb_fft_engine.py, with random valid gaps and
backpressure."""

import numpy as np
import pytest

from golden.fft_fixed import FFTParams, fft_fixed, stuff_frames
from sim.fft_run import run_fft_rtl
from sim.simulators import SimulatorError, available

from .fft_stimulus import stimulus


def need(sim):
    if not available(sim):
        pytest.skip(f"{sim} is not installed (Icarus is optional: apt-get install iverilog)")


CASES = [
    # k, width, p, d, pipeline, natural order, simulator
    (4, 12, 1, 2, 0, True, "verilator"),
    (8, 16, 2, 1, 0, True, "verilator"),     # d < log2 k: 3 passes through one level
    (16, 18, 1, 3, 0, True, "verilator"),    # 2 passes, the second copies through 2 levels
    (16, 12, 4, 4, 1, True, "verilator"),
    (64, 16, 1, 6, 0, True, "verilator"),
    (64, 16, 1, 6, 0, True, "icarus"),
    (64, 16, 4, 3, 2, True, "verilator"),
    (64, 18, 2, 4, 0, False, "icarus"),      # bit-reversed output, recirculation with bypass
    (256, 16, 1, 8, 0, True, "verilator"),
    pytest.param(256, 12, 8, 2, 0, True, "verilator", marks=pytest.mark.slow),  # make bench
    (8, 18, 4, 3, 0, True, "icarus"),        # p = k/2: a whole frame per beat
    (4, 16, 1, 1, 0, True, "verilator"),     # epochs of 2 cycles: four input frame slots
    (8, 12, 4, 1, 2, True, "icarus"),        # epochs of 1 cycle: four input frame slots
]


@pytest.mark.parametrize("k, width, p, d, pipeline, natural, sim", CASES)
def test_rtl_bit_exact(k, width, p, d, pipeline, natural, sim, tmp_path):
    need(sim)
    params = FFTParams(k=k, width=width, p=p, d=d, pipeline=pipeline, natural_order=natural)
    rng = np.random.default_rng(k * width + p + d)
    n = 8 if k <= 64 else 5
    frames = stimulus(params, rng, n)
    inverse = rng.integers(0, 2, n)
    inverse[3] = 0
    r = run_fft_rtl(params, frames, inverse, sim, tmp_path, gap=0.3, stall=0.3, seed=k + d)
    # the testbench already compared every frame; check its results file independently
    want_sat = 0
    for f in range(n):
        want, sat = fft_fixed(frames[f:f + 1], params, bool(inverse[f]))
        np.testing.assert_array_equal(r["outputs"][f], want[0])
        want_sat += sat
    assert r["saturations"] == want_sat
    if k >= 8:
        assert want_sat > 0  # the worst-case frame must have exercised saturation


@pytest.mark.parametrize("k, p, d, pipeline, min_length, tech, sim", [
    (16, 1, 4, 0, 4, "generic", "verilator"),     # fully pipelined, lengths 4, 8, 16
    (64, 2, 6, 2, 8, "ecp5", "icarus"),           # pipelined on the MULT18X18D/DP16KD models
    (16, 2, 2, 0, 4, "generic", "icarus"),        # recirculating, two passes
    (64, 1, 1, 1, 4, "generic", "verilator"),     # recirculating, one level, six passes
])
def test_rtl_run_time_length_bit_exact(k, p, d, pipeline, min_length, tech, sim, tmp_path):
    """Frames of every length from min_length to k and both directions back to back (stuffed:
    golden/fft_fixed.py), with random valid gaps and backpressure: bit exact against the
    golden model, and each result equals the shorter engine's own output."""
    from golden.engine_fixed import default_inverse_shifts
    from golden.fft_fixed import stuff_frames, unstuff_output
    need(sim)
    params = FFTParams(k=k, p=p, d=d, pipeline=pipeline, min_length=min_length,
                       inverse_shifts=default_inverse_shifts(k))
    rng = np.random.default_rng(k + d)
    n_frames = 10
    stuffing = rng.integers(0, params.max_stuffing + 1, n_frames)
    stuffing[:params.max_stuffing + 1] = np.arange(params.max_stuffing + 1)
    inverse = rng.integers(0, 2, n_frames)
    inverse[1], inverse[2] = 1, 0
    short, frames = [], []
    for st, inv in zip(stuffing, inverse):
        n = k >> int(st)
        x = (rng.integers(-2 ** 15, 2 ** 15, n) + 1j * rng.integers(-2 ** 15, 2 ** 15, n))
        short.append(x)
        frames.append(stuff_frames(x[None], k, bool(inv))[0])
    r = run_fft_rtl(params, np.array(frames), inverse, sim, tmp_path, gap=0.3, stall=0.3,
                    seed=k + d, tech=tech, stuffing=stuffing)
    for f, (x, st, inv) in enumerate(zip(short, stuffing, inverse)):
        n = len(x)
        own = FFTParams(k=n, inverse_shifts=default_inverse_shifts(n))
        want, _ = fft_fixed(x[None], own, bool(inv))
        np.testing.assert_array_equal(unstuff_output(r["outputs"][f:f + 1], n, bool(inv)), want)


@pytest.mark.parametrize("k, width, pipeline, alternate, sim", [
    (16, 12, 1, True, "icarus"),     # inverse frames saturate instead of rounding every 2nd stage
    (64, 16, 0, False, "verilator"),
    (128, 16, 2, True, "verilator"),  # odd log2 k: a last radix-2 stage, delay rings in RAM
])
def test_rtl_single_path_bit_exact(k, width, pipeline, alternate, sim, tmp_path):
    """samples_per_clock = 1 (radix 2²): every sample, the flags and the saturation count."""
    need(sim)
    stages = k.bit_length() - 1
    params = FFTParams(k=k, width=width, pipeline=pipeline, samples_per_clock=1,
                       inverse_shifts=tuple((s + 1) % 2 for s in range(stages))
                       if alternate else None)
    rng = np.random.default_rng(k + width)
    frames = stimulus(params, rng, 6)
    inverse = np.array([1, 0, 1, 0, 1, 0])
    r = run_fft_rtl(params, frames, inverse, sim, tmp_path, gap=0.3, stall=0.3, seed=k)
    want_sat = 0
    for f in range(6):
        want, sat = fft_fixed(frames[f:f + 1], params, bool(inverse[f]))
        np.testing.assert_array_equal(r["outputs"][f], want[0])
        want_sat += sat
    assert r["saturations"] == want_sat > 0


def test_rtl_round_trip(tmp_path):
    """Forward (gain 1/k) then inverse without scaling (gain k) returns the input."""
    params = FFTParams(k=64, width=16, inverse_shifts=[0] * 6)
    rng = np.random.default_rng(5)
    x = np.round(rng.uniform(-1, 1, (6, 64)) * 2 ** 13) + 1j * np.round(
        rng.uniform(-1, 1, (6, 64)) * 2 ** 13)  # 1/4 full scale per component
    fwd = run_fft_rtl(params, x, np.zeros(6, int), "verilator", tmp_path, gap=0.2, stall=0.2)
    back = run_fft_rtl(params, fwd["outputs"], np.ones(6, int), "verilator", tmp_path,
                       gap=0.2, stall=0.2)
    err = back["outputs"] - x
    # forward output is rounded to 16 bits at gain 1/64, so each bin carries up to 1/2 LSB;
    # the unscaled inverse sums 64 of them: rms error sqrt(64/6) ~ 3.3 LSB per component
    assert np.sqrt(np.mean(np.abs(err) ** 2) / 2) < 5
    assert np.max(np.abs(err.real)) <= 24 and np.max(np.abs(err.imag)) <= 24


def test_simulator_failure_is_reported(tmp_path, monkeypatch):
    """A testbench failure surfaces as SimulatorError, not as a silent pass."""
    params = FFTParams(k=4, width=12)
    frames = stimulus(params, np.random.default_rng(0), 4)
    monkeypatch.setenv("CIRCNN_FFT_BREAK_MODEL", "1")
    with pytest.raises(SimulatorError, match="fft_engine failed|cocotb tests failed"):
        run_fft_rtl(params, frames, np.zeros(4, int), "verilator", tmp_path)


@pytest.mark.parametrize("k, p, d, sim", [
    (16, 2, 2, "verilator"), (16, 2, 2, "icarus"),
    # fully pipelined: DP16KD input/output buffers and twiddle table (k = 64), DP16KD delay
    # rings (k = 256, delays of 64 and 32 samples)
    (64, 1, 6, "icarus"), (256, 1, 8, "verilator"),
    # single path (samples_per_clock 1): delay rings of 32 words, twiddle tables in DP16KD
    (64, 1, 6, "verilator-1"),
])
def test_rtl_ecp5_primitives_bit_exact(k, p, d, sim, tmp_path):
    """The ECP5 technology layer (MULT18X18D multipliers, DP16KD memories with their output
    registers; behavioural models of the primitives) equals the golden model, hence the generic
    build, bit for bit, under gaps and backpressure."""
    sim, _, spc = sim.partition("-")
    need(sim)
    params = FFTParams(k=k, width=16, p=p, d=d, pipeline=2, samples_per_clock=int(spc or 0) or None)
    rng = np.random.default_rng(11)
    frames = stimulus(params, rng, 6)
    inverse = rng.integers(0, 2, 6)
    inverse[3] = 0
    r = run_fft_rtl(params, frames, inverse, sim, tmp_path, gap=0.3, stall=0.3, tech="ecp5")
    if k >= 64:  # the block RAMs are really the primitive's model
        assert any("DP16KD " in f.read_text() for f in tmp_path.rglob("fft_engine.v"))
    for f in range(6):
        np.testing.assert_array_equal(r["outputs"][f],
                                      fft_fixed(frames[f:f + 1], params, bool(inverse[f]))[0][0])
    assert r["saturations"] > 0


@pytest.mark.parametrize("k, p, d, pipeline, sim", [
    # recirculating: level banks, input slots, output buffer and twiddle ROM in SB_RAM40_4K
    (8, 1, 1, 0, "icarus"), (64, 2, 2, 1, "verilator"),
    # fully pipelined with delay rings of 16 words (long: make bench)
    pytest.param(64, 1, 6, 0, "verilator", marks=pytest.mark.slow),
])
def test_rtl_ice40_primitives_bit_exact(k, p, d, pipeline, sim, tmp_path):
    """The iCE40 technology layer (SB_RAM40_4K memories, products split for the 16 x 16
    SB_MAC16; behavioural models of the primitives) equals the golden model bit for bit under
    gaps and backpressure."""
    need(sim)
    params = FFTParams(k=k, width=16, p=p, d=d, pipeline=pipeline)
    rng = np.random.default_rng(12)
    frames = stimulus(params, rng, 6)
    inverse = rng.integers(0, 2, 6)
    inverse[2] = 1
    r = run_fft_rtl(params, frames, inverse, sim, tmp_path, gap=0.3, stall=0.3, tech="ice40")
    assert any("SB_RAM40_4K " in f.read_text() for f in tmp_path.rglob("fft_engine.v"))
    for f in range(6):
        np.testing.assert_array_equal(r["outputs"][f],
                                      fft_fixed(frames[f:f + 1], params, bool(inverse[f]))[0][0])


@pytest.mark.parametrize("k, p, d, min_length, tech, sim", [
    (16, 1, 1, 16, "ice40", "icarus"),       # SB_SPRAM256KA models: a write makes the output X
    (64, 2, 2, 16, "ice40", "verilator"),    # two levels, four banks
    (32, 1, 1, 8, "generic", "verilator"),   # with a run-time length
    pytest.param(1024, 1, 1, 1024, "ice40", "verilator", marks=pytest.mark.slow),  # the UP5K's
])
def test_rtl_shared_io_bit_exact(k, p, d, min_length, tech, sim, tmp_path):
    """The input and output buffers in one single-port memory (``shared_io``: the UP5K's SPRAM),
    its port shared by the scheduled injections and exits and the stallable input and output
    streams: bit exact against the golden model under random valid gaps and backpressure (on
    iCE40 a beat held in the SPRAM's output across a write would be X and fail)."""
    need(sim)
    params = FFTParams(k=k, width=16, p=p, d=d, min_length=min_length, shared_io=True)
    rng = np.random.default_rng(k + p)
    n = 7
    frames = stimulus(params, rng, n)
    inverse = rng.integers(0, 2, n)
    inverse[1], inverse[2] = 1, 0
    stuffing = rng.integers(0, params.max_stuffing + 1, n)
    stuffed = np.array([f if s == 0 else
                        stuff_frames(f[None, ::1 << int(s)], k, bool(i))[0]
                        for f, s, i in zip(frames, stuffing, inverse)])
    r = run_fft_rtl(params, stuffed, inverse, sim, tmp_path, gap=0.3, stall=0.3, seed=k,
                    tech=tech, stuffing=stuffing)
    if tech == "ice40":
        assert any("SB_SPRAM256KA " in f.read_text() for f in tmp_path.rglob("fft_engine.v"))
    for f in range(n):
        want, _ = fft_fixed(stuffed[f:f + 1], params, bool(inverse[f]),
                            stuffing=int(stuffing[f]))
        np.testing.assert_array_equal(r["outputs"][f], want[0])
