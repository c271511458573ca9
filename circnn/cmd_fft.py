"""``circnn fft``: run the user's frames through the FFT engine's golden model or its RTL."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from .errors import UsageError
from .fft_options import add_fft_options, fft_options_summary, fft_params
from .files import load_npy, save_npy
from .report import emit, progress


def add_parser(sub) -> None:
    p = sub.add_parser(
        "fft", help="run frames through the FFT engine (golden model or RTL simulation)",
        description="Run frames (.npy, shape (frames, k), complex or real, holding integers in "
                    "the signed --width range) through the FFT engine and write the output "
                    "integers as a complex .npy of the same shape.  The gain relative to "
                    "numpy.fft.fft (forward) or k * numpy.fft.ifft (inverse) is printed.")
    add_fft_options(p)
    p.add_argument("--input", "-i", required=True, metavar="X.npy", help="input frames")
    p.add_argument("--output", "-o", required=True, metavar="Y.npy", help="output frames")
    p.add_argument("--engine", choices=("golden", "rtl"), default="golden",
                   help="golden: the bit-exact NumPy model; rtl: the generated Verilog under "
                        "cocotb (also checked against the golden model)")
    p.add_argument("--inverse", action="store_true", help="inverse transform")
    p.add_argument("--sim", choices=("verilator", "icarus"), default="verilator",
                   help="simulator for --engine rtl")
    p.add_argument("--waves", metavar="FILE", help="with --engine rtl: write a waveform dump "
                                                   "to FILE (VCD on Verilator, FST on Icarus)")
    p.add_argument("--build-dir", default="build/circnn-sim", metavar="DIR",
                   help="simulator build cache (default build/circnn-sim)")
    p.add_argument("--json", metavar="FILE", nargs="?", const="-", default=None,
                   help="report as JSON (stdout, or FILE)")
    p.set_defaults(run=run)


def check_frames(x: np.ndarray, params, path: str) -> np.ndarray:
    if x.ndim != 2 or x.shape[1] != params.k:
        raise UsageError(f"input file {path}: expected shape (frames, {params.k}), got {x.shape}")
    lo, hi = -(1 << (params.width - 1)), (1 << (params.width - 1)) - 1
    parts = (x.real, x.imag) if np.iscomplexobj(x) else (x,)
    for part in parts:
        if not np.all(np.isfinite(part)) or np.any(part != np.round(part)):
            raise UsageError(f"input file {path}: values must be integers")
        if part.size and (part.min() < lo or part.max() > hi):
            raise UsageError(f"input file {path}: values must lie in the signed {params.width}-bit"
                             f" range [{lo}, {hi}], found [{part.min():g}, {part.max():g}]")
    return x.astype(np.complex128)


def run(args) -> int:
    params = fft_params(args)
    if args.waves and args.engine != "rtl":
        raise UsageError("--waves needs --engine rtl")
    x = check_frames(load_npy(args.input), params, args.input)
    quiet = args.json == "-"
    report = {"engine": args.engine, "frames": int(x.shape[0]), "k": params.k,
              "inverse": bool(args.inverse), "gain": params.gain(args.inverse),
              "gain_reference": "k * numpy.fft.ifft" if args.inverse else "numpy.fft.fft"}
    if args.engine == "golden":
        from golden.fft_fixed import fft_fixed

        y, sat = fft_fixed(x, params, args.inverse)
    else:
        from sim.fft_run import run_fft_rtl
        from sim.simulators import SimulatorError, available

        if not available(args.sim):
            raise UsageError(f"simulator {args.sim} is not available on this machine")
        progress(f"fft: building and simulating {fft_options_summary(params)} on {args.sim} "
                 f"(cached in {args.build_dir})", quiet)
        try:
            r = run_fft_rtl(params, x, np.full(x.shape[0], int(args.inverse)), args.sim,
                            Path(args.build_dir), waves=bool(args.waves))
        except SimulatorError as e:
            raise UsageError(str(e)) from None
        y, sat = r["outputs"], r["saturations"]
        report["cycles"] = r["cycles"]
        report["simulator"] = args.sim
        if args.waves:
            dumps = sorted(Path(r["build_dir"]).glob("*.fst")) + \
                sorted(Path(r["build_dir"]).glob("*.vcd"))
            if not dumps:
                raise UsageError(f"the simulator wrote no waveform in {r['build_dir']}")
            shutil.copyfile(dumps[0], args.waves)
            report["waves"] = args.waves
    save_npy(args.output, y)
    report["saturations"] = int(sat)
    report["output"] = args.output
    text = (f"{x.shape[0]} frames of {params.k} through the {args.engine} engine -> {args.output}\n"
            f"gain {params.gain(args.inverse):g} x {report['gain_reference']}; "
            f"{sat} saturated samples")
    if "cycles" in report:
        text += f"; {report['cycles']} cycles in simulation"
    emit(args, text, report)
    return 0
