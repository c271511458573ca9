"""Cycle estimates of the layer engine: the one place the engine's cycle formulas live (the
engine's docstring, ``circnn synth engine`` without simulation, the simulators' time-outs and
the tuner all use these; docs/benchmarks.md compares them with the RTL's measured counts)."""

from __future__ import annotations

from .engine_plan import EnginePlan, LayerPlan
from .fft_fixed import engine_frame_interval, engine_latency

__all__ = ["estimate_layer_cycles", "estimate_cycles", "layer_interval"]


def _reader_cycles(plan: EnginePlan, lp: LayerPlan) -> tuple[int, int]:
    """Reader cycles of a vector's input frames and of its output frames: ``k/2`` pairs a
    frame, :meth:`~golden.engine_plan.EnginePlan.reader_steps` cycles an input pair and
    :attr:`~golden.engine_plan.EnginePlan.output_steps` an output pair."""
    half = plan.k // 2
    return (lp.frames_in * half * plan.reader_steps(lp),
            lp.frames_out * half * plan.output_steps)


def layer_interval(plan: EnginePlan, lp: LayerPlan) -> int:
    """Cycles between two vectors of a layer in steady state: the busiest of the reader, the
    MAC lanes, the post-processing (two values per clock) and the FFT engine (one frame per
    :func:`golden.fft_fixed.engine_frame_interval`), or the Z slots' turnaround."""
    read_in, read_out = _reader_cycles(plan, lp)
    mac = lp.groups * plan.bins * lp.q + 1
    post = lp.frames_out * plan.k
    fft = (lp.frames_in + lp.frames_out) * engine_frame_interval(plan.fft)
    # a Z slot is held from the reader's first input frame to the MAC lanes' last read of it:
    # with few slots and a long FFT latency, the slots bind
    z_life = read_in + engine_latency(plan.fft) + mac + 3
    return max(read_in + read_out, mac, post, fft, -(-z_life // plan.z_slots))


def estimate_layer_cycles(plan: EnginePlan, lp: LayerPlan) -> int:
    """Cycles of one layer, from the engine's structure: the first vector's latency through
    reader, FFT, MAC lanes, reader, IFFT and post-processing, then one vector per
    :func:`layer_interval`."""
    lat = engine_latency(plan.fft)
    read_in, read_out = _reader_cycles(plan, lp)
    mac = lp.groups * plan.bins * lp.q + 1
    first = read_in + lat + mac + read_out + lat + lp.frames_out * plan.k + 20
    return first + (lp.vectors - 1) * layer_interval(plan, lp)


def estimate_cycles(plan: EnginePlan) -> int:
    """Estimated cycles per sample: loading, every layer, unloading."""
    return plan.in_size + plan.out_size + sum(estimate_layer_cycles(plan, lp)
                                              for lp in plan.layers)
