"""Status counters shared by the FFT engine's two structures."""

from __future__ import annotations

from amaranth.hdl import Mux

__all__ = ["add_saturating", "count_frame_error"]


def add_saturating(m, counter, inc) -> None:
    """``counter += inc`` each cycle, stopping at the counter's largest value."""
    limit = (1 << len(counter)) - 1
    nxt = counter + inc
    m.d.sync += counter.eq(Mux(nxt > limit, limit, nxt))


def count_frame_error(m, counter, accept, last, beat, beats) -> None:
    """Count an accepted beat whose ``last`` flag disagrees with its position ``beat`` in a frame
    of ``beats`` beats (saturating)."""
    limit = (1 << len(counter)) - 1
    with m.If(accept & (last != (beat == beats - 1)) & (counter != limit)):
        m.d.sync += counter.eq(counter + 1)
