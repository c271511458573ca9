"""Running the circnn command line in-process from tests."""

from circnn.cli import main


def run(args, capsys):
    """``(exit code, stdout, stderr)`` of ``circnn ARGS``."""
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err
