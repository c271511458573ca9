"""``circnn compress``: make a trained network block-circulant and fine-tune it to keep accuracy."""

from __future__ import annotations

import os
import time

import numpy as np

from golden.network import Layer, Network

from . import options
from .compression import DEFAULT_EPOCHS, DEFAULT_LR, DEFAULT_RIDGE, compress_network
from .digits import load_digits_split
from .errors import UsageError
from .files import load_model, load_npy, save_model
from .report import emit, progress, table


def add_parser(sub) -> None:
    p = sub.add_parser(
        "compress", help="dense weights in, block-circulant model out",
        description="Make each layer's weight matrix block-circulant with block size k, then "
                    "fine-tune: a data-aware projection (layer-wise least squares on training "
                    "inputs, per frequency bin) followed by projected retraining with FFT-based "
                    "gradients. Training data: --data/--labels, or scikit-learn's digits when the "
                    "model has 64 inputs and 10 outputs. --no-finetune only projects (Frobenius "
                    "norm) and needs no data. Input: a circnn model file (any k; k=1 is dense) or "
                    "a 2-D .npy matrix (one fc layer, no bias).")
    p.add_argument("--input", "-i", required=True, metavar="FILE",
                   help="model file (.npz) or dense matrix (.npy, shape out x in)")
    options.add_output(p, "block-circulant model file to write (.npz)")
    p.add_argument("--k", type=options.power_of_two_list, required=True, metavar="K[,K...]",
                   help="block size, one for all layers or one per layer")
    p.add_argument("--no-finetune", action="store_true",
                   help="only project onto the nearest block-circulant matrices (no data used)")
    p.add_argument("--data", metavar="FILE", help="training inputs (.npy, raw features)")
    p.add_argument("--labels", metavar="FILE", help="training labels (.npy, integers)")
    p.add_argument("--eval-data", metavar="FILE",
                   help="held-out inputs to report accuracy on (default: the digits test split, "
                        "or the training data when --data is given)")
    p.add_argument("--eval-labels", metavar="FILE", help="labels of --eval-data")
    p.add_argument("--epochs", type=options.nonnegative_int, default=DEFAULT_EPOCHS,
                   help=f"fine-tuning epochs (default {DEFAULT_EPOCHS}; 0: data-aware "
                        "projection only)")
    p.add_argument("--lr", type=options.positive_float, default=DEFAULT_LR,
                   help=f"fine-tuning Adam learning rate (default {DEFAULT_LR})")
    p.add_argument("--batch", type=options.positive_int, default=32, help="minibatch size")
    p.add_argument("--ridge", type=options.nonnegative_float, default=DEFAULT_RIDGE,
                   help="data-aware projection: regularization towards the Frobenius projection "
                        f"(default {DEFAULT_RIDGE}; 0 = plain least squares)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fine-tuning's shuffling")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
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


def _labelled(net: Network, x_path: str, y_path: str | None, what: str):
    """Inputs and integer labels from two .npy files, checked against the network."""
    if y_path is None:
        raise UsageError(f"--{what} needs its labels file too (--{what.replace('data', 'labels')})")
    x = load_npy(x_path, what)
    if x.dtype.kind == "c":
        raise UsageError(f"{what} file {x_path}: expected real values, got dtype {x.dtype}")
    try:
        x = net.check_input(x)
    except ValueError as e:
        raise UsageError(f"{what} file {x_path}: {e}") from None
    y = load_npy(y_path, "labels")
    n_out = net.shapes()[-1]
    classes = int(np.prod(n_out))
    if y.shape != (x.shape[0],) or y.dtype.kind not in "iu":
        raise UsageError(f"labels file {y_path}: expected {x.shape[0]} integer labels (shape "
                         f"({x.shape[0]},)), got shape {y.shape} and dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise UsageError(f"labels file {y_path}: labels must be 0..{classes - 1} (the network "
                         f"has {classes} outputs), found {int(y.min())}..{int(y.max())}")
    return x, y.astype(np.int64)


def _is_digits(net: Network) -> bool:
    return int(np.prod(net.input_shape)) == 64 and int(np.prod(net.shapes()[-1])) == 10


def _data(args, src: Network):
    """``(x, y, eval_x, eval_y, source)`` for fine-tuning and for reporting accuracy."""
    if args.data is None and (args.labels or args.eval_data or args.eval_labels):
        raise UsageError("--labels, --eval-data and --eval-labels go with --data")
    if args.data is not None:
        x, y = _labelled(src, args.data, args.labels, "data")
        ex, ey = (_labelled(src, args.eval_data, args.eval_labels, "eval-data")
                  if args.eval_data else (x, y))
        return x, y, ex, ey, "--data" + (" / --eval-data" if args.eval_data else "")
    if _is_digits(src):
        x, y, ex, ey = load_digits_split()
        shape = (-1,) + tuple(src.input_shape)
        return x.reshape(shape), y, ex.reshape(shape), ey, "digits (train / test split)"
    if args.no_finetune:
        return None, None, None, None, None
    raise UsageError("fine-tuning needs training data: give --data X.npy --labels Y.npy (the "
                     "built-in digits fit only models with 64 inputs and 10 outputs), or "
                     "--no-finetune to only project")


def run(args) -> int:
    src = _dense_network(args.input) if args.input.endswith(".npy") else load_model(args.input)
    ks = args.k
    if len(ks) not in (1, len(src.layers)):
        raise UsageError(f"--k gives {len(ks)} block sizes for a network of {len(src.layers)} "
                         "layers: give one, or one per layer")
    ks = ks * len(src.layers) if len(ks) == 1 else ks
    x, y, ex, ey, source = _data(args, src)
    quiet = args.quiet or args.json == "-"
    t0 = time.time()
    epochs = 0 if args.no_finetune else args.epochs

    def report(epoch, loss, acc):
        progress(f"fine-tune epoch {epoch:3d}/{epochs}  loss {loss:.4f}  train accuracy "
                 f"{100 * acc:.2f} %  ({time.time() - t0:.1f} s)", quiet)

    if not args.no_finetune:
        progress(f"compress: data-aware projection on {len(x)} samples, then {epochs} epochs of "
                 "fine-tuning", quiet)
    out, acc = compress_network(src, ks, None if args.no_finetune else x, y, ex, ey,
                                epochs=epochs, ridge=args.ridge, lr=args.lr, batch=args.batch,
                                seed=args.seed, progress=report)
    rows, per_layer = [], []
    for i, (layer, new) in enumerate(zip(src.layers, out.layers)):
        dense = layer.dense_matrix()
        norm = np.linalg.norm(dense)
        rel = float(np.linalg.norm(dense - new.dense_matrix()) / norm) if norm > 0 else 0.0
        per_layer.append({"layer": i, "shape": list(dense.shape), "k": new.k,
                          "relative_frobenius_error": rel, "parameters": new.parameter_count,
                          "source_parameters": layer.parameter_count})
        rows.append((i, f"{dense.shape[0]}x{dense.shape[1]}", f"{layer.k} -> {new.k}",
                     f"{rel:.4f}", layer.parameter_count, new.parameter_count))
    method = ("frobenius projection" if args.no_finetune else
              f"data-aware projection (ridge {args.ridge}) + {epochs} epochs of fine-tuning")
    out.meta = {**src.meta, "compressed_from": os.path.basename(args.input),
                "compression": method}
    save_model(args.output, out)
    reduction = src.parameter_count / out.parameter_count
    text = table(rows, ("layer", "matrix", "k", "rel. Frobenius error", "params before",
                        "params after"))
    if acc:
        names = {"source": "source model", "frobenius_projection": "after Frobenius projection",
                 "data_aware_projection": "after data-aware projection",
                 "finetuned": "after fine-tuning"}
        text += "\n\n" + table([(names[key], f"{100 * v:.2f} %") for key, v in acc.items()],
                                ("accuracy on " + source, ""))
    text += (f"\n\n{src.parameter_count} -> {out.parameter_count} parameters "
             f"({reduction:.1f}x reduction); model written to {args.output}")
    emit(args, text, {"layers": per_layer, "parameters_before": src.parameter_count,
                      "parameters_after": out.parameter_count, "reduction": reduction,
                      "method": method, "accuracy": acc, "data": source,
                      "finetune_epochs": epochs, "seconds": round(time.time() - t0, 2),
                      "output": args.output})
    return 0
