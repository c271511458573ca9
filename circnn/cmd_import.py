"""``circnn import``: a trained network from an ONNX file into a circnn model file."""

from __future__ import annotations

from . import options
from .errors import UsageError
from .files import save_model
from .report import emit, table


def add_parser(sub) -> None:
    p = sub.add_parser(
        "import", help="read a trained network from ONNX",
        description="Read an ONNX graph of Gemm / MatMul+Add, Conv, Relu, MaxPool 2x2, Flatten / "
                    "Reshape layers and write a circnn model file with dense (k=1) layers, "
                    "ready for 'circnn compress'. Anything else is refused with the node's name "
                    "and op type.")
    p.add_argument("onnx", metavar="MODEL.onnx", help="ONNX file to read")
    options.add_output(p, "model file to write (.npz)")
    p.add_argument("--input-scale", type=options.finite_float, default=1.0, metavar="S",
                   help="the graph's input is (raw - O) * S (default 1)")
    p.add_argument("--input-offset", type=options.finite_float, default=0.0, metavar="O",
                   help="see --input-scale (default 0)")
    options.add_json(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from .onnx_import import OnnxImportError, import_onnx

    if args.input_scale == 0:
        raise UsageError("--input-scale must not be 0")
    try:
        net = import_onnx(args.onnx, args.input_scale, args.input_offset)
    except OnnxImportError as e:
        raise UsageError(str(e)) from None
    save_model(args.output, net)
    shapes = net.shapes()
    rows = [(i, l.kind, f"{l.out_features}x{l.in_features}", l.activation,
             "2x2" if l.pool else "-", "x".join(map(str, shapes[i + 1])))
            for i, l in enumerate(net.layers)]
    text = table(rows, ("layer", "kind", "matrix", "activation", "pool", "output"))
    text += (f"\n\ninput {'x'.join(map(str, net.input_shape))}, normalization (x - "
             f"{net.input_offset:g}) * {net.input_scale:g}; {net.parameter_count} parameters; "
             f"model written to {args.output}")
    emit(args, text, {"layers": [{"kind": l.kind, "in_features": l.in_features,
                                  "out_features": l.out_features, "activation": l.activation,
                                  "pool": l.pool} for l in net.layers],
                      "input_shape": list(net.input_shape), "input_offset": net.input_offset,
                      "input_scale": net.input_scale, "parameters": net.parameter_count,
                      "output": args.output})
    return 0
