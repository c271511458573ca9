# amaranth: UnusedElaboratable=no
"""One FFT level (ping-pong memory + p butterflies) against the golden stage model."""

import numpy as np
import pytest

from golden.fft_fixed import FFTParams
from golden.fixedpoint import signed_range
from hw.fft_level import FFTLevel

from .stream_harness import run_streams


def random_frames(rng, params, n):
    lo, hi = signed_range(params.internal_width)
    re = rng.integers(lo, hi + 1, (n, params.k))
    im = rng.integers(lo, hi + 1, (n, params.k))
    re[0], im[0] = hi, lo  # full scale
    return re, im


def run_level(params, index, re, im, npass, inverse, gap, stall, seed):
    dut = FFTLevel(params, index)
    lanes, beats = params.lanes, params.beats
    send = []
    for f in range(re.shape[0]):
        for b in range(beats):
            sl = slice(b * lanes, (b + 1) * lanes)
            send.append((re[f, sl], im[f, sl], int(inverse[f]), int(npass[f])))

    def put(ctx, beat):
        r, i, inv, npa = beat
        for l in range(lanes):
            ctx.set(dut.i.payload.data[l].re, int(r[l]))
            ctx.set(dut.i.payload.data[l].im, int(i[l]))
        ctx.set(dut.i.payload.inverse, inv)
        ctx.set(dut.i.payload.npass, npa)

    def get(ctx):
        return ([ctx.get(dut.o.payload.data[l].re) for l in range(lanes)],
                [ctx.get(dut.o.payload.data[l].im) for l in range(lanes)],
                ctx.get(dut.o.payload.inverse), ctx.get(dut.o.payload.npass),
                [(ctx.get(dut.sat) >> l) & 1 for l in range(lanes)])

    out, cycles = run_streams(dut, send, len(send), put, get, gap=gap, stall=stall, seed=seed)
    return dut, out, cycles


@pytest.mark.parametrize("k, p, d, index, pipeline", [
    (4, 1, 2, 0, 0), (8, 1, 3, 2, 1), (16, 2, 4, 1, 0), (16, 8, 4, 3, 0), (32, 4, 5, 0, 2),
    (8, 4, 3, 1, 0), (16, 1, 3, 2, 0),  # last one bypasses in its second pass
])
def test_level_matches_stage_model(k, p, d, index, pipeline):
    stages = k.bit_length() - 1
    params = FFTParams(k=k, width=12, p=p, d=d, pipeline=pipeline,
                       forward_shifts=[s % 2 for s in range(stages)],
                       inverse_shifts=[1 - s % 2 for s in range(stages)])
    rng = np.random.default_rng(k * 100 + p * 10 + index)
    n = 5
    re, im = random_frames(rng, params, n)
    inverse = rng.integers(0, 2, n)
    npass = rng.integers(0, params.passes, n)
    # frame 0 (full scale) in pass 0, in the direction whose shift for this stage is 0: its
    # sums must saturate
    npass[0], inverse[0] = 0, index % 2
    dut, out, _ = run_level(params, index, re, im, npass, inverse, 0.3, 0.3, seed=k + p)
    lanes, beats = params.lanes, params.beats
    saturated = 0
    for f in range(n):
        wr, wi, wsat = dut.model(re[f:f + 1], im[f:f + 1], int(npass[f]), bool(inverse[f]))
        for b in range(beats):
            gr, gi, ginv, gnp, gsat = out[f * beats + b]
            sl = slice(b * lanes, (b + 1) * lanes)
            assert gr == list(wr[0, sl]) and gi == list(wi[0, sl]), f"frame {f} beat {b}"
            assert (ginv, gnp) == (inverse[f], npass[f])
            assert gsat == [int(v) for v in wsat[0, sl]]
            saturated += sum(gsat)
    assert saturated > 0


@pytest.mark.parametrize("k, p", [(8, 1), (16, 2), (4, 2)])
def test_level_latency_and_throughput(k, p):
    params = FFTParams(k=k, width=16, p=p)
    rng = np.random.default_rng(0)
    re, im = random_frames(rng, params, 4)
    dut, out, cycles = run_level(params, 0, re, im, np.zeros(4, int), np.zeros(4, int), 0, 0, 0)
    assert cycles[0] == dut.delay
    assert cycles[-1] - cycles[0] == len(out) - 1  # one beat per cycle, no bubbles


def test_level_validation():
    params = FFTParams(k=8, d=2)
    with pytest.raises(TypeError, match="index must be an integer from 0 to d - 1 = 1, not 2"):
        FFTLevel(params, 2)
