"""cocotb test of :class:`hw.ram.SimpleDualPortRAM` (any technology, with the primitives'
behavioural models): the initial contents, then every word written and random reads, writes and
read stalls, each read compared with a model of the documented behaviour (a word appears on
``r_data`` after the second enabled clock edge from its address; no word is written while its
read is in flight, which callers never do)."""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge


@cocotb.test()
async def reads_writes_and_stalls(dut):
    cfg = json.loads(os.environ["CIRCNN_RAM_CONFIG"])
    width, depth, init = cfg["width"], cfg["depth"], cfg["init"]
    rng = random.Random(cfg["seed"])
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.w_en.value = 0
    dut.r_en.value = 0
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    mem = dict(enumerate(init))
    state = {"pending": None, "checked": 0}

    async def step(r_en, r_addr, w=None):
        """One clock edge with these inputs (set at the falling edge); check ``r_data``."""
        await FallingEdge(dut.clk)
        dut.r_en.value = r_en
        dut.r_addr.value = r_addr
        dut.w_en.value = int(w is not None)
        if w is not None:
            assert w[0] not in (state["pending"], r_addr if r_en else None)
            dut.w_addr.value, dut.w_data.value = w
        await RisingEdge(dut.clk)
        await ReadOnly()
        if r_en:
            prev, state["pending"] = state["pending"], r_addr
            if prev is not None and prev in mem:
                got = int(dut.r_data.value)
                assert got == mem[prev], f"word {prev}: read {got:#x}, expected {mem[prev]:#x}"
                state["checked"] += 1
        if w is not None:
            mem[w[0]] = w[1]

    for a in range(len(init)):                       # the initial contents
        await step(1, a)
    held = state["pending"]                          # every word written (the one whose
    for a in range(depth):                           # read is in flight after the next read)
        if a != held:
            await step(0, 0, (a, rng.getrandbits(width)))
    if held is not None:
        await step(1, (held + 1) % depth)
        await step(0, 0, (held, rng.getrandbits(width)))
    for _ in range(cfg["cycles"]):                   # reads, writes and stalls at random
        r_en, r_addr = int(rng.random() < 0.7), rng.randrange(depth)
        w = None
        if rng.random() < 0.5:
            a = rng.randrange(depth)
            if a not in (state["pending"], r_addr if r_en else None):
                w = (a, rng.getrandbits(width))
        await step(r_en, r_addr, w)
    await step(1, 0)
    await step(1, 0)
    assert state["checked"] > cfg["cycles"] // 2
