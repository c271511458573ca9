"""Benchmark: ONNX round trip on trained digits networks, circnn against onnxruntime.

A dense MLP and a dense CNN are trained briefly on digits, written as ONNX
(:func:`circnn.onnx_export.export_onnx`), run by onnxruntime on the whole test split, read back
(:func:`circnn.onnx_import.import_onnx`) and run by circnn's float engine.  The inputs are the
raw test pixels (integers, exact in float32), so the only differences are onnxruntime's float32
arithmetic against circnn's float64.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from .digits import INPUT_SCALE, load_digits_split
from .errors import UsageError
from .onnx_export import export_onnx
from .onnx_import import import_onnx
from .training import TrainConfig, build_cnn, build_mlp, train


def run_onnx_bench(epochs: int = 5) -> dict:
    try:
        import onnxruntime as ort
    except ImportError:
        raise UsageError("bench onnx needs onnxruntime (pip install onnxruntime, or "
                         "pip install -e '.[test]')") from None
    x, y, xt, _ = load_digits_split()
    rows = []
    for arch in ("mlp", "cnn"):
        shape = (64,) if arch == "mlp" else (1, 8, 8)
        net = (build_mlp([256, 256], 1, 0, input_scale=INPUT_SCALE) if arch == "mlp" else
               build_cnn([32, 64], 1, 0, input_scale=INPUT_SCALE))
        train(net, x.reshape((-1,) + shape), y, TrainConfig(epochs=epochs, seed=0))
        inputs = xt.reshape((-1,) + shape)
        with tempfile.TemporaryDirectory(prefix="circnn-onnx-") as tmp:
            path = os.path.join(tmp, f"{arch}.onnx")
            with open(path, "wb") as f:
                f.write(export_onnx(net))
            session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            ref = session.run(None, {"input": inputs.astype(np.float32)})[0].astype(np.float64)
            back = import_onnx(path)
        ours = net.forward(inputs)
        scale = float(np.max(np.abs(ref)))
        rows.append({"arch": arch, "images": int(len(inputs)), "layers": len(net.layers),
                     "max_rel_diff_circnn_vs_onnxruntime": float(np.max(np.abs(ours - ref))) / scale,
                     "max_rel_diff_reimported_vs_onnxruntime":
                         float(np.max(np.abs(back.forward(inputs) - ref))) / scale,
                     "argmax_equal": float(np.mean(ours.argmax(1) == ref.argmax(1)))})
    return {"epochs": epochs, "onnxruntime": ort.__version__, "results": rows}
