"""Benchmark: compressing a trained dense network against training block-circulant from scratch.

Per seed: a dense network and a block-circulant one trained from scratch with the epochs of
``circnn bench accuracy``, then the dense one compressed (data-aware projection, fine-tuning)
with fewer epochs.  Reports the test accuracy of every step, so the cost of skipping
fine-tuning is visible too.
"""

from __future__ import annotations

import time

import numpy as np

from .compression import compress_network
from .digits import INPUT_SCALE, load_digits_split
from .training import TrainConfig, accuracy, build_cnn, build_mlp, train

#: arch -> (block sizes per layer, epochs from scratch, fine-tuning epochs)
SETTINGS = {"mlp": ([8], 40, 20), "cnn": ([4, 8], 30, 20)}
STEPS = ("dense", "scratch", "frobenius_projection", "data_aware_projection", "finetuned")


def _build(arch, k, seed):
    if arch == "mlp":
        return build_mlp([256, 256], k, seed, input_scale=INPUT_SCALE)
    return build_cnn([32, 64], k, seed, input_scale=INPUT_SCALE)


def run_compress_bench(arch: str, seeds, finetune_epochs: int | None = None,
                       progress=None) -> dict:
    k, epochs, ft = SETTINGS[arch]
    ft = ft if finetune_epochs is None else finetune_epochs
    x, y, xt, yt = load_digits_split()
    if arch == "cnn":
        x, xt = x.reshape(-1, 1, 8, 8), xt.reshape(-1, 1, 8, 8)
    runs = []
    for seed in seeds:
        t0 = time.time()
        dense = _build(arch, 1, seed)
        train(dense, x, y, TrainConfig(epochs=epochs, seed=seed))
        scratch = _build(arch, k, seed)
        train(scratch, x, y, TrainConfig(epochs=epochs, seed=seed))
        t1 = time.time()
        net, acc = compress_network(dense, [k[min(i, len(k) - 1)] for i in range(len(
            dense.layers))], x, y, xt, yt, epochs=ft, seed=seed)
        runs.append({"seed": seed, "dense": acc["source"], "scratch": accuracy(scratch, xt, yt),
                     **{s: acc[s] for s in STEPS[2:]},
                     "compress_seconds": round(time.time() - t1, 1),
                     "parameters": net.parameter_count})
        if progress:
            progress(f"{arch} seed {seed}: " + ", ".join(
                f"{s} {100 * runs[-1][s]:.2f} %" for s in STEPS) + f" ({time.time() - t0:.0f} s)")
    mean = {s: float(np.mean([r[s] for r in runs])) for s in STEPS}
    return {"arch": arch, "k": k, "seeds": list(seeds), "scratch_epochs": epochs,
            "finetune_epochs": ft, "runs": runs, "mean": mean,
            "finetuned_minus_scratch_pp": 100 * (mean["finetuned"] - mean["scratch"]),
            "test_images": int(len(yt))}
