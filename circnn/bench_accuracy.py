"""Benchmark: digits test accuracy of dense and block-circulant networks over several seeds."""

from __future__ import annotations

import numpy as np

from .digits import INPUT_SCALE, load_digits_split
from .training import TrainConfig, accuracy, build_cnn, build_mlp, train

#: (name, arch, k per layer, epochs).  k = 1 is the dense baseline.
CONFIGS = (
    ("mlp dense", "mlp", [1], 40),
    ("mlp k=4", "mlp", [4], 40),
    ("mlp k=8", "mlp", [8], 40),
    ("mlp k=16", "mlp", [16], 40),
    ("cnn dense", "cnn", [1], 30),
    ("cnn k=4,8", "cnn", [4, 8], 30),
)


def run_accuracy_bench(seeds=(0, 1, 2), hidden=(256, 256), channels=(32, 64), progress=None,
                       configs=CONFIGS) -> dict:
    x_train, y_train, x_test, y_test = load_digits_split()
    results = []
    for name, arch, k, epochs in configs:
        accs, params, dense_params = [], None, None
        for seed in seeds:
            if arch == "mlp":
                net = build_mlp(list(hidden), k, seed, input_scale=INPUT_SCALE)
                xtr, xte = x_train, x_test
            else:
                net = build_cnn(list(channels), k, seed, input_scale=INPUT_SCALE)
                xtr, xte = x_train.reshape(-1, 1, 8, 8), x_test.reshape(-1, 1, 8, 8)
            train(net, xtr, y_train, TrainConfig(epochs=epochs, seed=seed))
            accs.append(accuracy(net, xte, y_test))
            params, dense_params = net.parameter_count, net.dense_parameter_count
            if progress:
                progress(f"{name} seed {seed}: test accuracy {100 * accs[-1]:.2f} %")
        results.append({"name": name, "arch": arch, "k": k, "epochs": epochs,
                        "accuracies": accs, "mean": float(np.mean(accs)),
                        "std": float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
                        "parameters": params, "dense_parameters": dense_params})
    return {"seeds": list(seeds), "test_images": int(len(y_test)), "hidden": list(hidden),
            "channels": list(channels), "results": results}
