"""Measured design points for the tuner: the engine synthesis flow (``circnn synth engine``) run
on candidate points in parallel, cached, on a local process pool or a Dask cluster; and the
calibration of the models against them.

Each run is one ``(point, seed)``; its result is kept (:mod:`circnn.synth_cache`), keyed by the
point, the target, the clock, the seed, the model file's contents, the gateware's source and
the toolchain's versions, so a repeated sweep costs nothing.  A failed run (the design
does not fit, a tool error, the time limit) is recorded with its reason and the sweep goes on;
a tool crash without an error message is run once more and, failing again, not cached.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from .errors import UsageError
from .report import progress
from .step_cache import file_digest
from .synth_cache import load_run, run_key, store_run
from .tuner_models import LINEAR_RESOURCES, PRIORS, features

__all__ = ["measure_points", "calibrate", "synthesize_point"]


def synthesize_point(model: str, target: str, point: dict, seed: int, freq: float,
                     time_limit: float | None = None) -> dict:
    """One synthesis of the engine of ``model`` at ``point`` (a worker's job: no shared
    state, picklable arguments).  Returns the figures or ``{"error": reason}``, with
    ``time_limit_s`` when the run was stopped at ``time_limit`` seconds.  A tool that exits
    with an error status but no ``ERROR`` line (a crash, not a verdict on the design) is run
    once more; if it fails so again the result says ``transient`` (and is not cached)."""
    r = _synthesize_once(model, target, point, seed, freq, time_limit)
    if _transient(r):
        r = _synthesize_once(model, target, point, seed, freq, time_limit)
        if _transient(r):
            r["transient"] = True
    return r


def _transient(r: dict) -> bool:
    e = r.get("error", "")
    return "failed (exit" in e and "ERROR" not in e and "time_limit_s" not in r


def _synthesize_once(model, target, point, seed, freq, time_limit) -> dict:
    from golden.engine_plan import plan_engine

    from .engine_options import load_quantized
    from .synth import SynthesisTimeLimit, engine_parameters, synthesize_engine

    tmp = None
    try:
        _, qnet = load_quantized(model)
        hw = engine_parameters(target, **point)
        tech = hw.pop("tech")
        plan = plan_engine(qnet, **hw)
        with tempfile.TemporaryDirectory(prefix="circnn-tune-") as tmp:
            r = synthesize_engine(plan, target, tech, freq, [seed], Path(tmp), quiet=True,
                                  time_limit=time_limit)
    except SynthesisTimeLimit as e:
        return {"error": str(e).replace(tmp, "<workdir>"), "time_limit_s": time_limit}
    except (UsageError, ValueError) as e:
        # the reason without the run's temporary directory (the same on every machine)
        return {"error": str(e).replace(tmp, "<workdir>") if tmp else str(e)}
    keep = ("lut", "ff", "dsp", "bram", "spram", "fmax_mhz")
    return {key: r.get(key) for key in keep}


def _submit(jobs, scheduler: str | None, workers: int, quiet: bool):
    """Run ``jobs`` (tuples of :func:`synthesize_point` arguments); yields ``(index, result)``
    as they finish."""
    if scheduler:
        try:
            from dask.distributed import Client, as_completed
        except ImportError:
            raise UsageError("--scheduler needs dask.distributed (pip install "
                             "'dask[distributed]')") from None
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as e:
            raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
        try:
            futures = {client.submit(synthesize_point, *job, pure=False): i
                       for i, job in enumerate(jobs)}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        finally:
            client.close()
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed as done

    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(synthesize_point, *job): i for i, job in enumerate(jobs)}
        for fut in done(futures):
            yield futures[fut], fut.result()


def _usable(hit, time_limit):
    """A kept result serves unless it is a run stopped at a shorter time limit than now."""
    if hit is None or "time_limit_s" not in hit:
        return hit is not None
    return time_limit is not None and time_limit <= hit["time_limit_s"]


def measure_points(model: str, target: str, points: list, seeds: list, freq: float,
                   cache_dir: Path, scheduler: str | None = None, workers: int = 2,
                   quiet: bool = False, use_cache: bool = True,
                   time_limit: float | None = None) -> list[dict]:
    """Synthesize every point at every seed; returns, per point, the figures (Fmax the median
    over seeds), ``runs`` and ``cached`` counts, or ``error``.  ``time_limit``: seconds per
    run (Yosys and nextpnr), a run stopped there is a failure kept as such, tried again only
    with a longer limit."""
    model_digest = file_digest(model)
    runs, jobs, keys = {}, [], []
    for i, pt in enumerate(points):
        for seed in seeds:
            key = run_key({"point": pt, "target": target, "seed": seed, "freq": freq,
                           "model": model_digest})
            hit = load_run(cache_dir, key) if use_cache else None
            if _usable(hit, time_limit):
                runs[(i, seed)] = (hit, True)
            else:
                jobs.append((model, target, pt, seed, freq, time_limit))
                keys.append((i, seed, key))
    progress(f"tune: {len(jobs)} synthesis run(s) to do, {len(runs)} cached"
             f"{' (Dask ' + scheduler + ')' if scheduler and jobs else ''}", quiet)
    for n, (j, result) in enumerate(_submit(jobs, scheduler, workers, quiet), 1):
        i, seed, key = keys[j]
        if not result.get("transient"):     # failures too: a repeated sweep does not retry them
            store_run(cache_dir, key, result)
        runs[(i, seed)] = (result, False)
        what = result.get("error") or f"{result['lut']} LUT, {result['fmax_mhz']} MHz"
        progress(f"tune: [{n}/{len(jobs)}] {points[i]} seed {seed}: {what}", quiet)
    out = []
    for i, pt in enumerate(points):
        rs = [runs[(i, s)] for s in seeds]
        errors = [r["error"] for r, _ in rs if "error" in r]
        if errors:
            out.append({"parameters": pt, "error": errors[0], "runs": len(rs)})
            limits = [r["time_limit_s"] for r, _ in rs if "time_limit_s" in r]
            if limits:
                out[-1]["time_limit_s"] = limits[0]
            continue
        first = rs[0][0]
        fm = [r["fmax_mhz"] for r, _ in rs if r.get("fmax_mhz")]
        out.append({"parameters": pt, **{key: first[key] for key in
                                         ("lut", "ff", "dsp", "bram", "spram")},
                    "fmax_mhz": statistics.median(fm) if fm else None,
                    "fmax_by_seed": {str(s): r.get("fmax_mhz") for s, (r, _) in zip(seeds, rs)},
                    "runs": len(rs), "cached": sum(c for _, c in rs)})
    return out


def _measured_value(m: dict, resource: str):
    if resource == "period_ns":
        return 1000.0 / m["fmax_mhz"] if m.get("fmax_mhz") else None
    return m.get(resource)


def calibrate(target: str, plans: list, measured: list[dict], coefs: dict | None = None) -> dict:
    """Fit the linear models to the measured points, per resource.  With enough points (two
    more than the coefficients to fit), least squares of the coefficients of the features that
    vary over the points, and of the constant; the features that do not vary keep their
    coefficients.  With fewer, one scale factor (least squares of measured against the model).
    Returns the new coefficients and, per resource, the mean absolute error (%) before and
    after over the measured points, and with least squares the leave-one-out error (each point
    predicted by a fit without it: what to expect on a point not measured)."""
    import numpy as np

    coefs = coefs or PRIORS[target]
    new, errors = {}, {}
    for res in LINEAR_RESOURCES:
        rows, ys = [], []
        for plan, m in zip(plans, measured):
            y = _measured_value(m, res) if "error" not in m else None
            if y is not None:
                rows.append(features(plan))
                ys.append(float(y))
        names = list(coefs[res])
        if not rows:
            new[res] = dict(coefs[res])
            continue
        X = np.array([[f[n] for n in names] for f in rows])
        y = np.array(ys)
        prior = np.array([coefs[res][n] for n in names])
        before = X @ prior
        vary = [i for i, n in enumerate(names) if n == "one" or np.ptp(X[:, i]) > 0]
        fixed = [i for i in range(len(names)) if i not in vary]

        def fit(idx):
            target_y = y[idx] - X[np.ix_(idx, fixed)] @ prior[fixed] if fixed else y[idx]
            sol, *_ = np.linalg.lstsq(X[np.ix_(idx, vary)], target_y, rcond=None)
            c = prior.copy()
            c[vary] = sol
            return c

        e = {"points": len(ys), "before_pct": _mape(before, y)}
        if len(ys) >= len(vary) + 2:
            c = fit(list(range(len(ys))))
            loo = [X[i] @ fit([j for j in range(len(ys)) if j != i]) for i in range(len(ys))]
            e.update(method="least squares", fitted=[names[i] for i in vary],
                     after_pct=_mape(X @ c, y), leave_one_out_pct=_mape(np.array(loo), y))
        else:
            scale = float(before @ y / (before @ before))
            c = prior * scale
            e.update(method="scale", scale=round(scale, 4), after_pct=_mape(X @ c, y))
        new[res] = {n: float(v) for n, v in zip(names, c)}
        errors[res] = e
    return {"coefs": new, "errors": errors}


def _mape(est, y) -> float:
    import numpy as np

    return round(float(100 * np.mean(np.abs(np.asarray(est) - y) / y)), 1)
