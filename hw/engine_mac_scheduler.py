"""The layer engine's MAC scheduler: the terms of a vector's frequency-domain products, from its
Z slot through the MAC lanes into its Y slot."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.engine_plan import EnginePlan

from .counters import below_limit
from .engine_mac import MACLanes
from .engine_sequencer import descriptor_layout
from .engine_spectra import dense_y_word
from .fixed import complex_layout
from .ram import SimpleDualPortRAM

__all__ = ["MACScheduler", "weight_payload"]


def _bits(n: int) -> int:
    return max(1, int(n).bit_length())


def weight_payload(plan: EnginePlan) -> data.StructLayout:
    """A run-time weight write: lane (bank), word address, complex weight (``re`` low)."""
    return data.StructLayout({"lane": _bits(plan.lanes - 1), "addr": _bits(plan.bank_depth - 1),
                              "data": 2 * plan.width})


class MACScheduler(wiring.Component):
    """One vector at a time: ``groups`` passes of ``lanes`` output blocks over the ``k/2 + 1``
    bins (of the layer's ``k``) and the ``q`` input blocks, one term per clock.

    Overview
    --------
    ::

        counters (g, m, j) -> Z buffer: Z[m], Z[k - m] of frame j/2 ---+-> MAC lanes -> Y banks
                              (k: the layer's block size)
                           -> weight banks (one per lane, consecutive) -+    (slot of the vector)

    A vector starts when its Z slot is full and its Y slot free (taking the one, claiming the
    other) and follows the previous one without a gap; the Z slot is released with its last
    read, the Y slot filled when its last spectrum word is written.  Each term carries the
    Y address its accumulation ends at.  The weight banks have a write port (``w``, between
    samples) for reloading.

    Latency and resources
    ---------------------
    ``2 + MACLanes.delay`` cycles from a term to its Y word (memories, lanes; one more with
    registered read addresses, pipelined plans of several block sizes).  ``lanes`` weight
    banks of ``bank_depth`` words, the MAC lanes.

    Members
    -------
    desc, layer_start, running : In
    z_full, y_free : In; z_take, z_release, y_claim, y_fill : Out with ``*_slot``
    z_addr : Out(2 sample addresses), z_data : In(2 samples)     the Z buffer's read ports
    y_en, y_addr : Out, y_data : Out(lanes words)       the Y banks' write port
    w : In(stream of weight_payload)   accepted while ``w_enable``
    w_enable : In(1)
    clipped : Out(range(lanes + 1))    requantized spectrum components clipped this cycle
    """

    def __init__(self, plan: EnginePlan, tech: str = "generic"):
        self._plan, self._tech = plan, tech
        W, zs, ys = plan.width, plan.z_slots, plan.y_slots
        zd, yd = zs * plan.zbuf_depth * plan.fft.lanes, ys * plan.ybuf_depth
        self._mg_width = _bits(max(lp.groups for lp in plan.layers))
        self._lanes_impl = MACLanes(plan, tag_width=_bits(yd - 1) + self._mg_width, tech=tech)
        super().__init__({
            "desc": In(descriptor_layout(plan)), "layer_start": In(1), "running": In(1),
            "z_full": In(zs), "y_free": In(ys),
            "z_take": Out(1), "z_take_slot": Out(range(zs)),
            "z_release": Out(1), "z_release_slot": Out(range(zs)),
            "y_claim": Out(1), "y_claim_slot": Out(range(ys)),
            "y_fill": Out(1), "y_fill_slot": Out(range(ys)),
            "z_addr": Out(data.ArrayLayout(range(zd), 2)),
            "z_data": In(data.ArrayLayout(complex_layout(W), 2)),
            "y_en": Out(1), "y_addr": Out(range(yd)),
            "y_data": Out(data.ArrayLayout(2 * W, plan.lanes)),
            "w": In(stream.Signature(weight_payload(plan))), "w_enable": In(1),
            "clipped": Out(range(plan.lanes + 1)),
        })

    @property
    def delay(self) -> int:
        return 2 + self._lanes_impl.delay + self._read_reg

    @property
    def _read_reg(self) -> int:
        """Pipelined plans of several block sizes register the memories' read addresses (the
        layer's mirror bin and the Z buffer's per-layer bank order were an ECP5 critical
        path): a cycle more."""
        return int(self._plan.mixed and bool(self._plan.fft.pipeline))

    def _y_address(self, bin_, group, slot):
        plan = self._plan
        lk = plan.k.bit_length() - 1
        gb = (plan.ybuf_depth // plan.k).bit_length() - 1
        parts = [bin_[:lk]] + ([group[:gb]] if gb else []) + ([slot] if plan.y_slots > 1 else [])
        return Cat(*parts)

    def _ready(self, b, more):
        """Vector ``b`` may start: its Z slot full, its Y slot free, vectors left (``more``),
        the layer running."""
        plan = self._plan
        return (self.running & more & self.z_full.bit_select(b % plan.z_slots, 1)
                & self.y_free.bit_select(b % plan.y_slots, 1))

    def _registered_readiness(self, m, b_vec, more, end):
        """Whether vector ``b_vec`` may start (its Z slot full, its Y slot free, vectors left,
        the layer running), from flip-flops: the readiness of the current vector and of the
        next one, both registered, the next one's taken in the cycle after an end so that
        vectors stay back to back.  Flags seen a cycle late only delay a start: the slot flags
        fall only by this scheduler's own take and claim, while its vector runs (at least 3
        cycles)."""
        cur, nxt, ended = (Signal(name="b_ready"), Signal(name="b_ready_next"),
                           Signal(name="b_ended"))
        b1 = b_vec + 1
        m.d.sync += [cur.eq(self._ready(b_vec, more) & ~self.layer_start),
                     nxt.eq(self._ready(b1, b1 < self.desc.vectors) & ~self.layer_start),
                     ended.eq(end & ~self.layer_start)]
        return Mux(ended, nxt, cur)

    def elaborate(self, platform):
        m = Module()
        plan, d = self._plan, self.desc
        W, k, P = plan.width, plan.k, plan.lanes
        ZS, YS = plan.z_slots, plan.y_slots
        bins, beats = plan.bins, plan.fft.beats
        zd, yd = plan.zbuf_depth, plan.ybuf_depth
        ybits = _bits(YS * yd - 1)
        vbits = range(max(lp.vectors for lp in plan.layers) + 1)
        m.submodules.lanes = mac = self._lanes_impl

        # ---- weight banks ------------------------------------------------------------------
        wbanks = []
        spram = self._tech == "ice40"  # single port, loaded at run time (SPRAM has no init)
        for lane in range(P):
            ram = SimpleDualPortRAM(2 * W, plan.bank_depth, self._tech,
                                    init=None if spram else (plan.weight_banks[lane] or [0]),
                                    single_port=spram)
            m.submodules[f"wbank{lane}"] = ram
            wbanks.append(ram)
        m.d.comb += self.w.ready.eq(self.w_enable)
        wr = self.w.payload
        w_valid = self.w.valid & self.w.ready
        if plan.fft.pipeline:
            # a write registered before the banks (the sequencer's phase fanned out into every
            # bank's write enable was an ECP5 critical path); it lands a cycle after it was
            # accepted, long before the first read of the layer it belongs to
            wr, w_valid = Signal.like(self.w.payload, name="w_reg"), Signal(name="w_reg_valid")
            m.d.sync += [wr.eq(self.w.payload), w_valid.eq(self.w.valid & self.w.ready)]
        for lane, ram in enumerate(wbanks):
            m.d.comb += [ram.w_addr.eq(wr.addr), ram.w_data.eq(wr.data),
                         ram.w_en.eq(w_valid & ((wr.lane == lane) if P > 1 else 1))]

        # ---- term counters: vector b_vec, group mg, bin mm, input block mj ---------------------
        mg = Signal(self._mg_width)
        mm = Signal(range(bins))
        mj = Signal(range(max(plan.q_max, 2)))  # at least a bit: its parity is read
        wa = Signal(range(plan.bank_depth + 1))
        b_vec = Signal(vbits)
        run = Signal()
        bz, by = b_vec % ZS, b_vec % YS
        # the layer's last bin (k/2 of its own block size when the plan's are mixed)
        bin_last = (mm == d.bins_last) if plan.mixed else (mm == bins - 1)
        end = run & (mj == d.q_last) & bin_last & (mg == d.groups_last)
        # vectors left (pipelined: a flag, no comparator on the way to the slot flags)
        more = below_limit(m, b_vec, d.vectors, self.layer_start, end,
                           bool(plan.fft.pipeline), "b_more")
        if plan.fft.pipeline:
            start = ~run & self._registered_readiness(m, b_vec, more, end)
        else:
            start = ~run & self._ready(b_vec, more)
        with m.If(self.layer_start):
            m.d.sync += [b_vec.eq(0), run.eq(0)]
        with m.Elif(start):
            m.d.sync += [run.eq(1), mg.eq(0), mm.eq(0), mj.eq(0), wa.eq(d.wbase)]
        with m.Elif(run):
            m.d.sync += [mj.eq(mj + 1), wa.eq(wa + 1)]
            with m.If(mj == d.q_last):
                m.d.sync += [mj.eq(0), mm.eq(mm + 1)]
                with m.If(bin_last):
                    m.d.sync += [mm.eq(0), mg.eq(mg + 1)]
            with m.If(end):
                m.d.sync += [run.eq(0), b_vec.eq(b_vec + 1)]
        m.d.comb += [self.z_take.eq(start), self.z_take_slot.eq(bz),
                     self.z_release.eq(end), self.z_release_slot.eq(bz),  # its last Z reads now
                     self.y_claim.eq(start), self.y_claim_slot.eq(by)]

        # ---- reads: Z[m] and Z[k - m] of frame j/2, one weight per lane ------------------------
        rz = mj >> 1
        # the mirror bin of the layer's block size (a stuffed frame's bins 0 .. k_l - 1 are
        # the k_l-point spectrum exactly, not its repetitions above)
        mn = ((d.kmask - mm + 1) & d.kmask) if plan.mixed else (k - mm) & (k - 1)
        # Z sample address = Cat(sample, frame, slot), a power of two of frames of k samples
        lk = k.bit_length() - 1
        fb = (zd // beats).bit_length() - 1
        for c, bin_ in enumerate((mm, mn)):
            parts = [bin_[:lk]] + ([rz[:fb]] if fb else []) + ([bz] if ZS > 1 else [])
            addr = Cat(*parts)
            if plan.has_dense:  # the pair of input blocks j/2 is sample j/2 of the slot
                pair = Cat(rz, Const(0, lk + fb))[:lk + fb]
                addr = Mux(d.dense, Cat(pair, bz) if ZS > 1 else pair, addr)
            if self._read_reg:
                m.d.sync += self.z_addr[c].eq(addr)
            else:
                m.d.comb += self.z_addr[c].eq(addr)
        for ram in wbanks:
            if self._read_reg:
                m.d.comb += ram.r_en.eq(1)
                m.d.sync += ram.r_addr.eq(wa)
            else:
                m.d.comb += [ram.r_addr.eq(wa), ram.r_en.eq(1)]
        term = data.StructLayout({"valid": 1, "first": 1, "last": 1, "odd": 1,
                                  "tag": ybits + len(mg)})
        t0 = Signal(term)
        m.d.comb += [t0.valid.eq(run), t0.first.eq(mj == 0), t0.last.eq(mj == d.q_last),
                     t0.odd.eq(mj[0]),
                     # Y slot = Cat(bin, group, slot): groups of k words (bins padded)
                     t0.tag.eq(Cat(self._y_address(mm, mg, by), mg))]
        if plan.has_dense:
            m.d.comb += t0.tag[:ybits].eq(Mux(d.dense, dense_y_word(plan, mg, by),
                                              self._y_address(mm, mg, by)))
        # the memories' delay (and the read addresses' register)
        terms = [t0] + [Signal(term, name=f"term{i + 1}") for i in range(2 + self._read_reg)]
        m.d.sync += [b.eq(a) for a, b in zip(terms, terms[1:])]
        t2 = terms[-1]
        m.d.comb += [
            mac.valid.eq(t2.valid), mac.first.eq(t2.first), mac.last.eq(t2.last),
            mac.odd.eq(t2.odd), mac.tag.eq(t2.tag), mac.acc_shift.eq(d.acc_shift),
            mac.zm.eq(self.z_data[0]), mac.zn.eq(self.z_data[1]),
        ]
        for lane, ram in enumerate(wbanks):
            m.d.comb += [mac.w[lane].as_value().eq(ram.r_data),
                         self.y_data[lane].eq(mac.y[lane].as_value())]
        m.d.comb += [self.y_en.eq(mac.y_valid), self.y_addr.eq(mac.y_tag[:ybits])]

        # a vector's Y slot is full once its last word is written: its end, delayed through the
        # memories and the lanes (the next vector's terms follow right behind)
        done = Signal(1 + len(by))
        m.d.comb += done.eq(Cat(end, by))
        for i in range(self.delay + 1):
            r = Signal.like(done, name=f"y_done{i}")
            m.d.sync += r.eq(done)
            done = r
        m.d.comb += [self.y_fill.eq(done[0]), self.y_fill_slot.eq(done[1:])]

        # clipped spectrum components of live output blocks
        group = mac.y_tag[ybits:]
        live = Cat(mac.clipped[lane] & (group * P + lane < d.pb) for lane in range(P))
        if plan.fft.pipeline:   # the flags registered before their sum (an ECP5 critical path)
            flags = Signal(P, name="clip_flags")
            m.d.sync += flags.eq(live)
            live = flags
        m.d.comb += self.clipped.eq(sum(live[lane] for lane in range(P)))
        return m
