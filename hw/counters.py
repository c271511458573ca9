"""Status counters shared by the FFT engine's structures and the layer engine.

Both counters *stop* instead of wrapping: an update that would carry out of the counter is not
made.  The carry out of the adder is the condition and the register's clock enable does the
holding, so a counter costs its adder and nothing else (a clamp to the largest value would be
one more LUT per bit).  A counter incremented by at most one per cycle therefore stops exactly
at its largest value; one incremented by up to ``n`` stops within ``n - 1`` of it.
"""

from __future__ import annotations

from amaranth.hdl import Signal

__all__ = ["add_saturating", "count_frame_error", "below_limit"]


def add_saturating(m, counter, inc) -> None:
    """``counter += inc`` each cycle, unless the sum would not fit ``counter``."""
    total = Signal(len(counter) + 1, name=f"{counter.name}_next")
    m.d.comb += total.eq(counter + inc)
    with m.If(~total[-1]):
        m.d.sync += counter.eq(total[:len(counter)])


def count_frame_error(m, counter, accept, last, beat, beats) -> None:
    """Count an accepted beat whose ``last`` flag disagrees with its position ``beat`` in a frame
    of ``beats`` beats (stopping at the counter's largest value), a cycle after the beat (the
    comparison is registered, off the adder's carry chain)."""
    error = Signal(name=f"{counter.name}_flag")
    m.d.sync += error.eq(accept & (last != (beat == beats - 1)))
    add_saturating(m, counter, error)



def below_limit(m, count, limit, restart, advance, registered: bool, name: str):
    """``count < limit`` for a counter that restarts at 0 (``restart``, where ``limit >= 1``)
    and steps by one (``advance``): the comparison itself, or with ``registered`` a flag kept
    with the counter, so that no comparator is on the paths that read it, and its value after
    an advance compared a cycle ahead, so that none is on the advance's path either (advances
    then come at least 2 cycles apart and not in the cycle after a restart)."""
    if not registered:
        return count < limit
    flag = Signal(name=name)
    after = Signal(name=f"{name}_after")   # count + 1 < limit, a cycle late
    m.d.sync += after.eq(count + 1 < limit)
    with m.If(restart):
        m.d.sync += flag.eq(1)
    with m.Elif(advance):
        m.d.sync += flag.eq(after)
    return flag
