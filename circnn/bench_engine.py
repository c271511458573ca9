"""Layer-engine benchmarks: cycles per layer from RTL simulation against the analytic bound, the
dense comparison, weight storage, and simulation speed on the digits test split."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from golden.engine_fixed import run_fixed
from golden.engine_plan import plan_engine
from golden.network import Layer, Network
from golden.quantize import quantize


def fc_layer_model(n: int, m: int, k: int, batch: int = 1, seed: int = 0):
    """``(net, qnet, input shape, rng)``: one FC layer ``m x n`` with random weights, quantized
    on random data (``batch > 1``: a 1x1 convolution over ``batch`` pixels)."""
    rng = np.random.default_rng(seed)
    pb, q = -(-m // k), -(-n // k)
    w = rng.normal(0, 1 / np.sqrt(n), (pb, q, k))
    bias = rng.normal(0, 0.1, m)
    if batch == 1:
        layer = Layer(kind="fc", k=k, weights=w, bias=bias, in_features=n, out_features=m,
                      activation="relu")
        shape = (n,)
    else:
        layer = Layer(kind="conv", k=k, weights=w, bias=bias, in_features=n, out_features=m,
                      activation="relu", in_channels=n, kernel=1, stride=1, padding=0)
        shape = (n, 1, batch)
    net = Network(input_shape=shape, layers=[layer])
    qnet, _ = quantize(net, rng.normal(size=(8,) + shape))
    return net, qnet, shape, rng


def fc_layer_bench(n: int, m: int, k: int, p: int, d, lanes: int, build_root: Path,
                   batch: int = 1, samples: int = 1, seed: int = 0,
                   engine_k: int | None = None) -> dict:
    """One FC layer ``m x n`` (random weights, quantized on random data) through the RTL.

    ``batch > 1`` applies the layer to ``batch`` input vectors in one run, as a 1x1 convolution
    over ``batch`` pixels (the engine overlaps consecutive vectors); figures are per vector.
    ``engine_k``: the engine's block size when larger than ``k`` (``k = 1``: the layer dense,
    on the MAC lanes of the engine built for ``engine_k``).
    """
    from sim.engine_fast import run_fast

    _, qnet, shape, rng = fc_layer_model(n, m, k, batch, seed)
    pb, q = -(-m // k), -(-n // k)
    plan = plan_engine(qnet, p=p, d=d, lanes=lanes, k=engine_k)
    lp = plan.layers[0]
    x, _ = qnet.quantize_input(rng.normal(size=(samples,) + shape))
    r = run_fast(plan, x, build_root)
    want, _ = run_fixed(qnet, x)
    if not np.array_equal(r["outputs"], want):
        raise RuntimeError("RTL outputs differ from the fixed golden")
    # a sample's cycles include loading the inputs and unloading the outputs: report the layer,
    # per vector
    total = int(r["cycles"][0]) - n * batch - m * batch
    cycles = total / batch
    mults = plan.multipliers["total"]
    bound = plan.bound_cycles(lp) / batch
    work = {key: v // batch for key, v in plan.layer_work(lp).items()}
    dense_cycles = m * n / (4 * mults)       # same real multipliers, one MAC each per cycle
    return {
        "n": n, "m": m, "k": k, "p": plan.fft.p, "d": plan.fft.d, "lanes": lanes,
        "batch": batch, "rtl_cycles_batch": total,
        "multipliers_complex": plan.multipliers, "real_multipliers": 4 * mults,
        "butterflies": work["butterflies"], "cmacs": work["cmacs"],
        "rtl_cycles": cycles, "rtl_cycles_with_io": int(r["cycles"][0]),
        "bound_cycles": bound, "utilization": bound / cycles,
        "dense_cycles": dense_cycles, "dense_over_bc_rtl": dense_cycles / cycles,
        "dense_over_bc_bound": dense_cycles / bound,
        "weight_bits": pb * q * (k // 2 + 1) * 2 * plan.width,
        "dense_weight_bits": m * n * 16,
        "fft_passes": lp.frames_in + lp.frames_out, "fft_passes_naive": q + pb,
        "bit_exact": True,
    }


def digits_speed(model_path: str, build_root: Path, lanes: int = 4, limit: int | None = None
                 ) -> dict:
    """All digits test images through the RTL (Verilator, fast driver), checked bit exact."""
    from golden import quantized_file
    from sim.engine_fast import build_fast, run_fast

    from .digits import load_digits_split

    net, qnet = quantized_file.load(model_path)
    _, _, x_test, y_test = load_digits_split()
    if limit:
        x_test, y_test = x_test[:limit], y_test[:limit]
    x = net.check_input(x_test)
    xq, _ = qnet.quantize_input(x)
    plan = plan_engine(qnet, lanes=lanes)
    t0 = time.perf_counter()
    build_fast(plan, build_root)
    t1 = time.perf_counter()
    r = run_fast(plan, xq, build_root)
    t2 = time.perf_counter()
    want, _ = run_fixed(qnet, xq)
    equal = bool(np.array_equal(r["outputs"], want))
    pred = np.argmax(r["outputs"], axis=1)
    return {"samples": int(len(xq)), "build_seconds": t1 - t0, "run_seconds": t2 - t1,
            "inferences_per_second": len(xq) / (t2 - t1),
            "cycles_per_inference": float(np.mean(r["cycles"])),
            "simulated_cycles_per_second": float(np.sum(r["cycles"]) / (t2 - t1)),
            "bit_exact": equal, "accuracy": float(np.mean(pred == y_test)),
            "float_agreement": float(np.mean(pred == net.predict(x)))}


def fc_layer_steady_state(n: int, m: int, k: int, p: int, d, lanes: int, build_root: Path,
                          batch: int, report=None) -> dict:
    """Per-vector figures at ``batch`` vectors and at ``2 * batch``; the steady-state interval
    is the marginal cost ``(T(2B) - T(B)) / B`` (pipeline fill and drain cancel out).  The
    same for the layer dense (``k = 1``) on the same engine.  ``report(text)``: progress, one
    line per run (six)."""
    runs = []
    for kl in (k, 1):
        for b in (1, batch, 2 * batch):
            if report:
                report(f"bench engine: run {len(runs) + 1} of 6: "
                       f"{'dense' if kl == 1 else f'k={k}'}, {b} vector{'s' if b > 1 else ''}")
            runs.append(fc_layer_bench(n, m, kl, p, d, lanes, build_root, batch=b,
                                       engine_k=k if kl == 1 else None))
    one, r1, r2 = runs[:3]
    steady = (r2["rtl_cycles_batch"] - r1["rtl_cycles_batch"]) / batch
    # the same layer dense (k = 1) on the same engine: real products on the MAC lanes
    dense = runs[3:]
    dense_steady = (dense[2]["rtl_cycles_batch"] - dense[1]["rtl_cycles_batch"]) / batch
    out = dict(r1)
    out["dense_rtl"] = {
        "single_vector_cycles": dense[0]["rtl_cycles"],
        "batch_mean_cycles": dense[1]["rtl_cycles"], "steady_state_cycles": dense_steady,
        "bound_cycles": m * n / lanes, "engine_k": k,
        "weight_bits": dense[0]["weight_bits"], "bit_exact": True}
    out.update({
        "single_vector_cycles": one["rtl_cycles"],
        "single_vector_utilization": one["utilization"],
        "single_vector_dense_over_bc": one["dense_over_bc_rtl"],
        "steady_state_cycles": steady,
        "steady_state_utilization": r1["bound_cycles"] / steady,
        "steady_state_dense_over_bc": r1["dense_cycles"] / steady,
        "batch_2x_cycles_per_vector": r2["rtl_cycles"],
    })
    return out
