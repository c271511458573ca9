"""Verilog generation from Amaranth components, with the `timescale cocotb expects."""

from __future__ import annotations

import re
from pathlib import Path

# Yosys' write_verilog makes every combinational ``always @*`` block read a dummy register
# initialized to 0 in its declaration, expecting that initialization to run each block once at
# time 0.  Icarus applies declaration initializers before any process waits, so a block whose
# real inputs never change after time 0 (an FSM output while the FSM sits in its reset state)
# is never evaluated and its outputs stay X.  Toggling the dummy register once, after time 0's
# active events, evaluates every such block.
_TRIGGER = re.compile(r"^(\s*)reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ ) = 0;$",
                      re.MULTILINE)


def _icarus_time0_trigger(text: str) -> str:
    return _TRIGGER.sub(lambda mo: (f"{mo.group(0)}\n`ifdef __ICARUS__\n{mo.group(1)}initial #0 "
                                    f"{mo.group(2)}= 1'b1;\n`endif"), text)


def write_verilog(component, name: str, path: Path) -> Path:
    """Convert ``component`` to Verilog module ``name`` at ``path`` (parents created).

    An existing file with the same text is left alone (content and modification time), so
    simulator builds that depend on it stay up to date."""
    from amaranth.back import verilog

    text = "`timescale 1ns/1ps\n" + _icarus_time0_trigger(
        verilog.convert(component, name=name, emit_src=False))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not (path.exists() and path.read_text() == text):
        path.write_text(text)
    return path
