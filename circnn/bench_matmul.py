"""Benchmark: the golden block-circulant product (FFT way) against a BLAS dense matmul."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

from golden import blockcirculant as bc


def _timed(fn, repeats: int):
    """Best wall time over ``repeats`` runs, and the peak traced allocation of one run."""
    tracemalloc.start()
    out = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return out, best, peak


def run_matmul_bench(n: int = 4096, m: int = 4096, k: int = 64, batch: int = 256,
                     repeats: int = 5, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    p, q = bc.block_grid(m, n, k)
    w = rng.standard_normal((p, q, k)) / np.sqrt(n)
    x = rng.standard_normal((batch, n))
    dense = bc.to_dense(w, (m, n))  # float64, like the golden model
    wf = bc.weights_to_freq(w)
    y_bc, t_bc, mem_bc = _timed(lambda: bc.bc_matmul(w, x, m, wf=wf), repeats)
    y_dense, t_dense, mem_dense = _timed(lambda: x @ dense.T, repeats)
    err = float(np.linalg.norm(y_bc - y_dense) / np.linalg.norm(y_dense))
    return {
        "n": n, "m": m, "k": k, "batch": batch, "repeats": repeats,
        "blockcirculant_seconds": t_bc, "dense_seconds": t_dense, "speedup": t_dense / t_bc,
        "blockcirculant_weight_bytes": int(wf.nbytes), "blockcirculant_time_domain_weight_bytes":
            int(w.nbytes), "dense_weight_bytes": int(dense.nbytes),
        "weight_memory_ratio": dense.nbytes / w.nbytes,
        "blockcirculant_peak_temp_bytes": int(mem_bc), "dense_peak_temp_bytes": int(mem_dense),
        "relative_difference": err,
    }
