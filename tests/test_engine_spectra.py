# amaranth: UnusedElaboratable=no
"""The spectrum memories (hw/engine_spectra.py) in the Amaranth simulator against a dictionary:
PairedBanks with random addresses (same-bank reads give port 0's word on both ports), the Z
buffer with the MAC's read pairs ``m, (k - m) mod k``, the Y banks with the reader's pairs."""

import random

import pytest
from amaranth.sim import Simulator

from hw.engine_spectra import PairedBanks, YBanks, ZBuffer


def run(dut, writes, reads, set_write, set_read, get_read):
    """Apply ``writes`` (one list of port tuples per cycle), then stream ``reads`` (one
    address tuple per cycle); return what each read gave, aligned with ``reads``."""
    out = []

    async def bench(ctx):
        for w in writes:
            set_write(ctx, w)
            await ctx.tick()
        set_write(ctx, None)
        got = []
        for r in reads + [reads[-1]] * dut.delay:
            set_read(ctx, r)
            await ctx.tick()
            got.append(get_read(ctx))
        out.extend(got[dut.delay - 1:dut.delay - 1 + len(reads)])

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return out


def write_words(dut):
    """Sets one write per cycle: ``[(address, [word per lane])]``, or none."""
    def set_write(ctx, w):
        ctx.set(dut.w_en, w is not None)
        if w is not None:
            ctx.set(dut.w_addr, w[0][0])
            for i, v in enumerate(w[0][1]):
                ctx.set(dut.w_data[i], v)
    return set_write


def read_pairs(dut):
    """Sets the two read addresses of a cycle."""
    def set_read(ctx, r):
        ctx.set(dut.r_addr[0], r[0])
        ctx.set(dut.r_addr[1], r[1])
    return set_read


def bank_of(addr, bits):
    b = 0
    for i in bits:
        b ^= (addr >> i) & 1
    return b


@pytest.mark.parametrize("depth, bits, writes", [(16, (0,), 1), (32, (1, 3), 2), (8, (2,), 2)])
def test_paired_banks_random(depth, bits, writes):
    rng = random.Random(depth * 7 + writes)
    dut = PairedBanks(12, depth, bits, writes)
    mem = {}
    cycles = []
    for _ in range(3 * depth):
        ports = []
        a0 = rng.randrange(depth)
        ports.append((a0, rng.randrange(1 << 12)))
        if writes == 2:     # a second write in the other bank
            a1 = rng.choice([a for a in range(depth) if bank_of(a, bits) != bank_of(a0, bits)])
            ports.append((a1, rng.randrange(1 << 12)))
        for a, v in ports:
            mem[a] = v
        cycles.append(ports)
    addrs = sorted(mem)
    reads = [(rng.choice(addrs), rng.choice(addrs)) for _ in range(4 * depth)]

    def set_write(ctx, ports):
        for p in range(writes):
            on = ports is not None
            ctx.set(dut.w_en[p], on)
            if on:
                ctx.set(dut.w_addr[p], ports[p][0])
                ctx.set(dut.w_data[p], ports[p][1])

    got = run(dut, cycles, reads, set_write, read_pairs(dut),
              lambda ctx: (ctx.get(dut.r_data[0]), ctx.get(dut.r_data[1])))
    same = 0
    for (a0, a1), (d0, d1) in zip(reads, got):
        assert d0 == mem[a0]
        if bank_of(a0, bits) != bank_of(a1, bits):
            assert d1 == mem[a1]
        else:               # one bank read once: port 1 shows port 0's word
            same += 1
            assert d1 == mem[a0]
    assert same > 0         # the conflict case was exercised


def test_paired_banks_validation():
    with pytest.raises(ValueError, match="depth must be a power of two of at least 2, not 12"):
        PairedBanks(8, 12, (0,))
    with pytest.raises(ValueError, match=r"bank_bits must be address bits \(0 to 3\), not \(4,\)"):
        PairedBanks(8, 16, (4,))
    with pytest.raises(ValueError, match="writes must be 1 or 2, not 3"):
        PairedBanks(8, 16, (0,), 3)


@pytest.mark.parametrize("k, lanes, frames", [(8, 2, 4), (16, 4, 2), (4, 2, 2)])
def test_z_buffer_mac_pairs(k, lanes, frames):
    rng = random.Random(k * lanes)
    depth = k * frames
    dut = ZBuffer(10, depth, k, lanes)
    samples = [rng.randrange(1 << 10) for _ in range(depth)]
    beats = [[(b, samples[b * lanes:(b + 1) * lanes])] for b in range(depth // lanes)]
    reads = []
    for _ in range(3 * depth):
        f, m = rng.randrange(frames), rng.randrange(k)
        reads.append((f * k + m, f * k + (k - m) % k))

    got = run(dut, beats, reads, write_words(dut), read_pairs(dut),
              lambda ctx: (ctx.get(dut.r_data[0]), ctx.get(dut.r_data[1])))
    assert got == [(samples[a], samples[b]) for a, b in reads]


@pytest.mark.parametrize("k, lanes", [(8, 1), (8, 4), (16, 2)])
def test_y_banks_reader_pairs(k, lanes):
    rng = random.Random(k + lanes)
    depth = 4 * k
    dut = YBanks(14, depth, k, lanes)
    words = [[rng.randrange(1 << 14) for _ in range(lanes)] for _ in range(depth)]
    writes = [[(a, words[a])] for a in range(depth)]
    reads = []
    for _ in range(3 * depth):
        if lanes > 1:       # two neighbouring samples of one block
            a = rng.randrange(depth // 2) * 2
            reads.append((a, a + 1))
        else:               # one sample of two blocks (groups 2g, 2g + 1)
            g, n = rng.randrange(depth // (2 * k)), rng.randrange(k)
            reads.append((2 * g * k + n, (2 * g + 1) * k + n))

    got = run(dut, writes, reads, write_words(dut), read_pairs(dut),
              lambda ctx: [(ctx.get(dut.r_data[i][0]), ctx.get(dut.r_data[i][1]))
                           for i in range(lanes)])
    assert got == [[(words[a][i], words[b][i]) for i in range(lanes)] for a, b in reads]
