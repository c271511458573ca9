"""The FFT/IFFT engine (basic computing block): one interface, three structures chosen by the
parameters."""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.fft_fixed import FFTParams, engine_frame_interval, engine_latency, fft_fixed

from .fixed import complex_layout
from .fft_pipelined import PipelinedFFTCore
from .fft_recirculating import RecirculatingFFTCore
from .fft_sdf import SDFFFTCore

__all__ = ["FFTEngine", "input_payload", "output_payload"]

COUNTER_WIDTH = 32


def input_payload(params: FFTParams) -> data.StructLayout:
    """Input beat: ``2p`` samples (natural order), the frame's direction, end-of-frame flag;
    with a run-time length (``params.min_length < k``) also ``stuffing``: the frame is of length
    ``k / 2**stuffing``, zero-stuffed or repeated (:class:`golden.fft_fixed.FFTParams`)."""
    fields = {
        "data": data.ArrayLayout(complex_layout(params.width), params.lanes),
        "inverse": 1,
        "last": 1,
    }
    if params.max_stuffing:
        fields["stuffing"] = range(params.max_stuffing + 1)
    return data.StructLayout(fields)


def output_payload(params: FFTParams) -> data.StructLayout:
    """Output beat: ``2p`` samples, the frame's direction, start and end of frame flags (and the
    frame's ``stuffing`` with a run-time length)."""
    fields = {
        "data": data.ArrayLayout(complex_layout(params.width), params.lanes),
        "inverse": 1,
        "first": 1,
        "last": 1,
    }
    if params.max_stuffing:
        fields["stuffing"] = range(params.max_stuffing + 1)
    return data.StructLayout(fields)


def check_engine_args(params, tech: str) -> None:
    """Raise TypeError unless :class:`FFTEngine` can be built with ``params`` and ``tech``.

    Callers that report user errors check first, so that no half-constructed engine (which
    Amaranth would later report as an unused elaboratable) is left behind.
    """
    if not isinstance(params, FFTParams):
        raise TypeError(f"params must be an FFTParams, not {params!r}")
    if tech not in ("generic", "ecp5", "ice40"):
        raise TypeError(f"tech must be 'generic', 'ecp5' or 'ice40', not {tech!r}")
    if tech == "ecp5" and (params.pipeline != 2 or params.internal_width > 18
                           or params.twiddle_width > 18):
        raise TypeError("tech 'ecp5' needs pipeline 2 and width + guard and twiddle_width of "
                        f"at most 18 bits, not pipeline {params.pipeline}, "
                        f"{params.internal_width} and {params.twiddle_width} bits")


class FFTEngine(wiring.Component):
    """Pipelined FFT/IFFT with ``p`` butterflies per level and ``d`` levels.

    Overview
    --------
    A frame is ``k/2p`` beats of ``2p`` complex samples in natural order (``k`` beats of one
    sample with ``samples_per_clock = 1``); the direction (``inverse``) is taken per frame, and
    with ``params.min_length < k`` the length (``stuffing``: a frame of ``k / 2**stuffing``
    samples given zero-stuffed, or repeated when inverse, whose result is read off the first
    bins, or every ``2**stuffing``-th sample: :mod:`golden.fft_fixed`; only the stages' shifts
    depend on it, so the throughput is that of a ``k``-point frame).
    The output is in natural order (bit-reversed if ``natural_order=False``), rounded back to
    ``width`` bits.  Behind the interface, chosen by the parameters:

    * ``d = log2 k``, ``2p`` samples per clock: the delay-commutator pipeline
      (:class:`hw.fft_pipelined.PipelinedFFTCore`);
    * ``samples_per_clock = 1``: the single-path radix-2² pipeline
      (:class:`hw.fft_sdf.SDFFFTCore`, numerics of :mod:`golden.fft_radix22`);
    * ``d < log2 k``: ``d`` constant-geometry levels in a ring, frames going round
      ``ceil(log2 k / d)`` times (:class:`hw.fft_recirculating.RecirculatingFFTCore`).

    All three run free between an input buffer and an output buffer (no stall inside, credits
    for the output buffer).  Numerics are those of :func:`golden.fft_fixed.fft_fixed`, bit for
    bit.

    Latency and resources
    ---------------------
    ``delay`` = :func:`golden.fft_fixed.engine_latency`; one frame every ``frame_interval`` =
    ``passes * k / 2p`` cycles (``throughput = 2p / passes`` samples per clock, 1 for the
    single-path engine).  ``params.multipliers`` complex multipliers (4 real multipliers each);
    memories: each structure's docstring.

    Parameters
    ----------
    params : FFTParams
    tech : str
        ``"generic"``, or ``"ecp5"`` for complex multipliers on MULT18X18D primitives and block
        memories on DP16KD primitives with their own registers (needs ``pipeline=2``; same
        latency and numerics), or ``"ice40"`` for products split to fit the 16 x 16 SB_MAC16.

    Members
    -------
    i : In(stream.Signature(input_payload(params)))
    o : Out(stream.Signature(output_payload(params)))
    saturations : Out(32)
        Complex samples saturated so far, in any stage or at the output (it stops rather than
        wraps: :mod:`hw.counters`).
    frame_errors : Out(16)
        Input beats whose ``last`` flag disagreed with the beat count (frames are counted,
        ``last`` is only checked), counted a cycle after the beat.
    freed : Out(1)
        A frame slot of the input buffer has been freed (pulse): ``k/2p`` more beats fit.  The
        buffer holds 2 frames, so a producer that starts a frame only against a free slot
        (counting from 2) is never refused a beat (:class:`hw.engine_beats.BeatPacker`).
    """

    def __init__(self, params: FFTParams, tech: str = "generic"):
        check_engine_args(params, tech)
        self._params = params
        self._tech = tech
        super().__init__(self._members(params))

    @staticmethod
    def _members(params):
        return {
            "i": In(stream.Signature(input_payload(params))),
            "o": Out(stream.Signature(output_payload(params))),
            "saturations": Out(COUNTER_WIDTH),
            "frame_errors": Out(16),
            "freed": Out(1),
        }

    @property
    def params(self) -> FFTParams:
        return self._params

    @property
    def delay(self) -> int:
        return engine_latency(self._params)

    @property
    def frame_interval(self) -> int:
        return engine_frame_interval(self._params)

    def model(self, frames, inverse: bool = False, stuffing: int = 0):
        """``(outputs, saturations)`` of :func:`golden.fft_fixed.fft_fixed`."""
        return fft_fixed(frames, self._params, inverse, stuffing=stuffing)

    def elaborate(self, platform):
        m = Module()
        prm = self._params
        if prm.passes > 1:
            structure = RecirculatingFFTCore
        else:
            structure = SDFFFTCore if prm.radix22 else PipelinedFFTCore
        m.submodules.core = core = structure(prm, self._tech, self._members(prm))
        wiring.connect(m, wiring.flipped(self.i), core.i)
        wiring.connect(m, core.o, wiring.flipped(self.o))
        m.d.comb += [self.saturations.eq(core.saturations),
                     self.frame_errors.eq(core.frame_errors), self.freed.eq(core.freed)]
        return m
