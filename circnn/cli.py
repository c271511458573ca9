"""The ``circnn`` command line: one parser, one module per subcommand (``circnn/cmd_*.py``).

User mistakes (bad options, unreadable or malformed files) print ``circnn: error: ...`` and exit
with code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from .errors import UsageError
from . import (cmd_bench, cmd_board, cmd_build, cmd_compress, cmd_dataset, cmd_demo, cmd_export,
               cmd_fft, cmd_generate, cmd_import, cmd_infer, cmd_quantize, cmd_synth, cmd_train,
               cmd_tune)

COMMANDS = (cmd_demo, cmd_train, cmd_import, cmd_export, cmd_compress, cmd_quantize, cmd_infer,
            cmd_dataset, cmd_generate, cmd_fft, cmd_synth, cmd_tune, cmd_build, cmd_board,
            cmd_bench)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    except KeyboardInterrupt:
        print("circnn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
