"""``circnn infer``: run a model on a batch of inputs with one of the engines."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from . import options
from .engine_options import add_engine_options, engine_plan, load_quantized
from .errors import UsageError
from .files import load_model, load_npy, save_npy
from .report import emit, progress
from .trace import write_trace

ENGINES = ("float", "fixed", "rtl")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "infer", help="run a model on inputs",
        description="Run a model file on a batch of raw inputs (.npy, shape (batch, features) or "
                    "(batch,) + input shape) and write the outputs (.npy, shape (batch, outputs)). "
                    "fixed and rtl need a quantized model (circnn quantize); rtl simulates the "
                    "generated layer engine and checks every output against the fixed model.")
    p.add_argument("--model", "-m", required=True, metavar="FILE", help="model file (.npz)")
    p.add_argument("--input", "-i", required=True, metavar="FILE", help="inputs (.npy)")
    options.add_output(p, "outputs to write (.npy)")
    p.add_argument("--engine", choices=ENGINES, default="float",
                   help="float: NumPy float reference; fixed: bit-exact model of the layer "
                        "engine; rtl: the generated Verilog in simulation")
    p.add_argument("--trace", metavar="DIR",
                   help="fixed/rtl: write every layer's fixed and float outputs and a per-layer "
                        "report (SQNR against float, saturations) to DIR")
    p.add_argument("--sim", choices=("verilator", "icarus"), default="verilator",
                   help="simulator for --engine rtl (default verilator)")
    p.add_argument("--waves", metavar="FILE", help="rtl: write a waveform dump (VCD) to FILE")
    p.add_argument("--build-dir", default="build/circnn-sim", metavar="DIR",
                   help="simulator build cache (default build/circnn-sim)")
    add_engine_options(p)
    p.add_argument("--labels", metavar="FILE", help="labels (.npy) to report accuracy against")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    options.add_json(p)
    p.set_defaults(run=run)


def _check_x(net, x, path):
    if x.dtype.kind == "c":
        raise UsageError(f"input file {path}: expected real values, got dtype {x.dtype}")
    try:
        return net.check_input(x)
    except ValueError as e:
        raise UsageError(f"input file {path}: {e}") from None


def run(args) -> int:
    if args.engine == "float":
        for flag, name in ((args.trace, "--trace"), (args.waves, "--waves")):
            if flag:
                raise UsageError(f"{name} needs --engine fixed or rtl")
    if args.waves and args.engine != "rtl":
        raise UsageError("--waves needs --engine rtl")
    data = {"engine": args.engine}
    if args.engine == "float":
        net = load_model(args.model)
        x = _check_x(net, load_npy(args.input), args.input)
        y = net.forward(x)
    else:
        from golden.engine_fixed import run_fixed

        net, qnet = load_quantized(args.model)
        x = _check_x(net, load_npy(args.input), args.input)
        xq, in_sat = qnet.quantize_input(x)
        trace = [] if args.trace else None
        yq, sats = run_fixed(qnet, xq, trace=trace)
        data["saturations"] = {"input": in_sat, **sats}
        if args.engine == "rtl":
            yq = _run_rtl(args, qnet, xq, yq, data)
        y = qnet.dequantize_output(yq)
        if args.trace:
            data["trace"] = write_trace(Path(args.trace), net, qnet, x, trace)
    save_npy(args.output, y)
    pred = np.argmax(y, axis=-1)
    data.update({"samples": int(y.shape[0]), "outputs": int(y.shape[1]),
                 "output_file": args.output})
    text = f"{y.shape[0]} samples through the {args.engine} engine -> {args.output} {y.shape}"
    if "saturations" in data:
        text += f"\nsaturations: {sum(data['saturations'].values())} ({data['saturations']})"
    if "cycles_per_sample" in data:
        text += (f"\nRTL ({args.sim}): {data['cycles_per_sample']:.0f} cycles per sample, "
                 f"outputs equal the fixed model bit for bit")
    if "trace" in data:
        text += "\n" + data["trace"]["table"] + f"\ntrace written to {args.trace}"
    if args.labels:
        labels = load_npy(args.labels, "labels")
        if labels.shape != (y.shape[0],):
            raise UsageError(f"labels file {args.labels}: expected shape ({y.shape[0]},), got "
                             f"{labels.shape}")
        acc = float(np.mean(pred == labels))
        data["accuracy"] = acc
        text += f"\naccuracy {100 * acc:.2f} %"
    emit(args, text, data)
    return 0


def _run_rtl(args, qnet, xq, yq, data):
    from sim.engine_run import run_engine_rtl
    from sim.simulators import SimulatorError, available

    if not available(args.sim):
        raise UsageError(f"simulator {args.sim} is not available on this machine")
    plan = engine_plan(qnet, args)
    progress(f"infer: building the layer engine ({len(plan.layers)} layers, k={plan.k_label}, "
             f"p={plan.fft.p}, d={plan.fft.d}, lanes={plan.lanes}) and simulating "
             f"{len(xq)} samples on {args.sim} (cached in {args.build_dir})", args.quiet)
    try:
        if args.sim == "verilator" and not args.waves:
            from sim.engine_fast import run_fast

            r = run_fast(plan, xq, Path(args.build_dir))
            r["sample_cycles"] = r["cycles"]
            data["driver"] = "C++ Verilator driver (sim/engine_fast.py)"
        else:
            steps = [{"op": "infer", "inputs": "x", "expect": "y"}]
            r = run_engine_rtl(plan, steps, {"x": xq.reshape(len(xq), -1), "y": yq}, args.sim,
                               Path(args.build_dir), waves=bool(args.waves), fast=True)
            data["driver"] = "cocotb (sim/tb_layer_engine.py)"
            data["layer_cycles"] = np.mean(r["layer_cycles"], axis=0).tolist()
    except SimulatorError as e:
        raise SystemExit(f"circnn: RTL simulation failed: {e}")
    if not np.array_equal(r["outputs"], yq):
        bad = int(np.sum(np.any(r["outputs"] != yq, axis=1)))
        raise SystemExit(f"circnn: RTL outputs differ from the fixed model in {bad} samples")
    data["simulator"] = args.sim
    data["cycles_per_sample"] = float(np.mean(r["sample_cycles"]))
    if args.waves:
        dumps = sorted(Path(r["build_dir"]).glob("*.vcd")) + sorted(
            Path(r["build_dir"]).glob("*.fst"))
        if not dumps:
            raise UsageError(f"the simulator wrote no waveform in {r['build_dir']}")
        shutil.copyfile(dumps[0], args.waves)
        data["waves"] = args.waves
    return r["outputs"]
