"""cocotb testbench of a board top: the host's session (``golden.board_protocol``) over UART
models (cocotbext-uart) on the ``uart_rx`` and ``uart_tx`` pins.

Configured by ``CIRCNN_BOARD_CONFIG`` (a JSON file written by :func:`sim.board_run.run_board`):
the model id, value width, UART bit time, the samples file (``.npz``: ``x``, optional ``lanes``,
``addrs``, ``words`` for a weight reload), ``raw`` frames (hex) to send before the session with
the statuses expected back, and where to write the results (``.npz``: ``outputs``, the
``statuses`` of the raw frames, ``cycles``).
"""

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, with_timeout
from cocotbext.uart import UartSink, UartSource

from golden import board_protocol as bp

PERIOD = 10


class BoardLink:
    """Bytes to and from the board's pins; whole replies out (the host's transport)."""

    def __init__(self, dut, bit_ns):
        baud = 1e9 / bit_ns
        self.source = UartSource(dut.uart_rx, baud=baud, bits=8)
        self.sink = UartSink(dut.uart_tx, baud=baud, bits=8)
        self.parser = bp.ReplyParser()
        self.pending = []
        self.bit_ns = bit_ns

    async def exchange(self, frame: bytes, timeout_ns: int):
        await self.source.write(frame)
        await self.source.wait()
        return await with_timeout(self._reply(), timeout_ns, "ns")

    async def _reply(self):
        while not self.pending:
            self.pending += self.parser.feed(bytes(await self.sink.read()))
        return self.pending.pop(0)


@cocotb.test()
async def board_answers_the_host(dut):
    with open(os.environ["CIRCNN_BOARD_CONFIG"]) as f:
        cfg = json.load(f)
    stim = np.load(cfg["stimulus"])
    cocotb.start_soon(Clock(dut.clk, PERIOD, unit="ns").start())
    dut.uart_rx.value = 1
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    link = BoardLink(dut, cfg["bit_ns"])
    timeout = cfg["timeout_cycles"] * PERIOD
    t0 = get_sim_time("ns")
    statuses = []
    for frame_hex in cfg["raw"]:
        status, _ = await link.exchange(bytes.fromhex(frame_hex), timeout)
        statuses.append(status)
    weights = []
    if "words" in stim.files:
        weights = bp.encode_weights(stim["lanes"], stim["addrs"], stim["words"], cfg["width"])
    session = bp.inference_session(cfg["model_id"], cfg["width"], stim["x"], weights,
                                   [bytes.fromhex(f) for f in cfg["model_frames"]])
    frame = next(session)
    while True:
        reply = await link.exchange(frame, timeout)
        try:
            frame = session.send(reply)
        except StopIteration as done:
            outputs = done.value
            break
    np.savez(cfg["results"], outputs=outputs, statuses=np.array(statuses, dtype=np.int64),
             cycles=int((get_sim_time("ns") - t0) // PERIOD))
