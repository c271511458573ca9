"""Running a board top's Verilog under cocotb with the host's session on its UART pins."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from golden import board_protocol as bp
from golden.engine_cycles import estimate_cycles
from golden.engine_plan import EnginePlan
from hw.board_top import BoardTop
from hw.layer_engine import weights_in_bitstream

from .engine_run import plan_digest
from .primitive_models import primitive_models
from .simulators import run_cocotb
from .verilog import write_verilog

TOPLEVEL = "board_top"
#: Clock cycles per UART bit in simulation (the board's own divisor is set by its clock and
#: baud rate; the protocol does not depend on it).
SIM_DIVISOR = 8


def run_board(plan: EnginePlan, identity: int, samples, sim: str, build_root: Path,
              raw_frames=(), weights=None, divisor: int = SIM_DIVISOR,
              tech: str = "generic") -> dict:
    """Simulate the board top of ``plan``: send the ``raw_frames`` (bytes) first and record the
    status of each reply, then run the host session (INFO, the weight reload ``weights`` =
    ``(lanes, addrs, words)`` if given, one INFER per sample).  Returns ``outputs``,
    ``statuses``, ``cycles`` and ``build_dir``; a protocol error of the session fails the run.
    ``tech``: the engine on that technology's primitives (behavioural models); a board whose
    weights are not in the bitstream (iCE40) is sent the model's weights first, as the host
    tool does."""
    key = hashlib.sha1(f"{plan_digest(plan)}-{identity}-{divisor}-{tech}".encode()
                       ).hexdigest()[:12]
    build_dir = Path(build_root).resolve() / f"board-{key}-{sim}"
    build_dir.mkdir(parents=True, exist_ok=True)
    top = BoardTop(plan, identity, divisor, tech)
    sources = [write_verilog(top, TOPLEVEL, build_dir / f"{TOPLEVEL}.v")]
    sources += primitive_models(tech, build_dir)
    arrays = {"x": np.asarray(samples, dtype=np.int64).reshape(len(samples), -1)}
    if weights is not None:
        arrays.update(lanes=np.asarray(weights[0]), addrs=np.asarray(weights[1]),
                      words=np.asarray(weights[2]))
    stim = build_dir / "stimulus.npz"
    np.savez(stim, **arrays)
    results = build_dir / "results.npz"
    if results.exists():
        results.unlink()
    bytes_per_frame = 8 + 2 * max(plan.in_size, plan.out_size) + top.link.max_payload
    config = build_dir / "config.json"
    model_frames = [] if weights_in_bitstream(tech) else \
        [f.hex() for f in bp.model_weight_frames(plan, plan.width)]
    config.write_text(json.dumps({
        "model_frames": model_frames, "model_id": identity, "width": plan.width, "bit_ns": divisor * 10,
        "stimulus": str(stim), "results": str(results),
        "raw": [bytes(f).hex() for f in raw_frames],
        "timeout_cycles": 20 * (estimate_cycles(plan) + 10 * divisor * bytes_per_frame)}))
    run_cocotb(sim, sources, TOPLEVEL, "sim.tb_board", build_dir,
               extra_env={"CIRCNN_BOARD_CONFIG": str(config)}, always=False)
    with np.load(results) as r:
        return {"outputs": r["outputs"], "statuses": r["statuses"].tolist(),
                "cycles": int(r["cycles"]), "build_dir": build_dir}
