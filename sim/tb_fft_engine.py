"""cocotb testbench of the FFT engine: driver, monitor, golden model, in-order checker.

Configuration comes from the environment, set by :func:`sim.fft_run.run_fft_rtl`:
``CIRCNN_FFT_CONFIG`` names a JSON file holding the engine parameters, the stimulus file
(``.npz`` with ``frames`` (F, k) complex integers, ``inverse`` (F,) and ``stuffing`` (F,)), the
valid-gap and backpressure probabilities, the seed, whether to check against the golden model,
and where to write the results (``.npz``: ``outputs``, ``saturations``, ``cycles``).
"""

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, ReadOnly, with_timeout
from cocotbext.axi.stream import define_stream

from golden.fft_fixed import FFTParams, fft_fixed
from sim.fft_payload import output_stuffing, pack_input, unpack_output
from sim.testbench_support import apply_pauses, reset_dut

FFTBus, FFTTransaction, FFTSource, FFTSink, FFTMonitor = define_stream(
    "FFT", signals=["valid", "ready", "payload"])


class FFTEngineTB:
    """Driver (source), monitor (sink), model and checker around one FFT engine."""

    def __init__(self, dut, config):
        self.dut = dut
        self.params = FFTParams(**config["params"])
        self.source = FFTSource(FFTBus.from_prefix(dut, "i_"), dut.clk, dut.rst)
        self.sink = FFTSink(FFTBus.from_prefix(dut, "o_"), dut.clk, dut.rst)
        apply_pauses(self.source, self.sink, config)

    async def reset(self):
        await reset_dut(self.dut)

    async def drive(self, frames, inverse, stuffing):
        lanes, beats = self.params.lanes, self.params.beats
        for frame, inv, st in zip(frames, inverse, stuffing):
            for b in range(beats):
                payload = pack_input(self.params, frame[b * lanes:(b + 1) * lanes], bool(inv),
                                     b == beats - 1, int(st))
                await self.source.send(FFTTransaction(payload=payload))

    async def collect(self, n_frames):
        beats = self.params.beats
        outputs, flags = [], []
        for n in range(n_frames * beats):
            t = await self.sink.recv()
            if not t.payload.is_resolvable:
                raise AssertionError(f"output beat {n} (frame {n // beats}) holds X/Z bits: "
                                     f"{t.payload}")
            samples, inv, first, last = unpack_output(self.params, int(t.payload))
            outputs.append(samples)
            flags.append((inv, first, last, output_stuffing(self.params, int(t.payload))))
        return np.concatenate(outputs).reshape(n_frames, self.params.k), flags


@cocotb.test()
async def fft_engine_matches_golden(dut):
    with open(os.environ["CIRCNN_FFT_CONFIG"]) as f:
        config = json.load(f)
    stim = np.load(config["stimulus"])
    frames, inverse, stuffing = stim["frames"], stim["inverse"], stim["stuffing"]
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    tb = FFTEngineTB(dut, config)
    await tb.reset()
    cocotb.start_soon(tb.drive(frames, inverse, stuffing))
    t0 = get_sim_time("ns")
    # generous bound: every frame alone through the engine, slowed 20x by gaps and stalls
    params = tb.params
    bound = 20 * (len(frames) + 2) * (params.passes * params.beats + 4 * params.k + 64)
    outputs, flags = await with_timeout(tb.collect(len(frames)), bound * 10, "ns")
    t1 = get_sim_time("ns")
    await ClockCycles(dut.clk, 4)  # the saturation counter lags the data by a few cycles
    await ReadOnly()
    saturations = int(dut.saturations.value)
    frame_errors = int(dut.frame_errors.value)
    np.savez(config["results"], outputs=outputs, saturations=saturations,
             cycles=int((t1 - t0) // 10), frame_errors=frame_errors)

    # checker: in order, bit for bit, flags, counters
    beats = tb.params.beats
    expected_flags = [(int(inv), int(b == 0), int(b == beats - 1), int(st))
                      for inv, st in zip(inverse, stuffing) for b in range(beats)]
    assert flags == expected_flags, "frame flags (inverse, first, last, stuffing) differ"
    assert frame_errors == 0
    if config.get("check", True):
        want_sat = 0
        for f, (frame, inv, st) in enumerate(zip(frames, inverse, stuffing)):
            want, sat = fft_fixed(frame[None], tb.params, bool(inv), stuffing=int(st))
            if os.environ.get("CIRCNN_FFT_BREAK_MODEL"):  # self-test: the checker must fail
                want = want + 1
            want_sat += sat
            mismatch = np.flatnonzero(want[0] != outputs[f])
            assert mismatch.size == 0, (
                f"frame {f} ({'inverse' if inv else 'forward'}): {mismatch.size} samples differ, "
                f"first at {mismatch[0]}: RTL {outputs[f][mismatch[0]]}, "
                f"golden {want[0][mismatch[0]]}")
        assert saturations == want_sat, f"saturation count {saturations} != golden {want_sat}"
