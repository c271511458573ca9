"""``circnn synth``: out-of-context synthesis figures (LUT, FF, DSP, BRAM, Fmax)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from .errors import UsageError
from .fft_options import add_fft_options, fft_options_summary, fft_params
from .report import emit, progress, table
from .synth import TARGETS
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
    from .synth import resolve_tech, synthesize_fft

    ecp5 = args.target.startswith("ecp5")
    params = fft_params(args, default_pipeline=2 if ecp5 and args.tech != "generic" else 0)
    if args.seed is not None and args.seeds is not None:
        raise UsageError("give --seed or --seeds, not both")
    seeds = args.seeds or [1 if args.seed is None else args.seed]
    quiet = args.json == "-"
    tech = resolve_tech(params, args.target, args.tech)
    progress(f"synth fft {fft_options_summary(params)} for {args.target}", quiet)
    with tempfile.TemporaryDirectory(prefix="circnn-synth-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        r = synthesize_fft(params, args.target, tech, args.freq, seeds, workdir, quiet)
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
