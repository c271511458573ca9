"""``circnn bench``: benchmarks whose figures go to docs/ (not timed unit tests)."""

from __future__ import annotations

from pathlib import Path

from . import options
from .errors import UsageError
from .files import check_output_paths
from .bench_cycles import parse_point
from .report import emit, progress, table


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="run a benchmark and report its figures",
                       description="Benchmarks; their figures are recorded in docs/.")
    bsub = p.add_subparsers(dest="bench", metavar="BENCH", required=True)
    m = bsub.add_parser("matmul", help="golden block-circulant product versus dense BLAS matmul")
    m.add_argument("--n", type=options.positive_int, default=4096, help="input features")
    m.add_argument("--m", type=options.positive_int, default=4096, help="output features")
    m.add_argument("--k", type=options.power_of_two_list, default=[64], help="block size")
    m.add_argument("--batch", type=options.positive_int, default=256)
    m.add_argument("--repeats", type=options.positive_int, default=5)
    options.add_json(m)
    m.set_defaults(run=run_matmul)
    f = bsub.add_parser("fft-sqnr", help="FFT golden model SQNR against numpy.fft and the ideal")
    f.add_argument("--k", type=options.power_of_two_list, default=[64, 256], metavar="K,K")
    f.add_argument("--width", type=options.positive_int, default=16)
    f.add_argument("--guard", type=options.nonnegative_int_list, default=None, metavar="G,G",
                   help="guard bits to compare (default: the engine default)")
    f.add_argument("--frames", type=options.positive_int, default=1000)
    options.add_json(f)
    f.set_defaults(run=run_fft_sqnr)
    fs = bsub.add_parser("fft-synth", help="FFT engine design points through Yosys + nextpnr: "
                                           "LUT, Fmax, throughput (slow; cached)")
    fs.add_argument("--quick", action="store_true",
                    help="one small point (a check of the flow, a few minutes)")
    fs.add_argument("--seeds", type=options.int_list, default=[1, 2, 3], metavar="S,S,S",
                    help="nextpnr seeds per point; Fmax is their median (default 1,2,3)")
    fs.add_argument("--plot", metavar="FILE", help="also draw LUT per sample/clk against Fmax")
    fs.add_argument("--work-dir", default="build/bench/fft-synth", metavar="DIR",
                    help="tool files and the cache of finished points")
    fs.add_argument("--no-cache", action="store_true", help="synthesize every point again")
    options.add_json(fs)
    fs.set_defaults(run=run_fft_synth)
    a = bsub.add_parser("accuracy", help="digits accuracy, dense versus block-circulant, seeds")
    a.add_argument("--seeds", type=options.int_list, default=[1, 2, 3], metavar="S,S,S",
                   help="training seeds (default 1,2,3)")
    a.add_argument("--plot", metavar="FILE", help="also draw accuracy versus parameters (.png)")
    options.add_json(a)
    a.set_defaults(run=run_accuracy)
    c = bsub.add_parser("compress", help="compressing a dense network with fine-tuning versus "
                                         "block-circulant from scratch, seeds")
    c.add_argument("--arch", choices=("mlp", "cnn"), default="mlp")
    c.add_argument("--seeds", type=options.int_list, default=[1, 2, 3], metavar="S,S,S",
                   help="seeds (default 1,2,3)")
    c.add_argument("--finetune-epochs", type=options.positive_int, default=None,
                   help="fine-tuning epochs (default 20)")
    options.add_json(c)
    c.set_defaults(run=run_compress)
    o = bsub.add_parser("onnx", help="ONNX round trip of trained networks against onnxruntime")
    o.add_argument("--epochs", type=options.positive_int, default=5, help="training epochs")
    options.add_json(o)
    o.set_defaults(run=run_onnx)
    e = bsub.add_parser("engine", help="layer engine: RTL cycles, utilization, dense comparison, "
                                       "weight bits (FC layer)")
    e.add_argument("--n", type=options.positive_int, default=1024, help="input features")
    e.add_argument("--m", type=options.positive_int, default=1024, help="output features")
    e.add_argument("--k", type=options.positive_int, default=64, help="block size")
    e.add_argument("--p", type=options.positive_int, default=1)
    e.add_argument("--d", type=options.positive_int, default=None)
    e.add_argument("--lanes", type=options.positive_int, default=16)
    e.add_argument("--batch", type=options.positive_int, default=32,
                   help="input vectors per run for the batched figures (as a 1x1 convolution "
                        "over that many pixels, so consecutive vectors overlap; default 32); "
                        "the steady state is measured between BATCH and 2*BATCH")
    e.add_argument("--build-dir", default="build/circnn-sim", metavar="DIR")
    e.add_argument("--save-model", metavar="FILE", default=None,
                   help="also write the layer (one vector, quantized) as a model file, for "
                        "circnn synth engine -m FILE")
    options.add_json(e)
    e.set_defaults(run=run_engine)
    s = bsub.add_parser("engine-speed", help="digits test split through the RTL (Verilator)")
    s.add_argument("--model", "-m", required=True, metavar="FILE", help="quantized digits model")
    s.add_argument("--lanes", type=options.positive_int, default=4)
    s.add_argument("--limit", type=options.positive_int, default=None,
                   help="only the first N test images")
    s.add_argument("--build-dir", default="build/circnn-sim", metavar="DIR")
    options.add_json(s)
    s.set_defaults(run=run_engine_speed)
    cy = bsub.add_parser("cycles", help="the engine's cycle formulas against RTL simulation "
                                        "(Verilator) at design points of a target")
    cy.add_argument("--model", "-m", required=True, metavar="FILE", help="quantized model")
    cy.add_argument("--target", choices=("ecp5-85k", "ice40-up5k"), default="ecp5-85k",
                    help="the target's engine defaults (pipelining, slots, buffers)")
    cy.add_argument("--point", type=parse_point, action="append", metavar="P,D,LANES",
                    help="a design point (repeat for more; default: the target's default point)")
    cy.add_argument("--samples", type=options.positive_int, default=2,
                    help="random inputs per point; the median of their cycles (default 2)")
    cy.add_argument("--build-dir", default="build/circnn-sim", metavar="DIR")
    options.add_json(cy)
    cy.set_defaults(run=run_cycles)
    k = bsub.add_parser("soak", help="layer engine RTL: thousands of inferences streamed under "
                                     "random stalls, weight reloads between batches")
    k.add_argument("--model", "-m", metavar="FILE",
                   help="quantized model (default: a random 64-64-10 FC network, k = 8)")
    k.add_argument("--inferences", type=options.positive_int, default=4000)
    k.add_argument("--batches", type=options.positive_int, default=4,
                   help="new weights through the weight port before each batch but the first")
    k.add_argument("--gap", type=options.nonnegative_float, default=0.2,
                   help="probability of an idle input cycle (default 0.2)")
    k.add_argument("--stall", type=options.nonnegative_float, default=0.3,
                   help="probability of a cycle without output ready (default 0.3)")
    k.add_argument("--lanes", type=options.positive_int, default=2)
    k.add_argument("--seed", type=int, default=1)
    k.add_argument("--sim", choices=("verilator", "icarus"), default="verilator")
    k.add_argument("--build-dir", default="build/circnn-sim", metavar="DIR")
    options.add_json(k)
    k.set_defaults(run=run_soak)


def run_compress(args) -> int:
    from .bench_compress import STEPS, run_compress_bench

    r = run_compress_bench(args.arch, args.seeds, args.finetune_epochs,
                           progress=lambda m: progress(m, args.json == "-"))
    names = {"dense": "dense", "scratch": f"k={r['k']} from scratch ({r['scratch_epochs']} ep.)",
             "frobenius_projection": "dense -> Frobenius projection",
             "data_aware_projection": "dense -> data-aware projection",
             "finetuned": f"dense -> compressed + fine-tuned ({r['finetune_epochs']} ep.)"}
    rows = [(names[s], f"{100 * r['mean'][s]:.2f} %",
             " ".join(f"{100 * run[s]:.2f}" for run in r["runs"])) for s in STEPS]
    text = table(rows, (f"{args.arch} on digits ({r['test_images']} test images)",
                        "mean", "per seed"))
    text += (f"\n\nfine-tuned minus from scratch: {r['finetuned_minus_scratch_pp']:+.2f} pp "
             f"(seeds {r['seeds']})")
    emit(args, text, r)
    return 0


def run_onnx(args) -> int:
    from .bench_onnx import run_onnx_bench

    r = run_onnx_bench(args.epochs)
    rows = [(e["arch"], e["images"], f"{e['max_rel_diff_circnn_vs_onnxruntime']:.2e}",
             f"{e['max_rel_diff_reimported_vs_onnxruntime']:.2e}",
             f"{100 * e['argmax_equal']:.2f} %") for e in r["results"]]
    emit(args, table(rows, ("network", "images", "circnn vs onnxruntime (max rel.)",
                            "re-imported vs onnxruntime", "argmax equal")), r)
    return 0


def run_engine(args) -> int:
    from .bench_engine import fc_layer_steady_state
    from .errors import UsageError

    quiet = args.json == "-"
    if args.save_model:
        from .bench_engine import fc_layer_model
        from .files import save_quantized_model

        try:
            net, qnet, _, _ = fc_layer_model(args.n, args.m, args.k)
        except ValueError as e:
            raise UsageError(str(e)) from None
        save_quantized_model(args.save_model, net, qnet)
        progress(f"bench engine: wrote the layer's model to {args.save_model}", quiet)
    progress(f"bench engine: FC {args.m}x{args.n}, k={args.k}, p={args.p}, lanes={args.lanes}: "
             f"one vector, then {args.batch} and {2 * args.batch} vectors per run (each: "
             "generate, compile with Verilator, simulate); then the same three with the layer "
             "dense (k=1) on the same engine", quiet)
    try:
        r = fc_layer_steady_state(args.n, args.m, args.k, args.p, args.d, args.lanes,
                                  Path(args.build_dir), args.batch,
                                  report=lambda text: progress(text, quiet))
    except ValueError as e:
        raise UsageError(str(e)) from None
    mc = r["multipliers_complex"]
    dn = r["dense_rtl"]
    rows = [
        ("one vector", f"{r['single_vector_cycles']:.0f}",
         f"{100 * r['single_vector_utilization']:.1f} %", f"{dn['single_vector_cycles']:.0f}",
         f"{dn['single_vector_cycles'] / r['single_vector_cycles']:.2f}x",
         f"{r['single_vector_dense_over_bc']:.2f}x"),
        (f"batch of {args.batch} (mean per vector)", f"{r['rtl_cycles']:.0f}",
         f"{100 * r['utilization']:.1f} %", f"{dn['batch_mean_cycles']:.0f}",
         f"{dn['batch_mean_cycles'] / r['rtl_cycles']:.2f}x", f"{r['dense_over_bc_rtl']:.2f}x"),
        ("steady state (marginal vector)", f"{r['steady_state_cycles']:.0f}",
         f"{100 * r['steady_state_utilization']:.1f} %", f"{dn['steady_state_cycles']:.0f}",
         f"{dn['steady_state_cycles'] / r['steady_state_cycles']:.2f}x",
         f"{r['steady_state_dense_over_bc']:.2f}x"),
        ("analytic bound", f"{r['bound_cycles']:.0f}", "100 %", f"{dn['bound_cycles']:.0f}",
         f"{dn['bound_cycles'] / r['bound_cycles']:.2f}x", f"{r['dense_over_bc_bound']:.2f}x"),
    ]
    text = table(rows, ("FC layer, cycles per vector", f"BC k={args.k}", "multiplier use",
                        "dense k=1 (RTL)", "dense / BC", "dense / BC (all multipliers)"))
    text += (f"\n\n{mc['total']} complex multipliers ({mc['fft']} FFT + {mc['mac']} MAC). "
             f"dense k=1: the same layer on the same engine, real products on the "
             f"{args.lanes} MAC lanes, the FFT engine bypassed (measured, bit exact); a dense "
             f"engine using all {r['real_multipliers']} real multipliers would need "
             f"{r['dense_cycles']:.0f} cycles per vector (analytic, last column)\n"
             f"weights: {r['weight_bits']} bits (k/2+1 complex bins per block) against "
             f"{r['dense_weight_bits']} dense 16-bit ({r['dense_weight_bits'] / r['weight_bits']:.1f}x)"
             f"\nFFT passes per vector: {r['fft_passes']} (two real blocks per transform) against "
             f"{r['fft_passes_naive']}\nRTL outputs equal the fixed golden bit for bit")
    emit(args, text, r)
    return 0


def run_engine_speed(args) -> int:
    from .bench_engine import digits_speed
    from .engine_options import load_quantized

    load_quantized(args.model)
    progress("bench engine-speed: compiling the engine (Verilator) and running the digits test "
             "split", args.json == "-")
    r = digits_speed(args.model, Path(args.build_dir), args.lanes, args.limit)
    rows = [(k, f"{v:.3g}" if isinstance(v, float) else v) for k, v in r.items()]
    emit(args, table(rows, ("figure", "value")), r)
    return 0


def run_cycles(args) -> int:
    from .bench_cycles import cycles_against_rtl
    from .engine_options import load_quantized

    check_output_paths(None if args.json in (None, "-") else args.json)
    qnet = load_quantized(args.model)[1]
    points = args.point or [(None, None, None)]     # the target's default point
    rows = cycles_against_rtl(qnet, args.target, points, args.samples, Path(args.build_dir),
                              args.json == "-")
    text = table([(r["p"], r["d"], r["lanes"], r["model_cycles"], r["rtl_cycles"],
                   f"{r['error_percent']:+.1f} %") for r in rows],
                 ("p", "d", "lanes", "model cycles", "RTL cycles", "error"))
    worst = max(abs(r["error_percent"]) for r in rows)
    text += f"\n\n{args.target}: model against RTL, largest error {worst:.1f} %"
    emit(args, text, {"target": args.target, "points": rows, "largest_error_percent": worst})
    return 0


def run_soak(args) -> int:
    import numpy as np

    from sim.engine_soak import default_network, run_soak as soak
    from sim.simulators import SimulatorError

    from .engine_options import load_quantized

    for name in ("gap", "stall"):
        if getattr(args, name) >= 1:
            raise UsageError(f"--{name} must be below 1, not {getattr(args, name)}")
    if args.batches > args.inferences:
        raise UsageError(f"--batches {args.batches} is more than --inferences {args.inferences}")
    check_output_paths(None if args.json in (None, "-") else args.json)
    qnet = load_quantized(args.model)[1] if args.model else default_network(args.seed)
    rng = np.random.default_rng(args.seed)
    x = rng.normal(0, 1, (args.inferences,) + tuple(qnet.input_shape))
    x_int, _ = qnet.quantize_input(x)
    progress(f"bench soak: {args.inferences} inferences in {args.batches} batches on {args.sim}, "
             f"gap {args.gap}, stall {args.stall} (builds the engine first)", args.json == "-")
    try:
        r = soak(qnet, x_int, args.batches, args.sim, Path(args.build_dir), args.gap, args.stall,
                 args.seed, lanes=args.lanes)
    except SimulatorError as e:
        raise UsageError(str(e)) from None
    keys = ("samples_in", "samples_out", "lost", "duplicated", "out_of_order", "wrong",
            "misframed", "bit_exact")
    rows = [(f"batch {i}{' (after reload)' if i else ''}", *(b[key] for key in keys))
            for i, b in enumerate(r["batches"])]
    rows.append(("total", *(r["total"][key] for key in keys)))
    text = table(rows, ("", "in", "out", "lost", "dup", "order", "wrong", "misframed",
                        "bit exact"))
    text += (f"\n\n{r['reloads']} weight reloads, {r['seconds']} s of simulation "
             f"({args.sim}), plan {r['plan']}")
    emit(args, text, r)
    t = r["total"]
    clean = t["bit_exact"] == t["samples_in"] == t["samples_out"] and not t["trailing_beats"]
    return 0 if clean else 1


def run_matmul(args) -> int:
    from .bench_matmul import run_matmul_bench

    r = run_matmul_bench(args.n, args.m, args.k[0], args.batch, args.repeats)
    mib = 1 << 20
    rows = [
        ("block-circulant (FFT)", f"{1e3 * r['blockcirculant_seconds']:.1f}",
         f"{r['blockcirculant_time_domain_weight_bytes'] / mib:.2f}",
         f"{r['blockcirculant_peak_temp_bytes'] / mib:.1f}"),
        ("dense (BLAS)", f"{1e3 * r['dense_seconds']:.1f}", f"{r['dense_weight_bytes'] / mib:.2f}",
         f"{r['dense_peak_temp_bytes'] / mib:.1f}"),
    ]
    text = table(rows, ("product", "ms (best)", "weights MiB", "peak temp MiB"))
    text += (f"\n\n{r['m']}x{r['n']}, k={r['k']}, batch {r['batch']}: "
             f"{r['speedup']:.1f}x faster, {r['weight_memory_ratio']:.0f}x less weight memory, "
             f"relative difference {r['relative_difference']:.1e}")
    emit(args, text, r)
    return 0


def run_accuracy(args) -> int:
    from .bench_accuracy import run_accuracy_bench

    quiet = args.json == "-"
    r = run_accuracy_bench(seeds=args.seeds, progress=lambda s: progress(s, quiet))
    rows = [(e["name"], f"{100 * e['mean']:.2f}", f"{100 * e['std']:.2f}", e["parameters"],
             e["dense_parameters"]) for e in r["results"]]
    text = table(rows, ("network", "test acc. mean %", "std (pp)", "params", "dense params"))
    text += f"\n\nseeds {r['seeds']}, {r['test_images']} test images (1 image = " \
            f"{100 / r['test_images']:.2f} pp)"
    if args.plot:
        from .plots import accuracy_plot

        accuracy_plot(r, args.plot)
        text += f"\nplot written to {args.plot}"
    emit(args, text, r)
    return 0


def run_fft_sqnr(args) -> int:
    from golden.fft_fixed import FFTParams

    from .bench_fft import fft_sqnr
    from .errors import UsageError

    rows, results = [], []
    for k in args.k:
        for spc in (None, 1):
            for guard in (args.guard or [None]):
                for inverse in (False, True):
                    try:
                        kw = {} if guard is None else {"guard": guard}
                        params = FFTParams(k=k, width=args.width, samples_per_clock=spc, **kw)
                    except ValueError as e:
                        raise UsageError(str(e)) from None
                    r = fft_sqnr(params, args.frames, inverse=inverse)
                    r["numerics"] = "radix 2² (1 sample/clk)" if spc else "radix 2 (2p samples/clk)"
                    results.append(r)
                    rows.append((k, r["numerics"], r["guard"],
                                 "inverse" if inverse else "forward", r["sqnr_db"],
                                 r["ideal_sqnr_db"], r["gap_db"], r["saturations"]))
    text = table(rows, ("k", "numerics", "guard", "direction", "SQNR dB", "ideal dB", "gap dB",
                        "saturations"))
    text += f"\n\n{args.frames} random frames per row, uniform at 1/4 full scale per component"
    emit(args, text, {"results": results})
    return 0


def run_fft_synth(args) -> int:
    from .bench_fft_synth import DEFAULT_POINTS, QUICK_POINTS, peers_table, run_points

    quiet = args.json == "-"
    points = QUICK_POINTS if args.quick else DEFAULT_POINTS
    results = run_points(points, args.seeds, args.work_dir,
                         progress=lambda msg: progress(msg, quiet), use_cache=not args.no_cache)
    rows = []
    for r in results:
        if r.get("failed"):
            reason = r["failed"].splitlines()[0][:60]
            rows.append((r["name"], f"failed: {reason}", "", "", "", "", "", "", ""))
            continue
        fmax = r["fmax_mhz"]
        if fmax and len(args.seeds) > 1:
            fmax = f"{fmax} ({r['fmax_min_mhz']}..{r['fmax_max_mhz']})"
        rows.append((r["name"], r["lut"], r["ff"] if r["ff"] is not None else "-", r["dsp"],
                     r["bram"], fmax, f"{r['throughput_samples_per_clock']:g}",
                     r["lut_per_sample_per_clock"], r["frame_interval_cycles"]))
    peers = peers_table()
    for p in peers:
        rows.append((f"peer: {p['name']}", p["lut"], "", p["dsp"], "", p["fmax_mhz"],
                     p["samples_per_clock"], p["lut_per_sample_per_clock"], ""))
    text = table(rows, ("design point", "LUT", "FF", "DSP", "BRAM", "Fmax MHz",
                        "samples/clk", "LUT per sample/clk", "frame interval"))
    if args.plot:
        from .plots import fft_synth_plot

        fft_synth_plot(results, peers, args.plot)
        text += f"\n\nplot: {args.plot}"
    emit(args, text, {"points": results, "peers": peers, "seeds": args.seeds})
    return 0
