"""``circnn quantize``: choose the layer engine's fixed-point formats from calibration data."""

from __future__ import annotations

from golden.quantize import QuantizationError, quantize

from . import options
from .errors import UsageError
from .files import load_model, load_npy, save_quantized_model
from .report import emit, progress, table


def add_parser(sub) -> None:
    p = sub.add_parser(
        "quantize", help="quantize a model for the layer engine",
        description="Choose every layer's fixed-point formats and shifts from calibration inputs "
                    "(raw features, .npy) by running the bit-exact engine model, and write a "
                    "quantized model file (version 3, docs/model-format.md). Reports the "
                    "saturations left on the calibration set.")
    p.add_argument("--model", "-m", required=True, metavar="FILE", help="float model file (.npz)")
    p.add_argument("--calib", required=True, metavar="FILE", help="calibration inputs (.npy)")
    options.add_output(p, "quantized model file to write (.npz)")
    p.add_argument("--width", type=int, default=16, choices=range(8, 25), metavar="BITS",
                   help="data and weight width, 8 to 24 bits (default 16)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    options.add_json(p)
    p.set_defaults(run=run)


def run(args) -> int:
    net = load_model(args.model)
    x = load_npy(args.calib, "calibration")
    try:
        x = net.check_input(x)
    except ValueError as e:
        raise UsageError(f"calibration file {args.calib}: {e}") from None
    progress(f"quantize: {len(net.layers)} layers on {x.shape[0]} calibration samples",
             args.quiet)
    try:
        qnet, report = quantize(net, x, width=args.width)
    except QuantizationError as e:
        raise UsageError(f"{args.model}: {e}") from None
    save_quantized_model(args.output, net, qnet)
    rows = [(l["layer"], l["kind"], l["k"], l["in_frac"], l["w_frac"], l["acc_shift"],
             l["y_frac"], l["out_shift"], l["out_frac"],
             sum(l["saturations"].values()) + l["bias_saturations"])
            for l in report["layers"]]
    text = table(rows, ("layer", "kind", "k", "in frac", "w frac", "acc shift", "y frac",
                        "out shift", "out frac", "saturations"))
    text += (f"\ninput frac {report['input_frac']}; saturations on the calibration set: "
             f"{report['total_saturations']} -> {args.output}")
    report["output_file"] = args.output
    report["calibration_samples"] = int(x.shape[0])
    emit(args, text, report)
    return 0
