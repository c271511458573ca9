"""Pieces shared by circnn's cocotb testbenches: backpressure patterns and the reset sequence."""

import random

from cocotb.triggers import ClockCycles, RisingEdge


def pause_generator(probability, seed):
    """Endless pauses for a cocotbext-axi stream model: each cycle paused with ``probability``."""
    rng = random.Random(seed)
    while True:
        yield rng.random() < probability


def apply_pauses(source, sink, config):
    """Random valid gaps on ``source`` and backpressure on ``sink`` from a testbench config
    (``gap`` and ``stall`` probabilities, ``seed``)."""
    if config["gap"] > 0:
        source.set_pause_generator(pause_generator(config["gap"], config["seed"]))
    if config["stall"] > 0:
        sink.set_pause_generator(pause_generator(config["stall"], config["seed"] + 1))


async def reset_dut(dut, handshakes=("i__valid", "o__ready"), cycles=3):
    """Drive the handshakes low (no X before the stream models take over), then hold the
    synchronous reset for ``cycles`` clocks."""
    for name in handshakes:
        getattr(dut, name).value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, cycles)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
