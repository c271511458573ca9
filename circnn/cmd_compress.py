"""``circnn compress``: project dense weights onto the nearest block-circulant matrices."""

from __future__ import annotations

import os

import numpy as np

from golden import blockcirculant as bc
from golden.network import Layer, Network

from . import options
from .errors import UsageError
from .files import load_model, load_npy, save_model
from .report import emit, table


def add_parser(sub) -> None:
    p = sub.add_parser(
        "compress", help="dense weights in, block-circulant model out",
        description="Project each layer's weight matrix onto the nearest block-circulant matrix "
                    "(Frobenius norm) with block size k.  Input: a circnn model file (any k; "
                    "k=1 is dense) or a 2-D .npy matrix (one fc layer, no bias).")
    p.add_argument("--input", "-i", required=True, metavar="FILE",
                   help="model file (.npz) or dense matrix (.npy, shape out x in)")
    options.add_output(p, "block-circulant model file to write (.npz)")
    p.add_argument("--k", type=options.power_of_two_list, required=True, metavar="K[,K...]",
                   help="block size, one for all layers or one per layer")
    options.add_json(p)
    p.set_defaults(run=run)


def _dense_network(path: str) -> Network:
    w = load_npy(path, "dense matrix")
    if w.ndim != 2 or w.dtype.kind == "c":
        raise UsageError(f"dense matrix file {path}: expected a real 2-D array, got shape {w.shape}"
                         f" and dtype {w.dtype}")
    m, n = w.shape
    layer = Layer(kind="fc", k=1, weights=np.asarray(w, np.float64)[:, :, None],
                  bias=np.zeros(m), in_features=n, out_features=m, activation="none")
    return Network(input_shape=(n,), layers=[layer])


def run(args) -> int:
    src = _dense_network(args.input) if args.input.endswith(".npy") else load_model(args.input)
    ks = args.k
    if len(ks) not in (1, len(src.layers)):
        raise UsageError(f"--k gives {len(ks)} block sizes for a network of {len(src.layers)} "
                         "layers: give one, or one per layer")
    ks = ks * len(src.layers) if len(ks) == 1 else ks
    rows, per_layer, new_layers = [], [], []
    for i, (layer, k) in enumerate(zip(src.layers, ks)):
        dense = layer.dense_matrix()
        w = bc.project(dense, k)
        approx = bc.to_dense(w, dense.shape)
        norm = np.linalg.norm(dense)
        rel = float(np.linalg.norm(dense - approx) / norm) if norm > 0 else 0.0
        new = Layer(**{**layer.__dict__, "k": k, "weights": w})
        new_layers.append(new)
        per_layer.append({"layer": i, "shape": list(dense.shape), "k": k,
                          "relative_frobenius_error": rel, "parameters": new.parameter_count,
                          "source_parameters": layer.parameter_count})
        rows.append((i, f"{dense.shape[0]}x{dense.shape[1]}", f"{layer.k} -> {k}", f"{rel:.4f}",
                     layer.parameter_count, new.parameter_count))
    out = Network(input_shape=src.input_shape, layers=new_layers, input_offset=src.input_offset,
                  input_scale=src.input_scale,
                  meta={**src.meta, "compressed_from": os.path.basename(args.input)})
    save_model(args.output, out)
    reduction = src.parameter_count / out.parameter_count
    text = table(rows, ("layer", "matrix", "k", "rel. Frobenius error", "params before",
                        "params after"))
    text += (f"\n\n{src.parameter_count} -> {out.parameter_count} parameters "
             f"({reduction:.1f}x reduction); model written to {args.output}")
    emit(args, text, {"layers": per_layer, "parameters_before": src.parameter_count,
                      "parameters_after": out.parameter_count, "reduction": reduction,
                      "output": args.output})
    return 0
