"""Soak run of the layer engine: thousands of inferences streamed back to back under random valid
gaps and backpressure, with new weights written through the weight port between batches.

Each batch streams its samples without waiting for outputs (the engine overlaps them), and the
output stream is split into samples at its ``last`` flags and checked against the fixed golden
of that batch's weights.  Each output sample is identified by the golden sample it equals.
Counted: golden samples never delivered (lost), output samples equal to one already delivered
(duplicated), deliveries that come after a later sample's (out of order), output samples equal
to no golden sample (wrong), samples whose length is not the output size (misframed), and the
golden samples delivered bit exact.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from golden.engine_fixed import run_fixed
from golden.engine_plan import plan_engine

from .engine_run import run_engine_rtl

__all__ = ["default_network", "scramble_weights", "soak_steps", "count_stream", "run_soak"]


def default_network(seed: int = 0, sizes=(64, 64, 10), k: int = 8):
    """A random block-circulant FC network (ReLU between layers), quantized on random inputs:
    the soak's network when the user names none."""
    from golden.network import Layer, Network
    from golden.quantize import quantize

    rng = np.random.default_rng(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        p, q = -(-b // k), -(-a // k)
        layers.append(Layer(kind="fc", k=k, weights=rng.normal(0, 1 / np.sqrt(a), (p, q, k)),
                            bias=rng.normal(0, 0.1, b), in_features=a, out_features=b,
                            activation="relu" if i < len(sizes) - 2 else "none"))
    net = Network(input_shape=(sizes[0],), layers=layers)
    qnet, _ = quantize(net, rng.normal(0, 1, (64, sizes[0])))
    return qnet


def scramble_weights(qnet, rng):
    """A copy of ``qnet`` with every layer's frequency-domain weights permuted and some signs
    flipped (same ranges, so the formats still hold; bins 0 and k/2 stay real)."""
    import copy

    new = copy.deepcopy(qnet)
    k = new.k
    for layer in new.layers:
        w = layer.wq.copy()
        for part in (0, 1):
            flat = w[..., part].ravel()
            w[..., part] = rng.permutation(flat).reshape(w[..., part].shape)
        w[..., 1] *= rng.choice([-1, 1], size=w[..., 1].shape)
        w[:, :, 0, 1] = 0
        w[:, :, k // 2, 1] = 0
        layer.wq = w
    return new


def soak_steps(qnet, plan, x_int, batches: int, rng):
    """Steps and arrays for ``batches`` stream steps of the samples ``x_int`` (split evenly),
    a weight reload before every batch but the first; and each batch's expected outputs."""
    steps, arrays, expected = [], {}, []
    nets = [qnet] + [scramble_weights(qnet, rng) for _ in range(batches - 1)]
    for b, (net, xb) in enumerate(zip(nets, np.array_split(x_int, batches))):
        if b:
            lanes, addrs, words = plan_engine(net, p=plan.fft.p, d=plan.fft.d, lanes=plan.lanes,
                                              pipeline=plan.fft.pipeline).weight_records()
            arrays.update({f"lanes{b}": np.array(lanes), f"addrs{b}": np.array(addrs),
                           f"words{b}": np.array(words)})
            steps.append({"op": "reload", "lanes": f"lanes{b}", "addrs": f"addrs{b}",
                          "data": f"words{b}"})
        arrays[f"x{b}"] = xb.reshape(len(xb), -1)
        steps.append({"op": "stream", "inputs": f"x{b}"})
        expected.append(run_fixed(net, xb)[0])
    return steps, arrays, expected


def count_stream(values, lasts, expected) -> dict:
    """Split one batch's output beats at ``last`` and count against ``expected`` ``(B, M)``."""
    b_exp, m = expected.shape
    ends = [i for i, flag in enumerate(lasts) if flag]
    samples, start, misframed = [], 0, 0
    for e in ends:
        if e + 1 - start != m:
            misframed += 1
        samples.append(np.asarray(values[start:e + 1]))
        start = e + 1
    trailing = len(values) - start  # beats after the last 'last'
    seen, first_seen, dup, wrong = set(), [], 0, 0
    for s in samples:
        match = [j for j in range(b_exp) if len(s) == m and np.array_equal(s, expected[j])]
        if not match:
            wrong += 1
            continue
        fresh = [j for j in match if j not in seen]
        if not fresh:
            dup += 1
            continue
        # equal golden rows: the one due next if it matches, else the earliest undelivered
        j = len(first_seen) if len(first_seen) in fresh else fresh[0]
        seen.add(j)
        first_seen.append(j)
    order = sum(1 for i, j in enumerate(first_seen) if i and j < max(first_seen[:i]))
    return {"samples_in": b_exp, "samples_out": len(samples), "beats_out": len(values),
            "lost": b_exp - len(seen), "duplicated": dup, "out_of_order": order,
            "wrong": wrong, "misframed": misframed, "trailing_beats": trailing,
            "bit_exact": len(seen)}


def run_soak(qnet, x_int, batches: int, sim: str, build_root: Path, gap: float, stall: float,
             seed: int, lanes: int = 2, p: int = 1, d=None) -> dict:
    """Run the soak; the counts per batch and in total, and the wall time."""
    rng = np.random.default_rng(seed)
    plan = plan_engine(qnet, p=p, d=d, lanes=lanes)
    steps, arrays, expected = soak_steps(qnet, plan, np.asarray(x_int), batches, rng)
    t0 = time.monotonic()
    r = run_engine_rtl(plan, steps, arrays, sim, build_root, gap=gap, stall=stall, seed=seed)
    seconds = time.monotonic() - t0
    values, lasts = r["stream_values"], r["stream_lasts"]
    per_batch, start = [], 0
    for count, exp in zip(r["stream_counts"], expected):
        per_batch.append(count_stream(values[start:start + count], lasts[start:start + count],
                                      exp))
        start += count
    total = {key: int(sum(b[key] for b in per_batch)) for key in per_batch[0]}
    return {"batches": per_batch, "total": total, "reloads": batches - 1,
            "seconds": round(seconds, 1), "plan": {"k": plan.k, "p": plan.fft.p,
                                                   "d": plan.fft.d, "lanes": plan.lanes},
            "gap": gap, "stall": stall, "seed": seed, "simulator": sim}
