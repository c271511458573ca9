"""Between the layer engine and its FFT engine: pairs of samples into FFT beats (the packer), and
inverse FFT beats into two values per clock (the serializer)."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.fft_fixed import FFTParams, engine_input_slots

from .engine_reader import pair_layout
from .fft_engine import input_payload
from .fixed import complex_layout
from .select import select

__all__ = ["BeatPacker", "Serializer", "value_pair_layout"]


class BeatPacker(wiring.Component):
    """Pairs of samples (at most one per clock, never refused) into beats of ``2p`` samples.

    Overview
    --------
    With ``credits=False`` pairs wait in a FIFO of ``depth`` entries; ``issue_ok`` tells the
    producer that ``room`` more pairs fit (the producer's pipeline depth); with
    ``registered`` it is two cycles late (the FIFO's level registered, then its comparison)
    and counts two pairs more (at most one pair arrives per cycle), so that neither the
    level's sum nor its comparison is on the producer's issue path.  With
    ``credits=True`` there is no FIFO: the FFT engine's input buffer is the only buffer, and
    ``frame_ok`` lets the producer start a frame while that buffer has a frame slot no frame
    has been started for (:func:`golden.fft_fixed.engine_input_slots` slots; ``frame_start``
    takes one, the engine's ``freed`` gives one back), so the engine never refuses a beat
    (``issue_ok`` is then always 1).
    A beat is complete after ``p`` pairs; a beat leaves and the next beat's first pair arrives
    in the same cycle, so the packer passes two samples per clock.  Whole frames arrive in
    order, so a beat's direction is its samples'.

    Latency and resources
    ---------------------
    At least 2 cycles (1 with credits) from a pair to its beat.  A beat register, and a FIFO of
    ``depth`` x ``4 width + 1`` bits (without credits) or a 2-bit counter (with).

    Members
    -------
    pair_valid : In(1), pair : In(pair_layout(width))
    issue_ok : Out(1)
    frame_start : In(1), freed : In(1), frame_ok : Out(1)     (credits)
    stuffing : In     the frames' zero stuffing (an FFT engine with a run-time length)
    o : Out(stream of the FFT engine's input payload)
    """

    def __init__(self, fft: FFTParams, width: int, room: int, credits: bool = False,
                 registered: bool = False):
        self._fft, self._width, self._room, self._credits = fft, width, room, credits
        self._late = 2 if registered else 0    # cycles issue_ok lags the FIFO's level
        self._depth = 1 << (room + 3 + self._late).bit_length()
        super().__init__({"pair_valid": In(1), "pair": In(pair_layout(width)),
                          "issue_ok": Out(1), "frame_start": In(1), "freed": In(1),
                          "frame_ok": Out(1),
                          "o": Out(stream.Signature(input_payload(fft))),
                          **({"stuffing": In(range(fft.max_stuffing + 1))}
                             if fft.max_stuffing else {})})

    def elaborate(self, platform):
        m = Module()
        W, fp = self._width, self._fft
        pairs, beats = fp.lanes // 2, fp.beats
        if self._credits:
            frames = engine_input_slots(fp)
            free = Signal(range(frames + 1), init=frames)
            m.d.sync += free.eq(free - self.frame_start + self.freed)
            m.d.comb += [self.issue_ok.eq(1), self.frame_ok.eq(free != 0)]
            entry_valid = self.pair_valid
            entry = self.pair
        else:
            m.submodules.fifo = sf = fifo.SyncFIFOBuffered(width=4 * W + 1, depth=self._depth)
            m.d.comb += [sf.w_en.eq(self.pair_valid), sf.w_data.eq(self.pair.as_value()),
                         self.frame_ok.eq(1)]
            if self._late:  # the level registered, then its comparison
                level = Signal.like(sf.w_level, name="level_r")
                m.d.sync += [level.eq(sf.w_level),
                             self.issue_ok.eq(level <= self._depth - self._room - 1 - self._late)]
            else:
                m.d.comb += self.issue_ok.eq(sf.w_level <= self._depth - self._room - 1)
            entry_valid, entry = sf.r_rdy, data.View(pair_layout(W), sf.r_data)
        cw = complex_layout(W)
        beat = Signal(data.ArrayLayout(cw, fp.lanes))
        inv = Signal()
        nfill = Signal(range(pairs + 1))
        bcount = Signal(range(beats))
        m.d.comb += [self.o.valid.eq(nfill == pairs), self.o.payload.data.eq(beat),
                     self.o.payload.inverse.eq(inv),
                     self.o.payload.last.eq(bcount == beats - 1)]
        if fp.max_stuffing:     # every frame of a layer has the layer's length
            m.d.comb += self.o.payload.stuffing.eq(self.stuffing)
        send = self.o.valid & self.o.ready
        take = entry_valid & ((nfill != pairs) | send)
        slot = Mux(send, 0, nfill)
        with m.If(send):
            m.d.sync += [nfill.eq(0), bcount.eq(Mux(bcount == beats - 1, 0, bcount + 1))]
        with m.If(take):
            if not self._credits:
                m.d.comb += sf.r_en.eq(1)
            m.d.sync += [nfill.eq(Mux(send, 1, nfill + 1)), inv.eq(entry.inverse)]
            with m.Switch(slot):
                for lane in range(pairs):
                    with m.Case(lane):
                        m.d.sync += [beat[2 * lane].eq(entry.x[0]),
                                     beat[2 * lane + 1].eq(entry.x[1])]
        return m


def value_pair_layout(width: int, positions: int, frames: int) -> data.StructLayout:
    """Two values of one IFFT sample: block ``2s`` (``re``) and ``2s + 1`` (``im``) of output
    frame ``s`` at sample ``t``, with the frame's end and the vector's end."""
    return data.StructLayout({"y": data.ArrayLayout(signed(width), 2), "t": range(positions),
                              "s": range(frames), "vector_end": 1})


class Serializer(wiring.Component):
    """Inverse FFT beats into one sample per clock: its two values (blocks ``2s`` and ``2s+1``).

    Overview
    --------
    The FFT engine's inverse beats wait in a FIFO of ``frames`` frames, so that its output,
    shared with the forward frames, keeps moving at one beat per clock while the
    post-processing takes ``2p`` cycles per beat (``frames = 0``: no FIFO, the engine's output
    waits, forward frames behind it too).  Each sample leaves with its position: sample
    ``t`` of the vector's output frame ``s``; ``vector_end`` marks a vector's last sample.

    Latency and resources
    ---------------------
    2 cycles (1 without FIFO) from a beat to its first sample when the FIFO is empty.  A FIFO
    of ``frames * k/2p`` beats; with ``registered_ready`` one more, and ``i.ready`` a
    flip-flop (the FIFO had room for two beats in the cycle before), so that no comparison of
    the FIFO's level is on the producer's path.

    Members
    -------
    clear : In(1)     a new layer (positions restart)
    frames_out : In   output frames per vector (the layer's descriptor)
    i : In(stream of inverse beats: data, last)
    valid : Out(1), o : Out(value_pair_layout)
    busy : Out(1)     a beat is held or waiting
    """

    def __init__(self, fft: FFTParams, width: int, frames: int, max_frames: int,
                 registered_ready: bool = False):
        self._fft, self._width, self._frames = fft, width, frames
        self._max_frames = max_frames
        self._registered_ready = bool(registered_ready and frames)
        cw = complex_layout(width)
        beat = data.StructLayout({"data": data.ArrayLayout(cw, fft.lanes), "last": 1})
        super().__init__({"clear": In(1), "frames_out": In(range(max_frames + 1)),
                          "i": In(stream.Signature(beat)), "valid": Out(1),
                          "o": Out(value_pair_layout(width, fft.k, max_frames + 1)),
                          "busy": Out(1)})

    def elaborate(self, platform):
        m = Module()
        fp, W = self._fft, self._width
        lanes, beats = fp.lanes, fp.beats
        cw = complex_layout(W)
        beat_layout = data.StructLayout({"data": data.ArrayLayout(cw, lanes), "last": 1})
        if self._frames:
            depth = self._frames * beats + self._registered_ready
            m.submodules.fifo = ff = fifo.SyncFIFOBuffered(width=beat_layout.size, depth=depth)
            m.d.comb += [ff.w_en.eq(self.i.valid & self.i.ready),
                         ff.w_data.eq(self.i.payload.as_value())]
            if self._registered_ready:
                # room for two more beats a cycle ago is room for one now
                ready = Signal(name="ser_ready")
                m.d.sync += ready.eq(ff.level < depth - 1)
                m.d.comb += self.i.ready.eq(ready)
            else:
                m.d.comb += self.i.ready.eq(ff.w_rdy)
            r_rdy, r_data = ff.r_rdy, ff.r_data
        else:       # the FFT engine's output buffer holds the beats
            r_rdy, r_data = self.i.valid, self.i.payload.as_value()
        held = Signal(data.ArrayLayout(cw, lanes))
        u = Signal(range(lanes))       # lane being emitted
        b = Signal(range(beats))       # beat index of the held beat
        ob = Signal(range(beats))      # beat counter of the incoming frames
        holding, held_last = Signal(), Signal()
        s = Signal(range(self._max_frames + 1))
        take = r_rdy & (~holding | (u == lanes - 1)) & ~self.clear
        entry = data.View(beat_layout, r_data)
        m.d.comb += (ff.r_en if self._frames else self.i.ready).eq(take)
        vector_end = Signal()
        m.d.comb += vector_end.eq(holding & (u == lanes - 1) & held_last
                                  & (s == self.frames_out - 1))
        with m.If(self.clear):
            m.d.sync += [holding.eq(0), s.eq(0), ob.eq(0)]
        with m.Else():
            with m.If(holding):
                m.d.sync += u.eq(u + 1)
                with m.If(u == lanes - 1):
                    m.d.sync += holding.eq(0)
                    with m.If(held_last):
                        m.d.sync += s.eq(Mux(s == self.frames_out - 1, 0, s + 1))
            with m.If(take):  # the next beat enters as the last sample of this one leaves
                m.d.sync += [held.eq(entry.data), u.eq(0), b.eq(ob), holding.eq(1),
                             held_last.eq(entry.last), ob.eq(Mux(entry.last, 0, ob + 1))]
        lb = (lanes - 1).bit_length()
        m.d.comb += [
            self.valid.eq(holding & ~self.clear),
            self.o.y[0].eq(select([held[l].re for l in range(lanes)], u)),
            self.o.y[1].eq(select([held[l].im for l in range(lanes)], u)),
            self.o.t.eq(Cat(u[:lb], b) if lb else b),
            self.o.s.eq(s), self.o.vector_end.eq(vector_end),
            self.busy.eq(holding | r_rdy),
        ]
        return m
