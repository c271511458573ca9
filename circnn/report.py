"""Figures for people and for scripts: a readable table on stdout, JSON on request."""

from __future__ import annotations

import json
import sys

from .files import save_json


def table(rows: list[tuple], header: tuple) -> str:
    """A plain fixed-width text table."""
    cells = [tuple(str(c) for c in header)] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def emit(args, text: str, data: dict) -> None:
    """Print ``text``; with ``--json`` print JSON instead (``--json -``) or also write it to FILE."""
    target = getattr(args, "json", None)
    if target == "-":
        print(json.dumps(data, indent=2, sort_keys=True), flush=True)
        return
    print(text)
    if target:
        save_json(target, data)


def progress(message: str, quiet: bool = False) -> None:
    """One line of progress on stderr (stdout stays for results)."""
    if not quiet:
        print(message, file=sys.stderr, flush=True)
