"""circnn quantize, infer --engine fixed|rtl --trace, generate engine, bench engine and cycles:
end to end, and exit code 2 on user mistakes."""

import json

import numpy as np
import pytest

from circnn.cli import main
from golden import model_file, quantized_file
from golden.engine_fixed import run_fixed
from sim.simulators import available

from .cli_run import run


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("engine-cli")
    model = d / "m.npz"
    assert main(["train", "-o", str(model), "--hidden", "32", "--k", "4", "--epochs", "3",
                 "--quiet"]) == 0
    assert main(["dataset", "--split", "train", "-o", str(d / "train.npy")]) == 0
    assert main(["dataset", "-o", str(d / "test.npy"), "--labels", str(d / "labels.npy")]) == 0
    q = d / "q.npz"
    assert main(["quantize", "-m", str(model), "--calib", str(d / "train.npy"), "-o", str(q),
                 "--quiet"]) == 0
    return d, model, q


def test_quantize_report(files, tmp_path, capsys):
    d, model, _ = files
    out_file = tmp_path / "q.npz"
    code, out, err = run(["quantize", "-m", model, "--calib", d / "train.npy", "-o", out_file,
                          "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    assert report["total_saturations"] == 0 and len(report["layers"]) == 2
    assert "quantize: 2 layers" in err
    net, qnet = quantized_file.load(out_file)
    assert qnet.layers[0].wq.shape == (8, 16, 3, 2)


def test_infer_fixed_with_trace(files, tmp_path, capsys):
    d, _, q = files
    trace = tmp_path / "trace"
    code, out, _ = run(["infer", "-m", q, "-i", d / "test.npy", "-o", tmp_path / "y.npy",
                        "--engine", "fixed", "--trace", trace, "--labels", d / "labels.npy"],
                       capsys)
    assert code == 0
    assert "SQNR dB" in out and "accuracy" in out
    report = json.loads((trace / "trace.json").read_text())
    assert [l["layer"] for l in report["layers"]] == [0, 1]
    assert all(l["sqnr_db"] > 30 for l in report["layers"])
    fixed = np.load(trace / "layer1.fixed.npy")
    np.testing.assert_array_equal(fixed, np.load(tmp_path / "y.npy"))
    assert np.load(trace / "layer0.float.npy").shape == (360, 32)


def test_infer_rtl_equals_fixed(files, tmp_path, capsys):
    if not available("verilator"):
        pytest.skip("verilator is not installed")
    d, _, q = files
    x = np.load(d / "test.npy")[:5]
    np.save(tmp_path / "x.npy", x)
    code, out, err = run(["infer", "-m", q, "-i", tmp_path / "x.npy", "-o", tmp_path / "y.npy",
                          "--engine", "rtl", "--build-dir", tmp_path / "b", "--json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["cycles_per_sample"] > 0
    net, qnet = quantized_file.load(q)
    xq, _ = qnet.quantize_input(x)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"),
                                  qnet.dequantize_output(run_fixed(qnet, xq)[0]))


def test_generate_engine(files, tmp_path, capsys):
    _, _, q = files
    code, out, _ = run(["generate", "engine", "-m", q, "--lanes", "4", "-o", tmp_path, "--json"],
                       capsys)
    assert code == 0
    manifest = json.loads((tmp_path / "layer_engine.json").read_text())
    assert manifest == json.loads(out)
    assert (tmp_path / "layer_engine.v").read_text().count("module layer_engine") == 1
    assert manifest["multipliers"] == {"fft": 2, "mac": 4, "total": 6}
    assert manifest["accumulator_width"] == 33 + 4  # q = 16 input blocks
    assert [l["q"] for l in manifest["layers"]] == [16, 8]
    names = {p["name"] for p in manifest["ports"]}
    assert {"i__payload", "o__payload", "w__payload", "saturations", "clk"} <= names
    lines = (tmp_path / "weights_lane0.hex").read_text().split()
    assert len(lines) == manifest["images"]["weights_lane0.hex"]["words"]


def test_bench_cycles(files, tmp_path, capsys):
    """The cycle model against the RTL at a point the user names, as a table and JSON."""
    if not available("verilator"):
        pytest.skip("verilator is not installed")
    _, _, q = files
    code, out, err = run(["bench", "cycles", "-m", q, "--point", "1,2,2", "--samples", "1",
                          "--build-dir", tmp_path / "b", "--json"], capsys)
    assert code == 0, err
    (row,) = json.loads(out)["points"]
    assert (row["p"], row["d"], row["lanes"]) == (1, 2, 2)
    assert abs(row["model_cycles"] - row["rtl_cycles"]) <= 0.05 * row["rtl_cycles"]


def test_bench_cycles_bad_point(files, capsys):
    with pytest.raises(SystemExit) as e:      # argparse's own exit, after its message
        main(["bench", "cycles", "-m", str(files[2]), "--point", "1,2"])
    assert e.value.code == 2
    assert "expected P,D,LANES (three positive integers), got '1,2'" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["infer", "--engine", "fixed", "-m", "{model}", "-i", "{test}", "-o", "{tmp}/y.npy"],
     "not a quantized model"),
    (["infer", "--engine", "float", "-m", "{q}", "-i", "{test}", "-o", "{tmp}/y.npy",
      "--trace", "{tmp}/t"], "--trace needs --engine fixed or rtl"),
    (["infer", "--engine", "fixed", "-m", "{q}", "-i", "{test}", "-o", "{tmp}/y.npy",
      "--waves", "{tmp}/w.vcd"], "--waves needs --engine rtl"),
    (["generate", "engine", "-m", "{q}", "--lanes", "3", "-o", "{tmp}/g"],
     "lanes must be a power of two"),
    (["generate", "engine", "-m", "{q}", "--p", "8", "-o", "{tmp}/g"], "p must be"),
    (["bench", "cycles", "-m", "{q}", "--point", "1,9,2"], "design point p=1 d=9 lanes=2"),
    (["quantize", "-m", "{model}", "--calib", "{tmp}/missing.npy", "-o", "{tmp}/q.npz"],
     "no such file"),
    (["quantize", "-m", "{test}", "--calib", "{test}", "-o", "{tmp}/q.npz"],
     "not a circnn model file"),
])
def test_user_errors_exit_2(files, tmp_path, capsys, args, message):
    d, model, q = files
    subst = {"model": model, "q": q, "test": d / "test.npy", "tmp": tmp_path}
    code, _, err = run([a.format(**subst) for a in args], capsys)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_quantize_refuses_block_size_two(files, tmp_path, capsys):
    d, model, _ = files
    net = model_file.load(model)
    net.layers[1].k = 2
    net.layers[1].weights = np.zeros((5, 16, 2))
    model_file.save(net, tmp_path / "k2.npz")
    code, _, err = run(["quantize", "-m", tmp_path / "k2.npz", "--calib", d / "train.npy",
                        "-o", tmp_path / "q.npz"], capsys)
    assert code == 2 and "layer 1 has block size k = 2" in err
    assert not (tmp_path / "q.npz").exists()


def test_mixed_k_and_dense_run_on_the_fixed_model_and_the_engine(files, tmp_path, capsys):
    """A network of k = 4 then a dense layer quantizes and runs on the fixed model and on the
    layer engine (the dense layer past the FFT), equal bit for bit; a network without a
    block-circulant layer the engine refuses with exit 2 and says which engine runs it."""
    d, _, _ = files
    model, q = tmp_path / "m.npz", tmp_path / "q.npz"
    assert main(["train", "-o", str(model), "--hidden", "32", "--k", "4,1", "--epochs", "3",
                 "--quiet"]) == 0
    assert main(["quantize", "-m", str(model), "--calib", str(d / "train.npy"), "-o", str(q),
                 "--quiet"]) == 0
    capsys.readouterr()
    _, qnet = quantized_file.load(q)
    assert qnet.block_sizes == [4, 1]
    acc = {}
    for engine in ("float", "fixed"):
        code, out, _ = run(["infer", "-m", q, "-i", d / "test.npy", "-o", tmp_path / "y.npy",
                            "--engine", engine, "--labels", d / "labels.npy", "--json"], capsys)
        assert code == 0
        acc[engine] = json.loads(out)["accuracy"]
    assert abs(acc["fixed"] - acc["float"]) <= 0.02, acc
    x = np.load(d / "test.npy")[:12]
    np.save(tmp_path / "x12.npy", x)
    code, out, err = run(["infer", "-m", q, "-i", tmp_path / "x12.npy", "-o", tmp_path / "y2.npy",
                          "--engine", "rtl", "--json"], capsys)
    assert code == 0 and "k=4,1 per layer, engine 4" in err, err
    assert json.loads(out)["cycles_per_sample"] > 0     # (exit 0: equal to the fixed model)
    code, _, _ = run(["infer", "-m", q, "-i", tmp_path / "x12.npy", "-o", tmp_path / "y3.npy",
                      "--engine", "fixed"], capsys)
    np.testing.assert_array_equal(np.load(tmp_path / "y2.npy"), np.load(tmp_path / "y3.npy"))
    # all dense: no transform length to build the engine for
    model1, q1 = tmp_path / "m1.npz", tmp_path / "q1.npz"
    assert main(["train", "-o", str(model1), "--hidden", "16", "--k", "1", "--epochs", "1",
                 "--quiet"]) == 0
    assert main(["quantize", "-m", str(model1), "--calib", str(d / "train.npy"), "-o", str(q1),
                 "--quiet"]) == 0
    code, _, err = run(["infer", "-m", q1, "-i", tmp_path / "x12.npy", "-o", tmp_path / "y4.npy",
                        "--engine", "rtl"], capsys)
    assert code == 2 and "k = 1, 1 (per layer)" in err and "--engine fixed" in err
    assert "Traceback" not in err and not (tmp_path / "y4.npy").exists()
