"""cocotb testbench of the layer engine: stream drivers, monitors, golden expectations, checker.

Configured by ``CIRCNN_ENGINE_CONFIG`` (a JSON file written by :func:`sim.engine_run.run_engine_rtl`)
holding payload bit positions, the stimulus file (``.npz``), the valid-gap and backpressure
probabilities, the seed and a list of steps:

* ``{"op": "infer", "inputs": KEY, "expect": KEY}``: stream the samples ``inputs`` (``(B, n)``
  integers), collect ``B * out_size`` outputs and compare them with ``expect`` (the fixed golden,
  computed by the runner) bit for bit, ``last`` flags included;
* ``{"op": "reload", "lanes": KEY, "addrs": KEY, "data": KEY}``: weight writes through ``w``;
* ``{"op": "reset", "inputs": KEY, "cycles": N}``: stream one sample, wait ``N`` cycles, check the
  engine is busy inside a layer, pulse reset (the next step must then run correctly);
* ``{"op": "stream", "inputs": KEY}``: stream all samples back to back (the engine overlaps
  them) while collecting outputs, until the expected count has arrived and the output has then
  stayed idle for the timeout, or the output went idle before: nothing is compared here, the
  runner counts losses, duplicates, order and values (:mod:`sim.engine_soak`).

Results (``.npz``): ``outputs`` of every infer step concatenated, ``sample_cycles`` (first input
accepted to last output), ``layer_cycles`` ``(samples, layers)`` (cycles spent in each layer),
``saturations`` and ``fft_saturations`` at the end; for stream steps ``stream_values`` and
``stream_lasts`` (every output beat of every stream step, in order) and ``stream_counts`` (beats
per step).
"""

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import (ClockCycles, Edge, First, ReadOnly, RisingEdge, SimTimeoutError,
                             with_timeout)
from cocotbext.axi.stream import define_stream

from sim.testbench_support import apply_pauses, reset_dut

Bus, Transaction, Source, Sink, Monitor = define_stream("Engine", signals=["valid", "ready", "payload"])

PERIOD = 10


def signed(v, w):
    return v - (1 << w) if v >> (w - 1) else v


class LeanIO:
    """Stream driver and collector for speed: no per-cycle Python while the engine computes
    (waits on ``o__valid`` edges), no gaps, no backpressure."""

    def __init__(self, dut, width):
        self.dut, self.width = dut, width

    async def send(self, values):
        dut, mask = self.dut, (1 << self.width) - 1
        for v in values:
            dut.i__payload.value = int(v) & mask
            dut.i__valid.value = 1
            while True:
                await ReadOnly()
                ready = int(dut.i__ready.value)
                await RisingEdge(dut.clk)
                if ready:
                    break
        dut.i__valid.value = 0

    async def recv(self, count):
        """``count`` payloads; ``o__ready`` is held high (set after reset)."""
        dut = self.dut
        values = []
        await RisingEdge(dut.clk)
        while len(values) < count:
            await ReadOnly()
            if int(dut.o__valid.value):
                values.append(dut.o__payload.value)
                await RisingEdge(dut.clk)
            else:
                await RisingEdge(dut.o__valid)
        return values


class LayerEngineTB:
    def __init__(self, dut, config):
        self.dut = dut
        self.cfg = config
        self.width = config["width"]
        self.lean = LeanIO(dut, self.width) if config.get("fast") else None
        # weight writes (reloads, and the weights of an engine without built-in ones) go
        # through the stream model in either mode
        self.wsource = Source(Bus.from_prefix(dut, "w_"), dut.clk, dut.rst)
        if self.lean:
            return
        self.source = Source(Bus.from_prefix(dut, "i_"), dut.clk, dut.rst)
        self.sink = Sink(Bus.from_prefix(dut, "o_"), dut.clk, dut.rst)
        apply_pauses(self.source, self.sink, config)
        self.layer_times = []

    async def reset(self):
        await reset_dut(self.dut, ("i__valid", "o__ready", "w__valid"))
        if self.lean:
            self.dut.o__ready.value = 1

    async def watch_layers(self):
        """Record ``(time, layer, busy)`` at every change of ``layer`` or ``busy``."""
        while True:
            await First(Edge(self.dut.layer), Edge(self.dut.busy))
            await ReadOnly()
            self.layer_times.append((get_sim_time("ns"), int(self.dut.layer.value),
                                     int(self.dut.busy.value)))

    def layer_cycles(self, n_layers):
        """Cycles of each layer of the last sample: from the start (``busy`` rising, then each
        ``layer`` increment) to the next."""
        ev = self.layer_times
        start = next(i for i, e in enumerate(ev) if e[2] == 1)
        marks = [ev[start][0]]
        for t, layer, _ in ev[start + 1:]:
            if layer == len(marks):
                marks.append(t)
        marks += [marks[-1]] * (n_layers + 1 - len(marks))
        return [int((marks[i + 1] - marks[i]) // PERIOD) for i in range(n_layers)]

    async def send_sample(self, sample):
        if self.lean:
            await self.lean.send(sample)
            return
        w = self.width
        mask = (1 << w) - 1
        for n, v in enumerate(sample):
            await self.source.send(Transaction(payload=(int(v) & mask)))
        await self.source.wait()

    async def recv(self, count):
        w = self.width
        out, lasts = [], []
        if self.lean:
            payloads = await self.lean.recv(count)
        else:
            payloads = [(await self.sink.recv()).payload for _ in range(count)]
        for n, payload in enumerate(payloads):
            if not payload.is_resolvable:
                raise AssertionError(f"output {n} holds X/Z bits: {payload}")
            v = int(payload)
            out.append(signed(v & ((1 << w) - 1), w))
            lasts.append((v >> w) & 1)
        return out, lasts

    async def send_samples(self, samples):
        for sample in samples:
            await self.send_sample(sample)

    async def recv_until_idle(self, expected: int, idle_cycles: int):
        """Output beats until ``expected`` have come and none follows for ``idle_cycles``, or the
        output has been idle that long before (a loss): ``(values, lasts)``."""
        payloads = []
        while True:
            try:
                payloads.append((await with_timeout(self.sink.recv(), idle_cycles * PERIOD,
                                                    "ns")).payload)
            except SimTimeoutError:
                break
            if len(payloads) >= expected and len(payloads) % 1000 == 0:
                cocotb.log.info(f"{len(payloads)} output beats")
        w = self.width
        values = [signed(int(p) & ((1 << w) - 1), w) for p in payloads]
        lasts = [(int(p) >> w) & 1 for p in payloads]
        return values, lasts

    async def write_weights(self, lanes, addrs, data):
        c = self.cfg
        for lane, addr, word in zip(lanes, addrs, data):
            payload = ((int(lane) << c["w_lane"]) | (int(addr) << c["w_addr"])
                       | (int(word) << c["w_data"]))
            await self.wsource.send(Transaction(payload=payload))
        await self.wsource.wait()


@cocotb.test()
async def layer_engine_matches_golden(dut):
    with open(os.environ["CIRCNN_ENGINE_CONFIG"]) as f:
        cfg = json.load(f)
    stim = np.load(cfg["stimulus"])
    cocotb.start_soon(Clock(dut.clk, PERIOD, unit="ns").start())
    dut.rst.value = 1  # defined before the stream models start watching it
    tb = LayerEngineTB(dut, cfg)
    await tb.reset()
    cocotb.start_soon(tb.watch_layers())
    out_size, n_layers = cfg["out_size"], cfg["layers"]
    outputs, sample_cycles, layer_cycles = [], [], []
    stream_values, stream_lasts, stream_counts = [], [], []
    for s, step in enumerate(cfg["steps"]):
        if step["op"] == "reload":
            await tb.write_weights(stim[step["lanes"]], stim[step["addrs"]], stim[step["data"]])
        elif step["op"] == "stream":
            inputs = stim[step["inputs"]]
            sender = cocotb.start_soon(tb.send_samples(inputs))
            values, lasts = await tb.recv_until_idle(len(inputs) * out_size,
                                                     cfg["timeout_cycles"])
            sender.cancel()  # finished unless the engine stopped taking inputs
            tb.layer_times = []
            stream_values += values
            stream_lasts += lasts
            stream_counts.append(len(values))
            cocotb.log.info(f"stream step {s}: {len(inputs)} samples in, {len(values)} beats out")
        elif step["op"] == "reset":
            sample = stim[step["inputs"]][0]
            await tb.send_sample(sample)
            await ClockCycles(dut.clk, step["cycles"])
            await ReadOnly()
            assert int(dut.busy.value) == 1, "reset step: the engine was not busy"
            cocotb.log.info(f"reset in layer {int(dut.layer.value)}, phase {int(dut.phase.value)}")
            await RisingEdge(dut.clk)
            await tb.reset()
        else:
            inputs, expect = stim[step["inputs"]], stim[step["expect"]]
            for b, sample in enumerate(inputs):
                tb.layer_times = []
                t0 = None
                sender = cocotb.start_soon(tb.send_sample(sample))
                # the first input accepted starts the clock
                while True:
                    await RisingEdge(dut.clk)
                    await ReadOnly()
                    if int(dut.i__valid.value) and int(dut.i__ready.value):
                        t0 = get_sim_time("ns")
                        break
                bound = cfg["timeout_cycles"] * PERIOD
                got, lasts = await with_timeout(tb.recv(out_size), bound, "ns")
                t1 = get_sim_time("ns")
                await sender
                sample_cycles.append(int((t1 - t0) // PERIOD))
                layer_cycles.append(tb.layer_cycles(n_layers))
                outputs.append(got)
                want = [int(v) for v in expect[b]]
                if os.environ.get("CIRCNN_ENGINE_BREAK_MODEL"):  # self-test: checker must fail
                    want[0] += 1
                bad = [i for i, (g, e) in enumerate(zip(got, want)) if g != e]
                assert not bad, (f"step {s} sample {b}: {len(bad)} of {out_size} outputs differ, "
                                 f"first at {bad[0]}: RTL {got[bad[0]]}, golden {want[bad[0]]}")
                assert lasts == [int(i == out_size - 1) for i in range(out_size)], \
                    f"step {s} sample {b}: 'last' flags wrong"
    await ClockCycles(dut.clk, 4)
    await ReadOnly()
    np.savez(cfg["results"],
             outputs=np.array(outputs, dtype=np.int64).reshape(-1, out_size),
             sample_cycles=np.array(sample_cycles, dtype=np.int64),
             layer_cycles=np.array(layer_cycles, dtype=np.int64).reshape(-1, n_layers),
             stream_values=np.array(stream_values, dtype=np.int64),
             stream_lasts=np.array(stream_lasts, dtype=np.int64),
             stream_counts=np.array(stream_counts, dtype=np.int64),
             saturations=int(dut.saturations.value),
             fft_saturations=int(dut.fft_saturations.value))
