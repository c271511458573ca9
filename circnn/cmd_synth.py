"""``circnn synth``: out-of-context synthesis figures (LUT, FF, DSP, BRAM, Fmax)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from .errors import UsageError
from .fft_options import add_fft_options, fft_options_summary, fft_params
from .report import emit, progress, table
from .synth import TARGETS
from .options import int_list, nonnegative_int, positive_int


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
    f.add_argument("--tech", choices=("auto", "generic", "ecp5", "ice40"), default="auto",
                   help="technology layer: generic '*' and inferred memories, ecp5 "
                        "MULT18X18D multipliers and DP16KD block RAMs with their registers "
                        "(needs --pipeline 2), or ice40 SB_RAM40_4K and SPRAM; auto (default) "
                        "picks ecp5 for the ECP5 target when --pipeline 2 and the widths allow "
                        "it, ice40 for the iCE40 target with --shared-io")
    f.add_argument("--workdir", metavar="DIR", help="keep the tool files here (default: temp)")
    f.add_argument("--json", metavar="FILE", nargs="?", const="-", default=None,
                   help="report as JSON (stdout, or FILE)")
    f.set_defaults(run=run_fft)
    e = ssub.add_parser("engine", help="the layer engine of a quantized model",
                        description="Synthesize the whole layer engine (weights, biases and "
                                    "tables built in) out of context; report LUT, FF, DSP, "
                                    "block RAM, SPRAM, Fmax (median over seeds), the critical "
                                    "path, and inferences per second at that Fmax from cycle "
                                    "counts measured in RTL simulation.")
    e.add_argument("--model", "-m", required=True, metavar="FILE",
                   help="quantized model file (circnn quantize)")
    e.add_argument("--target", choices=tuple(TARGETS), default="ecp5-85k")
    e.add_argument("--p", type=positive_int, default=None,
                   help="parallel butterflies per FFT level (default: the target's rule)")
    e.add_argument("--d", type=positive_int, default=None, help="FFT levels")
    e.add_argument("--lanes", type=positive_int, default=None, help="MAC lanes")
    e.add_argument("--freq", type=float, default=150.0, help="target clock in MHz (default 150)")
    e.add_argument("--seeds", type=int_list, default=[1], metavar="S,S,...",
                   help="one place-and-route per seed; Fmax is the median (default 1)")
    e.add_argument("--cycles-samples", type=nonnegative_int, default=4, metavar="N",
                   help="samples simulated to measure cycles per inference (default 4; 0: "
                        "the analytic estimate instead)")
    e.add_argument("--workdir", metavar="DIR", help="keep the tool files here (default: temp)")
    e.add_argument("--build-dir", default="build/circnn-sim", metavar="DIR",
                   help="simulator builds (cached)")
    e.add_argument("--json", metavar="FILE", nargs="?", const="-", default=None,
                   help="report as JSON (stdout, or FILE)")
    e.set_defaults(run=run_engine)


def run_fft(args) -> int:
    from .synth import choose_shared_io, resolve_tech, synthesize_fft

    ecp5 = args.target.startswith("ecp5")
    params = fft_params(args, default_pipeline=2 if ecp5 and args.tech != "generic" else 0)
    if args.seed is not None and args.seeds is not None:
        raise UsageError("give --seed or --seeds, not both")
    seeds = args.seeds or [1 if args.seed is None else args.seed]
    quiet = args.json == "-"
    params, why = choose_shared_io(params, args.target, args.shared_io)
    tech = resolve_tech(params, args.target, args.tech)
    if why:
        progress(f"synth fft: {why}", quiet)
    progress(f"synth fft {fft_options_summary(params)} for {args.target}", quiet)
    with tempfile.TemporaryDirectory(prefix="circnn-synth-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        r = synthesize_fft(params, args.target, tech, args.freq, seeds, workdir, quiet)
    fmax = r["fmax_mhz"]
    if len(seeds) > 1 and fmax:
        fmax = f"{fmax} ({r['fmax_min_mhz']}..{r['fmax_max_mhz']})"
    rows = [(args.target, r["lut"], r["ff"] if r["ff"] is not None else "-", r["dsp"], r["bram"],
             r["spram"] if r.get("spram") is not None else "-",
             fmax, f"{params.throughput:g}", r["lut_per_sample_per_clock"])]
    text = table(rows, ("target", "LUT", "FF", "DSP", "BRAM", "SPRAM",
                        "Fmax MHz" + (" median (min..max)" if len(seeds) > 1 else ""),
                        "samples/clk", "LUT per sample/clk"))
    text += (f"\n\n{fft_options_summary(params)}, technology: {tech}, shell: {r['shell']}, "
             f"nextpnr seed{'s' if len(seeds) > 1 else ''} {','.join(map(str, seeds))}")
    emit(args, text, r)
    return 0


def run_engine(args) -> int:
    from golden.engine_plan import plan_engine

    from .engine_options import load_quantized
    from .synth import engine_parameters, synthesize_engine

    _, qnet = load_quantized(args.model)
    hw = engine_parameters(args.target, p=args.p, d=args.d, lanes=args.lanes)
    tech = hw.pop("tech")
    try:
        plan = plan_engine(qnet, **hw)
    except ValueError as e:
        raise UsageError(f"engine parameters: {e}") from None
    summary = (f"k={plan.k_label} p={plan.fft.p} d={plan.fft.d} lanes={plan.lanes} "
               f"pipeline={plan.fft.pipeline}")
    _check_fits(plan, args.target, summary)
    quiet = args.json == "-"
    progress(f"synth engine {summary} ({len(plan.layers)} layers) for {args.target}", quiet)
    cycles = measure_cycles(plan, qnet, args.cycles_samples, args.build_dir, quiet, tech)
    with tempfile.TemporaryDirectory(prefix="circnn-synth-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        r = synthesize_engine(plan, args.target, tech, args.freq, args.seeds, workdir, quiet)
    r.update(cycles)
    r["parameters"] = {**hw, "d": plan.fft.d, "k": plan.k, "block_sizes": plan.block_sizes,
                       "width": plan.width}
    r["memories"] = plan.memories
    r["multipliers"] = plan.multipliers
    if r["fmax_mhz"]:
        r["inferences_per_second"] = round(r["fmax_mhz"] * 1e6 / r["cycles_per_inference"], 1)
    fmax = r["fmax_mhz"]
    if len(args.seeds) > 1 and fmax:
        fmax = f"{fmax} ({r['fmax_min_mhz']}..{r['fmax_max_mhz']})"
    rows = [(args.target, r["lut"], r["ff"] if r["ff"] is not None else "-", r["dsp"],
             r["bram"], r["spram"] if r["spram"] is not None else "-", fmax,
             r["cycles_per_inference"], r.get("inferences_per_second", "-"))]
    text = table(rows, ("target", "LUT", "FF", "DSP", "BRAM", "SPRAM", "Fmax MHz",
                        "cycles/inference", "inferences/s"))
    text += (f"\n\n{summary}, technology: {tech}, shell: {r['shell']}, cycles "
             f"{r['cycles_source']}")
    emit(args, text, r)
    return 0


def _check_fits(plan, target: str, summary: str) -> None:
    """Refuse, before any tool runs, a point whose counted multipliers or SPRAMs exceed the
    device (these counts are exact; LUTs and block RAM are left to the tools)."""
    from .tuner_models import DEVICES, block_memories, multipliers
    from .tuner_search import p_bound

    need = {"dsp": multipliers(plan)["total"],
            "spram": block_memories(plan, target).get("spram", 0)}
    over = [f"{n} {r.upper()} of {DEVICES[target][r]}" for r, n in need.items()
            if n > DEVICES[target][r]]
    if over:
        bound, why = p_bound(plan.k, plan.fft.d)
        raise UsageError(f"{summary} does not fit {target}: it needs {', '.join(over)} "
                         f"(bound on p from memory bandwidth at d={plan.fft.d}: {bound}, {why}); "
                         f"lower --p or --lanes, or let 'circnn tune' pick")


def measure_cycles(plan, qnet, samples: int, build_dir: str, quiet: bool,
                   tech: str = "generic") -> dict:
    """Cycles per inference: simulated (Verilator; outputs checked against the golden) on
    ``samples`` random inputs, or the analytic estimate when ``samples`` is 0.  The fast driver
    runs the generic engine, whose cycles are the ECP5 build's; the iCE40 build (no FIFO around
    the FFT engine) is simulated itself, on its primitives' models, under cocotb."""
    import numpy as np

    from golden.engine_fixed import run_fixed
    from sim.engine_fast import run_fast
    from hw.layer_engine import lean_buffers
    from golden.engine_cycles import estimate_cycles
    from sim.engine_run import run_engine_rtl
    from sim.simulators import SimulatorError, available

    if samples == 0 or not available("verilator"):
        return {"cycles_per_inference": estimate_cycles(plan), "cycles_source": "estimated"}
    progress(f"synth engine: measuring cycles on {samples} samples (Verilator)", quiet)
    rng = np.random.default_rng(0)
    x, _ = qnet.quantize_input(rng.normal(size=(samples,) + tuple(qnet.input_shape)))
    try:
        if lean_buffers(tech):
            r = run_engine_rtl(plan, [{"op": "infer", "inputs": "x", "expect": "y"}],
                               {"x": x.reshape(len(x), -1), "y": run_fixed(qnet, x)[0]},
                               "verilator", Path(build_dir), fast=True, tech=tech)
            r["cycles"] = r["sample_cycles"]
        else:
            r = run_fast(plan, x, Path(build_dir))
    except SimulatorError as e:
        raise UsageError(str(e)) from None
    want = run_fixed(qnet, x)[0]
    if not np.array_equal(r["outputs"], want):
        raise UsageError("the RTL disagrees with the golden model on the cycle-count samples")
    return {"cycles_per_inference": int(np.median(r["cycles"])),
            "cycles_source": f"measured in RTL simulation (median of {samples} samples)"}
