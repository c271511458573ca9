"""The layer engine's post-processor (peripheral block, part 2): bias, ReLU, requantization and
2x2 max pooling of each IFFT output, into the destination activation buffer."""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.engine_plan import EnginePlan
from golden.fixedpoint import saturate as saturate_model

from .engine_activations import activation_address_delay, activation_read_delay
from .engine_beats import value_pair_layout
from .engine_sequencer import descriptor_layout
from .fixed import round_shift_among, saturate
from .ram import SimpleDualPortRAM

__all__ = ["PostProcessor"]


def _offset(v):
    """``v`` (signed) in offset binary: unsigned, in the same order."""
    return Cat(v[:-1], ~v[-1])


class PostProcessor(wiring.Component):
    """Two outputs per clock (blocks ``2s`` and ``2s+1`` of one IFFT sample) into the layer's
    output tensor.

    Overview
    --------
    ::

        y, feature o = (2s + i) k + t  -> + bias[o] -> ReLU -> round(/ 2**out_shift), saturate
                                       -> pooling: max with the word already there -> write

    Output ``i`` goes to bank ``i`` of the destination buffer (block-interleaved: both at the
    same address ``(s k + t) * out_stride + pixel``).  With pooling the pixel is the pooled one:
    the first of a 2x2 window writes, the other three read (read-modify-write), compare and write
    the larger; pixels the floor of an odd size drops are not written, their saturations are
    counted (as in the golden model).  A vector's outputs take ``frames_out * k >= 4`` cycles, so
    a word is read again (by the next vector) at least 4 cycles after the previous read of it.

    Latency and resources
    ---------------------
    ``delay = 2`` cycles from a sample to its write (the read-modify-write read issued with
    the sample, the memories reading at once: 2 cycles from read to write); with a pipelined
    plan (``plan.fft.pipeline > 0``) ``5``: the bias, read from its block RAM, gets a fabric
    register (the block RAM may be placed far from the adders), the bias sum and the
    requantization get a register each, so that no path holds the adder, the shift and the
    saturation (the activation buffers' reads take 4 cycles then, the memories reading 1
    cycle after the request); ``7`` when a layer of that plan pools: the read-modify-write
    request leaves from a register (stage 2: the address adders are not on the path into the buffers' address registers),
    and the comparison's result is registered (with both words) before the choice and the
    write, so that no path holds the comparator, the multiplexer and the route to the block
    RAMs' data inputs.  The write then comes 4 cycles after the memories' read, as late as the
    next read of the word may come, so the write made in the cycle of a read to the same
    address is forwarded to that read (one address comparator; the write data travels with
    the read and the buffers take it in place of the word).  Two
    bias banks, two adders, two requantizers (constant shifts for the plan's layer shifts), two
    comparators.

    Members
    -------
    desc, layer_start : In
    valid : In(1), i : In(value_pair_layout)   from the serializer
    write_en : Out(2), write_addr, write_data[2] : Out       the destination buffer
    rmw_addr : Out, rmw_data : In(2 words)                  its read-modify-write read
    rmw_fwd_en : Out(2), rmw_fwd_data : Out(2 words)        a write forwarded to that read
    clipped : Out(range(3)), idle : Out(1), vectors_done : Out(range(vectors + 1))
    """

    def __init__(self, plan: EnginePlan, tech: str = "generic"):
        self._plan, self._tech = plan, tech
        W, depth = plan.width, plan.act_bank_depth
        frames = max(max(lp.frames_in, lp.frames_out) for lp in plan.layers)
        super().__init__({
            "desc": In(descriptor_layout(plan)), "layer_start": In(1),
            "valid": In(1), "i": In(value_pair_layout(W, plan.k, frames + 1)),
            "write_en": Out(2), "write_addr": Out(range(depth)),
            "write_data": Out(data.ArrayLayout(W, 2)),
            "rmw_addr": Out(range(depth)), "rmw_data": In(data.ArrayLayout(W, 2)),
            "rmw_fwd_en": Out(2), "rmw_fwd_data": Out(data.ArrayLayout(W, 2)),
            "clipped": Out(range(3)), "idle": Out(1),
            "vectors_done": Out(range(max(lp.vectors for lp in plan.layers) + 1)),
        })

    @staticmethod
    def model(y, bias, relu, out_shift, width):
        """Requantized outputs of IFFT values ``y`` with ``bias`` (integers), before pooling:
        ``(a, clipped)``."""
        z = np.asarray(y, dtype=np.int64) + bias
        if relu:
            z = np.maximum(z, 0)
        half = (1 << out_shift) >> 1
        return saturate_model((z + half) >> out_shift, width)

    @property
    def delay(self) -> int:
        if not self._plan.fft.pipeline:
            return 2
        return 7 if self._registered_max else 5

    @property
    def _registered_max(self) -> bool:
        """The pooling comparison gets its own stage (pipelined plans that pool)."""
        return bool(self._plan.fft.pipeline) and any(lp.pool for lp in self._plan.layers)

    def elaborate(self, platform):
        m = Module()
        plan, d = self._plan, self.desc
        W, k = plan.width, plan.k
        lk = k.bit_length() - 1
        max_out_w = max(lp.out_w for lp in plan.layers)
        max_out_h = max(lp.out_h for lp in plan.layers)
        vec = self.vectors_done
        ox, oy = Signal(range(max_out_w + 1)), Signal(range(max_out_h + 1))
        # running sums instead of multipliers: the pooled pixel's row base, and the sample's
        # ``local * out_stride`` (samples come in order, local = s k + t)
        prow = Signal(range(plan.act_bank_depth + 1))
        lbase = Signal(range(plan.act_bank_depth + max(lp.out_stride for lp in plan.layers)))
        # the sample's feature without its block-parity bit, and whether it is one
        local, feature, keep = self._feature(d, lk)
        take = self.valid if keep is None else self.valid & keep
        with m.If(self.layer_start):
            m.d.sync += [ox.eq(0), oy.eq(0), vec.eq(0), prow.eq(0), lbase.eq(0)]
        with m.Elif(self.valid):
            if keep is None:
                m.d.sync += lbase.eq(lbase + d.out_stride)
            else:
                with m.If(keep):
                    m.d.sync += lbase.eq(lbase + d.out_stride)
            with m.If(self.i.vector_end):
                m.d.sync += [vec.eq(vec + 1), lbase.eq(0)]
                with m.If(ox == d.out_w_last):
                    m.d.sync += [ox.eq(0), oy.eq(oy + 1)]
                    with m.If(oy[0]):
                        m.d.sync += prow.eq(prow + d.pool_w)
                with m.Else():
                    m.d.sync += ox.eq(ox + 1)
        opix = Mux(d.pool, prow + (ox >> 1), vec)
        first = ~oy[0] & ~ox[0]
        kept = (oy < (d.pool_h << 1)) & (ox < (d.pool_w << 1))

        # ---- stage 0: addresses (bias, read-modify-write); the feature index of each value -----
        addr = Signal(range(plan.act_bank_depth), name="post_addr")
        m.d.comb += addr.eq(lbase + opix)
        pipe = bool(plan.fft.pipeline)
        biases = []
        for i in range(2):
            init = [int(b) & ((1 << W) - 1) for b in plan.bias_banks[i]]
            ram = SimpleDualPortRAM(W, len(init), self._tech, init=init)
            m.submodules[f"bias{i}"] = ram
            m.d.comb += [ram.r_addr.eq(d.bbase + local), ram.r_en.eq(1), ram.w_en.eq(0)]
            bias = ram.r_data.as_signed()
            if pipe:    # a fabric register: the block RAM may sit far from the adders
                br = Signal(signed(W), name=f"post_bias{i}")
                m.d.sync += br.eq(bias)
                bias = br
            biases.append(bias)
        stage = data.StructLayout({"valid": 1, "in": 2, "first": 1, "kept": 1,
                                   "addr": range(plan.act_bank_depth),
                                   "y": data.ArrayLayout(signed(W), 2)})
        s0 = Signal(stage)
        m.d.comb += [s0.valid.eq(take), s0.first.eq(first), s0.kept.eq(kept),
                     s0.addr.eq(addr), s0.y[0].eq(self.i.y[0]), s0.y[1].eq(self.i.y[1])]
        for i in range(2):
            m.d.comb += s0["in"][i].eq(take & (feature(i) < d.m))
        stages = [s0] + [Signal(stage, name=f"post{n}") for n in range(1, self.delay + 1)]
        m.d.sync += [b.eq(a) for a, b in zip(stages, stages[1:])]
        with m.If(self.layer_start):
            m.d.sync += [s.valid.eq(0) for s in stages[1:]] + [s["in"].eq(0) for s in stages[1:]]
        s2, last = stages[3 if pipe else 2], stages[-1]   # the bias sum's stage
        # the comparison's stage, and the read-modify-write read the buffers' read delay before
        cmp = stages[self.delay - 1] if self._registered_max else last
        read_at = (self.delay - 1 if self._registered_max else self.delay) \
            - activation_read_delay(plan)
        m.d.comb += self.rmw_addr.eq(stages[read_at].addr)
        olds = [self.rmw_data[i].as_signed() for i in range(2)]
        if self._registered_max:
            # the memories read ``activation_address_delay`` cycles after the request; the
            # buffers' word register takes the forwarded word one cycle before the word is out
            at = read_at + activation_address_delay(plan)
            self._forward(m, stages[at].addr, read_at + activation_read_delay(plan) - 1 - at)

        # ---- stage 2 (3 if pipelined): bias, ReLU, requantization (registered twice if
        # pipelined); pooling ----------------------------------------------------------------
        shifts = [lp.out_shift for lp in plan.layers]
        clips = []
        for i in range(2):
            z = s2.y[i] + biases[i]
            z = Mux(d.relu & z[-1], 0, z)
            if pipe:
                zr = Signal.like(z, name=f"post_z{i}")
                m.d.sync += zr.eq(z)
                z = zr
            a, clip = saturate(round_shift_among(z, d.out_shift, shifts), W)
            if pipe:
                ar, cr = Signal.like(a, name=f"post_a{i}"), Signal(name=f"post_clip{i}")
                m.d.sync += [ar.eq(a), cr.eq(clip)]
                a, clip = ar, cr
            if self._registered_max:
                # (stage 5) to the comparison's stage 6
                ar, cr = Signal.like(a, name=f"post_a{i}_5"), Signal(name=f"post_clip{i}_5")
                m.d.sync += [ar.eq(a), cr.eq(clip)]
                a, clip = ar, cr
                # the choice (comparison, pooling, first of a window) and both words
                # registered; the multiplexer on the way to the write.  Signed order as the
                # unsigned order of offset binary: the comparison is one chain's carry out
                keep_old, cr = Signal(name=f"post_keep_old{i}"), Signal(name=f"post_clip{i}_d")
                o_r = Signal.like(a, name=f"post_old{i}")
                a_r = Signal.like(a, name=f"post_a{i}_d")
                m.d.sync += [keep_old.eq(d.pool & ~cmp.first & (_offset(olds[i]) > _offset(a))),
                             o_r.eq(olds[i]), a_r.eq(a), cr.eq(clip)]
                a_new, clip = Mux(keep_old, o_r, a_r), cr
            else:
                a_new = Mux(d.pool & ~cmp.first & (olds[i] > a), olds[i], a)
            m.d.comb += [self.write_en[i].eq(last["in"][i] & (last.kept | ~d.pool)),
                         self.write_data[i].eq(a_new)]
            clips.append(last["in"][i] & clip)
        m.d.comb += [self.write_addr.eq(last.addr), self.clipped.eq(clips[0] + clips[1]),
                     self.idle.eq(~Cat(*(s.valid for s in stages[1:])).any())]
        return m

    def _feature(self, d, lk):
        """``(local, feature, keep)`` of the sample in ``i``: the feature index without its
        block-parity bit (``s k + t``), a function of that bit giving the feature
        (``(2s + par) k + t``), and whether the sample is a feature (None: all are).  A layer of a smaller
        block size ``k_l`` (mixed plans) runs zero-stuffed frames: only every ``2**stuff``-th
        IFFT output sample is one (``t' = t >> stuff``; the others are exactly 0 and dropped),
        with ``k_l`` in place of ``k``: one case per block size of the plan.  A dense layer's
        sample is the pair of features ``2 (s k + t)`` and ``2 (s k + t) + 1``."""
        t, s = self.i.t, self.i.s
        stuffs = sorted({lp.stuff for lp in self._plan.layers}) if self._plan.mixed else [0]
        local, feature, keep = None, None, None
        for st in stuffs:
            lo = Cat(t[st:lk], s)
            fe = (lambda par, st=st: Cat(t[st:lk], par, s))
            ke = (t[:st] == 0) if st else Const(1)
            if local is None:
                local, feature, keep = lo, fe, ke
            else:
                sel = d.stuff == st
                local = Mux(sel, lo, local)
                feature = (lambda par, a=feature, b=fe, sel=sel: Mux(sel, b(par), a(par)))
                keep = Mux(sel, ke, keep)
        if self._plan.has_dense:    # sample t of frame s: outputs 2 (s k + t) + par
            sel = d.dense
            fd = (lambda par: Cat(par, t[:lk], s))
            local = Mux(sel, Cat(t[:lk], s), local)
            feature = (lambda par, a=feature, sel=sel: Mux(sel, fd(par), a(par)))
            keep = Mux(sel, 1, keep)
        if not self._plan.mixed:
            keep = None     # every sample is a feature
        return local, feature, keep

    def _forward(self, m, read_addr, latency):
        """The write made in the cycle the memories do the read-modify-write read
        (``read_addr``), to its address, given back ``latency`` cycles later as ``rmw_fwd_*`` (the buffers register it in place of the
        word: a read during a write to its address returns the word before the write)."""
        for i in range(2):
            hit = Signal(name=f"post_fwd{i}")
            val = Signal(self._plan.width, name=f"post_fwd{i}_data")
            m.d.comb += [hit.eq(self.write_en[i] & (self.write_addr == read_addr)),
                         val.eq(self.write_data[i])]
            for n in range(latency):
                hr = Signal(name=f"post_fwd{i}_d{n}")
                vr = Signal.like(val, name=f"post_fwd{i}_data_d{n}")
                m.d.sync += [hr.eq(hit), vr.eq(val)]
                hit, val = hr, vr
            m.d.comb += [self.rmw_fwd_en[i].eq(hit), self.rmw_fwd_data[i].eq(val)]
