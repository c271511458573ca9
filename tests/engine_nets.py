"""Random block-circulant networks for the layer-engine tests (float, then quantized)."""

from __future__ import annotations

import numpy as np

from golden.network import Layer, Network
from golden.quantize import quantize


def _layer(rng, kind, k, n_in, n_out, activation, **conv):
    p, q = -(-n_out // k), -(-n_in // k)
    w = rng.normal(0, 1.0 / np.sqrt(n_in), (p, q, k))
    b = rng.normal(0, 0.1, n_out)
    return Layer(kind=kind, k=k, weights=w, bias=b, in_features=n_in, out_features=n_out,
                 activation=activation, **conv)


def _per_layer(k, n: int) -> list:
    """``k`` for each of ``n`` layers: one int for all, or a list of one per layer."""
    ks = [k] * n if isinstance(k, int) else list(k)
    assert len(ks) == n, f"{len(ks)} block sizes for {n} layers"
    return ks


def fc_net(rng, k, sizes, last_relu=False) -> Network:
    """FC layers ``sizes[0] -> ... -> sizes[-1]``; ``k`` one block size or one per layer."""
    ks = _per_layer(k, len(sizes) - 1)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        act = "relu" if (i < len(sizes) - 2 or last_relu) else "none"
        layers.append(_layer(rng, "fc", ks[i], a, b, act))
    return Network(input_shape=(sizes[0],), layers=layers)


def cnn_net(rng, k, image=(1, 6, 6), channels=(4,), n_out=5, stride=1, padding=1,
            pool=True) -> Network:
    c, h, w = image
    ks = _per_layer(k, len(channels) + 1)
    layers = []
    for i, ch in enumerate(channels):
        layers.append(_layer(rng, "conv", ks[i], c * 9, ch, "relu", pool=2 if pool else 0,
                             in_channels=c, kernel=3, stride=stride, padding=padding))
        h = (h + 2 * padding - 3) // stride + 1
        w = (w + 2 * padding - 3) // stride + 1
        if pool:
            h, w = h // 2, w // 2
        c = ch
    layers.append(_layer(rng, "fc", ks[-1], c * h * w, n_out, "none"))
    return Network(input_shape=image, layers=layers)


def quantized(net: Network, rng, samples=64):
    calib = rng.normal(0, 1, (samples,) + tuple(net.input_shape))
    qnet, _ = quantize(net, calib)
    return qnet, calib


def simulate_engine(plan, xq, max_cycles: int = 100_000) -> np.ndarray:
    """Run the integer samples ``xq`` through ``LayerEngine(plan)`` in Amaranth's simulator
    (input always offered, output always ready); the outputs, one row per sample."""
    from amaranth.sim import Simulator

    from hw.layer_engine import LayerEngine

    dut = LayerEngine(plan)
    got = []

    async def feed(ctx):
        for sample in xq:
            for v in sample.reshape(-1):
                ctx.set(dut.i.valid, 1)
                ctx.set(dut.i.payload.data, int(v))
                await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)

    async def collect(ctx):
        ctx.set(dut.o.ready, 1)
        cycles = 0
        while len(got) < plan.out_size * len(xq):
            _, _, valid, value = await ctx.tick().sample(dut.o.valid, dut.o.payload.data)
            cycles += 1
            if valid:
                got.append(value)
            assert cycles < max_cycles, "the engine stopped producing outputs"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(feed)
    sim.add_testbench(collect)
    sim.run()
    return np.array(got).reshape(len(xq), -1)
