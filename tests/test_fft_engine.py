# amaranth: UnusedElaboratable=no
"""The whole FFT engine in the Amaranth simulator against golden.fft_fixed, bit for bit.

(The cocotb testbench in sim/ runs the generated Verilog on Verilator and Icarus; these tests
cover more parameter combinations quickly.)"""

import numpy as np
import pytest

from golden.fft_fixed import FFTParams, engine_input_slots, fft_fixed
from hw.fft_engine import FFTEngine

from .fft_stimulus import stimulus
from .stream_harness import run_streams


def run_engine(params, frames, inverse, gap=0.3, stall=0.3, seed=0):
    dut = FFTEngine(params)
    lanes, beats = params.lanes, params.beats
    send = []
    for f, frame in enumerate(frames):
        for b in range(beats):
            send.append((frame[b * lanes:(b + 1) * lanes], int(inverse[f]), b == beats - 1))

    def put(ctx, beat):
        vals, inv, last = beat
        for l in range(lanes):
            ctx.set(dut.i.payload.data[l].re, int(vals[l].real))
            ctx.set(dut.i.payload.data[l].im, int(vals[l].imag))
        ctx.set(dut.i.payload.inverse, inv)
        ctx.set(dut.i.payload.last, int(last))

    def get(ctx):
        return ([ctx.get(dut.o.payload.data[l].re) + 1j * ctx.get(dut.o.payload.data[l].im)
                 for l in range(lanes)], ctx.get(dut.o.payload.inverse),
                ctx.get(dut.o.payload.first), ctx.get(dut.o.payload.last))

    status = {}

    def observe(ctx):
        status["saturations"] = ctx.get(dut.saturations)
        status["frame_errors"] = ctx.get(dut.frame_errors)

    out, cycles = run_streams(dut, send, len(send), put, get, gap=gap, stall=stall, seed=seed,
                              observe=observe)
    return dut, out, cycles, status


def check(params, frames, inverse, out):
    beats = params.beats
    sat_total = 0
    for f, frame in enumerate(frames):
        want, sat = fft_fixed(frame[None], params, bool(inverse[f]))
        sat_total += sat
        got = np.concatenate([out[f * beats + b][0] for b in range(beats)])
        np.testing.assert_array_equal(got, want[0], err_msg=f"frame {f}")
        flags = [(o[1], o[2], o[3]) for o in out[f * beats:(f + 1) * beats]]
        assert flags == [(inverse[f], b == 0, b == beats - 1) for b in range(beats)]
    return sat_total


@pytest.mark.parametrize("k, width, p, d, pipeline", [
    (4, 12, 1, 2, 0), (8, 16, 2, 3, 0), (16, 12, 1, 2, 1), (16, 18, 4, 1, 0), (8, 12, 4, 3, 2),
    (32, 16, 2, 2, 0), (64, 16, 1, 6, 0), (64, 12, 2, 4, 0),
    # recirculating with epochs of 2 and 1 cycles: four input frame slots
    (4, 12, 1, 1, 0), (8, 16, 4, 1, 2),
])
def test_engine_matches_golden(k, width, p, d, pipeline):
    params = FFTParams(k=k, width=width, p=p, d=d, pipeline=pipeline)
    if (k, d) in ((4, 1), (8, 1)) and k // (2 * p) <= 2:
        assert engine_input_slots(params) == 4     # the case these parameters are here for
    rng = np.random.default_rng(k + width + p + d)
    frames = stimulus(params, rng, 6)
    inverse = rng.integers(0, 2, len(frames))
    dut, out, _, status = run_engine(params, frames, inverse, seed=k + d)
    sat = check(params, frames, inverse, out)
    assert status["saturations"] == sat
    assert status["frame_errors"] == 0


@pytest.mark.parametrize("k, width, pipeline, shifts", [
    (2, 12, 0, None), (4, 16, 0, None), (8, 16, 2, "alternate"), (32, 18, 1, None),
    (64, 16, 2, None), (128, 12, 0, "alternate"),
])
def test_single_path_engine_matches_golden(k, width, pipeline, shifts):
    """samples_per_clock = 1 (radix 2², hw/fft_sdf.py): outputs and saturation count; the
    'alternate' schedule shifts in every other inverse stage (as the layer engine does), so
    some stages saturate instead of rounding, depending on the frame's direction."""
    stages = k.bit_length() - 1
    inv = tuple((s + 1) % 2 for s in range(stages)) if shifts else None
    params = FFTParams(k=k, width=width, pipeline=pipeline, samples_per_clock=1,
                       inverse_shifts=inv)
    rng = np.random.default_rng(k + width)
    frames = stimulus(params, rng, 6)
    inverse = np.array([0, 1, 0, 0, 1, 1])
    _, out, _, status = run_engine(params, frames, inverse, seed=k)
    sat = check(params, frames, inverse, out)
    assert status["saturations"] == sat
    if k >= 8:
        assert sat > 0  # frame 3 is radix 2²'s worst case


def test_engine_bit_reversed_output_and_schedules():
    params = FFTParams(k=16, width=12, p=2, natural_order=False, forward_shifts=[1, 0, 1, 0],
                       inverse_shifts=[0, 0, 0, 1])
    rng = np.random.default_rng(3)
    frames = stimulus(params, rng, 5)
    inverse = np.array([0, 1, 0, 1, 1])
    _, out, _, status = run_engine(params, frames, inverse)
    assert status["saturations"] == check(params, frames, inverse, out) > 0


@pytest.mark.parametrize("k, p, d, spc", [
    (16, 1, 4, None), (64, 2, 6, None), (16, 1, 4, 1), (64, 1, 6, 1),
    # recirculating: one level (k/2p = 2: an epoch of two cycles), several levels, a last
    # pass that copies through a level, and ring positions lengthened to be coprime to passes
    (8, 2, 1, None), (16, 2, 2, None), (16, 1, 3, None), (64, 1, 3, None), (16, 1, 1, None),
    # epochs of 1 and 2 cycles with 2 or 3 passes: the input buffer needs four frame slots
    (4, 1, 1, None), (8, 4, 1, None), (32, 8, 3, None),
    # the rest of issue 8's grid k = 16, 64, 256 x d = 1, 2, 3 (docs/benchmarks.md)
    (16, 1, 2, None), (64, 1, 1, None), (64, 1, 2, None),
    pytest.param(256, 1, 3, None, marks=pytest.mark.slow),
    pytest.param(256, 1, 1, None, marks=pytest.mark.slow),
    pytest.param(256, 1, 2, None, marks=pytest.mark.slow),
    # one single-port memory for the input and output buffers: frames on the longer grid
    # (d = 1: passes + 2 epochs; several levels: the grid also coprime to the positions)
    (16, 1, 1, "shared"), (64, 1, 2, "shared"), (64, 2, 3, "shared"), (8, 1, 1, "shared"),
])
def test_engine_latency_and_throughput(k, p, d, spc):
    shared = spc == "shared"
    params = FFTParams(k=k, width=16, p=p, d=d, samples_per_clock=None if shared else spc,
                       shared_io=shared)
    rng = np.random.default_rng(0)
    frames = stimulus(params, rng, 12)
    dut, out, cycles, _ = run_engine(params, frames, np.zeros(12, int), gap=0, stall=0)
    assert cycles[0] == dut.delay
    starts = np.array(cycles[::params.beats])
    if params.passes == 1:
        # fully pipelined: a frame every k/2p cycles, no bubble at all
        assert cycles[-1] - cycles[0] == len(out) - 1
    # every frame after the ring has filled exactly passes * k/2p cycles after the previous
    assert set(np.diff(starts[4:])) == {dut.frame_interval}


def test_engine_counts_frame_errors():
    params = FFTParams(k=8, width=12, p=1)
    dut = FFTEngine(params)
    send = [(b, b % 4 == 1) for b in range(8)]  # `last` on the wrong beat of each frame

    def put(ctx, beat):
        ctx.set(dut.i.payload.last, int(beat[1]))

    status = {}
    run_streams(dut, send, 8, put, lambda ctx: 0, gap=0, stall=0,
                observe=lambda ctx: status.update(e=ctx.get(dut.frame_errors)))
    assert status["e"] == 4  # beats 1 and 3 of both frames


@pytest.mark.parametrize("k, p, d", [(1024, 1, 1), (512, 1, 1), (64, 1, 2), (16, 2, 2),
                                     (8, 1, 1), (64, 2, 3), (4, 1, 1), (256, 1, 3)])
def test_shared_io_grid_keeps_the_port_free(k, p, d):
    """With ``shared_io`` the input buffer's reads for an injection and the output buffer's
    writes of an exit never share a cycle, for frames injected on the schedule's grid (the
    cycles as hw/fft_recirculating.py issues them); the grid also keeps frames from competing
    for a ring position, and is the ideal ``passes`` without ``shared_io``."""
    from golden.fft_fixed import recirculating_schedule

    params = FFTParams(k=k, p=p, d=d, shared_io=True)
    s = recirculating_schedule(params)
    beats, grid, span = params.beats, s["grid"], params.passes * s["positions"]
    assert s["grid"] >= max(params.passes, 4)
    assert recirculating_schedule(FFTParams(k=k, p=p, d=d))["grid"] == params.passes
    reads, writes = set(), set()
    for f in range(3 * s["positions"] + 6):
        g = f * grid * beats
        reads |= set(range(g + s["read_offset"], g + s["read_offset"] + beats))
        writes |= set(range(g + s["exit"], g + s["exit"] + beats))
    assert not reads & writes
    # positions: frames f, f' compete when their injections are a multiple of positions
    # apart while both circulate
    for j in range(1, span // grid + 1):
        assert (j * grid) % s["positions"] != 0


def test_synth_chooses_shared_io_only_when_block_ram_runs_out():
    from circnn.synth import choose_shared_io

    big = FFTParams(k=1024, p=1, d=1)
    chosen, why = choose_shared_io(big, "ice40-up5k", None)
    assert chosen.shared_io and "58 block RAMs of 30" in why
    assert choose_shared_io(big, "ice40-up5k", False) == (big, None)
    assert choose_shared_io(big, "ecp5-85k", None) == (big, None)
    small = FFTParams(k=256, p=1, d=1)
    assert choose_shared_io(small, "ice40-up5k", None) == (small, None)
