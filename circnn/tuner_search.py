"""The tuner's search: the bound on ``p``, ternary search over ``d``, the exhaustive sweep it is
checked against, and the metrics it optimizes.

CirCNN's method: the upper bound of the parallelism ``p`` comes from memory bandwidth and the
device's resources; the depth ``d`` is then chosen by ternary search on a metric
``M(Perf(p, d), Power(p, d))``.  Here, for each number of MAC lanes the device allows, ``p`` is
bounded for every ``d`` (:func:`p_bound`) and ``d`` is searched; every evaluated point is kept
so the report can say how many evaluations the search made.
"""

from __future__ import annotations

from typing import Callable

__all__ = ["METRICS", "score", "p_bound", "ternary_search", "exhaustive", "is_unimodal"]

#: Metric name -> (what it measures, larger is better?)
METRICS = {
    "throughput": ("inferences per second", True),
    "energy": ("energy per inference (J)", False),
    "edp": ("energy x delay per inference (J s)", False),
    "throughput-per-lut": ("inferences per second per LUT", True),
}


def score(metric: str, point: dict) -> float:
    """The value to maximize for ``metric`` (minimized metrics negated); ``-inf`` when the point
    does not fit the device."""
    if not point.get("fits", True):
        return float("-inf")
    ips = point["inferences_per_second"]
    energy = point["energy_per_inference_j"]
    if metric == "throughput":
        return ips
    if metric == "energy":
        return -energy
    if metric == "edp":
        return -energy / ips
    if metric == "throughput-per-lut":
        return ips / max(1, point["resources"]["lut"])
    raise ValueError(f"unknown metric {metric!r}")


def p_bound(k: int, d: int, samples_per_clock: float = 2.0) -> tuple[int, str]:
    """The largest useful ``p`` at depth ``d`` from the memory bandwidth, and why.

    The frame reader delivers at most ``samples_per_clock`` complex samples per cycle (two: the
    four activation words a pair needs, one per block-RAM read port of the banked, replicated
    activation buffers).  An FFT engine of ``p`` butterflies per level and ``d`` levels takes
    ``2p d / log2 k`` samples per cycle (``2p`` per beat, a frame every ``log2 k / d`` passes),
    so beyond ``p = samples_per_clock * log2 k / (2 d)`` the FFT only waits for the reader.  ``p``
    is a power of two of at most ``k / 2``.
    """
    stages = k.bit_length() - 1
    limit = samples_per_clock * stages / (2 * d)
    p = 1
    while p * 2 <= min(limit, k // 2):
        p *= 2
    if p * 2 <= k // 2:
        why = (f"memory bandwidth: the reader's {samples_per_clock:g} samples/clock against the "
               f"FFT's 2p*d/log2(k) = {2 * p * 2 * d / stages:g} at p = {2 * p}")
    else:
        why = f"p <= k/2 = {k // 2}"
    return p, why


def is_unimodal(values: list) -> bool:
    """Whether a sequence rises (weakly) to one maximum and then falls (weakly)."""
    i, n = 0, len(values)
    while i + 1 < n and values[i + 1] >= values[i]:
        i += 1
    while i + 1 < n and values[i + 1] <= values[i]:
        i += 1
    return i == n - 1


def ternary_search(lo: int, hi: int, f: Callable[[int], float]) -> tuple[int, dict]:
    """The integer ``x`` in ``[lo, hi]`` maximizing a unimodal ``f``; ``(x, {x: f(x)})`` of every
    point evaluated (each once)."""
    seen: dict = {}

    def val(x):
        if x not in seen:
            seen[x] = f(x)
        return seen[x]

    a, b = lo, hi
    while b - a > 2:
        m1 = a + (b - a) // 3
        m2 = b - (b - a) // 3
        if val(m1) < val(m2):
            a = m1 + 1
        else:
            b = m2
    best = max(range(a, b + 1), key=lambda x: (val(x), -x))
    return best, seen


def exhaustive(lo: int, hi: int, f: Callable[[int], float]) -> tuple[int, dict]:
    """Every ``x`` in ``[lo, hi]``: ``(argmax, {x: f(x)})`` (ties: the smallest ``x``)."""
    seen = {x: f(x) for x in range(lo, hi + 1)}
    return max(seen, key=lambda x: (seen[x], -x)), seen
