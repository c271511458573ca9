"""Benchmark: SQNR of the FFT engine's golden model against numpy.fft, and the ideal.

Frames are random, uniform at 1/4 full scale per component.  The reference is the exact FFT times
the engine's gain; the *ideal* is that reference rounded to the same output grid (the best any
``width``-bit output can do).  The gap is ideal SQNR minus engine SQNR.
"""

from __future__ import annotations

import numpy as np

from golden.fft_fixed import FFTParams, fft_fixed


def sqnr_db(reference: np.ndarray, actual: np.ndarray) -> float:
    err = np.sum(np.abs(actual - reference) ** 2)
    return float(10 * np.log10(np.sum(np.abs(reference) ** 2) / err)) if err else float("inf")


def fft_sqnr(params: FFTParams, frames: int = 1000, seed: int = 0, inverse: bool = False) -> dict:
    rng = np.random.default_rng(seed)
    amp = 2 ** (params.width - 1) / 4
    x = np.round(rng.uniform(-amp, amp, (frames, params.k))) + 1j * np.round(
        rng.uniform(-amp, amp, (frames, params.k)))
    y, sat = fft_fixed(x, params, inverse)
    exact = (np.fft.ifft(x) * params.k if inverse else np.fft.fft(x)) * params.gain(inverse)
    ideal = np.round(exact.real) + 1j * np.round(exact.imag)
    engine, best = sqnr_db(exact, y), sqnr_db(exact, ideal)
    return {"k": params.k, "width": params.width, "guard": params.guard, "inverse": inverse,
            "frames": frames, "sqnr_db": round(engine, 2), "ideal_sqnr_db": round(best, 2),
            "gap_db": round(best - engine, 2), "saturations": int(sat)}
