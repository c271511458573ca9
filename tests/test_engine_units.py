# amaranth: UnusedElaboratable=no
"""The layer engine's units one by one in the Amaranth simulator, against what each must do:
slot tracker, sequencer, activation buffers, beat packer (random backpressure), serializer
(random valid gaps), post-processor (against its model, with pooling)."""

import random

import numpy as np
import pytest
from amaranth.sim import Simulator

from golden.engine_plan import block_interleaved, plan_engine
from golden.fft_fixed import FFTParams
from hw.engine_activations import (ActivationBuffers, activation_address_delay,
                                   activation_read_delay)
from hw.engine_beats import BeatPacker, Serializer
from hw.engine_post import PostProcessor
from hw.engine_sequencer import Phase, Sequencer, descriptor_values
from hw.engine_slots import SlotTracker

from .engine_nets import cnn_net, fc_net, quantized


def simulate(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_slot_tracker_round_trip():
    dut = SlotTracker(4)
    seen = []

    async def bench(ctx):
        assert ctx.get(dut.free) == 0b1111 and ctx.get(dut.full) == 0
        for event, slot in (("claim", 2), ("fill", 2), ("take", 2), ("release", 2)):
            ctx.set(getattr(dut, event), 1)
            ctx.set(getattr(dut, f"{event}_slot"), slot)
            await ctx.tick()
            ctx.set(getattr(dut, event), 0)
            seen.append((ctx.get(dut.free), ctx.get(dut.full)))
        ctx.set(dut.claim, 1)
        ctx.set(dut.claim_slot, 0)
        ctx.set(dut.fill, 1)        # different slots in one cycle
        ctx.set(dut.fill_slot, 3)
        await ctx.tick()
        ctx.set(dut.claim, 0)
        ctx.set(dut.fill, 0)
        seen.append((ctx.get(dut.free), ctx.get(dut.full)))
        ctx.set(dut.clear, 1)
        await ctx.tick()
        seen.append((ctx.get(dut.free), ctx.get(dut.full)))

    simulate(dut, bench)
    assert seen == [(0b1011, 0), (0b1011, 0b0100), (0b1011, 0), (0b1111, 0),
                    (0b1110, 0b1000), (0b1111, 0)]


def test_slot_tracker_validation():
    with pytest.raises(TypeError, match="slots must be a positive integer, not 0"):
        SlotTracker(0)


@pytest.mark.parametrize("pipeline", [0, 2])
def test_sequencer_walks_layers(pipeline):
    """Layers in turn with their descriptors; ``loading``, ``running`` (flip-flops of their
    own when pipelined) stand for their states."""
    rng = np.random.default_rng(0)
    qnet, _ = quantized(fc_net(rng, 4, [8, 8, 8, 4]), rng)
    plan = plan_engine(qnet, pipeline=pipeline)
    dut = Sequencer(plan)
    trace = []

    def check(ctx):
        phase = ctx.get(dut.phase)
        assert ctx.get(dut.loading) == (phase == Phase.LOAD)
        assert ctx.get(dut.running) == (phase == Phase.RUN)

    async def bench(ctx):
        check(ctx)
        ctx.set(dut.load_done, 1)
        await ctx.tick()
        ctx.set(dut.load_done, 0)
        for _ in range(3 * 4):
            check(ctx)
            ctx.set(dut.layer_done, ctx.get(dut.running))
            trace.append((ctx.get(dut.phase), ctx.get(dut.layer), ctx.get(dut.layer_start),
                          ctx.get(dut.src)))
            if ctx.get(dut.layer_start):
                assert ctx.get(dut.desc.m) == plan.layers[ctx.get(dut.layer)].m
            await ctx.tick()
        ctx.set(dut.layer_done, 0)
        ctx.set(dut.unload_done, 1)
        await ctx.tick()
        check(ctx)
        trace.append((ctx.get(dut.phase), 0, 0, 0))

    simulate(dut, bench)
    starts = [(layer, src) for phase, layer, start, src in trace if start]
    assert starts == [(0, 0), (1, 1), (2, 0)]
    assert Phase.UNLOAD in [t[0] for t in trace] and trace[-1][0] == Phase.LOAD


async def _post_write_all(ctx, dut, bank0, bank1):
    """The post-processor's port writes ``bank0[a], bank1[a]`` at every address ``a``."""
    for a in range(len(bank0)):
        ctx.set(dut.post_en, 0b11)
        ctx.set(dut.post_addr, a)
        ctx.set(dut.post_data[0], int(bank0[a]))
        ctx.set(dut.post_data[1], int(bank1[a]))
        await ctx.tick()
    ctx.set(dut.post_en, 0)


@pytest.mark.parametrize("replicas, pooled", [(1, False), (2, False), (1, True)])
def test_activation_buffers_ports(replicas, pooled):
    """Loaded words read back through every (bank, copy); post writes land in the buffer that is
    not the source, both banks at once; the read-modify-write port reads it (merged buffers,
    without pooling: the reader reads it once it is the source)."""
    rng = np.random.default_rng(replicas)
    net = cnn_net(rng, 4) if pooled else fc_net(rng, 4, [16, 16])
    qnet, _ = quantized(net, rng)
    plan = plan_engine(qnet, act_replicas=replicas)
    dut = ActivationBuffers(plan)
    assert dut.merged == (replicas == 1 and not pooled)
    depth = plan.act_bank_depth
    words = rng.integers(-2 ** 15, 2 ** 15, (2, depth))
    got = {}

    async def bench(ctx):
        for n in range(2):
            for a in range(depth):
                ctx.set(dut.load_en, 1)
                ctx.set(dut.load_bank, n)
                ctx.set(dut.load_addr, a)
                ctx.set(dut.load_data, int(words[n, a]))
                await ctx.tick()
        ctx.set(dut.load_en, 0)
        ctx.set(dut.src, 0)
        # read every word of buffer 0 through lanes naming distinct (bank, copy)
        for a in range(depth + 2):
            for lane in range(4):
                bank, copy = lane & 1, (lane >> 1) % replicas
                used = lane < 2 * replicas
                ctx.set(dut.lane[lane].en, int(used and a < depth))
                ctx.set(dut.lane[lane].bank, bank)
                ctx.set(dut.lane[lane].replica, copy)
                ctx.set(dut.lane[lane].addr, min(a, depth - 1))
            if a >= 2:
                for lane in range(2 * replicas):
                    got[lane, a - 2] = ctx.get(dut.lane_data[lane])
            await ctx.tick()
        # post writes into buffer 1 (dst), then read it back with the rmw port
        await _post_write_all(ctx, dut, words[1], words[0])
        if dut.merged:
            ctx.set(dut.src, 1)
        for a in range(depth + 2):
            ctx.set(dut.rmw_addr, min(a, depth - 1))
            for lane in range(2):
                ctx.set(dut.lane[lane].en, int(dut.merged and a < depth))
                ctx.set(dut.lane[lane].bank, lane)
                ctx.set(dut.lane[lane].addr, min(a, depth - 1))
            if a >= 2:
                got["rmw", a - 2] = ((ctx.get(dut.lane_data[0]), ctx.get(dut.lane_data[1]))
                                     if dut.merged else
                                     (ctx.get(dut.rmw_data[0]), ctx.get(dut.rmw_data[1])))
            await ctx.tick()

    simulate(dut, bench)
    u16 = words & 0xFFFF  # the buffers hold bit patterns
    for (lane, a), v in got.items():
        if lane == "rmw":
            assert v == (u16[1, a], u16[0, a])
        else:
            assert v == u16[lane & 1, a], (lane, a)


def test_activation_buffers_forwarded_read_modify_write():
    """Pipelined (reads of 4 cycles): the read-modify-write word is bank n of buffer dst, or
    the forwarded word when ``rmw_fwd_en[n]`` is set ``delay - 1`` cycles after the request."""
    rng = np.random.default_rng(5)
    qnet, _ = quantized(cnn_net(rng, 4), rng)
    plan = plan_engine(qnet, pipeline=2)
    dut = ActivationBuffers(plan)
    lat = dut.delay
    assert lat == 4
    depth = plan.act_bank_depth
    words = rng.integers(0, 2 ** 16, (2, depth))
    fwd = {a: (a % 3 == 0, a % 5 == 0) for a in range(depth)}
    got = {}

    async def bench(ctx):
        ctx.set(dut.src, 0)                   # dst is buffer 1
        await _post_write_all(ctx, dut, words[0], words[1])
        for c in range(depth + lat):
            ctx.set(dut.rmw_addr, min(c, depth - 1))
            a = c - (lat - 1)                  # the request of delay - 1 cycles ago
            for n in range(2):
                on = 0 <= a < depth and fwd[a][n]
                ctx.set(dut.rmw_fwd_en[n], int(on))
                ctx.set(dut.rmw_fwd_data[n], 0xABCD)
            if c >= lat:
                got[c - lat] = (ctx.get(dut.rmw_data[0]), ctx.get(dut.rmw_data[1]))
            await ctx.tick()

    simulate(dut, bench)
    for a in range(depth):
        want = tuple(0xABCD if fwd[a][n] else int(words[n, a]) for n in range(2))
        assert got[a] == want, a


def test_block_interleaved_layout():
    # channels 0..k-1 bank 0, k..2k-1 bank 1, 2k.. bank 0 after the first block, no holes
    k, pixels = 4, 3
    seen = {}
    for c in range(10):
        for pix in range(pixels):
            seen[block_interleaved(c, pix, pixels, k)] = (c, pix)
    assert len(seen) == 30
    assert block_interleaved(5, 2, pixels, k) == (1, 1 * pixels + 2)
    assert block_interleaved(9, 0, pixels, k) == (0, 5 * pixels)


@pytest.mark.parametrize("p, registered", [(1, False), (2, False), (1, True), (2, True)])
def test_beat_packer_under_backpressure(p, registered):
    """Pairs issued while ``issue_ok``, arriving ``room - 1`` cycles later (the producer's
    pipeline), all come out in order: the FIFO never overflows, also with the registered
    ``issue_ok`` (stretches without reads fill it to the limit)."""
    fp = FFTParams(k=16, p=p)
    room = 6
    dut = BeatPacker(fp, 16, room=room, registered=registered)
    rng = random.Random(p)
    pairs = [([(rng.randrange(-9, 9), rng.randrange(-9, 9)) for _ in range(2)], f // 8 % 2)
             for f in range(16 * 8)]  # 16 frames of k/2 pairs
    beats = []

    async def bench(ctx):
        sent, cycles = 0, 0
        flight = [None] * (room - 1)
        while len(beats) < 16 * fp.beats:
            cycles += 1
            assert cycles < 8000
            ok = ctx.get(dut.issue_ok)
            issue = ok and sent < len(pairs) and rng.random() < 0.9
            flight.append(sent if issue else None)
            sent += int(issue)
            arriving = flight.pop(0)
            push = arriving is not None
            ctx.set(dut.pair_valid, int(push))
            if push:
                x, inv = pairs[arriving]
                for j in range(2):
                    ctx.set(dut.pair.x[j].re, x[j][0])
                    ctx.set(dut.pair.x[j].im, x[j][1])
                ctx.set(dut.pair.inverse, inv)
            # stretches without reads fill the FIFO up to what issue_ok allows
            ready = int((cycles // 40) % 3 != 0 and rng.random() < 0.35)
            ctx.set(dut.o.ready, ready)
            if ctx.get(dut.o.valid) and ready:
                beats.append(([(ctx.get(dut.o.payload.data[l].re), ctx.get(dut.o.payload.data[l].im))
                               for l in range(fp.lanes)], ctx.get(dut.o.payload.inverse),
                              ctx.get(dut.o.payload.last)))
            await ctx.tick()

    simulate(dut, bench)
    flat = [s for x, _ in pairs for s in x]
    assert [s for b, _, _ in beats for s in b] == flat
    assert [inv for _, inv, _ in beats] == [f // fp.beats % 2 for f in range(len(beats))]
    assert [last for _, _, last in beats] == [int(b % fp.beats == fp.beats - 1)
                                              for b in range(len(beats))]


@pytest.mark.parametrize("p", [1, 2])
def test_beat_packer_frame_credits(p):
    """Without a FIFO: frames start only against a free slot of a 2-frame consumer that frees
    slots at random times; every beat finds the consumer ready, and all beats arrive in order."""
    fp = FFTParams(k=16, p=p)
    dut = BeatPacker(fp, 16, room=6, credits=True)
    rng = random.Random(10 + p)
    n_frames, per_frame = 8, fp.k // 2
    beats, refused = [], []

    async def bench(ctx):
        frame, pushed, stored, cycles = 0, per_frame, [], 0   # stored: beats per held frame
        while len(beats) < n_frames * fp.beats:
            cycles += 1
            assert cycles < 4000
            start = pushed == per_frame and frame < n_frames and ctx.get(dut.frame_ok) \
                and rng.random() < 0.5
            push = start or (pushed < per_frame and rng.random() < 0.7)
            ctx.set(dut.frame_start, int(start))
            ctx.set(dut.pair_valid, int(push))
            if start:
                frame, pushed = frame + 1, 0
            if push:
                for j in range(2):
                    ctx.set(dut.pair.x[j].re, ((frame - 1) * per_frame + pushed) % 200 - 100)
                    ctx.set(dut.pair.x[j].im, j)
                ctx.set(dut.pair.inverse, frame % 2)
                pushed += 1
            # the consumer: 2 frame slots; a full frame is freed at a random later time
            free = 0
            if stored and stored[0] == fp.beats and rng.random() < 0.2:
                stored.pop(0)
                free = 1
            ctx.set(dut.freed, free)
            room = len(stored) < 2 or stored[-1] < fp.beats
            ctx.set(dut.o.ready, int(room))
            if ctx.get(dut.o.valid):
                if not room:
                    refused.append(cycles)
                else:
                    if not stored or stored[-1] == fp.beats:
                        stored.append(0)
                    stored[-1] += 1
                    beats.append([ctx.get(dut.o.payload.data[l].re) for l in range(fp.lanes)])
            await ctx.tick()

    simulate(dut, bench)
    assert not refused
    want = [(n // 2) % 200 - 100 for n in range(n_frames * fp.k)]
    assert [s for b in beats for s in b] == want


@pytest.mark.parametrize("fifo_frames, registered", [(2, False), (0, False), (2, True)])
def test_serializer_positions_with_gaps(fifo_frames, registered):
    fp = FFTParams(k=8, p=2)
    frames_out = 2
    dut = Serializer(fp, 16, frames=fifo_frames, max_frames=4, registered_ready=registered)
    rng = random.Random(3)
    n_frames = 6
    beats = [[(f * 100 + b * 10 + l, -(f * 100 + b * 10 + l)) for l in range(fp.lanes)]
             for f in range(n_frames) for b in range(fp.beats)]
    out = []

    async def bench(ctx):
        ctx.set(dut.frames_out, frames_out)
        sent, cycles = 0, 0
        while len(out) < n_frames * fp.k:
            cycles += 1
            assert cycles < 2000
            valid = sent < len(beats) and rng.random() < 0.6
            ctx.set(dut.i.valid, int(valid))
            if valid:
                for l, (re, im) in enumerate(beats[sent]):
                    ctx.set(dut.i.payload.data[l].re, re)
                    ctx.set(dut.i.payload.data[l].im, im)
                ctx.set(dut.i.payload.last, int(sent % fp.beats == fp.beats - 1))
            if ctx.get(dut.valid):
                out.append((ctx.get(dut.o.y[0]), ctx.get(dut.o.y[1]), ctx.get(dut.o.t),
                            ctx.get(dut.o.s), ctx.get(dut.o.vector_end)))
            if valid and ctx.get(dut.i.ready):
                sent += 1
            await ctx.tick()

    simulate(dut, bench)
    for n, (re, im, t, s, end) in enumerate(out):
        f, t_want = divmod(n, fp.k)
        assert (re, im) == beats[f * fp.beats + t_want // fp.lanes][t_want % fp.lanes]
        assert (t, s, end) == (t_want, f % frames_out,
                               int(t_want == fp.k - 1 and f % frames_out == frames_out - 1))


@pytest.mark.parametrize("pipeline", [0, 2])
def test_post_processor_against_model(pipeline):
    """Bias, ReLU, requantization into the right bank and address, and 2x2 max pooling: a
    conv layer's worth of outputs, pixel by pixel (2 stages, or 7 when pipelined: the bias,
    the request and the comparison registered).  k = 4 and 4 channels: a vector every 4
    cycles, so the write made in the cycle of the next vector's read of the same word is
    forwarded."""
    rng = np.random.default_rng(4)
    qnet, _ = quantized(cnn_net(rng, 4, (1, 4, 4), (4,), 3), rng)
    plan = plan_engine(qnet, pipeline=pipeline)
    lp = plan.layers[0]
    dut = PostProcessor(plan)
    assert dut.delay == (7 if pipeline else 2)
    assert lp.frames_out * plan.k == 4
    k = plan.k
    y = rng.integers(-3000, 3000, (lp.vectors, lp.frames_out * 2 * k))  # per pixel, features
    bias = np.array(qnet.layers[0].bias_q)
    written = {}

    async def bench(ctx):
        for name, value in descriptor_values(lp).items():
            ctx.set(dut.desc[name], value)
        ctx.set(dut.layer_start, 1)
        await ctx.tick()
        ctx.set(dut.layer_start, 0)
        # a memory with the engine's timing: the word at the address of ``lat`` cycles ago, as
        # it was before the write of the cycle the memory read it (the request's, or the next
        # one when the buffers register the read address)
        lat = activation_read_delay(plan)
        addrs, states, fwds = [0] * lat, [{}] * (lat + 1), [[None, None]]
        samples = [(v, s, t) for v in range(lp.vectors) for s in range(lp.frames_out)
                   for t in range(k)]
        for n in range(len(samples) + dut.delay + 2):
            if n < len(samples):
                v, s, t = samples[n]
                ctx.set(dut.valid, 1)
                ctx.set(dut.i.y[0], int(y[v, (2 * s) * k + t]))
                ctx.set(dut.i.y[1], int(y[v, (2 * s + 1) * k + t]))
                ctx.set(dut.i.t, t)
                ctx.set(dut.i.s, s)
                ctx.set(dut.i.vector_end, int(s == lp.frames_out - 1 and t == k - 1))
            else:
                ctx.set(dut.valid, 0)
            old = states[-lat - 1 + activation_address_delay(plan)]
            for i in range(2):
                word = old.get((i, addrs[-lat]), 0)
                if fwds[-1][i] is not None:     # the buffers' register took the forwarded write
                    word = fwds[-1][i]
                ctx.set(dut.rmw_data[i], word)
            addrs.append(ctx.get(dut.rmw_addr))
            fwds.append([ctx.get(dut.rmw_fwd_data[i]) if ctx.get(dut.rmw_fwd_en[i]) else None
                         for i in range(2)])
            for i in range(2):
                if ctx.get(dut.write_en[i]):
                    written[i, ctx.get(dut.write_addr)] = ctx.get(dut.write_data[i])
            states.append(dict(written))
            await ctx.tick()

    simulate(dut, bench)
    a, _ = PostProcessor.model(y, np.concatenate([bias, np.zeros(y.shape[1] - len(bias), int)]),
                               lp.relu, lp.out_shift, plan.width)
    oh, ow = lp.out_h, lp.out_w
    pooled = a.reshape(oh, ow, -1)[:2 * lp.pool_h, :2 * lp.pool_w]
    pooled = pooled.reshape(lp.pool_h, 2, lp.pool_w, 2, -1).max(axis=(1, 3))
    for o in range(lp.m):
        for py in range(lp.pool_h):
            for px in range(lp.pool_w):
                bank, addr = block_interleaved(o, py * lp.pool_w + px, lp.out_stride, k)
                assert written[bank, addr] == pooled[py, px, o], (o, py, px)


def test_offset_binary_order_is_the_signed_order():
    """The pooling comparison of pipelined plans compares offset binary (unsigned)."""
    from amaranth.hdl import Module, Signal, signed

    from hw.engine_post import _offset

    m = Module()
    a, b, gt = Signal(signed(16)), Signal(signed(16)), Signal()
    m.d.comb += gt.eq(_offset(a) > _offset(b))
    rng = np.random.default_rng(0)
    edges = [-2 ** 15, -2 ** 15 + 1, -1, 0, 1, 2 ** 15 - 2, 2 ** 15 - 1]
    pairs = [(x, y) for x in edges for y in edges] + [
        tuple(int(v) for v in rng.integers(-2 ** 15, 2 ** 15, 2)) for _ in range(200)]
    out = []

    async def bench(ctx):
        for x, y in pairs:
            ctx.set(a, x)
            ctx.set(b, y)
            out.append(ctx.get(gt))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert out == [int(x > y) for x, y in pairs]
