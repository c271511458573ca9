"""Running a quantized network through the generated layer-engine Verilog under cocotb."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from golden.engine_fixed import QNetwork, run_fixed
from golden.engine_cycles import estimate_cycles
from golden.engine_plan import EnginePlan, plan_engine
from hw.layer_engine import LayerEngine, weight_payload

from .primitive_models import primitive_models
from .simulators import run_cocotb
from .verilog import write_verilog

TOPLEVEL = "layer_engine"


def plan_digest(plan: EnginePlan) -> str:
    """A short hash of everything that changes the generated Verilog."""
    h = hashlib.sha1()
    for lp in plan.layers:
        h.update(json.dumps(vars(lp), sort_keys=True).encode())
    for bank in plan.weight_banks:
        h.update(np.asarray(bank, dtype=np.int64).tobytes())
    for bank in plan.bias_banks:
        h.update(np.asarray(bank, dtype=np.int64).tobytes())
    for bank in plan.table_banks:
        h.update(json.dumps(bank).encode())
    h.update(json.dumps([plan.k, plan.width, plan.lanes, repr(plan.fft), plan.z_slots,
                         plan.y_slots, plan.act_replicas, plan.act_bank_depth]).encode())
    return h.hexdigest()[:12]


def generate_engine_verilog(plan: EnginePlan, path: Path, engine: LayerEngine | None = None,
                            tech: str = "generic") -> Path:
    """Verilog of the engine (module ``layer_engine``), rewritten only when it changed."""
    return write_verilog(engine if engine is not None else LayerEngine(plan, tech), TOPLEVEL,
                         path)


def weight_load(plan: EnginePlan) -> tuple[dict, dict]:
    """A ``reload`` step writing every weight word of the plan, and its arrays (what an engine
    without built-in weights, ``tech="ice40"``, needs before its first sample)."""
    lanes, addrs, words = plan.weight_records()
    step = {"op": "reload", "lanes": "_load_lanes", "addrs": "_load_addrs",
            "data": "_load_words"}
    return step, {"_load_lanes": np.array(lanes), "_load_addrs": np.array(addrs),
                  "_load_words": np.array(words)}


def payload_offsets(plan: EnginePlan) -> dict:
    layout = weight_payload(plan)
    return {"w_lane": layout["lane"].offset, "w_addr": layout["addr"].offset,
            "w_data": layout["data"].offset}


def expected_outputs(qnet: QNetwork, x_int) -> np.ndarray:
    return run_fixed(qnet, x_int)[0]


def run_engine_rtl(plan: EnginePlan, steps: list, arrays: dict, sim: str, build_root: Path,
                   gap: float = 0.0, stall: float = 0.0, seed: int = 0, waves: bool = False,
                   timeout_cycles: int | None = None, fast: bool = False,
                   tech: str = "generic") -> dict:
    """Simulate the engine through ``steps`` (see ``sim/tb_layer_engine.py``) with the named
    ``arrays``; returns the results (``outputs``, ``sample_cycles``, ``layer_cycles``,
    ``saturations``, ``fft_saturations``) and ``build_dir``.  Builds are cached per plan and
    simulator under ``build_root``; the checker fails the run on any difference.  ``fast``
    (no gaps or stalls) drives the streams without per-cycle Python, for speed.  ``tech``
    builds the engine on that technology's primitives, simulated with their behavioural models
    (``sim/primitive_models.py``); an engine without built-in weights gets them written through
    its port first."""
    if fast and (gap or stall):
        raise ValueError("fast stream drivers have no gaps or backpressure")
    engine = LayerEngine(plan, tech)
    if not engine.weights_built_in:
        step, load = weight_load(plan)
        steps, arrays = [step] + list(steps), {**arrays, **load}
    key = plan_digest(plan) + ("" if tech == "generic" else f"-{tech}")
    build_dir = Path(build_root).resolve() / f"engine-{key}-{sim}{'-waves' if waves else ''}"
    build_dir.mkdir(parents=True, exist_ok=True)
    sources = [generate_engine_verilog(plan, build_dir / f"{TOPLEVEL}.v", engine)]
    sources += primitive_models(tech, build_dir)
    stim = build_dir / "stimulus.npz"
    np.savez(stim, **{k: np.asarray(v) for k, v in arrays.items()})
    results = build_dir / "results.npz"
    if results.exists():
        results.unlink()
    if timeout_cycles is None:
        timeout_cycles = 50 * estimate_cycles(plan) + 10_000
    config = build_dir / "config.json"
    config.write_text(json.dumps({
        "width": plan.width, "out_size": plan.out_size, "layers": len(plan.layers),
        "stimulus": str(stim), "results": str(results), "steps": steps, "gap": gap,
        "stall": stall, "seed": seed, "timeout_cycles": timeout_cycles, "fast": fast,
        **payload_offsets(plan)}))
    run_cocotb(sim, sources, TOPLEVEL, "sim.tb_layer_engine", build_dir,
               extra_env={"CIRCNN_ENGINE_CONFIG": str(config)}, waves=waves, seed=seed,
               always=False)
    with np.load(results) as r:
        out = {name: r[name] for name in r.files}
    out["saturations"] = int(out["saturations"])
    out["fft_saturations"] = int(out["fft_saturations"])
    out["build_dir"] = build_dir
    return out


def infer_rtl(qnet: QNetwork, x_int, sim: str, build_root: Path, p: int = 1, d=None,
              lanes: int = 2, **kw) -> dict:
    """Run samples ``x_int`` ``(B, ...)`` through the RTL, checked against the golden."""
    plan = plan_engine(qnet, p=p, d=d, lanes=lanes)
    x = np.asarray(x_int, dtype=np.int64).reshape(len(x_int), -1)
    steps = [{"op": "infer", "inputs": "x", "expect": "y"}]
    return run_engine_rtl(plan, steps, {"x": x, "y": expected_outputs(qnet, x_int)}, sim,
                          build_root, **kw)

