"""``circnn infer``: run a model on a batch of inputs with one of the engines."""

from __future__ import annotations

import numpy as np

from . import options
from .errors import UsageError
from .files import load_model, load_npy, save_npy
from .report import emit

ENGINES = ("float",)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "infer", help="run a model on inputs",
        description="Run a model file on a batch of raw inputs (.npy, shape (batch, features) or "
                    "(batch,) + input shape) and write the outputs (.npy, shape (batch, outputs)).")
    p.add_argument("--model", "-m", required=True, metavar="FILE", help="model file (.npz)")
    p.add_argument("--input", "-i", required=True, metavar="FILE", help="inputs (.npy)")
    options.add_output(p, "outputs to write (.npy)")
    p.add_argument("--engine", choices=ENGINES, default="float",
                   help="float: the NumPy float reference (golden)")
    p.add_argument("--labels", metavar="FILE", help="labels (.npy) to report accuracy against")
    options.add_json(p)
    p.set_defaults(run=run)


def run(args) -> int:
    net = load_model(args.model)
    x = load_npy(args.input)
    if x.dtype.kind == "c":
        raise UsageError(f"input file {args.input}: expected real values, got dtype {x.dtype}")
    try:
        x = net.check_input(x)
    except ValueError as e:
        raise UsageError(f"input file {args.input}: {e}") from None
    y = net.forward(x)
    save_npy(args.output, y)
    pred = np.argmax(y, axis=-1)
    data = {"engine": args.engine, "samples": int(y.shape[0]), "outputs": int(y.shape[1]),
            "output_file": args.output}
    text = f"{y.shape[0]} samples through the {args.engine} engine -> {args.output} {y.shape}"
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
