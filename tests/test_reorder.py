# amaranth: UnusedElaboratable=no
"""Bit-reversal reorder buffer against its model, under random gaps and backpressure."""

import numpy as np
import pytest

from hw.reorder import BitReverseBuffer

from .stream_harness import run_streams


@pytest.mark.parametrize("k, lanes", [(2, 1), (2, 2), (8, 1), (8, 2), (16, 4), (16, 16), (64, 4),
                                      (32, 16), (256, 2)])
def test_reorder(k, lanes):
    dut = BitReverseBuffer(k, 10, lanes)
    rng = np.random.default_rng(k + lanes)
    n = 4
    re = rng.integers(-512, 512, (n, k))
    im = rng.integers(-512, 512, (n, k))
    inv = rng.integers(0, 2, n)
    beats = k // lanes
    send = [(re[f, b * lanes:(b + 1) * lanes], im[f, b * lanes:(b + 1) * lanes], inv[f])
            for f in range(n) for b in range(beats)]

    def put(ctx, beat):
        for l in range(lanes):
            ctx.set(dut.i.payload.data[l].re, int(beat[0][l]))
            ctx.set(dut.i.payload.data[l].im, int(beat[1][l]))
        ctx.set(dut.i.payload.inverse, int(beat[2]))

    def get(ctx):
        return ([ctx.get(dut.o.payload.data[l].re) for l in range(lanes)],
                [ctx.get(dut.o.payload.data[l].im) for l in range(lanes)],
                ctx.get(dut.o.payload.inverse))

    out, _ = run_streams(dut, send, len(send), put, get, seed=k)
    want_re, want_im = dut.model(re), dut.model(im)
    got_re = np.array([o[0] for o in out]).reshape(n, k)
    got_im = np.array([o[1] for o in out]).reshape(n, k)
    np.testing.assert_array_equal(got_re, want_re)
    np.testing.assert_array_equal(got_im, want_im)
    assert [o[2] for o in out][::beats] == list(inv)


def test_reorder_latency():
    dut = BitReverseBuffer(16, 8, 2)
    send = [([0, 0], [0, 0], 0)] * 16

    def put(ctx, beat):
        ctx.set(dut.i.payload.inverse, 0)

    out, cycles = run_streams(dut, send, 16, put, lambda ctx: 0, gap=0, stall=0)
    assert cycles[0] == dut.delay
    assert cycles[-1] - cycles[0] == 15


def test_reorder_validation():
    with pytest.raises(TypeError, match="lanes must be a power of two from 1 to k = 8, not 3"):
        BitReverseBuffer(8, 8, 3)
    with pytest.raises(ValueError, match="a single-port buffer needs a credited writer"):
        BitReverseBuffer(8, 8, 2, single_port=True)
    with pytest.raises(TypeError, match="aux_words must be a non-negative integer, and 0 "
                                        "without single_port, not 4"):
        BitReverseBuffer(8, 8, 2, aux_words=4)
