"""``circnn tune``: pick the engine's ``p``, ``d`` and MAC lanes for a model and a device."""

from __future__ import annotations

import json
from pathlib import Path

from . import options
from .errors import UsageError
from .files import check_output_paths, save_text
from .report import emit, progress, table
from .tuner_models import DEVICES
from .tuner_search import METRICS


def add_parser(sub) -> None:
    p = sub.add_parser(
        "tune", help="choose p, d and MAC lanes for a model on a device",
        description="Bound the FFT parallelism p by memory bandwidth and the device, then "
                    "choose the FFT depth d by ternary search on a metric, for every number of "
                    "MAC lanes the device allows (CirCNN's method), on models of cycles, "
                    "resources, Fmax and energy (no toolchain).  --measure synthesizes the "
                    "candidate points (cached, in parallel, locally or on a Dask cluster) and "
                    "calibrates the models against them.")
    p.add_argument("--model", "-m", required=True, metavar="FILE",
                   help="quantized model file (circnn quantize)")
    p.add_argument("--target", choices=tuple(DEVICES), default="ecp5-85k")
    p.add_argument("--metric", choices=tuple(METRICS), default="throughput",
                   help="what the search optimizes (default throughput)")
    p.add_argument("--energy-table", default=None, metavar="NAME|FILE",
                   help="per-action energies: asic-45nm, fpga-40nm (default for FPGA targets) "
                        "or a JSON file of the same layout")
    p.add_argument("--measure", action="store_true",
                   help="synthesize the candidate points and calibrate the models")
    p.add_argument("--measure-points", type=options.positive_int, default=None, metavar="N",
                   help="--measure: synthesize at most N of the evaluated points that fit (the "
                        "chosen one and others spread over the model's LUT range; default all)")
    p.add_argument("--seeds", type=options.positive_int, default=1, metavar="N",
                   help="--measure: place-and-route seeds per point, Fmax the median (default 1)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="--measure: a Dask scheduler (tcp://host:8786) to run the syntheses on "
                        "(default: a local process pool)")
    p.add_argument("--workers", type=options.positive_int, default=2,
                   help="--measure: local processes (default 2)")
    p.add_argument("--freq", type=options.positive_float, default=150.0,
                   help="--measure: target clock in MHz (default 150)")
    p.add_argument("--time-limit", type=options.positive_float, default=None, metavar="MIN",
                   help="--measure: minutes per synthesis run; a run stopped there (a router "
                        "that does not converge) is recorded as failed and, with "
                        "--measure-points, the nearest point not yet tried is measured instead "
                        "(default: no limit)")
    p.add_argument("--cache-dir", default="build/tune/cache", metavar="DIR",
                   help="--measure: kept synthesis results (default build/tune/cache)")
    p.add_argument("--coefs", default=None, metavar="FILE",
                   help="model coefficients to start from (the 'coefs' of an earlier "
                        "--measure report)")
    p.add_argument("--accelergy", default=None, metavar="FILE",
                   help="also write the chosen point's action counts (Accelergy YAML)")
    p.add_argument("--plot", default=None, metavar="FILE",
                   help="PNG of the design space (throughput against LUTs, Pareto front)")
    p.add_argument("--exhaustive-check", action="store_true",
                   help="also sweep every (d, lanes) and report its optimum and evaluations")
    p.add_argument("--json", metavar="FILE", nargs="?", const="-", default=None,
                   help="report as JSON (stdout, or FILE)")
    p.set_defaults(run=run)


def _load_coefs(path: str | None, target: str):
    if path is None:
        return None
    from .tuner_models import PRIORS

    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UsageError(f"--coefs {path}: cannot read it ({e})") from None
    coefs = data.get("coefs", data) if isinstance(data, dict) else None
    prior = PRIORS[target]
    ok = isinstance(coefs, dict) and all(
        isinstance(coefs.get(r), dict) and set(coefs[r]) == set(prior[r])
        and all(isinstance(v, (int, float)) for v in coefs[r].values()) for r in prior)
    if not ok:
        raise UsageError(f"--coefs {path}: expected {{resource: {{feature: number}}}} for "
                         f"{', '.join(prior)} with the features of the {target} model")
    return coefs


def run(args) -> int:
    from .engine_options import load_quantized
    from .tuner import Tuner
    from .tuner_energy import accelergy_yaml, load_table

    quiet = args.json == "-"
    if args.scheduler and not args.measure:
        raise UsageError("--scheduler needs --measure")
    check_output_paths(args.json, args.plot, args.accelergy)
    _, qnet = load_quantized(args.model)
    etable = load_table(args.energy_table or "fpga-40nm")
    coefs = _load_coefs(args.coefs, args.target)
    tuner = Tuner(qnet, args.target, etable, coefs)
    report = tuner.search(args.metric, exhaustive_check=args.exhaustive_check)
    if args.measure:
        report = _measure_and_retune(args, tuner, report, quiet)
    report.update(_summary(args, tuner, report, etable))
    if args.accelergy:
        save_text(args.accelergy, accelergy_yaml(report["chosen"]["action_counts"]))
    if args.plot:
        from .plots import tune_plot

        tune_plot(list(tuner.evaluated.values()), report["chosen"], args.target, args.metric,
                  args.plot)
    emit(args, _text(report), report)
    return 0


def _measure_and_retune(args, tuner, report, quiet: bool) -> dict:
    """Synthesize the points the search evaluated that fit, calibrate, search again."""
    from .tuner import Tuner
    from .tuner_measure import calibrate, measure_points

    def measure(points):
        return measure_points(args.model, args.target, [pt.as_dict() for pt in points],
                              list(range(1, args.seeds + 1)), args.freq, Path(args.cache_dir),
                              args.scheduler, args.workers, quiet,
                              time_limit=args.time_limit and args.time_limit * 60)

    cands = _measure_candidates(tuner, report, args.measure_points)
    measured = measure(cands)
    last = len(cands) if args.measure_points else 0     # the points of the last round
    while last:
        ok = sum("error" not in m for m in measured)
        failed = [pt for pt, m in zip(cands[-last:], measured[-last:]) if "error" in m]
        extra = _replacements(_fitting_by_lut(tuner), cands, failed, args.measure_points - ok)
        if not extra:
            break
        progress(f"tune: {len(failed)} point(s) failed, {ok} measured; "
                 f"measuring {len(extra)} more in their place", quiet)
        cands, measured, last = cands + extra, measured + measure(extra), len(extra)
    plans = [tuner.plan(pt) for pt in cands]
    cal = calibrate(args.target, plans, measured, tuner.coefs)
    progress("tune: models calibrated; searching again", quiet)
    again = Tuner(tuner.qnet, tuner.target, tuner.table, cal["coefs"])
    out = again.search(args.metric, exhaustive_check=args.exhaustive_check)
    for m, pt in zip(measured, cands):
        before, after = tuner.evaluated[pt], again.evaluate(pt)
        m["estimated_before"] = {**before["resources"], "fmax_mhz": before["fmax_mhz"]}
        m["estimated_after"] = {**after["resources"], "fmax_mhz": after["fmax_mhz"]}
    tuner.evaluated.clear()
    tuner.evaluated.update(again.evaluated)
    out.update(measured=measured, calibration=cal["errors"], coefs=cal["coefs"],
               evaluations_before_calibration=report["evaluations"])
    # the chosen point's measured figures, when it was among the synthesized points
    chosen = out["chosen"]
    for m in measured:
        if m["parameters"] == chosen["parameters"] and m.get("fmax_mhz"):
            chosen["measured"] = {key: m[key] for key in ("lut", "ff", "dsp", "bram", "spram",
                                                          "fmax_mhz")}
            chosen["measured"]["inferences_per_second"] = round(
                m["fmax_mhz"] * 1e6 / chosen["cycles_per_inference"], 1)
    return out


def _fitting_by_lut(tuner) -> list:
    """The evaluated points that fit, in the order of their estimated LUTs."""
    return sorted((pt for pt, r in tuner.evaluated.items() if r["fits"]),
                  key=lambda pt: (tuner.evaluated[pt]["resources"]["lut"], pt.p, pt.d, pt.lanes))


def _replacements(fits: list, tried: list, failed: list, needed: int) -> list:
    """Up to ``needed`` points not yet tried, one per failed point (in its order): the
    nearest to it in ``fits``' order, the smaller one on a tie (more likely to fit)."""
    out, taken = [], set(tried)
    for pt in failed[:max(0, needed)]:
        i = fits.index(pt) if pt in fits else 0
        free = [j for j in range(len(fits)) if fits[j] not in taken]
        if not free:
            break
        j = min(free, key=lambda j: (abs(j - i), j))
        out.append(fits[j])
        taken.add(fits[j])
    return out


def _measure_candidates(tuner, report, limit):
    """The evaluated points that fit, or ``limit`` of them: the chosen point, then points
    evenly spaced in the order of their estimated LUTs."""
    from .tuner_models import DesignPoint

    fits = _fitting_by_lut(tuner)
    if limit is None or len(fits) <= limit:
        return fits
    chosen = DesignPoint(**report["chosen"]["parameters"])
    rest = [pt for pt in fits if pt != chosen]
    n = limit - 1
    picked = [rest[round(i * (len(rest) - 1) / max(1, n - 1))] for i in range(n)] if n else []
    return [chosen] + list(dict.fromkeys(picked))


def _chosen_score(report) -> float:
    from .tuner_search import score

    return score(report["metric"], report["chosen"])


def _summary(args, tuner, report, etable) -> dict:
    c = report["chosen"]
    return {"model": args.model, "target": args.target, "energy_table": etable.get("name"),
            "assumptions": [
                "cycles: golden/engine_cycles.py (the engine's cycle formulas)",
                "LUT, FF, Fmax: linear models of circnn/tuner_models.py"
                + (" calibrated on measured points" if args.measure or args.coefs else
                   " with prior coefficients (not calibrated: run with --measure)"),
                "DSP, block RAM, SPRAM: counted from the plan's memories and multipliers",
                f"energy: action counts x the '{etable.get('name')}' table (dynamic only)"],
            "p": c["parameters"]["p"], "d": c["parameters"]["d"],
            "lanes": c["parameters"]["lanes"], "cycles_per_inference": c["cycles_per_inference"]}


def _text(report) -> str:
    c = report["chosen"]
    res = c["resources"]
    head = table([(c["parameters"]["p"], c["parameters"]["d"], c["parameters"]["lanes"],
                   c["cycles_per_inference"], c["fmax_mhz"], c["inferences_per_second"],
                   res["lut"], res["ff"], res["dsp"], res["bram"], res["spram"],
                   f"{c['energy_per_inference_j'] * 1e6:.3g}", f"{c['gops_per_w']:.3g}")],
                 ("p", "d", "lanes", "cycles", "Fmax MHz", "inf/s", "LUT", "FF", "DSP", "BRAM",
                  "SPRAM", "uJ/inf", "GOPS/W"))
    lines = [f"tune {report['target']}, metric {report['metric']}: chosen point", head, "",
             f"search: {report['evaluations']} model evaluations (ternary search over d for "
             f"lanes {', '.join(str(r['lanes']) for r in report['per_lanes'])})"]
    if report["not_unimodal_lanes"]:
        lines.append("M is not unimodal over d for lanes "
                     f"{', '.join(map(str, report['not_unimodal_lanes']))}: swept exhaustively")
    if "exhaustive" in report:
        e, u = report["exhaustive"], report["exhaustive"]["unrestricted"]
        same = (e["p"], e["d"], e["lanes"]) == tuple(c["parameters"][n] for n in ("p", "d",
                                                                                 "lanes"))
        lines.append(f"exhaustive over d and lanes at the bounded p: p={e['p']} d={e['d']} "
                     f"lanes={e['lanes']} in {e['evaluations']} evaluations "
                     f"({'the same optimum' if same else 'a DIFFERENT optimum'})")
        ratio = _chosen_score(report) / u["score"] if u["score"] not in (0, float("-inf")) else None
        lines.append(f"exhaustive over p, d and lanes: p={u['p']} d={u['d']} lanes={u['lanes']} "
                     f"in {u['evaluations']} evaluations"
                     + (f"; the bounded-p pick scores {ratio:.3f} of it" if ratio else ""))
    lines.append(f"p bound at the chosen d: {report['p_bound'][str(c['parameters']['d'])]}")
    lines.append(f"lanes bound: {report['lanes_bound']}")
    if "measured" in c:
        mc = c["measured"]
        lines.append(f"chosen point measured: {mc['lut']} LUT, {mc['fmax_mhz']} MHz, "
                     f"{mc['inferences_per_second']} inferences/s")
    if "measured" in report:
        bad = [m for m in report["measured"] if "error" in m]
        lines.append(f"measured: {len(report['measured']) - len(bad)} point(s) synthesized"
                     + (f", {len(bad)} failed" if bad else ""))
        for m in bad:
            why = "stopped at the time limit" if "time_limit_s" in m else \
                m["error"].splitlines()[0]
            lines.append(f"  failed {m['parameters']}: {why}")
    if "calibration" in report:
        for res_name, e in report["calibration"].items():
            lines.append(f"calibration {res_name}: {e['points']} points, mean error "
                         f"{e['before_pct']} % before, {e['after_pct']} % after")
    lines += [f"assumption: {a}" for a in report["assumptions"]]
    return "\n".join(lines)
