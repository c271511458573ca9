"""The tuner: search against exhaustive sweeps, the unimodality check, the bound on p, the
models against what the engine's plan says, energy tables, calibration, the measured sweep's
plumbing (local pool and a Dask LocalCluster) and the CLI's errors."""

import json
import math
import random

import numpy as np
import pytest

from circnn.errors import UsageError
from circnn.tuner import Tuner
from circnn.tuner_energy import accelergy_yaml, action_counts, energy, load_table
from circnn.tuner_measure import calibrate
from circnn.tuner_models import DesignPoint, PRIORS, block_memories, estimate_resources, features
from circnn.tuner_search import exhaustive, is_unimodal, p_bound, ternary_search
from golden.engine_cycles import estimate_cycles
from tests.cli_run import run
from tests.engine_nets import cnn_net, fc_net, quantized


def _qnet(kind="fc", seed=0):
    rng = np.random.default_rng(seed)
    net = fc_net(rng, 16, [128, 96, 10]) if kind == "fc" else cnn_net(rng, 8, channels=(8,))
    return quantized(net, rng)[0]


def test_ternary_search_matches_exhaustive_on_unimodal_functions():
    rng = random.Random(1)
    for _ in range(200):
        lo, hi = 1, rng.randrange(1, 12)
        peak = rng.randrange(lo, hi + 1)
        slope_l, slope_r = rng.uniform(0.1, 3), rng.uniform(0.1, 3)

        def f(x):
            return -(slope_l if x < peak else slope_r) * abs(x - peak)
        best, seen = ternary_search(lo, hi, f)
        assert best == exhaustive(lo, hi, f)[0] == peak
        assert is_unimodal([seen[x] for x in sorted(seen)])
        if hi - lo >= 8:
            assert len(seen) < hi - lo + 1


def test_unimodality_check():
    assert is_unimodal([1, 2, 3, 3, 2]) and is_unimodal([5]) and is_unimodal([1, 2])
    assert not is_unimodal([3, 1, 2]) and not is_unimodal([1, 3, 2, 4])


def test_p_bound_from_the_readers_bandwidth():
    # the reader gives 2 samples/clock; the FFT takes 2p d / log2 k
    assert p_bound(64, 6) == (1, p_bound(64, 6)[1])
    assert p_bound(64, 3)[0] == 2 and p_bound(64, 1)[0] == 4 and p_bound(1024, 1)[0] == 8
    assert p_bound(4, 1)[0] == 2 and "k/2" in p_bound(4, 1)[1]
    for k in (8, 64, 256, 1024):
        stages = k.bit_length() - 1
        for d in range(1, stages + 1):
            p = p_bound(k, d)[0]
            assert 2 * p * d / stages <= 2 and (2 * p > k // 2 or 4 * p * d / stages > 2)


@pytest.mark.parametrize("kind,target", [("fc", "ecp5-85k"), ("cnn", "ecp5-85k"),
                                         ("fc", "ice40-up5k")])
def test_search_finds_the_exhaustive_optimum(kind, target):
    tuner = Tuner(_qnet(kind), target, load_table("fpga-40nm"))
    r = tuner.search("throughput", exhaustive_check=True)
    c, e = r["chosen"]["parameters"], r["exhaustive"]
    assert (c["p"], c["d"], c["lanes"]) == (e["p"], e["d"], e["lanes"])
    assert r["evaluations"] <= e["evaluations"] < e["unrestricted"]["evaluations"]
    assert r["chosen"]["fits"]


def test_not_unimodal_metric_falls_back_to_the_sweep(monkeypatch):
    """A metric with two peaks over d: the search says so and sweeps, and finds the best."""
    import circnn.tuner as tuner_mod

    qnet = _qnet("fc")
    shape = {1: 5.0, 2: 1.0, 3: 4.0, 4: 9.0, 5: 3.0}   # k = 16: d in 1..4 recirculating + 4

    def fake_score(metric, point):
        return shape[point["parameters"]["d"]] + point["parameters"]["lanes"] * 1e-3
    monkeypatch.setattr(tuner_mod, "score", fake_score)
    tuner = Tuner(qnet, "ecp5-85k", load_table("fpga-40nm"))
    r = tuner.search("throughput")
    assert r["not_unimodal_lanes"] == [lp["lanes"] for lp in r["per_lanes"]]
    assert r["chosen"]["parameters"]["d"] == 4


@pytest.mark.parametrize("p, d, lanes", [(2, 3, 2), (4, 3, 8), (1, 3, 1), (2, 1, 2), (1, 2, 4)])
def test_multiplier_count_is_what_the_engine_instantiates(p, d, lanes):
    """The DSP model counts the MULT18X18D cells of the elaborated ECP5 engine: none in the
    fully pipelined FFT's butterflies whose one twiddle is 1 or -j (k = 8: levels 1 and 2, and
    level 0's W^0 and W^2 lanes at p = 4), one multiplier per ROM-fed or other butterfly."""
    from amaranth.back import rtlil
    from circnn.tuner_models import multipliers
    from golden.engine_plan import plan_engine
    from hw.layer_engine import LayerEngine
    rng = np.random.default_rng(0)
    qnet = quantized(fc_net(rng, 8, [32, 24, 10]), rng)[0]
    plan = plan_engine(qnet, p=p, d=d, lanes=lanes, pipeline=2)
    cells = rtlil.convert(LayerEngine(plan, "ecp5")).count("cell \\MULT18X18D")
    assert cells == multipliers(plan)["total"]
    assert multipliers(plan)["mac"] == 4 * lanes


def test_models_follow_the_plan():
    tuner = Tuner(_qnet("fc"), "ecp5-85k", load_table("asic-45nm"))
    small, big = tuner.evaluate(DesignPoint(1, 4, 2)), tuner.evaluate(DesignPoint(1, 4, 8))
    assert big["resources"]["dsp"] - small["resources"]["dsp"] == 4 * 6   # 4 per MAC lane
    assert big["resources"]["lut"] > small["resources"]["lut"]
    assert big["cycles_per_inference"] <= small["cycles_per_inference"]
    plan = tuner.plan(DesignPoint(1, 4, 2))
    assert small["cycles_per_inference"] == estimate_cycles(plan)
    # every memory of the plan is counted: more slots, more block RAM
    assert block_memories(plan, "ecp5-85k")["bram"] >= len(plan.memories)
    assert block_memories(plan, "ice40-up5k")["spram"] >= 1
    assert small["inferences_per_second"] == pytest.approx(
        small["fmax_mhz"] * 1e6 / small["cycles_per_inference"], rel=1e-3)


def test_energy_counts_and_accelergy_yaml():
    tuner = Tuner(_qnet("fc"), "ecp5-85k", load_table("asic-45nm"))
    plan = tuner.plan(DesignPoint(1, 4, 2))
    counts = action_counts(plan, 1000, 0)
    cmacs = sum(lp.pb * lp.q * lp.bins * lp.vectors for lp in plan.layers)
    assert counts["mac"]["mult16"] == 4 * cmacs
    e_asic = energy(counts, load_table("asic-45nm"))
    e_fpga = energy(counts, load_table("fpga-40nm"))
    assert 0 < e_asic["energy_per_inference_j"] < e_fpga["energy_per_inference_j"]
    assert math.isclose(sum(e_asic["by_component_j"].values()),
                        e_asic["energy_per_inference_j"])
    text = accelergy_yaml(counts)
    assert text.startswith("action_counts:\n  version: 0.4\n")
    assert f"counts: {4 * cmacs}" in text


@pytest.mark.parametrize("content,message", [
    ("{", "cannot read"), ('{"unit": "nJ", "actions": {}}', "'unit' must be"),
    ('{"unit": "pJ", "actions": {"mult16": {"energy": 1}}}', "missing action"),
])
def test_bad_energy_tables(tmp_path, content, message):
    f = tmp_path / "t.json"
    f.write_text(content)
    with pytest.raises(UsageError, match=message):
        load_table(str(f))
    with pytest.raises(UsageError, match="no such table"):
        load_table(str(tmp_path / "missing.json"))


def test_calibration_reduces_the_error():
    tuner = Tuner(_qnet("fc"), "ecp5-85k", load_table("fpga-40nm"))
    points = [DesignPoint(1, d, lanes) for d in (2, 4) for lanes in (2, 4)]
    plans = [tuner.plan(pt) for pt in points]
    # "measurements": the prior's estimate scaled by 1.3 with a few per cent of noise
    rng = np.random.default_rng(0)
    measured = []
    for plan in plans:
        est = estimate_resources(plan, "ecp5-85k")
        f = features(plan)
        period = sum(c * f[n] for n, c in PRIORS["ecp5-85k"]["period_ns"].items())
        measured.append({"lut": est["lut"] * 1.3 * rng.uniform(0.97, 1.03),
                         "ff": est["ff"] * 0.8, "fmax_mhz": 1000 / (period * 1.1)})
    cal = calibrate("ecp5-85k", plans, measured)
    for res in ("lut", "ff", "period_ns"):
        e = cal["errors"][res]
        assert e["points"] == 4 and e["after_pct"] < e["before_pct"]
    assert cal["errors"]["lut"]["after_pct"] < 3 and cal["errors"]["ff"]["after_pct"] < 0.1


def _model_synth(model, target, point, seed, freq, time_limit=None):
    """Stands in for the synthesis flow in the plumbing test (deterministic figures from the
    models): what is tested is the distribution, the caching and the merging of runs."""
    from circnn.engine_options import load_quantized
    from circnn.tuner_models import estimate_fmax

    _, qnet = load_quantized(model)
    tuner = Tuner(qnet, target, load_table("fpga-40nm"))
    plan = tuner.plan(DesignPoint(**point))
    return {**estimate_resources(plan, target), "fmax_mhz": estimate_fmax(plan, target) + seed}


def test_measured_sweep_on_a_pool_and_on_dask_is_the_same(tmp_path, monkeypatch):
    distributed = pytest.importorskip("dask.distributed", reason="dask.distributed not installed")
    import circnn.tuner_measure as tm

    model = _write_model(tmp_path)
    monkeypatch.setattr(tm, "synthesize_point", _model_synth)
    points = [{"p": 1, "d": 2, "lanes": 2}, {"p": 1, "d": 4, "lanes": 4}]
    local = tm.measure_points(str(model), "ecp5-85k", points, [1, 2, 3], 150.0,
                              tmp_path / "cache-a", workers=1, quiet=True)
    cluster = distributed.LocalCluster(n_workers=2, processes=False, dashboard_address=None)
    try:
        on_dask = tm.measure_points(str(model), "ecp5-85k", points, [1, 2, 3], 150.0,
                                    tmp_path / "cache-b", scheduler=cluster.scheduler_address,
                                    quiet=True)
    finally:
        cluster.close()
    strip = [{k: v for k, v in r.items() if k != "cached"} for r in local]
    assert strip == [{k: v for k, v in r.items() if k != "cached"} for r in on_dask]
    assert [r["fmax_mhz"] for r in local] == [
        _model_synth(str(model), "ecp5-85k", pt, 2, 150)["fmax_mhz"] for pt in points]
    again = tm.measure_points(str(model), "ecp5-85k", points, [1, 2, 3], 150.0,
                              tmp_path / "cache-a", workers=1, quiet=True)
    assert [r["cached"] for r in again] == [3, 3]


def _write_model(tmp_path):
    rng = np.random.default_rng(0)
    net = fc_net(rng, 16, [128, 96, 10])
    qnet = quantized(net, rng)[0]
    from circnn.files import save_quantized_model

    path = tmp_path / "fc-q.npz"
    save_quantized_model(str(path), net, qnet)
    return path


def test_tune_cli(tmp_path, capsys):
    model = _write_model(tmp_path)
    out, plot, yaml = tmp_path / "t.json", tmp_path / "t.png", tmp_path / "a.yaml"
    code, text, err = run(["tune", "-m", model, "--target", "ecp5-85k", "--json", out,
                           "--plot", plot, "--accelergy", yaml, "--exhaustive-check"], capsys)
    assert code == 0, err
    assert "the same optimum" in text
    rep = json.loads(out.read_text())
    for key in ("p", "d", "lanes", "cycles_per_inference", "evaluations", "chosen"):
        assert key in rep
    assert rep["chosen"]["resources"]["lut"] > 0 and rep["chosen"]["energy_per_inference_j"] > 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "action_counts:" in yaml.read_text()


@pytest.mark.parametrize("extra,message", [
    (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --measure"),
    (["--energy-table", "nosuch"], "no such table"),
    (["--json", "/nonexistent/dir/r.json"], "does not exist"),
    (["--coefs", "COEFS"], "--coefs"),
])
def test_tune_cli_errors(tmp_path, capsys, extra, message):
    model = _write_model(tmp_path)
    (tmp_path / "c.json").write_text('{"coefs": {"lut": {"one": 1}}}')
    extra = [str(tmp_path / "c.json") if a == "COEFS" else a for a in extra]
    plot = tmp_path / "p.png"
    code, _, err = run(["tune", "-m", model, "--plot", plot] + extra, capsys)
    assert code == 2 and "circnn: error:" in err and message in err, err
    assert not plot.exists()


def test_measure_candidates_spread_over_the_space():
    from circnn.cmd_tune import _measure_candidates

    tuner = Tuner(_qnet("fc"), "ecp5-85k", load_table("fpga-40nm"))
    report = tuner.search("throughput")
    fits = [pt for pt, r in tuner.evaluated.items() if r["fits"]]
    assert sorted(_measure_candidates(tuner, report, None), key=str) == sorted(fits, key=str)
    picked = _measure_candidates(tuner, report, 4)
    assert len(picked) == len(set(picked)) == 4 and all(pt in fits for pt in picked)
    assert picked[0].as_dict() == report["chosen"]["parameters"]
    luts = sorted(tuner.evaluated[pt]["resources"]["lut"] for pt in fits)
    got = {tuner.evaluated[pt]["resources"]["lut"] for pt in picked}
    assert luts[0] in got and luts[-1] in got   # both ends of the range


@pytest.mark.slow
def test_real_measured_sweep_on_a_pool_and_on_dask_is_the_same(tmp_path):
    """The same small sweep of real syntheses (yowasp Yosys and nextpnr-ice40) on the local pool
    and on a Dask LocalCluster, each from an empty cache: identical figures (the flow is
    deterministic for a seed); then the pool's sweep again, all cached."""
    distributed = pytest.importorskip("dask.distributed", reason="dask.distributed not installed")
    import circnn.tuner_measure as tm

    rng = np.random.default_rng(0)
    net = fc_net(rng, 8, [32, 16])
    qnet = quantized(net, rng)[0]
    from circnn.files import save_quantized_model

    model = tmp_path / "tiny-q.npz"
    save_quantized_model(str(model), net, qnet)
    # the second point needs 16 multipliers, the UP5K has 8: its failure is recorded
    points = [{"p": 1, "d": 1, "lanes": 1}, {"p": 1, "d": 3, "lanes": 1}]
    local = tm.measure_points(str(model), "ice40-up5k", points, [1, 2], 12.0, tmp_path / "a",
                              workers=2, quiet=True)
    cluster = distributed.LocalCluster(n_workers=2, processes=True, dashboard_address=None)
    try:
        on_dask = tm.measure_points(str(model), "ice40-up5k", points, [1, 2], 12.0,
                                    tmp_path / "b", scheduler=cluster.scheduler_address,
                                    quiet=True)
    finally:
        cluster.close()
    assert "error" not in local[0] and local[0]["lut"] > 0, local
    assert "ICESTORM_DSP" in local[1]["error"], local
    assert [{k: v for k, v in r.items() if k != "cached"} for r in local] == \
        [{k: v for k, v in r.items() if k != "cached"} for r in on_dask]
    again = tm.measure_points(str(model), "ice40-up5k", points, [1, 2], 12.0, tmp_path / "a",
                              workers=2, quiet=True)
    assert again[0]["cached"] == 2 and again == [dict(r, cached=2) if "cached" in r else r
                                                 for r in local]


def test_calibration_by_least_squares_recovers_a_linear_truth():
    """With enough points the coefficients of the varying features are fitted: measurements
    that are exactly linear in the features (other coefficients than the priors') are
    reproduced, also leave-one-out."""
    tuner = Tuner(_qnet("fc"), "ecp5-85k", load_table("fpga-40nm"))
    points = [DesignPoint(p, d, lanes) for p, d in ((1, 1), (1, 2), (2, 1), (1, 4))
              for lanes in (1, 2, 4, 8)]
    plans = [tuner.plan(pt) for pt in points]
    truth = {"one": 2000.0, "fft_mults": 400.0, "fft_lanes": 90.0, "mac_lanes": 520.0}
    measured = [{"lut": sum(c * features(pl)[n] for n, c in truth.items()) + 37.0 * len(pl.layers),
                 "ff": 1000.0, "fmax_mhz": 100.0} for pl in plans]
    cal = calibrate("ecp5-85k", plans, measured)
    e = cal["errors"]["lut"]
    assert e["method"] == "least squares" and e["before_pct"] > 5
    assert e["after_pct"] < 0.01 and e["leave_one_out_pct"] < 0.01
    assert cal["coefs"]["lut"]["mac_lanes"] == pytest.approx(520.0)


def test_a_tool_run_is_stopped_at_the_time_limit(tmp_path):
    import time

    from circnn.synth import SynthesisTimeout, _run

    t0 = time.time()
    with pytest.raises(SynthesisTimeout, match="sleep stopped at the time limit"):
        _run(["sleep", "30"], tmp_path, tmp_path / "log", "sleep", deadline=time.time() + 1)
    assert time.time() - t0 < 10


def _slow_point_synth(model, target, point, seed, freq, time_limit=None):
    """The model stand-in, except that points with 4 lanes 'do not route' in the time limit."""
    if point["lanes"] == 4:
        return {"error": "nextpnr (seed 1) stopped at the time limit", "time_limit_s": time_limit}
    return _model_synth(model, target, point, seed, freq)


def test_runs_stopped_at_the_time_limit_are_kept_and_retried_only_with_a_longer_one(
        tmp_path, monkeypatch):
    import circnn.tuner_measure as tm

    model = _write_model(tmp_path)
    monkeypatch.setattr(tm, "synthesize_point", _slow_point_synth)
    points = [{"p": 1, "d": 2, "lanes": 2}, {"p": 1, "d": 2, "lanes": 4}]

    def sweep(limit):
        return tm.measure_points(str(model), "ecp5-85k", points, [1], 150.0, tmp_path / "c",
                                 workers=1, quiet=True, time_limit=limit)

    first = sweep(600)
    assert "error" not in first[0] and first[1]["time_limit_s"] == 600
    assert [r.get("cached") for r in sweep(600)] == [1, None]       # not retried
    assert sweep(300)[1]["time_limit_s"] == 600                      # a shorter limit: kept
    assert sweep(1200)[1]["time_limit_s"] == 1200                    # a longer one: tried again
    assert sweep(None)[1]["time_limit_s"] is None                    # no limit: tried again


def test_replacements_are_the_nearest_points_not_tried():
    from circnn.cmd_tune import _replacements

    fits = list("abcdefg")
    assert _replacements(fits, ["a", "d", "g"], ["d"], 1) == ["c"]      # a tie: the smaller
    assert _replacements(fits, ["a", "c", "d", "g"], ["d"], 1) == ["e"]
    assert _replacements(fits, ["a", "d", "g"], ["d", "g"], 2) == ["c", "f"]
    assert _replacements(fits, ["a", "d", "g"], ["d", "g"], 1) == ["c"]
    assert _replacements(fits, fits, ["d"], 1) == []


def test_tune_measures_other_points_in_place_of_the_failed_ones(tmp_path, monkeypatch, capsys):
    import circnn.tuner_measure as tm

    model = _write_model(tmp_path)
    monkeypatch.setattr(tm, "synthesize_point", _slow_point_synth)
    out = tmp_path / "t.json"
    code, text, err = run(["tune", "-m", model, "--measure", "--measure-points", "5",
                           "--time-limit", "0.5", "--workers", "1", "--cache-dir",
                           tmp_path / "cache", "--json", out], capsys)
    assert code == 0, err
    rep = json.loads(out.read_text())
    ok = [m for m in rep["measured"] if "error" not in m]
    failed = [m for m in rep["measured"] if "error" in m]
    assert failed and all(m["parameters"]["lanes"] == 4 for m in failed)
    assert all(m["time_limit_s"] == 30 for m in failed)
    assert len(ok) == 5 and all(m["parameters"]["lanes"] != 4 for m in ok)
    assert rep["calibration"]["lut"]["points"] == 5


def test_a_tool_crash_is_run_again_and_never_cached(tmp_path, monkeypatch):
    """A tool exiting with an error status but no ERROR line (seen once: Yosys exit 1 with
    three syntheses starting together) is not a verdict on the design."""
    import circnn.tuner_measure as tm

    model = _write_model(tmp_path)
    log = tmp_path / "calls"      # the runs happen in worker processes
    log.write_text("")
    crash = {"error": "yosys failed (exit 1); last lines of <workdir>/synth.log:\n$ yosys"}

    def flaky(model, target, point, seed, freq, time_limit):
        with open(log, "a") as f:
            f.write(f"{point['lanes']}\n")
        if point["lanes"] == 4 or log.read_text().split().count("2") == 1:
            return dict(crash)
        return _model_synth(model, target, point, seed, freq)

    def runs(lanes):
        return log.read_text().split().count(str(lanes))

    monkeypatch.setattr(tm, "_synthesize_once", flaky)
    points = [{"p": 1, "d": 2, "lanes": 2}, {"p": 1, "d": 2, "lanes": 4}]
    got = tm.measure_points(str(model), "ecp5-85k", points, [1], 150.0, tmp_path / "c",
                            workers=1, quiet=True)
    assert "error" not in got[0] and runs(2) == 2          # run again, then measured
    assert got[1]["error"] == crash["error"] and runs(4) == 2
    again = tm.measure_points(str(model), "ecp5-85k", points, [1], 150.0, tmp_path / "c",
                              workers=1, quiet=True)
    assert again[0]["cached"] == 1 and "cached" not in again[1] and runs(4) == 4
    # a failure with the tool's ERROR line is a verdict: kept
    assert not tm._transient({"error": "nextpnr (seed 1) failed (exit 1); ...\nERROR: Unable "
                                       "to place cell"})
