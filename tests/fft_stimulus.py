"""Stimulus frames for FFT engine tests: random, impulse, tone, full scale, worst-case overflow."""

import numpy as np

from golden.fixedpoint import signed_range


def stimulus(params, rng, n):
    lo, hi = signed_range(params.width)
    k = params.k
    frames = rng.integers(lo, hi + 1, (n, k)) + 1j * rng.integers(lo, hi + 1, (n, k))
    frames[0] = 0
    frames[0, 1] = hi  # impulse
    t = np.arange(k)
    frames[1] = np.round(hi * 0.9 * np.exp(2j * np.pi * 3 * t / k))  # tone in bin 3
    frames[2] = hi + 1j * hi  # all full scale: everything adds up in bin 0
    if n > 3 and params.radix22 and k >= 8:
        # worst case of radix 2²: after the first two stages the sample at k/2 + k/8 is full
        # scale on both axes and its twiddle W^(k/8) rotates it by 45 degrees: saturates
        frames[3] = 0
        n3 = k // 8
        frames[3, n3], frames[3, n3 + k // 2] = hi * (1 + 1j), lo * (1 + 1j)
        frames[3, n3 + k // 4], frames[3, n3 + 3 * k // 4] = lo + 1j * hi, hi + 1j * lo
    elif n > 3:
        frames[3, :k // 2] = hi * (1 + 1j)  # worst case: (x0 - x1) at full scale on both axes,
        frames[3, k // 2:] = lo * (1 + 1j)  # rotated by 45 degrees grows by sqrt(2): saturates
    return frames
