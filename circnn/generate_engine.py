"""``circnn generate engine``: the layer engine's Verilog, memory images and JSON manifest."""

from __future__ import annotations

import os
from pathlib import Path

from .cmd_generate import payload_fields
from .engine_options import add_engine_options, engine_plan, load_quantized
from .errors import UsageError
from .files import save_json, save_text
from .report import emit, progress, table


def add_engine_parser(gsub) -> None:
    e = gsub.add_parser(
        "engine", help="the layer engine for a quantized model",
        description="Write DIR/layer_engine.v (weights, biases and im2col tables built in), "
                    "the memory images as hex files (one word per line) and DIR/layer_engine.json "
                    "(ports with payload bit fields, memories, multipliers, per-layer "
                    "descriptors with estimated cycles and the analytic bound).")
    e.add_argument("--model", "-m", required=True, metavar="FILE",
                   help="quantized model file (circnn quantize)")
    add_engine_options(e)
    e.add_argument("-o", "--output", required=True, metavar="DIR", help="output directory")
    e.add_argument("--quiet", action="store_true", help="no progress lines")
    e.add_argument("--json", metavar="FILE", nargs="?", const="-", default=None,
                   help="print the manifest as JSON (or also write it to FILE)")
    e.set_defaults(run=run_engine)


def _hex(words, bits):
    digits = max(1, -(-bits // 4))
    mask = (1 << bits) - 1
    return "".join(f"{int(w) & mask:0{digits}x}\n" for w in words)


def run_engine(args) -> int:
    from golden.fft_fixed import engine_latency
    from hw.layer_engine import PHASES, LayerEngine, value_payload, weight_payload
    from hw.synth_shell import flat_ports
    from golden.engine_cycles import estimate_layer_cycles
    from sim.engine_run import TOPLEVEL, generate_engine_verilog

    _, qnet = load_quantized(args.model)
    plan = engine_plan(qnet, args)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    progress(f"generate: layer engine for {len(plan.layers)} layers (k={plan.k_label})",
             args.quiet)
    engine = LayerEngine(plan)
    verilog = generate_engine_verilog(plan, out / f"{TOPLEVEL}.v", engine)
    w = plan.width
    images = {}
    for lane, bank in enumerate(plan.weight_banks):
        name = f"weights_lane{lane}.hex"
        save_text(str(out / name), _hex(bank, 2 * w))
        images[name] = {"words": len(bank), "bits": 2 * w, "layout": "re in the low bits"}
    for b, bank in enumerate(plan.bias_banks):
        name = f"bias_bank{b}.hex"
        save_text(str(out / name), _hex(bank, w))
        images[name] = {"words": len(bank), "bits": w,
                        "layout": "block-interleaved: features of block parity "
                                  f"{b}, each layer from its bbase"}
    ports = [{"name": "clk", "width": 1, "direction": "input"},
             {"name": "rst", "width": 1, "direction": "input"}] + [
        {"name": name.replace(".", "__"), "width": len(value),
         "direction": "input" if is_in else "output"}
        for name, value, is_in in flat_ports(engine)]
    layers, rows = [], []
    for lp in plan.layers:
        est = estimate_layer_cycles(plan, lp)
        bound = plan.bound_cycles(lp)
        work = plan.layer_work(lp)
        layers.append({**vars(lp), "estimated_cycles": est, "bound_cycles": bound, **work})
        rows.append((lp.index, "conv" if lp.conv else "fc", lp.k, f"{lp.n}->{lp.m}", lp.vectors,
                     f"{lp.q}x{lp.pb}", est, f"{bound:.0f}"))
    manifest = {
        "block": "layer_engine", "module": TOPLEVEL, "verilog": os.path.basename(verilog),
        "model": os.path.abspath(args.model),
        "k": plan.k, "block_sizes": plan.block_sizes, "width": w, "lanes": plan.lanes,
        "fft": {"p": plan.fft.p, "d": plan.fft.d, "latency_cycles": engine_latency(plan.fft),
                "min_length": plan.fft.min_length,
                "inverse_shifts": list(plan.fft.inverse_shifts)},
        "accumulator_width": plan.acc_width,
        "multipliers": plan.multipliers,
        "memories": plan.memories,
        "images": images,
        "ports": ports,
        "input_payload": payload_fields(value_payload(w)),
        "output_payload": payload_fields(value_payload(w)),
        "weight_payload": payload_fields(weight_payload(plan)),
        "phases": PHASES,
        "in_size": plan.in_size, "out_size": plan.out_size,
        "input_frac": qnet.input_frac, "output_frac": qnet.layers[-1].out_frac,
        "layers": layers,
        "estimated_cycles_per_sample": sum(l["estimated_cycles"] for l in layers)
        + plan.in_size + plan.out_size,
        "reset": "synchronous, active high (rst); memories keep their contents",
    }
    save_json(str(out / f"{TOPLEVEL}.json"), manifest)
    text = table(rows, ("layer", "kind", "k", "features", "vectors", "q x p", "est. cycles",
                        "bound"))
    text += (f"\nwrote {verilog}, {len(images)} memory images and "
             f"{out / (TOPLEVEL + '.json')}; {plan.multipliers['total']} complex multipliers "
             f"({plan.multipliers['fft']} FFT, {plan.multipliers['mac']} MAC)")
    emit(args, text, manifest)
    return 0
