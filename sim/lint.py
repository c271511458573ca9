"""Verilator lint (``--lint-only -Wall``) of circnn's generated Verilog, with listed waivers.

The Verilog is written by Yosys from Amaranth's netlist, so some warning classes describe the
generator's style, not the design.  Those are waived by rule, each with its reason
(:data:`WAIVERS`); a warning of any other rule (or an error) fails the lint.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .simulators import SimulatorError, verilator_root

__all__ = ["WAIVERS", "LintResult", "lint_verilog"]

# rule -> why it is waived for Yosys-written Verilog
WAIVERS = {
    "PROCASSINIT": "Amaranth's register reset values are written as declaration initializers "
                   "(`reg x = 0;`) of registers the always blocks then assign: the intended "
                   "power-on value on FPGAs, not a second driver.",
    "UNUSEDSIGNAL": "Yosys keeps intermediate wires of every cell and whole struct payload "
                    "ports of which a unit reads some fields (a stream's `last` it ignores, the "
                    "upper bits of a product); unused logic itself is removed by synthesis.",
    "WIDTHEXPAND": "Yosys writes cells with operands of their own widths and relies on "
                   "Verilog's context-determined extension (`wbuf == 1'h1`, sign-extended "
                   "subtractions); Amaranth's widths were checked when the netlist was built.",
    "WIDTHTRUNC": "Yosys writes reductions and shifts whose result is assigned to a narrower "
                  "wire on purpose (`!rbuf` for a multi-bit zero test, `full >> slot` taking "
                  "one bit): the truncation is the operation Amaranth asked for.",
    "CASEINCOMPLETE": "Yosys writes a process's default assignment before its `casez`, so the "
                      "values left out of the case keep that default; no latch is inferred.",
    "UNUSEDPARAM": "The behavioural models of vendor primitives (sim/*_models.py) declare every "
                   "parameter the primitive has, so the generated instances can set them, and "
                   "model the configuration circnn uses.",
    "DECLFILENAME": "The module name is the one the flow asks for, not the file name.",
}


@dataclass
class LintResult:
    """Warnings of one file: ``waived`` and ``unwaived`` count per rule; ``messages`` holds the
    first lines of the unwaived ones."""

    path: str
    waived: Counter
    unwaived: Counter
    messages: list

    @property
    def clean(self) -> bool:
        return not self.unwaived

    def as_dict(self) -> dict:
        return {"path": self.path, "clean": self.clean, "waived": dict(self.waived),
                "unwaived": dict(self.unwaived), "messages": self.messages}


_WARNING = re.compile(r"^%(Warning|Error)-?([A-Z0-9_]*): (.*)$", re.MULTILINE)


def _run(verilog: Path, top: str, extra: list) -> str:
    root = verilator_root()
    env = dict(os.environ, VERILATOR_ROOT=str(root))
    cmd = [str(root / "bin" / "verilator"), "--lint-only", "-Wall", "-Wno-fatal",
           "--top-module", top, *map(str, extra), str(verilog)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    except subprocess.TimeoutExpired:
        raise SimulatorError(f"verilator lint of {verilog} timed out") from None
    return r.stdout + r.stderr


def lint_verilog(verilog: Path, top: str, extra=()) -> LintResult:
    """Lint ``verilog`` (top module ``top``, with the modules of the ``extra`` files, such as
    the behavioural models of a technology's primitives): every warning counted, the waived
    rules apart."""
    verilog = Path(verilog)
    text = _run(verilog, top, list(extra))
    counts = Counter()
    unwaived_messages = []
    for kind, rule, message in _WARNING.findall(text):
        if kind == "Error" and not rule:
            if message.startswith("Exiting due to"):
                continue
            rule = "ERROR"
        counts[rule] += 1
        if rule not in WAIVERS and len(unwaived_messages) < 20:
            unwaived_messages.append(f"{rule}: {message}")
    waived = Counter({r: n for r, n in counts.items() if r in WAIVERS})
    unwaived = Counter({r: n for r, n in counts.items() if r not in WAIVERS})
    return LintResult(str(verilog), waived, unwaived, unwaived_messages)
