"""The FFT engine's options, shared by ``generate fft``, ``fft`` and ``synth fft``."""

from __future__ import annotations

import argparse
import dataclasses

from golden.fft_fixed import FFTParams

from .errors import UsageError


def add_fft_options(p) -> None:
    g = p.add_argument_group("FFT engine parameters")
    g.add_argument("--k", type=int, required=True, help="transform size, power of two 2..1024")
    g.add_argument("--width", type=int, default=16, help="data width in bits, 8..24 (default 16)")
    g.add_argument("--twiddle-width", type=int, default=None,
                   help="twiddle width, 8..24 (default: --width)")
    g.add_argument("--guard", type=int, default=2,
                   help="extra fractional bits between stages, 0..4 (default 2)")
    g.add_argument("--p", type=int, default=1,
                   help="parallel butterflies per level, power of two <= k/2; a beat carries 2p "
                        "samples (default 1)")
    g.add_argument("--d", type=int, default=None,
                   help="pipelined levels 1..log2 k; fewer levels recirculate (default log2 k)")
    g.add_argument("--pipeline", type=int, default=None,
                   help="extra registers in each complex multiplier, 0..2 (default 0; 2 for "
                        "'synth fft' on ECP5, where the multipliers use the DSPs' registers)")
    g.add_argument("--forward-shifts", type=_bits, default=None, metavar="B,B,...",
                   help="per-stage right shift of forward frames, log2 k values of 0/1 "
                        "(default all 1: gain 1/k)")
    g.add_argument("--inverse-shifts", type=_bits, default=None, metavar="B,B,...",
                   help="per-stage right shift of inverse frames (default all 1: numpy ifft)")
    g.add_argument("--samples-per-clock", type=int, default=None, metavar="N",
                   help="complex samples per beat: 2p (default), or 1 for the single-path "
                        "radix-2² engine (needs --p 1 and d = log2 k)")
    g.add_argument("--bit-reversed", action="store_true",
                   help="output in bit-reversed order (no reorder buffer)")
    g.add_argument("--min-length", type=int, default=None, metavar="N",
                   help="run-time transform length: frames may ask for any power of two from N "
                        "(at least 4) to k (default k: one length; docs/fft-engine.md)")
    g.add_argument("--shared-io", action=argparse.BooleanOptionalAction, default=None,
                   help="recirculating engines (d < log2 k): the input and output buffers in one "
                        "single-port memory (SPRAM on the iCE40 UP5K), frames on a longer grid "
                        "(default off; 'synth fft' turns it on when the block RAM would not fit "
                        "and the target has SPRAM)")


def _bits(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated 0/1 values, got '{text}'")


def fft_params(args, default_pipeline: int = 0) -> FFTParams:
    pipeline = default_pipeline if args.pipeline is None else args.pipeline
    try:
        return FFTParams(k=args.k, width=args.width, twiddle_width=args.twiddle_width,
                         guard=args.guard, p=args.p, d=args.d, pipeline=pipeline,
                         forward_shifts=args.forward_shifts, inverse_shifts=args.inverse_shifts,
                         natural_order=not args.bit_reversed,
                         samples_per_clock=args.samples_per_clock,
                         min_length=getattr(args, "min_length", None),
                         shared_io=bool(getattr(args, "shared_io", None)))
    except ValueError as e:
        raise UsageError(str(e)) from None


def describe(params: FFTParams) -> dict:
    """Parameters and derived figures for manifests and reports."""
    from golden.fft_fixed import engine_frame_interval, engine_latency

    d = dataclasses.asdict(params)
    d["forward_shifts"] = list(params.forward_shifts)
    d["inverse_shifts"] = list(params.inverse_shifts)
    return {
        "parameters": d,
        "stages": params.stages, "passes": params.passes, "lanes": params.lanes,
        "beats_per_frame": params.beats, "internal_width": params.internal_width,
        "latency_cycles": engine_latency(params),
        "frame_interval_cycles": engine_frame_interval(params),
        "throughput_samples_per_clock": params.throughput,
        "gain_forward": params.gain(False), "gain_inverse": params.gain(True),
        "gain_reference": "forward: numpy.fft.fft; inverse: k * numpy.fft.ifft",
        "complex_multipliers": params.multipliers,
        "lengths": [params.k >> s for s in range(params.max_stuffing + 1)],
    }


def fft_options_summary(params: FFTParams) -> str:
    return (f"k={params.k} width={params.width} p={params.p} d={params.d} "
            f"pipeline={params.pipeline} samples/clock={params.lanes}"
            + (" (radix 2²)" if params.radix22 else "")
            + (" shared-io" if params.shared_io else ""))


__all__ = ["add_fft_options", "fft_params", "describe"]
