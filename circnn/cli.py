"""The ``circnn`` command line: one parser, one module per subcommand (``circnn/cmd_*.py``).

User mistakes (bad options, unreadable or malformed files) print ``circnn: error: ...`` and exit
with code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from .errors import UsageError
from . import (cmd_bench, cmd_board, cmd_build, cmd_compress, cmd_dataset, cmd_demo, cmd_export,
               cmd_fft, cmd_formal, cmd_generate, cmd_import, cmd_infer, cmd_quantize, cmd_synth,
               cmd_train, cmd_tune)

COMMANDS = (cmd_demo, cmd_train, cmd_import, cmd_export, cmd_compress, cmd_quantize, cmd_infer,
            cmd_dataset, cmd_generate, cmd_fft, cmd_synth, cmd_tune, cmd_build, cmd_board,
            cmd_formal, cmd_bench)


class _Parser(argparse.ArgumentParser):
    """argparse with circnn's error line, ``circnn: error: [COMMAND: ]MESSAGE`` (exit 2), for
    every subcommand too (subparsers are made of the parent's class), and without argparse's
    prefix abbreviations (``tune --p 4`` once meant ``--plot 4`` and wrote a file named 4)."""

    def __init__(self, *args, **kwargs):
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.print_usage(sys.stderr)
        command = self.prog.removeprefix("circnn").strip()
        self.exit(2, f"circnn: error: {command + ': ' if command else ''}{message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="circnn",
        description="Generator, simulator and toolchain flows for CirCNN-style block-circulant "
                    "neural-network accelerators.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UsageError as e:
        print(f"circnn: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        # the environment refused a file operation (a full disk, permissions): no traceback
        where = f" ({e.filename})" if e.filename else ""
        print(f"circnn: error: {e.strerror or e}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("circnn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
