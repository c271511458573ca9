"""Steps whose results are kept and reused while their inputs stay the same.

A step is identified by its name and keyed by a SHA-256 of its parameters, the contents of its
input files and the source code of circnn itself (``circnn/``, ``golden/``, ``hw/``, ``sim/``), so
a changed model, option or line of code reruns exactly the steps it affects.  A step's JSON result
is kept in ``DIR/cache/NAME.json``; it counts as cached only while every output file it names
still exists.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Callable

from .files import save_json
from .report import progress

__all__ = ["StepCache", "file_digest", "source_digest"]

_PACKAGES = ("circnn", "golden", "hw", "sim")


def file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def source_digest() -> str:
    """Digest of every Python source file of the packages circnn consists of."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for pkg in _PACKAGES:
        for f in sorted((root / pkg).glob("*.py")):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()


class StepCache:
    """Run or reuse named steps in ``directory``; ``log`` records what happened to each."""

    def __init__(self, directory: Path, quiet: bool = False, enabled: bool = True):
        self.directory = Path(directory)
        self.quiet = quiet
        self.enabled = enabled
        self.code = source_digest()
        self.log: list[dict] = []

    def run(self, name: str, params: dict, produce: Callable[[], dict],
            inputs: tuple = (), outputs: tuple = ()) -> dict:
        """``produce()`` (a JSON-able dict) unless a result with the same key is kept."""
        key = hashlib.sha256(json.dumps(
            {"step": name, "params": params, "code": self.code,
             "inputs": [file_digest(p) for p in inputs]}, sort_keys=True, default=str).encode()
        ).hexdigest()
        record = self.directory / "cache" / f"{name}.json"
        if self.enabled and record.exists() and all(Path(p).exists() for p in outputs):
            try:
                kept = json.loads(record.read_text())
            except (OSError, ValueError):
                kept = {}
            if kept.get("key") == key:
                progress(f"demo: {name}: cached ({kept.get('seconds', 0):.1f} s saved)",
                         self.quiet)
                self.log.append({"step": name, "cached": True, "seconds": kept.get("seconds")})
                return kept["result"]
        progress(f"demo: {name} ...", self.quiet)
        t0 = time.time()
        result = produce()
        seconds = round(time.time() - t0, 2)
        record.parent.mkdir(parents=True, exist_ok=True)
        save_json(str(record), {"key": key, "result": result, "seconds": seconds})
        progress(f"demo: {name}: done in {seconds:.1f} s", self.quiet)
        self.log.append({"step": name, "cached": False, "seconds": seconds})
        return result
