"""argparse helpers shared by the subcommands: typed option parsers with clear messages."""

from __future__ import annotations

import argparse


def int_list(text: str, minimum: int = 1) -> list[int]:
    """``"256,256"`` -> ``[256, 256]``; every entry an integer of at least ``minimum``."""
    what = "positive" if minimum == 1 else f">= {minimum}"
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated {what} integers, got '{text}'") from None
    if not values or any(v < minimum for v in values):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated {what} integers, got '{text}'")
    return values


def nonnegative_int_list(text: str) -> list[int]:
    return int_list(text, minimum=0)


def power_of_two_list(text: str) -> list[int]:
    values = int_list(text)
    bad = [v for v in values if v & (v - 1)]
    if bad:
        raise argparse.ArgumentTypeError(
            f"block sizes must be powers of two (1, 2, 4, 8, ...), got {bad[0]}")
    return values


def _number(text: str, kind, ok, what: str):
    """``kind(text)`` if it parses and ``ok(value)`` holds, else an error saying ``what``."""
    try:
        v = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got '{text}'") from None
    if not ok(v):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text}")
    return v


def _finite(v: float) -> bool:
    return v == v and v not in (float("inf"), float("-inf"))


def positive_int(text: str) -> int:
    return _number(text, int, lambda v: v >= 1, "a positive integer")


def nonnegative_int(text: str) -> int:
    return _number(text, int, lambda v: v >= 0, "a whole number >= 0")


def nonnegative_float(text: str) -> float:
    return _number(text, float, lambda v: _finite(v) and v >= 0, "a finite number >= 0")


def finite_float(text: str) -> float:
    return _number(text, float, _finite, "a finite number")


def positive_float(text: str) -> float:
    return _number(text, float, lambda v: v > 0, "a positive number")


def add_output(parser: argparse.ArgumentParser, help: str, required: bool = True) -> None:
    parser.add_argument("-o", "--output", required=required, metavar="FILE", help=help)


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="FILE", nargs="?", const="-", default=None,
                        help="also write the figures as JSON (to FILE, or to stdout when no FILE "
                             "is given, replacing the table)")
