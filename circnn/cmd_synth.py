"""``circnn synth``: out-of-context synthesis figures (LUT, FF, DSP, BRAM, Fmax)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from .fft_options import add_fft_options, describe, fft_options_summary, fft_params
from .report import emit, progress, table
from .synth import TARGETS, SynthesisError, synthesize
from .errors import UsageError
from .options import int_list


def add_parser(sub) -> None:
    p = sub.add_parser("synth", help="synthesize a block with Yosys + nextpnr (yowasp)",
                       description="Synthesize a block out of context with registered ports and "
                                   "report resources, Fmax and throughput.")
    ssub = p.add_subparsers(dest="block", metavar="BLOCK", required=True)
    f = ssub.add_parser("fft", help="the FFT/IFFT engine")
    add_fft_options(f)
    f.add_argument("--target", choices=tuple(TARGETS), default="ecp5-85k")
    f.add_argument("--freq", type=float, default=150.0, help="target clock in MHz (default 150)")
    f.add_argument("--seed", type=int, default=None,
                   help="nextpnr placement seed (default 1); see --seeds")
    f.add_argument("--seeds", type=int_list, default=None, metavar="S,S,...",
                   help="one place-and-route per seed; Fmax is the median, with the spread "
                        "(e.g. 1,2,3)")
    f.add_argument("--tech", choices=("auto", "generic", "ecp5"), default="auto",
                   help="technology layer: generic '*' and inferred memories, or ecp5 "
                        "MULT18X18D multipliers and DP16KD block RAMs with their registers "
                        "(needs --pipeline 2); auto (default) picks ecp5 for the ECP5 target "
                        "when --pipeline 2 and the widths allow it")
    f.add_argument("--workdir", metavar="DIR", help="keep the tool files here (default: temp)")
    f.add_argument("--json", metavar="FILE", nargs="?", const="-", default=None,
                   help="report as JSON (stdout, or FILE)")
    f.set_defaults(run=run_fft)


def run_fft(args) -> int:
    from hw.fft_engine import FFTEngine, check_engine_args
    from hw.synth_shell import PortRegisters, SerialShell

    ecp5 = args.target.startswith("ecp5")
    params = fft_params(args, default_pipeline=2 if ecp5 and args.tech != "generic" else 0)
    if args.seed is not None and args.seeds is not None:
        raise UsageError("give --seed or --seeds, not both")
    seeds = args.seeds or [1 if args.seed is None else args.seed]
    quiet = args.json == "-"
    tech = args.tech
    if tech == "auto":
        fits = params.pipeline == 2 and params.internal_width <= 18 and params.twiddle_width <= 18
        tech = "ecp5" if args.target.startswith("ecp5") and fits else "generic"
    if tech == "ecp5" and not args.target.startswith("ecp5"):
        raise UsageError(f"--tech ecp5 needs an ECP5 target, not {args.target}")
    try:
        check_engine_args(params, tech)
    except TypeError as e:
        raise UsageError(str(e)) from None
    engine = FFTEngine(params, tech)
    shell = PortRegisters(engine) if TARGETS[args.target]["shell"] == "registers" \
        else SerialShell(engine)
    progress(f"synth fft {fft_options_summary(params)} for {args.target}", quiet)
    with tempfile.TemporaryDirectory(prefix="circnn-synth-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        try:
            r = synthesize(shell, shell.ports, args.target, workdir, args.freq, seeds, quiet)
        except SynthesisError as e:
            raise UsageError(str(e)) from None
    info = describe(params)
    r["block"] = "fft_engine"
    r["tech"] = tech
    r.update({key: info[key] for key in ("parameters", "latency_cycles",
                                         "frame_interval_cycles")})
    r["throughput_samples_per_clock"] = params.throughput
    if r["fmax_mhz"]:
        r["throughput_msamples_per_s"] = round(params.throughput * r["fmax_mhz"], 1)
    r["lut_per_sample_per_clock"] = round(r["lut"] / params.throughput, 1) if r["lut"] else None
    fmax = r["fmax_mhz"]
    if len(seeds) > 1 and fmax:
        fmax = f"{fmax} ({r['fmax_min_mhz']}..{r['fmax_max_mhz']})"
    rows = [(args.target, r["lut"], r["ff"] if r["ff"] is not None else "-", r["dsp"], r["bram"],
             fmax, f"{params.throughput:g}", r["lut_per_sample_per_clock"])]
    text = table(rows, ("target", "LUT", "FF", "DSP", "BRAM",
                        "Fmax MHz" + (" median (min..max)" if len(seeds) > 1 else ""),
                        "samples/clk", "LUT per sample/clk"))
    text += (f"\n\n{fft_options_summary(params)}, technology: {tech}, shell: {r['shell']}, "
             f"nextpnr seed{'s' if len(seeds) > 1 else ''} {','.join(map(str, seeds))}")
    emit(args, text, r)
    return 0
