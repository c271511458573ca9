"""Verilog generation from Amaranth components, with the `timescale cocotb expects."""

from __future__ import annotations

from pathlib import Path


def write_verilog(component, name: str, path: Path) -> Path:
    """Convert ``component`` to Verilog module ``name`` at ``path`` (parents created)."""
    from amaranth.back import verilog

    text = verilog.convert(component, name=name, emit_src=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("`timescale 1ns/1ps\n" + text)
    return path
