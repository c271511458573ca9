"""``circnn export``: a circnn model as an ONNX graph, for other tools."""

from __future__ import annotations

from . import options
from .files import load_model, save_bytes
from .report import emit


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export", help="write a model as ONNX",
        description="Write a circnn model (float part) as an ONNX graph: block-circulant layers "
                    "reconstructed as dense Gemm / Conv weights, the input normalization as Sub "
                    "and Mul nodes, output (batch, outputs).")
    p.add_argument("--model", "-m", required=True, metavar="FILE", help="model file (.npz)")
    options.add_output(p, "ONNX file to write")
    options.add_json(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from .onnx_export import OPSET, export_onnx

    net = load_model(args.model)
    data = export_onnx(net)
    save_bytes(args.output, data)
    emit(args, f"{len(net.layers)} layers written to {args.output} (ONNX opset {OPSET}, "
               f"{len(data)} bytes)",
         {"output": args.output, "opset": OPSET, "bytes": len(data), "layers": len(net.layers)})
    return 0
