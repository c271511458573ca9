"""``circnn generate``: Verilog plus a JSON manifest for a block."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UsageError
from .fft_options import add_fft_options, describe, fft_params
from .files import save_json
from .report import emit


def add_parser(sub) -> None:
    p = sub.add_parser("generate", help="generate Verilog and a JSON manifest",
                       description="Generate a block's Verilog and its manifest.")
    gsub = p.add_subparsers(dest="block", metavar="BLOCK", required=True)
    f = gsub.add_parser("fft", help="the FFT/IFFT engine",
                        description="Write DIR/fft_engine.v and DIR/fft_engine.json (parameters, "
                                    "ports with payload bit fields, latency, throughput, gain).")
    add_fft_options(f)
    f.add_argument("-o", "--output", required=True, metavar="DIR", help="output directory")
    f.add_argument("--tech", choices=("generic", "ecp5", "ice40"), default="generic",
                   help="technology: generic ('*' and inferred memories), ecp5 (MULT18X18D "
                        "and DP16KD primitives with their registers; needs --pipeline 2) or "
                        "ice40 (SB_RAM40_4K primitives, products split for the SB_MAC16); "
                        "behavioural models of the primitives are written next to the Verilog "
                        "for simulation")
    f.add_argument("--json", metavar="FILE", nargs="?", const="-", default=None,
                   help="print the manifest as JSON (or also write it to FILE)")
    f.set_defaults(run=run_fft)
    from .generate_engine import add_engine_parser

    add_engine_parser(gsub)


def payload_fields(layout, prefix=""):
    """Bit fields of a payload layout: ``[{name, offset, width}]`` (first member in the LSBs)."""
    from amaranth.lib import data

    fields = []
    for name, field in layout:
        shape = field.shape
        if isinstance(shape, data.ArrayLayout):
            elem = shape.elem_shape
            esize = data.Layout.cast(elem).size if isinstance(elem, data.Layout) else \
                elem.width
            for i in range(shape.length):
                sub = f"{prefix}{name}[{i}]"
                if isinstance(elem, data.StructLayout):
                    for n2, f2 in elem:
                        fields.append({"name": f"{sub}.{n2}", "offset": field.offset + i * esize
                                       + f2.offset, "width": f2.width, "signed": True})
                else:
                    fields.append({"name": sub, "offset": field.offset + i * esize,
                                   "width": esize})
        else:
            fields.append({"name": prefix + name, "offset": field.offset, "width": field.width})
    return fields


def run_fft(args) -> int:
    from hw.fft_engine import FFTEngine, check_engine_args, input_payload, output_payload
    from hw.synth_shell import flat_ports
    from sim.fft_run import TOPLEVEL, generate_fft_verilog

    params = fft_params(args)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a directory")
    try:
        check_engine_args(params, args.tech)
    except TypeError as e:
        raise UsageError(str(e)) from None
    out.mkdir(parents=True, exist_ok=True)
    engine = FFTEngine(params, args.tech)
    verilog = generate_fft_verilog(params, out / f"{TOPLEVEL}.v", engine)
    from sim.primitive_models import primitive_models

    extra = [os.path.basename(p) for p in primitive_models(args.tech, out)]
    ports = [{"name": name.replace(".", "__"), "width": len(value),
              "direction": "input" if is_in else "output"}
             for name, value, is_in in flat_ports(engine)]
    ports = [{"name": "clk", "width": 1, "direction": "input"},
             {"name": "rst", "width": 1, "direction": "input"}] + ports
    manifest = {
        "block": "fft_engine", "module": TOPLEVEL, "verilog": os.path.basename(verilog),
        "tech": args.tech, "simulation_models": extra,
        **describe(params),
        "ports": ports,
        "input_payload": payload_fields(input_payload(params)),
        "output_payload": payload_fields(output_payload(params)),
        "reset": "synchronous, active high (rst)",
        "status": {"saturations": "complex samples saturated so far (saturating counter)",
                   "frame_errors": "input beats whose last flag disagreed with the beat count"},
    }
    save_json(str(out / f"{TOPLEVEL}.json"), manifest)
    text = (f"wrote {verilog} and {out / (TOPLEVEL + '.json')}\n"
            f"latency {manifest['latency_cycles']} cycles, a frame every "
            f"{manifest['frame_interval_cycles']} cycles "
            f"({manifest['throughput_samples_per_clock']:g} complex samples per clock), "
            f"gain {manifest['gain_forward']:g} (forward) / {manifest['gain_inverse']:g} (inverse)")
    emit(args, text, manifest)
    return 0
