"""Running frames through the generated FFT engine Verilog under cocotb (Verilator or Icarus)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np

from golden.fft_fixed import FFTParams
from hw.fft_engine import FFTEngine

from .primitive_models import primitive_models
from .simulators import run_cocotb
from .verilog import write_verilog

TOPLEVEL = "fft_engine"


def params_dict(params: FFTParams) -> dict:
    d = dataclasses.asdict(params)
    d["forward_shifts"] = list(d["forward_shifts"])
    d["inverse_shifts"] = list(d["inverse_shifts"])
    return d


def generate_fft_verilog(params: FFTParams, path: Path, engine: FFTEngine | None = None,
                         tech: str = "generic") -> Path:
    """Verilog of the engine (module ``fft_engine``), rewritten only when it changed."""
    return write_verilog(engine if engine is not None else FFTEngine(params, tech), TOPLEVEL,
                         path)


def run_fft_rtl(params: FFTParams, frames, inverse, sim: str, build_root: Path, gap: float = 0.0,
                stall: float = 0.0, seed: int = 0, check: bool = True, waves: bool = False,
                tech: str = "generic", stuffing=None):
    """Simulate the engine on ``frames`` (F, k) with per-frame ``inverse`` flags (and, for an
    engine with a run-time length, per-frame ``stuffing``: the frames are then stuffed,
    :func:`golden.fft_fixed.stuff_frames`).

    Returns a dict with ``outputs`` (F, k) complex integers, ``saturations``, ``cycles`` (from
    the first input beat offered to the last output beat) and ``build_dir`` (holding the
    waveform when ``waves``).  With ``check`` the testbench also compares every frame with the
    golden model and fails on any difference.  Builds are cached per parameter set and
    simulator under ``build_root``.  ``tech="ecp5"`` or ``"ice40"`` simulates the primitive
    instances against the behavioural models of ``sim/ecp5_models.py``, ``sim/ice40_models.py``.
    """
    key = hashlib.sha1(json.dumps([params_dict(params), tech], sort_keys=True).encode()
                       ).hexdigest()[:12]
    build_dir = Path(build_root).resolve() / f"fft-{params.k}-{key}-{sim}{'-waves' if waves else ''}"
    build_dir.mkdir(parents=True, exist_ok=True)
    sources = [generate_fft_verilog(params, build_dir / f"{TOPLEVEL}.v", tech=tech)]
    sources += primitive_models(tech, build_dir)
    stim = build_dir / "stimulus.npz"
    np.savez(stim, frames=np.asarray(frames, dtype=np.complex128),
             inverse=np.asarray(inverse, dtype=np.int64),
             stuffing=np.zeros(len(inverse), dtype=np.int64) if stuffing is None
             else np.asarray(stuffing, dtype=np.int64))
    results = build_dir / "results.npz"
    if results.exists():
        results.unlink()
    config = build_dir / "config.json"
    config.write_text(json.dumps({
        "params": params_dict(params), "stimulus": str(stim), "results": str(results),
        "gap": gap, "stall": stall, "seed": seed, "check": check}))
    run_cocotb(sim, sources, TOPLEVEL, "sim.tb_fft_engine", build_dir,
               extra_env={"CIRCNN_FFT_CONFIG": str(config)}, waves=waves, seed=seed,
               always=False)
    with np.load(results) as r:
        return {"outputs": r["outputs"], "saturations": int(r["saturations"]),
                "cycles": int(r["cycles"]), "build_dir": build_dir}
