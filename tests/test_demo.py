"""``circnn demo``: the whole flow on a quick configuration, its cache, its report page."""

import json
import shutil
import subprocess

import numpy as np
import pytest

from circnn.cli import main
from circnn.demo import DemoConfig, _dense_step
from circnn.digits import load_digits_split
from circnn.errors import UsageError
from circnn.step_cache import StepCache
from golden import model_file

from . import onnx_graphs as G
from .cli_run import run


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "run"
    assert main(["demo", "--quick", "-o", str(out), "--quiet", "--json",
                 str(out.parent / "r.json")]) == 0
    return out


def test_report_figures(demo):
    r = json.loads((demo / "report.json").read_text())
    assert r == json.loads((demo.parent / "r.json").read_text())
    rtl = r["rtl"]
    assert rtl["status"] == "ok" and rtl["mismatches"] == 0 and rtl["samples"] == 360
    _, _, _, y_test = load_digits_split()
    y_rtl = np.load(demo / "y_rtl_int.npy")
    np.testing.assert_array_equal(y_rtl, np.load(demo / "y_fixed_int.npy"))
    assert r["fixed"]["accuracy"] == pytest.approx(np.mean(y_rtl.argmax(1) == y_test))
    comp = r["compression"]
    assert comp["k"] == 8 and comp["reduction"] > 4
    assert comp["accuracy"]["finetuned"] > comp["accuracy"]["frobenius_projection"]
    assert [e["k"] for e in r["sweep"]] == [4, 8]
    assert len(r["fixed"]["layers"]) == 3 and len(r["fixed"]["ranges"]) == 4
    for e in r["fixed"]["ranges"]:  # every observed value inside its format
        assert e["lsb"] < e["format_max"] and e["max"] <= e["format_max"]
    assert r["synth"]["status"] == "skipped" and "issue 9" in r["synth"]["reason"]
    banks = rtl["memories"]["weight_banks"]
    assert banks["count"] == rtl["lanes"] and banks["bits"] == 32
    assert rtl["memory_bits"] > banks["count"] * banks["depth"] * banks["bits"]
    assert not any(s["cached"] for s in r["steps"])


def test_second_run_is_cached(demo, capsys):
    first = json.loads((demo / "report.json").read_text())
    code, out, err = run(["demo", "--quick", "-o", demo], capsys)
    assert code == 0
    again = json.loads((demo / "report.json").read_text())
    assert all(s["cached"] for s in again["steps"])
    for key in ("dense", "scratch", "sweep", "compression", "fixed", "rtl"):
        assert again[key] == first[key]
    assert "digits test accuracy" in out and "report.html" in out and "cached" in err


def test_step_cache_keys(tmp_path):
    calls = []
    cache = StepCache(tmp_path, quiet=True)
    src, out = tmp_path / "in.bin", tmp_path / "out.bin"
    src.write_bytes(b"a")

    def produce():
        calls.append(1)
        out.write_bytes(b"x")
        return {"n": len(calls)}

    assert cache.run("s", {"p": 1}, produce, inputs=(src,), outputs=(out,)) == {"n": 1}
    assert cache.run("s", {"p": 1}, produce, inputs=(src,), outputs=(out,)) == {"n": 1}
    assert cache.run("s", {"p": 2}, produce, inputs=(src,), outputs=(out,)) == {"n": 2}
    src.write_bytes(b"b")
    assert cache.run("s", {"p": 2}, produce, inputs=(src,), outputs=(out,)) == {"n": 3}
    out.unlink()
    assert cache.run("s", {"p": 2}, produce, inputs=(src,), outputs=(out,)) == {"n": 4}
    assert [s["cached"] for s in cache.log] == [False, True, False, False, False]


def test_report_page_is_self_contained(demo):
    page = (demo / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 2
    assert "http://" not in page and "https://" not in page
    for text in ("<h2>Accuracy</h2>", "<h2>Fixed point</h2>", "<h2>Hardware</h2>",
                 "RTL == fixed golden on 360 of 360 images", "Synthesis: skipped"):
        assert text in page


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None,
                    reason="no headless browser: install Debian's chromium to check the page")
def test_report_page_in_a_browser(demo, tmp_path):
    base = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}"]
    url = (demo / "report.html").as_uri()
    dom = subprocess.run(base + ["--virtual-time-budget=5000", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120).stdout
    # the page's own script counts the images that decoded
    assert 'data-images-ok="2"' in dom and 'data-images="2"' in dom
    assert "<h2>Compression</h2>" in dom and 'alt="value ranges' in dom
    shot = tmp_path / "page.png"
    subprocess.run(base + ["--window-size=1100,2400", f"--screenshot={shot}", url],
                   capture_output=True, timeout=120)
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert pixels.shape[0] == 2400 and pixels.std() > 0.05  # not a blank page


def test_demo_starts_from_an_onnx_model(tmp_path):
    path = G.save(G.mlp(np.random.default_rng(0), sizes=(64, 32, 10)), tmp_path / "m.onnx")
    cfg = DemoConfig(out=tmp_path, onnx=str(path), input_scale=1 / 16, quiet=True)
    dense = _dense_step(cfg, StepCache(tmp_path, quiet=True))
    net = model_file.load(dense)
    assert [layer.out_features for layer in net.layers] == [32, 10]
    assert net.input_scale == pytest.approx(1 / 16)
    wrong = G.save(G.mlp(np.random.default_rng(0), sizes=(64, 5)), tmp_path / "w.onnx")
    with pytest.raises(UsageError, match="the demo runs on digits"):
        _dense_step(DemoConfig(out=tmp_path / "w", onnx=str(wrong)),
                    StepCache(tmp_path / "w", quiet=True))


@pytest.mark.parametrize("args, message", [
    (["--k", "3"], "--k must be a power of two of at least 4"),
    (["--lanes", "3"], "--lanes must be a power of two"),
    (["--onnx", "missing.onnx"], "no such file"),
    (["--input-scale", "2"], "go with --onnx"),
    (["-o", "afile"], "exists and is not a directory"),
])
def test_demo_user_errors_exit_2(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    code, _, err = run(["demo", "--quick", *(["-o", "out"] if "-o" not in args else []), *args],
                       capsys)
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
