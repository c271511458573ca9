"""One level of the FFT engine: a ping-pong frame memory feeding ``p`` butterflies."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.fft_fixed import FFTParams, stage_model

from .butterfly import Butterfly
from .fixed import complex_layout
from .pingpong import PingPongControl
from .select import select
from .twiddle_rom import TwiddleROM

__all__ = ["FFTLevel", "level_payload"]


def _lookup(index, values, width):
    """Constant ``values[index]`` (the last value beyond the end)."""
    if isinstance(index, Const):
        return Const(values[min(index.value, len(values) - 1)], width)
    return select([Const(v, width) for v in values], index)


def level_payload(params: FFTParams) -> data.StructLayout:
    """Beat between levels: ``2p`` samples at internal width, the frame's direction and pass."""
    return data.StructLayout({
        "data": data.ArrayLayout(complex_layout(params.internal_width), params.lanes),
        "inverse": 1,
        "npass": range(max(2, params.passes)),
    })


class FFTLevel(wiring.Component):
    """Level ``index`` of the engine: computes stage ``npass * d + index`` of each frame.

    Overview
    --------
    ::

        i --> write side --> [bank 0,even][bank 0,odd][bank 1,even][bank 1,odd]  (x2, ping-pong)
                                   |  first half  |   |  second half  |
                                   +------ x[i] --+   +--- x[i+k/2] --+
                                                  v   v
                           TwiddleROM ------> p x Butterfly ------------------------> o
                                                  (bypass: words copied unchanged)

    A frame (``k/2p`` beats of ``2p`` samples, natural order) is written into one half of a
    ping-pong memory while the previous frame is read from the other.  Each half of a frame is
    split into even and odd words of ``p`` samples, so the two words a beat writes and the two
    words a butterfly cycle reads always sit in different banks.  Reading cycle ``c`` takes word
    ``c`` of the first half and of the second half: ``p`` butterflies compute
    ``y[2i], y[2i+1]`` for ``i = c*p .. c*p+p-1``, which is the next beat in natural order
    (constant geometry, see ``golden/fft_fixed.py``).  A stage beyond ``log2 k`` (the last pass
    when ``d`` does not divide ``log2 k``) copies the frame unchanged.

    Latency and resources
    ---------------------
    ``delay = k/2p + 1 + butterfly delay (+1 when this level can bypass)`` cycles from the
    first input beat to the first output beat, without stalls.  Throughput: one beat per cycle.
    Memory: ``4`` banks of ``2 * max(1, k/4p)`` words of ``p`` complex samples; ``p``
    butterflies; a twiddle ROM with ``p`` ports.

    Parameters
    ----------
    params : FFTParams
    index : int
        Level number, ``0 <= index < d``.
    tech : str
        Multiplier technology, ``"generic"`` or ``"ecp5"`` (see :class:`hw.cmul.ComplexMultiplier`).

    Members
    -------
    i : In(stream.Signature(level_payload(params)))
    o : Out(stream.Signature(level_payload(params)))
    sat : Out(2p)
        Per output sample: a component was saturated (valid with ``o``).
    """

    def __init__(self, params: FFTParams, index: int, tech: str = "generic"):
        if not isinstance(params, FFTParams):
            raise TypeError(f"params must be an FFTParams, not {params!r}")
        if not isinstance(index, int) or not 0 <= index < params.d:
            raise TypeError(f"index must be an integer from 0 to d - 1 = {params.d - 1}, "
                            f"not {index!r}")
        self._params, self._index, self._tech = params, index, tech
        last_pass_stage = (params.passes - 1) * params.d + index
        self._has_bypass = last_pass_stage >= params.stages
        self._butterfly_delay = Butterfly.delay_for(params.pipeline)
        layout = level_payload(params)
        super().__init__({
            "i": In(stream.Signature(layout)),
            "o": Out(stream.Signature(layout)),
            "sat": Out(params.lanes),
        })

    @property
    def params(self) -> FFTParams:
        return self._params

    @property
    def index(self) -> int:
        return self._index

    @property
    def has_bypass(self) -> bool:
        return self._has_bypass

    @property
    def delay(self) -> int:
        """Cycles from a frame's first input beat to its first output beat, without stalls."""
        return self._params.beats + 1 + self._butterfly_delay + int(self._has_bypass)

    def model(self, re, im, npass: int, inverse: bool):
        """Integer frames ``(F, k)`` after this level (``(re, im, saturated)``)."""
        stage = npass * self._params.d + self._index
        if stage >= self._params.stages:
            return re.copy(), im.copy(), re != re
        return stage_model(re, im, self._params, stage, inverse)

    def elaborate(self, platform):
        m = Module()
        prm = self._params
        p, beats, w, stages = prm.p, prm.beats, prm.internal_width, prm.stages
        word = data.ArrayLayout(complex_layout(w), p)
        depth = max(1, beats // 2)
        addr_bits = (depth - 1).bit_length()

        banks = []
        for b in range(4):
            mem = memory.Memory(shape=unsigned(word.size), depth=2 * depth, init=[])
            m.submodules[f"bank{b}"] = mem
            banks.append((mem.write_port(), mem.read_port(domain="sync")))

        def local_addr(a, buf):
            return Cat(a[:addr_bits], buf) if addr_bits else buf

        # ---- write side ------------------------------------------------------------------
        m.submodules.pingpong = pp = PingPongControl(beats)
        en = Signal()
        wbuf, wcnt, write_done = pp.wbuf, pp.wcnt, pp.write_done
        rbuf, rcnt, active = pp.rbuf, pp.rcnt, pp.readable
        side_inverse = Signal(2)
        side_npass = [Signal.like(self.i.payload.npass, name=f"side_npass{b}") for b in range(2)]
        accept = self.i.valid & self.i.ready
        m.d.comb += [self.i.ready.eq(pp.writable), pp.write.eq(accept), pp.advance.eq(en)]
        lo_word = Cat(self.i.payload.data[l].as_value() for l in range(p))
        hi_word = Cat(self.i.payload.data[p + l].as_value() for l in range(p))
        if beats >= 2:
            half_sel = wcnt >= beats // 2
            w_addr = local_addr(wcnt, wbuf)
            targets = [(0, 0), (0, 1), (1, 0), (1, 1)]  # (half, parity) of bank b = 2*half+par
            for b, (h, par) in enumerate(targets):
                wp = banks[b][0]
                m.d.comb += [
                    wp.addr.eq(w_addr),
                    wp.data.eq(hi_word if par else lo_word),
                    wp.en.eq(accept & (half_sel == h)),
                ]
        else:  # one beat is the whole frame: low word is the first half, high word the second
            for b, src in ((0, lo_word), (2, hi_word)):
                wp = banks[b][0]
                m.d.comb += [wp.addr.eq(wbuf), wp.data.eq(src), wp.en.eq(accept)]
        with m.If(write_done):
            m.d.sync += side_inverse.bit_select(wbuf, 1).eq(self.i.payload.inverse)
            with m.If(wbuf):
                m.d.sync += side_npass[1].eq(self.i.payload.npass)
            with m.Else():
                m.d.sync += side_npass[0].eq(self.i.payload.npass)

        # ---- read side -------------------------------------------------------------------

        inverse = side_inverse.bit_select(rbuf, 1)
        # Mux, not Array: Icarus never evaluates an always @* block whose inputs do not change
        # after time 0, so a case-based lookup could stay X (control must never be X)
        npass = Mux(rbuf, side_npass[1], side_npass[0])
        if prm.passes > 1:
            stage = Signal(range(prm.passes * prm.d + 1))
            m.d.comb += stage.eq(npass * prm.d + self._index)
        else:
            stage = Const(self._index, range(stages + 1))
        bypass = (stage >= stages) if self._has_bypass else Const(0, 1)

        shift = Signal()
        m.d.comb += shift.eq(Mux(inverse, _lookup(stage, prm.inverse_shifts, 1),
                                 _lookup(stage, prm.forward_shifts, 1)))

        # bank read address: butterfly cycle c reads word c of each half (bank parity c % 2,
        # address c // 2); bypass cycle c copies words 2c, 2c+1 (address c mod beats/2)
        if addr_bits:
            r_local = Signal(addr_bits)
            m.d.comb += r_local.eq(rcnt[1:])
            if self._has_bypass:
                with m.If(bypass):
                    m.d.comb += r_local.eq(rcnt[:addr_bits])
            r_addr = Cat(r_local, rbuf)
        else:
            r_addr = rbuf
        for b in range(4):
            m.d.comb += [banks[b][1].addr.eq(r_addr), banks[b][1].en.eq(en)]

        # twiddles: butterfly i = c*p + l uses e = (i >> stage) << stage
        ebits = max(1, (prm.k // 2 - 1).bit_length())
        m.submodules.rom = rom = TwiddleROM(prm.k, prm.twiddle_width, p)
        mask = _lookup(stage, [((1 << ebits) - 1) & ~((1 << s) - 1) for s in range(stages)], ebits)
        lane_bits = (p - 1).bit_length()
        for l in range(p):
            i_l = Cat(Const(l, lane_bits), rcnt) if lane_bits else Cat(rcnt)
            m.d.comb += rom.e[l].eq(i_l & mask)
        m.d.comb += [rom.en.eq(en), rom.inverse.eq(inverse)]

        # ---- stage 1: memory data ---------------------------------------------------------
        v1 = Signal()
        par1 = Signal()
        half1 = Signal()
        bypass1 = Signal()
        shift1 = Signal()
        inverse1 = Signal()
        npass1 = Signal.like(self.i.payload.npass)
        with m.If(en):
            m.d.sync += [v1.eq(active), shift1.eq(shift), inverse1.eq(inverse), npass1.eq(npass),
                         bypass1.eq(bypass)]
            if beats >= 2:
                m.d.sync += [par1.eq(rcnt[0]), half1.eq(rcnt >= beats // 2)]
        rd = [word(banks[b][1].data) for b in range(4)]
        x0 = [rd[0][l] for l in range(p)]
        x1 = [rd[2][l] for l in range(p)]
        if beats >= 2:
            odd0 = [rd[1][l] for l in range(p)]
            odd1 = [rd[3][l] for l in range(p)]

        bfs = []
        for l in range(p):
            bf = Butterfly(w, prm.twiddle_width, prm.pipeline, self._tech)
            m.submodules[f"bf{l}"] = bf
            bfs.append(bf)
            m.d.comb += [bf.en.eq(en), bf.tw.eq(rom.tw[l]), bf.shift.eq(shift1)]
            if beats >= 2:
                with m.If(par1):
                    m.d.comb += [bf.x0.eq(odd0[l]), bf.x1.eq(odd1[l])]
                with m.Else():
                    m.d.comb += [bf.x0.eq(x0[l]), bf.x1.eq(x1[l])]
            else:
                m.d.comb += [bf.x0.eq(x0[l]), bf.x1.eq(x1[l])]

        # control (and bypass words) wait for the butterflies
        ctl = [v1, inverse1, npass1, bypass1]
        if self._has_bypass:
            by_word = Signal(data.ArrayLayout(complex_layout(w), 2 * p))
            if beats >= 2:
                lo = Cat(rd[0].as_value(), rd[1].as_value())
                hi = Cat(rd[2].as_value(), rd[3].as_value())
                m.d.comb += by_word.as_value().eq(lo)
                with m.If(half1):
                    m.d.comb += by_word.as_value().eq(hi)
            else:
                m.d.comb += by_word.as_value().eq(Cat(rd[0].as_value(), rd[2].as_value()))
            ctl.append(by_word)
        for d in range(self._butterfly_delay):
            nxt = [Signal.like(s, name=f"ctl{j}_d{d}") for j, s in enumerate(ctl)]
            with m.If(en):
                m.d.sync += [n.eq(s) for n, s in zip(nxt, ctl)]
            ctl = nxt
        v, inv_d, npass_d, bypass_d = ctl[:4]

        bf_data = Cat(Cat(bf.a.as_value(), bf.b.as_value()) for bf in bfs)
        bf_sat = Cat(Cat(bf.sat_a, bf.sat_b) for bf in bfs)
        if self._has_bypass:
            # one more register selects between butterfly results and copied words
            with m.If(en):
                m.d.sync += [
                    self.o.valid.eq(v),
                    self.o.payload.inverse.eq(inv_d),
                    self.o.payload.npass.eq(npass_d),
                ]
                with m.If(bypass_d):
                    m.d.sync += [self.o.payload.data.as_value().eq(ctl[4].as_value()),
                                 self.sat.eq(0)]
                with m.Else():
                    m.d.sync += [self.o.payload.data.as_value().eq(bf_data),
                                 self.sat.eq(bf_sat)]
        else:
            m.d.comb += [
                self.o.valid.eq(v),
                self.o.payload.inverse.eq(inv_d),
                self.o.payload.npass.eq(npass_d),
                self.o.payload.data.as_value().eq(bf_data),
                self.sat.eq(bf_sat),
            ]
        m.d.comb += en.eq(~self.o.valid | self.o.ready)
        return m
