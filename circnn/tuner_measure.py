"""Measured design points for the tuner: the engine synthesis flow (``circnn synth engine``) run
on candidate points in parallel, cached, on a local process pool or a Dask cluster; and the
calibration of the models against them.

Each run is one ``(point, seed)``; its result is kept (:mod:`circnn.synth_cache`), keyed by the
point, the target, the clock, the seed, the model file's contents, the gateware's source and
the toolchain's versions, so a repeated sweep costs nothing.  A failed run (the design
does not fit, a tool error) is recorded with its reason and the sweep goes on.
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


def synthesize_point(model: str, target: str, point: dict, seed: int, freq: float) -> dict:
    """One synthesis of the engine of ``model`` at ``point`` (a worker's job: no shared
    state, picklable arguments).  Returns the figures or ``{"error": reason}``."""
    from golden.engine_plan import plan_engine

    from .engine_options import load_quantized
    from .synth import engine_parameters, synthesize_engine

    try:
        _, qnet = load_quantized(model)
        hw = engine_parameters(target, **point)
        tech = hw.pop("tech")
        plan = plan_engine(qnet, **hw)
        with tempfile.TemporaryDirectory(prefix="circnn-tune-") as tmp:
            r = synthesize_engine(plan, target, tech, freq, [seed], Path(tmp), quiet=True)
    except (UsageError, ValueError) as e:
        return {"error": str(e)}
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


def measure_points(model: str, target: str, points: list, seeds: list, freq: float,
                   cache_dir: Path, scheduler: str | None = None, workers: int = 2,
                   quiet: bool = False, use_cache: bool = True) -> list[dict]:
    """Synthesize every point at every seed; returns, per point, the figures (Fmax the median
    over seeds), ``runs`` and ``cached`` counts, or ``error``."""
    model_digest = file_digest(model)
    runs, jobs, keys = {}, [], []
    for i, pt in enumerate(points):
        for seed in seeds:
            key = run_key({"point": pt, "target": target, "seed": seed, "freq": freq,
                           "model": model_digest})
            hit = load_run(cache_dir, key) if use_cache else None
            if hit is not None:
                runs[(i, seed)] = (hit, True)
            else:
                jobs.append((model, target, pt, seed, freq))
                keys.append((i, seed, key))
    progress(f"tune: {len(jobs)} synthesis run(s) to do, {len(runs)} cached"
             f"{' (Dask ' + scheduler + ')' if scheduler and jobs else ''}", quiet)
    for n, (j, result) in enumerate(_submit(jobs, scheduler, workers, quiet), 1):
        i, seed, key = keys[j]
        store_run(cache_dir, key, result)   # failures too: a repeated sweep does not retry them
        runs[(i, seed)] = (result, False)
        what = result.get("error") or f"{result['lut']} LUT, {result['fmax_mhz']} MHz"
        progress(f"tune: [{n}/{len(jobs)}] {points[i]} seed {seed}: {what}", quiet)
    out = []
    for i, pt in enumerate(points):
        rs = [runs[(i, s)] for s in seeds]
        errors = [r["error"] for r, _ in rs if "error" in r]
        if errors:
            out.append({"parameters": pt, "error": errors[0], "runs": len(rs)})
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
    """Fit the linear models to the measured points: one scale factor per resource (least
    squares of measured against the model), which few points can determine.  Returns the new
    coefficients and, per resource, the mean absolute error (%) before and after, over the
    points with a measurement."""
    coefs = coefs or PRIORS[target]
    new, errors = {}, {}
    for res in LINEAR_RESOURCES:
        pairs = []
        for plan, m in zip(plans, measured):
            y = _measured_value(m, res) if "error" not in m else None
            if y is None:
                continue
            feats = features(plan)
            pairs.append((sum(c * feats[f] for f, c in coefs[res].items()), y))
        if not pairs:
            new[res] = dict(coefs[res])
            continue
        s = sum(e * y for e, y in pairs) / sum(e * e for e, _ in pairs)
        new[res] = {f: c * s for f, c in coefs[res].items()}

        def mape(scale):
            return round(100 * statistics.mean(abs(e * scale - y) / y for e, y in pairs), 1)

        errors[res] = {"points": len(pairs), "before_pct": mape(1.0), "after_pct": mape(s),
                       "scale": round(s, 4)}
    return {"coefs": new, "errors": errors}
