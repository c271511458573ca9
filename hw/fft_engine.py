"""The FFT/IFFT engine (basic computing block): levels, recirculation, reorder, output stage."""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.fft_fixed import FFTParams, engine_frame_interval, engine_latency, fft_fixed

from .counters import add_saturating, count_frame_error
from .fixed import complex_layout, round_shift, saturate
from .fft_level import FFTLevel, level_payload
from .fft_pipelined import PipelinedFFTCore
from .fft_sdf import SDFFFTCore
from .reorder import BitReverseBuffer

__all__ = ["FFTEngine", "input_payload", "output_payload"]

COUNTER_WIDTH = 32


def input_payload(params: FFTParams) -> data.StructLayout:
    """Input beat: ``2p`` samples (natural order), the frame's direction, end-of-frame flag."""
    return data.StructLayout({
        "data": data.ArrayLayout(complex_layout(params.width), params.lanes),
        "inverse": 1,
        "last": 1,
    })


def output_payload(params: FFTParams) -> data.StructLayout:
    """Output beat: ``2p`` samples, the frame's direction, start and end of frame flags."""
    return data.StructLayout({
        "data": data.ArrayLayout(complex_layout(params.width), params.lanes),
        "inverse": 1,
        "first": 1,
        "last": 1,
    })


def _popcount(v):
    return sum((v[i] for i in range(len(v))), Const(0, 1))


def check_engine_args(params, tech: str) -> None:
    """Raise TypeError unless :class:`FFTEngine` can be built with ``params`` and ``tech``.

    Callers that report user errors check first, so that no half-constructed engine (which
    Amaranth would later report as an unused elaboratable) is left behind.
    """
    if not isinstance(params, FFTParams):
        raise TypeError(f"params must be an FFTParams, not {params!r}")
    if tech not in ("generic", "ecp5"):
        raise TypeError(f"tech must be 'generic' or 'ecp5', not {tech!r}")
    if tech == "ecp5" and (params.pipeline != 2 or params.internal_width > 18
                           or params.twiddle_width > 18):
        raise TypeError("tech 'ecp5' needs pipeline 2 and width + guard and twiddle_width of "
                        f"at most 18 bits, not pipeline {params.pipeline}, "
                        f"{params.internal_width} and {params.twiddle_width} bits")


class FFTEngine(wiring.Component):
    """Pipelined radix-2 FFT/IFFT with ``p`` butterflies per level and ``d`` levels.

    Overview
    --------
    ::

        i -> <<guard -> [arbiter] -> level 0 -> ... -> level d-1 -+-> reorder -> round, sat -> o
                            ^                                      |
                            +------------ npass + 1 ---------------+   (when d < log2 k)

    A frame is ``k/2p`` beats of ``2p`` complex samples in natural order; the direction
    (``inverse``) is taken per frame.  Level ``i`` computes stage ``npass * d + i``
    (constant-geometry radix-2 DIF, see ``golden/fft_fixed.py``); with ``d < log2 k`` frames go
    round ``ceil(log2 k / d)`` times, the arbiter giving returning frames priority and admitting
    at most ``2d - 1`` frames so that the ring cannot deadlock.  The output is in natural order
    (bit-reversed if ``natural_order=False``), rounded back to ``width`` bits.

    Numerics are those of :func:`golden.fft_fixed.fft_fixed`, bit for bit.

    Latency and resources
    ---------------------
    ``delay`` = :func:`golden.fft_fixed.engine_latency`; one frame every
    ``passes * k / 2p`` cycles (``throughput = 2p / passes`` samples per clock).
    ``p * d`` butterflies (4 real multipliers each), ``d`` twiddle ROMs of ``k`` words with ``p``
    ports, ``d`` ping-pong memories of ``2k`` samples and one reorder memory of ``2k`` samples.

    Parameters
    ----------
    params : FFTParams
    tech : str
        ``"generic"``, or ``"ecp5"`` for complex multipliers on MULT18X18D primitives with their
        own registers (needs ``pipeline=2``; same latency and numerics).

    Members
    -------
    i : In(stream.Signature(input_payload(params)))
    o : Out(stream.Signature(output_payload(params)))
    saturations : Out(32)
        Complex samples saturated so far, in any stage or at the output (saturating counter).
    frame_errors : Out(16)
        Input beats whose ``last`` flag disagreed with the beat count (frames are counted,
        ``last`` is only checked).
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

    def model(self, frames, inverse: bool = False):
        """``(outputs, saturations)`` of :func:`golden.fft_fixed.fft_fixed`."""
        return fft_fixed(frames, self._params, inverse)

    def elaborate(self, platform):
        m = Module()
        prm = self._params
        if prm.passes == 1:
            structure = SDFFFTCore if prm.radix22 else PipelinedFFTCore
            m.submodules.core = core = structure(prm, self._tech, self._members(prm))
            wiring.connect(m, wiring.flipped(self.i), core.i)
            wiring.connect(m, core.o, wiring.flipped(self.o))
            m.d.comb += [self.saturations.eq(core.saturations),
                         self.frame_errors.eq(core.frame_errors)]
            return m
        lanes, beats, guard = prm.lanes, prm.beats, prm.guard
        iw = prm.internal_width

        levels = [FFTLevel(prm, i, self._tech) for i in range(prm.d)]
        for i, lv in enumerate(levels):
            m.submodules[f"level{i}"] = lv
        for a, b in zip(levels, levels[1:]):
            wiring.connect(m, a.o, b.i)

        # ---- input: guard bits, frame check ---------------------------------------------------
        inp = stream.Signature(level_payload(prm)).create(path=("inp",))
        m.d.comb += [inp.valid.eq(self.i.valid), self.i.ready.eq(inp.ready),
                     inp.payload.inverse.eq(self.i.payload.inverse), inp.payload.npass.eq(0)]
        for l in range(lanes):
            m.d.comb += [inp.payload.data[l].re.eq(self.i.payload.data[l].re << guard),
                         inp.payload.data[l].im.eq(self.i.payload.data[l].im << guard)]
        icnt = Signal(range(beats))
        count_frame_error(m, self.frame_errors, self.i.valid & self.i.ready,
                          self.i.payload.last, icnt, beats)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += icnt.eq(Mux(icnt == beats - 1, 0, icnt + 1))

        last = levels[-1]
        exit_ = stream.Signature(level_payload(prm)).create(path=("exit",))
        if prm.passes == 1:
            wiring.connect(m, inp, levels[0].i)
            m.d.comb += [exit_.valid.eq(last.o.valid), exit_.payload.eq(last.o.payload),
                         last.o.ready.eq(exit_.ready)]
        else:
            self._recirculate(m, inp, levels, exit_)

        # ---- reorder and output stage ----------------------------------------------------------
        if prm.natural_order:
            m.submodules.reorder = reorder = BitReverseBuffer(prm.k, iw, lanes)
            m.d.comb += [reorder.i.valid.eq(exit_.valid), exit_.ready.eq(reorder.i.ready),
                         reorder.i.payload.inverse.eq(exit_.payload.inverse),
                         reorder.i.payload.data.eq(exit_.payload.data)]
            src = reorder.o
        else:
            src = exit_
        en = Signal()
        m.d.comb += [en.eq(~self.o.valid | self.o.ready), src.ready.eq(en)]
        ocnt = Signal(range(beats))
        out_sat = Signal(lanes)
        with m.If(en):
            m.d.sync += [self.o.valid.eq(src.valid), self.o.payload.inverse.eq(src.payload.inverse),
                         self.o.payload.first.eq(ocnt == 0),
                         self.o.payload.last.eq(ocnt == beats - 1),
                         out_sat.eq(0)]
            with m.If(src.valid):
                m.d.sync += ocnt.eq(Mux(ocnt == beats - 1, 0, ocnt + 1))
            for l in range(lanes):
                re, sr = saturate(round_shift(src.payload.data[l].re, guard), prm.width)
                im, si = saturate(round_shift(src.payload.data[l].im, guard), prm.width)
                m.d.sync += [self.o.payload.data[l].re.eq(re), self.o.payload.data[l].im.eq(im)]
                with m.If(src.valid):
                    m.d.sync += out_sat[l].eq(sr | si)

        # ---- saturation counter: per-level flags of transferred beats, then the output ------
        incs = []
        for i, lv in enumerate(levels):
            inc = Signal(range(lanes + 1), name=f"sat_inc{i}")
            m.d.sync += inc.eq(0)
            with m.If(lv.o.valid & lv.o.ready):
                m.d.sync += inc.eq(_popcount(lv.sat))
            incs.append(inc)
        out_inc = Signal(range(lanes + 1))
        m.d.sync += out_inc.eq(0)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += out_inc.eq(_popcount(out_sat))
        total = Signal(range(lanes * (prm.d + 1) + 1))
        m.d.sync += total.eq(sum(incs) + out_inc)
        add_saturating(m, self.saturations, total)
        return m

    def _recirculate(self, m, inp, levels, exit_):
        """Arbiter in front of level 0: returning frames first, new ones while fewer than
        ``2d - 1`` are in flight; a frame holds the arbiter from its first beat to its last."""
        prm = self._params
        beats = prm.beats
        first, last = levels[0], levels[-1]
        is_exit = last.o.payload.npass == prm.passes - 1
        fb_valid = last.o.valid & ~is_exit
        m.d.comb += [exit_.valid.eq(last.o.valid & is_exit), exit_.payload.eq(last.o.payload)]

        locked = Signal()
        sel = Signal()  # 1: feedback
        cnt = Signal(range(beats))
        inflight = Signal(range(2 * prm.d + 1))
        limit = 2 * prm.d - 1
        cur_sel = Mux(locked, sel, fb_valid)
        go = locked | fb_valid | (self.i.valid & (inflight < limit))
        src_valid = Mux(cur_sel, fb_valid, inp.valid)
        m.d.comb += [
            first.i.valid.eq(go & src_valid),
            inp.ready.eq(first.i.ready & go & ~cur_sel),
            last.o.ready.eq(Mux(is_exit, exit_.ready, first.i.ready & go & cur_sel)),
        ]
        with m.If(cur_sel):
            m.d.comb += [first.i.payload.eq(last.o.payload),
                         first.i.payload.npass.eq(last.o.payload.npass + 1)]
        with m.Else():
            m.d.comb += first.i.payload.eq(inp.payload)
        transfer = first.i.valid & first.i.ready
        with m.If(transfer):
            with m.If(cnt == beats - 1):
                m.d.sync += [cnt.eq(0), locked.eq(0)]
            with m.Else():
                m.d.sync += [cnt.eq(cnt + 1), locked.eq(1), sel.eq(cur_sel)]
        admitted = transfer & ~cur_sel & (cnt == 0)
        ecnt = Signal(range(beats))
        exit_xfer = exit_.valid & exit_.ready
        with m.If(exit_xfer):
            m.d.sync += ecnt.eq(Mux(ecnt == beats - 1, 0, ecnt + 1))
        retired = exit_xfer & (ecnt == beats - 1)
        # (If/Elif rather than arithmetic on the flags: an X on an idle input during reset in a
        # 4-state simulator then cannot poison the counter)
        with m.If(admitted & ~retired):
            m.d.sync += inflight.eq(inflight + 1)
        with m.Elif(retired & ~admitted):
            m.d.sync += inflight.eq(inflight - 1)
