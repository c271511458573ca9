"""Options shared by the commands that build a layer engine (``--p --d --lanes``) and reading a
quantized model file."""

from __future__ import annotations

from golden import quantized_file
from golden.engine_plan import EnginePlan, plan_engine
from golden.model_file import ModelFileError

from . import options
from .errors import UsageError


def add_engine_options(p) -> None:
    p.add_argument("--p", type=options.positive_int, default=1,
                   help="parallel butterflies per FFT level, a power of two up to k/2 (default 1)")
    p.add_argument("--d", type=options.positive_int, default=None,
                   help="FFT levels, 1 to log2 k (default log2 k: fully pipelined)")
    p.add_argument("--lanes", type=options.positive_int, default=2,
                   help="MAC lanes (complex multipliers of the peripheral block), a power of two "
                        ">= 2 (default 2)")


def load_quantized(path: str):
    """``(float network, quantized network)`` or a UsageError naming the problem."""
    try:
        return quantized_file.load(path)
    except ModelFileError as e:
        raise UsageError(str(e)) from None


def engine_plan(qnet, args) -> EnginePlan:
    try:
        return plan_engine(qnet, p=args.p, d=args.d, lanes=args.lanes)
    except ValueError as e:
        raise UsageError(f"engine parameters: {e}") from None
