# amaranth: UnusedElaboratable=no
"""FFT sub-blocks in the Amaranth simulator, bit for bit against their models."""

import numpy as np
import pytest

from golden.fixedpoint import signed_range
from hw.butterfly import Butterfly
from hw.cmul import ComplexMultiplier

from .pipeline_harness import run_enabled_pipeline

EN_PATTERNS = [[1], [1, 0, 1, 1, 0, 0, 1]]


def extremes_and_random(rng, width, n):
    lo, hi = signed_range(width)
    edge = np.array([lo, hi, 0, -1, lo + 1, hi - 1])
    return np.concatenate([rng.choice(edge, n // 2), rng.integers(lo, hi + 1, n - n // 2)])


@pytest.mark.parametrize("pipeline", [0, 1, 2])
@pytest.mark.parametrize("en", EN_PATTERNS)
def test_complex_multiplier(pipeline, en):
    rng = np.random.default_rng(pipeline)
    dut = ComplexMultiplier(13, 11, pipeline)
    n = 60
    a = [extremes_and_random(rng, 13, n) for _ in range(2)]
    b = [extremes_and_random(rng, 11, n) for _ in range(2)]
    inputs = [[(dut.a.re, a[0][i]), (dut.a.im, a[1][i]), (dut.b.re, b[0][i]),
               (dut.b.im, b[1][i])] for i in range(n)]
    got = run_enabled_pipeline(dut, inputs, [dut.o.re, dut.o.im], en)
    want = ComplexMultiplier.model(a[0], a[1], b[0], b[1])
    d = dut.delay
    assert d == 2 + pipeline
    for t in range(d - 1, n):
        assert got[t] == [want[0][t - d + 1], want[1][t - d + 1]], f"sample {t - d + 1}"


@pytest.mark.parametrize("quarter", [0, 1])
@pytest.mark.parametrize("pipeline", [0, 2])
def test_right_angle_multiplier(quarter, pipeline):
    """A multiplier told its twiddle is W^0 or W^(k/4) (either direction) computes the same
    exact products as the general one, with adders."""
    rng = np.random.default_rng(quarter)
    dut = ComplexMultiplier(18, 16, pipeline, quarter=quarter)
    c = 2 ** 15 - 1
    n = 40
    a = [extremes_and_random(rng, 18, n) for _ in range(2)]
    conj = rng.integers(0, 2, n)
    b_re = np.full(n, c if quarter == 0 else 0)
    b_im = np.zeros(n, int) if quarter == 0 else np.where(conj, c, -c)
    inputs = [[(dut.a.re, a[0][i]), (dut.a.im, a[1][i]), (dut.b.re, b_re[i]),
               (dut.b.im, b_im[i])] for i in range(n)]
    got = run_enabled_pipeline(dut, inputs, [dut.o.re, dut.o.im], [1, 1, 0])
    want = ComplexMultiplier.model(a[0], a[1], b_re, b_im)
    d = dut.delay
    for t in range(d - 1, n):
        assert got[t] == [want[0][t - d + 1], want[1][t - d + 1]], f"sample {t - d + 1}"


@pytest.mark.parametrize("width, tw_width, pipeline, fixed", [
    (18, 16, 0, None), (12, 12, 1, None), (10, 14, 2, None),
    # a shift fixed at build time: sum rounded by its adder's carry-in, no multiplexers
    (18, 16, 2, 1), (12, 12, 0, 0),
])
@pytest.mark.parametrize("en", EN_PATTERNS)
def test_butterfly(width, tw_width, pipeline, fixed, en):
    rng = np.random.default_rng(width)
    dut = Butterfly(width, tw_width, pipeline, fixed_shift=fixed)
    n = 80
    x = [extremes_and_random(rng, width, n) for _ in range(4)]
    lim = (1 << (tw_width - 1)) - 1
    tw = [rng.integers(-lim, lim + 1, n) for _ in range(2)]
    tw[0][:6] = [lim, -lim, lim, 0, -lim, lim]  # worst-case rotations
    tw[1][:6] = [lim, lim, -lim, lim, -lim, 0]
    shift = rng.integers(0, 2, n) if fixed is None else np.full(n, fixed)
    inputs = [[(dut.x0.re, x[0][i]), (dut.x0.im, x[1][i]), (dut.x1.re, x[2][i]),
               (dut.x1.im, x[3][i]), (dut.tw.re, tw[0][i]), (dut.tw.im, tw[1][i]),
               (dut.shift, shift[i])] for i in range(n)]
    outs = [dut.a.re, dut.a.im, dut.b.re, dut.b.im, dut.sat_a, dut.sat_b]
    got = run_enabled_pipeline(dut, inputs, outs, en)
    want = dut.model(*x, *tw, shift)
    d = dut.delay
    saturated = 0
    for t in range(d - 1, n):
        j = t - d + 1
        assert got[t] == [int(w[j]) for w in want], f"butterfly input {j}"
        saturated += got[t][4] + got[t][5]
    assert saturated > 0  # the extremes must exercise saturation


@pytest.mark.parametrize("args, message", [
    ((1, 8), "a_width must be an integer from 2 to 36, not 1"),
    ((8, 8, 3), "pipeline must be 0, 1 or 2, not 3"),
    ((8, 8, 2, "xilinx"), "tech must be 'generic', 'ecp5' or 'ice40', not 'xilinx'"),
    ((19, 16, 2, "ecp5"), "tech 'ecp5' needs pipeline 2 and operands of at most 18 bits, not "
                          "pipeline 2 with 19 x 16 bits"),
    ((18, 16, 0, "ecp5"), "not pipeline 0 with 18 x 16 bits"),
    ((18, 16, 0, "generic", 2), "quarter must be None, 0 or 1, not 2"),
])
def test_cmul_validation(args, message):
    with pytest.raises(TypeError, match=message):
        ComplexMultiplier(*args)
