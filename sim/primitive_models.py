"""The behavioural models a technology's primitives need in simulation (none for generic)."""

from __future__ import annotations

from pathlib import Path

from . import ecp5_models, ice40_models

__all__ = ["primitive_models"]


def primitive_models(tech: str, directory: Path) -> list[Path]:
    """Write the Verilog models of ``tech``'s primitives into ``directory``; their paths."""
    if tech == "ecp5":
        return ecp5_models.write_models(directory)
    if tech == "ice40":
        return ice40_models.write_models(directory)
    return []
