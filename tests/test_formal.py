"""The formal flow (sim/formal.py) on the smallest stream unit: the skid buffer's contract is
proved, and deliberately broken variants make the proof fail on the property they break, so a
proof that passes is not passing vacuously.  The FFT engine and layer engine proofs are long:
``make formal`` runs them (``circnn formal``)."""

import dataclasses

import pytest

from hw.skid_buffer import SkidBuffer
from sim.formal import StreamContract, formal_tools_available, harness_verilog, run_contract
from sim.formal_units import CONTRACTS, skid_buffer_contract

from .cli_run import run

pytestmark = pytest.mark.skipif(formal_tools_available() is not None,
                                reason=str(formal_tools_available()))


class AcceptsWhenFull(SkidBuffer):
    """Broken on purpose: ``i.ready`` stays high when the skid register is full, so a beat is
    accepted that the buffer cannot hold (it overwrites the one waiting)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.i.ready.eq(1)
        return m


class ChangesWhileStalled(SkidBuffer):
    """Broken on purpose: the output register takes a new beat even while the consumer stalls."""

    def elaborate(self, platform):
        from amaranth.hdl import Module
        m = Module()
        m.d.comb += self.i.ready.eq(1)
        with m.If(self.i.valid):
            m.d.sync += [self.o.payload.eq(self.i.payload), self.o.valid.eq(1)]
        with m.Elif(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        return m


def test_skid_buffer_contract_is_proved(tmp_path):
    result = run_contract(skid_buffer_contract(), tmp_path)
    assert result.status == "proved", result.as_dict()


def test_overwriting_variant_fails_the_tag_property(tmp_path):
    result = run_contract(skid_buffer_contract(component=AcceptsWhenFull(8)), tmp_path)
    assert result.status == "fail" and "tag" in result.failed, result.as_dict()
    assert result.trace and result.trace.endswith(".vcd")


def test_payload_changing_under_stall_fails_stable(tmp_path):
    result = run_contract(skid_buffer_contract(component=ChangesWhileStalled(8)), tmp_path)
    assert result.status == "fail" and "stable" in result.failed, result.as_dict()


def test_too_tight_drain_bound_fails(tmp_path):
    """Two beats held cannot both leave in one cycle: a bound that says so is refuted, so the
    drain property is checked, not vacuous."""
    c = dataclasses.replace(skid_buffer_contract(), latency_per_unit=0)
    result = run_contract(c, tmp_path)
    assert result.status == "fail" and result.failed == ["drain"], result.as_dict()


def test_contract_validation():
    with pytest.raises(ValueError, match="proof name must be a word"):
        StreamContract("a b", "", 1, 1, 1, 1, latency=1, depth=4)
    with pytest.raises(ValueError, match="in_tag and out_tag go together"):
        StreamContract("x", "", 1, 1, 1, 1, latency=1, depth=4, in_tag=(0, 1))
    with pytest.raises(ValueError, match="depth must be at least 1"):
        StreamContract("x", "", 1, 1, 1, 1, latency=1, depth=0)


def test_harness_names_every_property():
    text = harness_verilog(skid_buffer_contract())
    for label in ("stable:", "no_spurious:", "drain:", "tag:"):
        assert label in text


def test_formal_command(tmp_path, capsys):
    code, out, err = run(["formal", "--list"], capsys)
    assert code == 0 and out.split() == list(CONTRACTS)
    code, out, err = run(["formal", "no_such_proof"], capsys)
    assert code == 2 and "no proof named no_such_proof" in err
    code, out, err = run(["formal", "skid_buffer", "--json", tmp_path / "f.json"], capsys)
    assert code == 0 and "proved" in out
    assert '"status": "proved"' in (tmp_path / "f.json").read_text()
