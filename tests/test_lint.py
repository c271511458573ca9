"""Verilator ``--lint-only -Wall`` on every kind of generated top: no warning outside the
waivers listed (with their reasons) in sim/lint.py, and the waivers themselves are exercised."""

import numpy as np
import pytest

from golden.engine_plan import plan_engine
from golden.fft_fixed import FFTParams
from sim.lint import WAIVERS, lint_verilog
from sim.primitive_models import primitive_models
from sim.simulators import available
from sim.verilog import write_verilog

from .engine_nets import cnn_net, quantized


def _cnn_plan(**kw):
    rng = np.random.default_rng(3)
    qnet, _ = quantized(cnn_net(rng, 4, (1, 6, 6), (4,), 5), rng)
    return plan_engine(qnet, p=1, **kw)


def _fft(params, tech="generic"):
    from hw.fft_engine import FFTEngine
    return FFTEngine(params, tech), tech


def _engine(tech="generic"):
    from hw.layer_engine import LayerEngine
    return LayerEngine(_cnn_plan(lanes=2, pipeline=2 if tech == "ecp5" else 0), tech), tech


def _board(tech="generic"):
    from hw.board_top import BoardTop
    return BoardTop(_cnn_plan(lanes=1), 0x1234, 8, tech), tech


# name -> (component, technology of its primitives)
TOPS = {
    "fft-pipelined": lambda: _fft(FFTParams(k=16)),
    "fft-pipelined-ecp5": lambda: _fft(FFTParams(k=64, pipeline=2), "ecp5"),
    "fft-recirculating": lambda: _fft(FFTParams(k=16, d=2, p=2)),
    "fft-recirculating-ice40": lambda: _fft(FFTParams(k=64, d=2), "ice40"),
    "fft-sdf": lambda: _fft(FFTParams(k=16, samples_per_clock=1)),
    "fft-run-time-length": lambda: _fft(FFTParams(k=16, min_length=4,
                                                  inverse_shifts=(1, 0, 1, 0))),
    "fft-recirculating-run-time-length": lambda: _fft(FFTParams(k=16, d=2, min_length=4)),
    "layer-engine": _engine,
    "layer-engine-ecp5": lambda: _engine("ecp5"),
    "board-top": _board,
    "board-top-ice40": lambda: _board("ice40"),
}


@pytest.mark.parametrize("name", list(TOPS))
def test_generated_top_is_lint_clean(name, tmp_path):
    if not available("verilator"):
        pytest.skip("the verilator Python package (or g++/make/perl) is missing")
    component, tech = TOPS[name]()
    path = write_verilog(component, "top", tmp_path / "top.v")
    (tmp_path / "models").mkdir()
    result = lint_verilog(path, "top", primitive_models(tech, tmp_path / "models"))
    assert result.clean, f"{name}: unwaived lint warnings: {result.messages}"
    # the waivers are the generator's style, so every top shows some of them
    assert result.waived and set(result.waived) <= set(WAIVERS)


def test_lint_reports_a_real_problem(tmp_path):
    """A hand-written module with an undriven output and a latch fails the lint."""
    if not available("verilator"):
        pytest.skip("the verilator Python package (or g++/make/perl) is missing")
    path = tmp_path / "bad.v"
    path.write_text("module bad(input clk, input a, output y, output reg z);\n"
                    "  always @* if (a) z = 1'b1;\n"
                    "endmodule\n")
    result = lint_verilog(path, "bad")
    assert not result.clean
    assert {"UNDRIVEN", "LATCH"} & set(result.unwaived), result.unwaived


def test_every_waiver_has_a_reason():
    assert all(len(reason) > 40 for reason in WAIVERS.values())
