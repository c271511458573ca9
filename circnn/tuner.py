"""The design-space tuner: evaluate a design point on the models, bound ``p``, search ``d`` by
ternary search for every number of MAC lanes the device allows, and pick the best point."""

from __future__ import annotations

from golden.engine_cycles import estimate_cycles
from golden.engine_plan import EnginePlan, plan_engine

from .errors import UsageError
from .synth import ENGINE_DEFAULTS
from .tuner_energy import action_counts, energy
from .tuner_models import (DEVICES, DesignPoint, estimate_fmax, estimate_resources,
                           multipliers)
from .tuner_search import exhaustive, is_unimodal, p_bound, score, ternary_search

__all__ = ["Tuner"]

_RESOURCES = ("lut", "ff", "dsp", "bram", "spram")


class Tuner:
    """Evaluates and searches design points of ``qnet`` on ``target``.

    ``coefs`` are the linear models' coefficients (the priors, or fitted ones); ``table`` the
    energy table.  Every evaluation is kept in ``self.evaluated`` (keyed by the point), so the
    number of model evaluations a search made is ``len(self.evaluated)``.
    """

    def __init__(self, qnet, target: str, table: dict, coefs: dict | None = None):
        if target not in DEVICES:
            raise UsageError(f"unknown target '{target}', expected one of {', '.join(DEVICES)}")
        self.qnet, self.target, self.table, self.coefs = qnet, target, table, coefs
        self.fixed = {n: v for n, v in ENGINE_DEFAULTS[target].items()
                      if n not in ("p", "d", "lanes", "tech")}
        self.evaluated: dict = {}
        self.k = self.plan(DesignPoint(1, 1, 1)).k

    # ---- one point ----------------------------------------------------------------------
    def plan(self, point: DesignPoint) -> EnginePlan:
        try:
            return plan_engine(self.qnet, p=point.p, d=point.d, lanes=point.lanes, **self.fixed)
        except ValueError as e:
            raise UsageError(f"design point {point.as_dict()}: {e}") from None

    def evaluate(self, point: DesignPoint) -> dict:
        """Cycles, resources, Fmax, throughput, energy of ``point``; ``fits`` and, when it does
        not, the resources that exceed the device (``over``)."""
        if point in self.evaluated:
            return self.evaluated[point]
        plan = self.plan(point)
        cycles = estimate_cycles(plan)
        res = estimate_resources(plan, self.target, self.coefs)
        fmax = estimate_fmax(plan, self.target, self.coefs)
        dev = DEVICES[self.target]
        over = [r for r in _RESOURCES if res[r] > dev[r]]
        counts = action_counts(plan, cycles, res["ff"])
        e = energy(counts, self.table)
        r = {"parameters": point.as_dict(), "k": plan.k, "cycles_per_inference": cycles,
             "resources": res, "fmax_mhz": fmax,
             "inferences_per_second": round(fmax * 1e6 / cycles, 1),
             "energy_per_inference_j": e["energy_per_inference_j"],
             "gops_per_w": e["gops_per_w"], "operations": e["operations"],
             "energy_by_component_j": e["by_component_j"],
             "fits": not over, "over": over, "action_counts": counts}
        self.evaluated[point] = r
        return r

    # ---- the space ----------------------------------------------------------------------
    @property
    def stages(self) -> int:
        return self.k.bit_length() - 1

    def lane_candidates(self) -> tuple[list, str]:
        """Powers of two from 1 while the MAC lanes' multipliers alone fit the device (the FFT
        engine's need at least ``4 (log2 k - 1)`` more when fully pipelined, 4 at ``d = 1``)."""
        dsp = DEVICES[self.target]["dsp"]
        lanes, out = 1, []
        while 4 * (lanes + 1) <= dsp:
            out.append(lanes)
            lanes *= 2
        why = f"multipliers: 4 per MAC lane and at least 4 for the FFT engine, {dsp} on the device"
        return out, why

    def p_for(self, d: int, lanes: int) -> tuple[int, str]:
        """``p`` at depth ``d``: the bandwidth bound, halved while the point's multipliers do not
        fit the device."""
        p, why = p_bound(self.k, d)
        dsp = DEVICES[self.target]["dsp"]
        while p > 1 and multipliers(self.plan(DesignPoint(p, d, lanes)))["total"] > dsp:
            p //= 2
            why = f"multipliers: {dsp} on the device"
        return p, why

    def point(self, d: int, lanes: int) -> DesignPoint:
        return DesignPoint(self.p_for(d, lanes)[0], d, lanes)

    # ---- search -------------------------------------------------------------------------
    def search(self, metric: str, exhaustive_check: bool = False) -> dict:
        """For every lane count: ternary search over the recirculating depths ``d < log2 k``
        and the fully pipelined engine (``d = log2 k``, a structure of its own: no
        recirculation) evaluated beside it.  Returns the best point, the per-lanes results,
        the lane counts where M was not unimodal over the sampled ``d`` (those are swept
        exhaustively), and the evaluations made."""
        stages = self.stages
        lanes_list, lanes_why = self.lane_candidates()
        if not lanes_list:
            raise UsageError(f"{self.target}: not even one MAC lane fits ({lanes_why})")
        per_lanes, fallbacks = [], []
        for lanes in lanes_list:
            def f(d, lanes=lanes):
                return score(metric, self.evaluate(self.point(d, lanes)))
            seen = {}
            if stages > 1:
                _, seen = ternary_search(1, stages - 1, f)
                if not is_unimodal([seen[d] for d in sorted(seen)]):
                    fallbacks.append(lanes)
                    _, seen = exhaustive(1, stages - 1, f)
            seen[stages] = f(stages)
            d_best = max(seen, key=lambda d: (seen[d], -d))
            per_lanes.append({"lanes": lanes, "d": d_best, "score": seen[d_best],
                              "evaluated_d": sorted(seen)})
        evaluations = len(self.evaluated)
        best = max(per_lanes, key=lambda r: (r["score"], -r["lanes"]))
        if best["score"] == float("-inf"):
            closest = min(self.evaluated.values(), key=lambda r: len(r["over"]))
            raise UsageError(f"{self.target}: no design point fits the device (the smallest, "
                             f"{closest['parameters']}, needs more {', '.join(closest['over'])}"
                             f" than the device has: {_needs(closest, self.target)})")
        chosen = self.evaluate(self.point(best["d"], best["lanes"]))
        out = {"metric": metric, "chosen": chosen, "per_lanes": per_lanes,
               "not_unimodal_lanes": fallbacks, "evaluations": evaluations,
               "p_bound": {str(d): self.p_for(d, best["lanes"])[1] for d in range(1, stages + 1)},
               "lanes_bound": lanes_why}
        if exhaustive_check:
            out["exhaustive"] = self.exhaustive(metric, lanes_list)
        return out

    def exhaustive(self, metric: str, lanes_list: list) -> dict:
        """Every ``(d, lanes)`` at the bounded ``p`` (the space the search covers), and every
        ``(p, d, lanes)`` with ``p`` any power of two up to ``k/2`` (``unrestricted``: what
        bounding ``p`` gives up, for single-vector layers the FFT's latency), each counted apart
        from the search's evaluations."""
        saved = self.evaluated

        def sweep(points):
            self.evaluated = {}
            best = max(points, key=lambda pt: (score(metric, self.evaluate(pt)), -pt.lanes,
                                               -pt.p, -pt.d))
            n = len(self.evaluated)
            saved.update(self.evaluated)
            return {**best.as_dict(), "score": score(metric, self.evaluated[best]),
                    "evaluations": n}

        stages = self.stages
        bounded = sweep([self.point(d, lanes) for lanes in lanes_list
                         for d in range(1, stages + 1)])
        ps = [1 << i for i in range(stages)]
        bounded["unrestricted"] = sweep([DesignPoint(p, d, lanes) for lanes in lanes_list
                                         for d in range(1, stages + 1) for p in ps])
        self.evaluated = saved
        return bounded


def _needs(r: dict, target: str) -> str:
    return ", ".join(f"{res} {r['resources'][res]} of {DEVICES[target][res]}" for res in r["over"])
