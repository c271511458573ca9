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
    p.add_argument("--length", type=int, default=None, metavar="N",
                   help="transform length of the input frames, a power of two from the "
                        "engine's --min-length to k (default k; --min-length defaults to it); "
                        "the frames go through the k-point engine zero-stuffed (repeated when "
                        "inverse) and the N-point result is written")
    p.add_argument("--sim", choices=("verilator", "icarus"), default="verilator",
                   help="simulator for --engine rtl")
    p.add_argument("--waves", metavar="FILE", help="with --engine rtl: write a waveform dump "
                                                   "to FILE (VCD on Verilator, FST on Icarus)")
    p.add_argument("--build-dir", default="build/circnn-sim", metavar="DIR",
                   help="simulator build cache (default build/circnn-sim)")
    p.add_argument("--json", metavar="FILE", nargs="?", const="-", default=None,
                   help="report as JSON (stdout, or FILE)")
    p.set_defaults(run=run)


def check_frames(x: np.ndarray, params, path: str, n: int | None = None) -> np.ndarray:
    n = params.k if n is None else n
    if x.ndim != 2 or x.shape[1] != n:
        raise UsageError(f"input file {path}: expected shape (frames, {n}), got {x.shape}")
    lo, hi = -(1 << (params.width - 1)), (1 << (params.width - 1)) - 1
    parts = (x.real, x.imag) if np.iscomplexobj(x) else (x,)
    for part in parts:
        if not np.all(np.isfinite(part)) or np.any(part != np.round(part)):
            raise UsageError(f"input file {path}: values must be integers")
        if part.size and (part.min() < lo or part.max() > hi):
            raise UsageError(f"input file {path}: values must lie in the signed {params.width}-bit"
                             f" range [{lo}, {hi}], found [{part.min():g}, {part.max():g}]")
    return x.astype(np.complex128)


def _length(args) -> tuple[int, int]:
    """``(n, stuffing)`` of ``--length`` (``--min-length`` defaults to it)."""
    n = args.k if args.length is None else args.length
    if args.k < 2 or args.k & (args.k - 1):
        return args.k, 0          # (fft_params reports the bad --k)
    if n < 1 or n & (n - 1) or not 4 <= n <= args.k:
        raise UsageError(f"--length must be a power of two from 4 to --k {args.k}, not {n}")
    if args.min_length is None and n < args.k:
        args.min_length = n
    return n, (args.k // n).bit_length() - 1


def run(args) -> int:
    from golden.fft_fixed import fft_fixed, stuff_frames, unstuff_output

    n, stuffing = _length(args) if args.length is not None else (args.k, 0)
    params = fft_params(args)
    if stuffing > params.max_stuffing:
        raise UsageError(f"--length {n} is shorter than the engine's --min-length "
                         f"{params.min_length}")
    if args.waves and args.engine != "rtl":
        raise UsageError("--waves needs --engine rtl")
    x = check_frames(load_npy(args.input), params, args.input, n)
    quiet = args.json == "-"
    report = {"engine": args.engine, "frames": int(x.shape[0]), "k": params.k, "length": n,
              "inverse": bool(args.inverse), "gain": params.gain(args.inverse, stuffing),
              "gain_reference": (("k" if n == params.k else f"{n}") + " * numpy.fft.ifft")
              if args.inverse else "numpy.fft.fft"}
    x_k = stuff_frames(x, params.k, args.inverse) if stuffing else x
    if args.engine == "golden":
        y, sat = fft_fixed(x_k, params, args.inverse, stuffing=stuffing)
    else:
        from sim.fft_run import run_fft_rtl
        from sim.simulators import SimulatorError, available

        if not available(args.sim):
            raise UsageError(f"simulator {args.sim} is not available on this machine")
        progress(f"fft: building and simulating {fft_options_summary(params)} on {args.sim} "
                 f"(cached in {args.build_dir})", quiet)
        try:
            r = run_fft_rtl(params, x_k, np.full(x.shape[0], int(args.inverse)), args.sim,
                            Path(args.build_dir), waves=bool(args.waves),
                            stuffing=np.full(x.shape[0], stuffing))
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
    if stuffing:
        y = unstuff_output(y, n, args.inverse)
    save_npy(args.output, y)
    report["saturations"] = int(sat)
    report["output"] = args.output
    of = f"{n} (stuffed into the {params.k}-point engine)" if stuffing else f"{params.k}"
    text = (f"{x.shape[0]} frames of {of} through the {args.engine} engine -> {args.output}\n"
            f"gain {report['gain']:g} x {report['gain_reference']}; "
            f"{sat} saturated samples")
    if "cycles" in report:
        text += f"; {report['cycles']} cycles in simulation"
    emit(args, text, report)
    return 0
