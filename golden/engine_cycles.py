"""Cycle estimates of the layer engine: the one place the engine's cycle formulas live (the
engine's docstring, ``circnn synth engine`` without simulation, the simulators' time-outs and
the tuner all use these; docs/benchmarks.md compares them with the RTL's measured counts)."""

from __future__ import annotations

from .engine_plan import EnginePlan, LayerPlan
from .fft_fixed import engine_frame_interval, engine_latency

__all__ = ["estimate_layer_cycles", "estimate_cycles", "layer_interval", "unit_delays"]


def unit_delays(plan: EnginePlan) -> dict:
    """Pipeline delays of the engine's units, in cycles (the ``delay`` properties of
    ``hw/engine_reader.py``, ``hw/engine_mac_scheduler.py`` and ``hw/engine_post.py``, which a
    test holds equal to these): ``reader`` from a step to its pair, ``mac`` from a term to its
    Y word, ``post`` from a sample to its write, ``skid`` the register between the FFT engine
    and the Z buffer and serializer.  A pipelined plan (``plan.fft.pipeline > 0``) registers
    the reader's requests and data, the MAC lanes' inputs and requantization, the
    post-processor's sum and shift (and its pooling comparison)."""
    pipe = plan.fft.pipeline
    if not pipe:
        return {"reader": 6, "mac": 2 + 5, "post": 2, "skid": 0}
    pools = any(lp.pool for lp in plan.layers)      # the pooling comparison is registered
    # (several block sizes: the MAC scheduler's read addresses registered)
    return {"reader": 11, "mac": 2 + 9 + pipe + int(plan.mixed), "post": 7 if pools else 5,
            "skid": 1}


def _reader_cycles(plan: EnginePlan, lp: LayerPlan) -> tuple[int, int]:
    """Reader cycles of a vector's input frames and of its output frames: ``k/2`` pairs a
    frame, :meth:`~golden.engine_plan.EnginePlan.reader_steps` cycles an input pair and
    :attr:`~golden.engine_plan.EnginePlan.output_steps` an output pair."""
    half = plan.k // 2
    return (lp.frames_in * half * plan.reader_steps(lp),
            lp.frames_out * half * plan.output_steps)


def layer_interval(plan: EnginePlan, lp: LayerPlan) -> float:
    """Cycles between two vectors of a layer in steady state: the busiest of the reader, the
    MAC lanes, the post-processing (two values per clock) and the FFT engine (one frame per
    :func:`golden.fft_fixed.engine_frame_interval`), or the Z slots' turnaround (a slot's
    life over the slots: an average, not always whole cycles)."""
    read_in, read_out = _reader_cycles(plan, lp)
    mac = lp.groups * lp.bins * lp.q + 1
    post = lp.frames_out * plan.k
    fft = (lp.frames_in + lp.frames_out) * _frame_interval(plan, lp)
    # a Z slot is held from the reader's first input step to the MAC lanes' last read of it
    # (the steps, the reader's delay, the FFT's latency to the frame's last beat, the MAC pass,
    # the slot flags' hand-offs): with few slots and a long FFT latency, the slots bind
    z_life = read_in + _forward_latency(plan, lp) + mac + 3
    return max(read_in + read_out, mac, post, fft, z_life / plan.z_slots)


def _frame_interval(plan: EnginePlan, lp: LayerPlan) -> int:
    """Cycles between frames through the FFT engine (:func:`golden.fft_fixed.
    engine_frame_interval`), or for a dense layer past it: a beat a cycle."""
    return plan.fft.beats if lp.dense else engine_frame_interval(plan.fft)


def _frame_latency(plan: EnginePlan, lp: LayerPlan) -> int:
    """Cycles from the reader's step of a frame's first pair to the frame's first beat out of
    the FFT engine: the reader's delay, the FFT's latency, the skid register (a dense layer:
    the reader's delay and the packer's beat register)."""
    u = unit_delays(plan)
    if lp.dense:
        return u["reader"] + 1
    return u["reader"] + engine_latency(plan.fft) + u["skid"]


def _forward_latency(plan: EnginePlan, lp: LayerPlan) -> int:
    """Cycles from the reader's last step of a frame to the frame's last beat written."""
    return _frame_latency(plan, lp) + plan.fft.beats - 1


def estimate_layer_cycles(plan: EnginePlan, lp: LayerPlan) -> int:
    """Cycles of one layer, from the engine's structure, then one vector per
    :func:`layer_interval`.  The first vector: its input frames read (each frame at the pace of
    the reader or of the FFT engine, whichever is slower), through the FFT to the last beat, the
    MAC pass and the MAC lanes' delay; its first output frame read and through the FFT, then
    every output frame at the pace of the serializer (``k`` cycles a frame), the reader or the
    FFT engine, and the post-processor's delay."""
    u = unit_delays(plan)
    half, fi = plan.k // 2, _frame_interval(plan, lp)
    frame_in, frame_out = half * plan.reader_steps(lp), half * plan.output_steps
    mac = lp.groups * lp.bins * lp.q + 1
    forward = frame_in + (lp.frames_in - 1) * max(frame_in, fi) + _forward_latency(plan, lp)
    inverse = frame_out + _frame_latency(plan, lp)
    first = (forward + mac + u["mac"] + inverse + lp.frames_out * max(plan.k, fi, frame_out)
             + u["post"] + 6)
    return first + round((lp.vectors - 1) * layer_interval(plan, lp))


def estimate_cycles(plan: EnginePlan) -> int:
    """Estimated cycles per sample: loading, every layer, unloading."""
    return plan.in_size + plan.out_size + sum(estimate_layer_cycles(plan, lp)
                                              for lp in plan.layers)
