"""The layer engine's frame reader: whole frames for the FFT engine, input frames (im2col) or output
frames (Hermitian packing), as pairs of samples."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.engine_plan import EnginePlan

from .counters import below_limit
from .engine_activations import READ_LANES, _request, activation_read_delay
from .engine_sequencer import descriptor_layout
from .engine_spectra import dense_y_word
from .fixed import complex_layout
from .ram import SimpleDualPortRAM
from .select import select

__all__ = ["FrameReader", "pair_layout"]


def pair_layout(width: int) -> data.StructLayout:
    """Two consecutive samples of a frame and the frame's direction (``inverse``: an output
    frame)."""
    return data.StructLayout({"x": data.ArrayLayout(complex_layout(width), 2), "inverse": 1})


def _bits(n: int) -> int:
    return max(1, int(n).bit_length())


class FrameReader(wiring.Component):
    """Issues the frames of a layer's vectors into the FFT engine's sample FIFO.

    Overview
    --------
    ::

        vector a (input side):  frame r = x_{2r} + i x_{2r+1}   activation reads (im2col)
        vector c (output side): frame s = Y_{2s} + i Y_{2s+1}   Y-bank reads (Hermitian mirror)
                 -> pair (t, t+1) of the frame -> ``pair`` (into the sample FIFO)

    A frame is ``k/2`` pairs.  Whole frames are chosen one at a time, an output frame of vector
    ``c`` when its Y slot is full (taken by its first frame, released after its last read)
    before an input frame of vector ``a`` when its Z slot is free (its first frame claims the
    slot), and only while the FIFO has room for everything in flight (``issue_ok``).

    An input pair needs four activations: samples ``t, t+1`` (``j``) of blocks ``2r, 2r+1``
    (``par``).  A vector's block ``2r + par`` is bank ``par`` of the block-interleaved buffer and
    sample ``t + j`` copy ``j``, so with two copies a pair is one cycle (``fast``: also a 1x1
    convolution through the patch table); through the patch table otherwise (conv, or fc after
    conv: ``gather``) the banks are arbitrary and one copy serves each block parity, so a pair is
    two cycles (four with one copy): :meth:`golden.engine_plan.EnginePlan.reader_steps`.  Out-of-image taps and columns beyond ``n`` read as zero.  An output pair reads
    ``Y[t]`` (or ``conj Y[k - t]`` above ``k/2``) of the frame's two blocks from the Y banks' two
    copies, one cycle with two lanes or more.

    Latency and resources
    ---------------------
    ``delay`` cycles from a step's issue to its pair (the step's register, patch table 2,
    activations 2, a register; when the plan's FFT is pipelined, five more: the patch table's
    words are registered in the fabric, the activation requests and the activation data are
    registered and the activation reads take 4 cycles, so that the route out of the table's
    block RAM, the im2col adder, the activation buffers' address multiplexer, the route to and
    out of their block RAMs, their data multiplexer and the pair assembly are on separate paths); a
    step every cycle.  The patch table: four banks (a pair's four columns).

    Members
    -------
    desc, layer_start, running : In       the layer (from the sequencer)
    issue_ok : In(1)                       the FIFO can take ``delay + 1`` more pairs
    frame_ok : In(1)                       a new frame may start (the FFT has room for it)
    frame_start : Out(1)                   a frame's first step is issued
    z_free, y_full : In                    slot flags (:class:`hw.engine_slots.SlotTracker`)
    z_claim, y_take, y_release : Out(1) with ``*_slot``
    act : Out(requests), act_data : In     :class:`hw.engine_activations.ActivationBuffers`
    y_addr : Out(2 addresses), y_data : In(lanes x 2 words)   the Y banks
    pair_valid : Out(1), pair : Out(pair_layout)
    """

    def __init__(self, plan: EnginePlan, tech: str = "generic"):
        self._plan, self._tech = plan, tech
        self._registered = 1 if plan.fft.pipeline else 0   # request and data registers
        # stages from the requests to the pair's assembly beyond the unpipelined engine's 2
        self._extra = 2 * self._registered + activation_read_delay(plan) - 2
        # pipelined: the patch table's words registered in the fabric (the route out of its
        # block RAM is a path of its own)
        self._table_reg = self._registered
        W, zs, ys = plan.width, plan.z_slots, plan.y_slots
        yd = plan.y_slots * plan.ybuf_depth
        super().__init__({
            "desc": In(descriptor_layout(plan)), "layer_start": In(1), "running": In(1),
            "issue_ok": In(1), "frame_ok": In(1, init=1), "frame_start": Out(1),
            "z_free": In(zs), "y_full": In(ys),
            "z_claim": Out(1), "z_claim_slot": Out(range(zs)),
            "y_take": Out(1), "y_take_slot": Out(range(ys)),
            "y_release": Out(1), "y_release_slot": Out(range(ys)),
            "act": Out(data.ArrayLayout(_request(plan), READ_LANES)),
            "act_data": In(data.ArrayLayout(W, READ_LANES)),
            "y_addr": Out(data.ArrayLayout(range(yd), 2)),
            "y_data": In(data.ArrayLayout(data.ArrayLayout(2 * W, 2), plan.lanes)),
            "pair_valid": Out(1), "pair": Out(pair_layout(W)),
        })

    @property
    def delay(self) -> int:
        """Cycles from a step's issue to its pair."""
        return 6 + self._extra + self._table_reg

    def elaborate(self, platform):
        m = Module()
        plan, d = self._plan, self.desc
        k, R = plan.k, plan.act_replicas
        ZS, YS = plan.z_slots, plan.y_slots
        A = plan.act_bank_depth
        layers = plan.layers
        vbits = range(max(lp.vectors for lp in layers) + 1)
        max_frames = max(max(lp.frames_in, lp.frames_out) for lp in layers)
        max_out_w = max(lp.out_w for lp in layers)
        sw = _bits(A + 2 * max(lp.pad * (lp.in_w + 1) + lp.stride * (lp.in_w + 1)
                               for lp in layers)) + 2
        start_layer = self.layer_start
        nvec = d.vectors

        # ---- the input side's position (vector a_vec) ---------------------------------------
        a_vec, iy0, ix0, row_base, a_advance = self._input_position(m, d, vbits, max_out_w, sw)

        # ---- arbitration per frame, output frames first (each frees a Y slot for the MAC lanes) -
        a_r = Signal(range(max_frames + 1))     # next input frame of vector a_vec
        c_vec = Signal(vbits)                   # vector whose output frames are read
        c_s = Signal(range(max_frames + 1))     # next output frame of vector c_vec
        busy = Signal()
        mode_r = Signal()                       # 1: output (inverse) frame
        rf_r = Signal(range(max_frames + 1))
        rh_r = Signal(range(YS))
        rt_r = Signal(range(k // 2))            # pair index: samples 2*rt and 2*rt + 1
        u_r = Signal(2)                         # step within the pair
        c_advance = Signal()                    # c_vec moves on
        # vectors left on each side (pipelined: flags, no comparator on the way to the issue)
        a_more = below_limit(m, a_vec, nvec, start_layer, a_advance, self._registered, "a_more")
        c_more = below_limit(m, c_vec, nvec, start_layer, c_advance, self._registered, "c_more")
        # a_r and c_s at 0 and at their last values (pipelined: flags kept with the counters)
        a_zero, a_last, c_zero, c_last = self._counter_flags(m, a_r, c_s)
        a_pending = self.running & a_more & (self.z_free.bit_select(a_vec % ZS, 1) | ~a_zero)
        c_pending = self.running & c_more & (self.y_full.bit_select(c_vec % YS, 1) | ~c_zero)
        sel_c = c_pending
        start = ~busy & (a_pending | c_pending) & self.issue_ok & self.frame_ok
        mode, rf, rh, rt, u = (Signal(name="mode"), Signal.like(rf_r, name="rf"),
                               Signal.like(rh_r, name="rh"), Signal.like(rt_r, name="rt"),
                               Signal.like(u_r, name="u"))
        m.d.comb += [mode.eq(Mux(busy, mode_r, sel_c)),
                     rf.eq(Mux(busy, rf_r, Mux(sel_c, c_s, a_r))),
                     rh.eq(Mux(busy, rh_r, c_vec % YS)),
                     rt.eq(Mux(busy, rt_r, 0)), u.eq(Mux(busy, u_r, 0))]
        issue = Signal()
        m.d.comb += [issue.eq(((busy & self.issue_ok) | start) & ~start_layer),
                     self.frame_start.eq(start & ~start_layer)]
        in_steps = Mux(d.fast, 2 // R, 4 // R)
        steps = Mux(mode, plan.output_steps, in_steps)
        last_step = u == steps - 1
        pair_end = issue & last_step
        # a frame ends only while busy (its first step has rt = 0 < k/2 - 1): from the step
        # registers alone, so that the arbitration (pending frames, start) is not on the
        # paths of the counters a frame's end moves
        steps_r = Mux(mode_r, plan.output_steps, in_steps)
        frame_end = (busy & self.issue_ok & ~start_layer & (u_r == steps_r - 1)
                     & (rt_r == k // 2 - 1))
        with m.If(start_layer):
            m.d.sync += [busy.eq(0), a_r.eq(0), c_vec.eq(0), c_s.eq(0)]
        with m.Elif(issue):
            m.d.sync += [busy.eq(1), mode_r.eq(mode), rf_r.eq(rf), rh_r.eq(rh),
                         u_r.eq(Mux(last_step, 0, u + 1)), rt_r.eq(rt + last_step)]
        with m.If(frame_end):   # (an issue, never with start_layer)
            m.d.sync += busy.eq(0)
            with m.If(mode_r):
                m.d.sync += c_s.eq(c_s + 1)
                with m.If(c_last):
                    m.d.sync += [c_s.eq(0), c_vec.eq(c_vec + 1)]
                    m.d.comb += c_advance.eq(1)
            with m.Else():
                m.d.sync += a_r.eq(a_r + 1)
                with m.If(a_last):
                    m.d.sync += a_r.eq(0)
                    m.d.comb += a_advance.eq(1)
        if self._registered:
            self._keep_counter_flags(m, (a_zero, a_last, a_r, d.frames_in_last, ~mode_r),
                                     (c_zero, c_last, c_s, d.frames_out_last, mode_r),
                                     frame_end)
        m.d.comb += [
            self.z_claim.eq(start & ~sel_c & a_zero), self.z_claim_slot.eq(a_vec % ZS),
            self.y_take.eq(start & sel_c & c_zero), self.y_take_slot.eq(c_vec % YS),
            self.y_release.eq(frame_end & mode_r & c_last),
            self.y_release_slot.eq(rh),
        ]

        # ---- the step, registered: everything below reads these (the arbitration above is a
        # cycle of its own) -------------------------------------------------------------------
        issue, mode, pair_end, rf, rt, u, rh, steps = self._register_fields(
            m, "step", (issue, mode, pair_end, rf, rt, u, rh, steps))
        pos_r = Signal(3 * sw + 1, name="step_pos")
        m.d.sync += pos_r.eq(Cat(iy0, ix0, row_base + ix0))

        # ---- which of the pair's four reads this step issues ---------------------------------
        # lane 2j + par: sample 2rt + j of block 2rf + par.  Steps: 1 (all), 2 (sample j = u),
        # 4 (lane u); the copy read: sample j (vector, two copies), block parity (table, two
        # copies), or 0.  (Output steps use j_now: the sample of a one-lane output step.)
        lanes_now = Signal(READ_LANES)
        for lane in range(READ_LANES):
            now = Mux(steps == 1, 1, Mux(steps == 2, u == (lane >> 1), u == lane))
            m.d.comb += lanes_now[lane].eq(now)

        # ---- stage 0 -> 2 (3 when pipelined): patch table (gather), positions ---------------
        tl, tables = self._patch_tables(m, d.tbase + Cat(rt, rf))
        # the sample of a one-lane output step
        j_now = Signal(name="j_now")
        m.d.comb += j_now.eq(Mux(steps == 1, 0, Mux(steps == 2, u[0], u[1])))

        def delayed(value, n, name):
            for i in range(n):
                r = Signal.like(value, name=f"{name}_d{i}")
                m.d.sync += r.eq(value)
                value = r
            return value

        # control and positions travel with the step: stage 2 (table; 3 when pipelined), stage 4
        # (activation data; the stages below count from the table's)
        ctl0 = Cat(issue, mode, pair_end, lanes_now, j_now, rf, rt)
        ctl2 = delayed(ctl0, 2 + self._table_reg, "rd_ctl")
        pos2 = delayed(pos_r, 2 + self._table_reg, "rd_pos")
        iy0_2, ix0_2, pix_2 = (pos2[:sw].as_signed(), pos2[sw:2 * sw].as_signed(),
                               pos2[2 * sw:].as_signed())
        v2, mode2, end2 = ctl2[0], ctl2[1], ctl2[2]
        lanes2 = ctl2[3:3 + READ_LANES]
        j2 = ctl2[3 + READ_LANES]
        rf2 = ctl2[4 + READ_LANES:4 + READ_LANES + len(rf)]
        rt2 = ctl2[4 + READ_LANES + len(rf):]

        # ---- stage 2: activation requests ----------------------------------------------------
        oks = self._requests(m, d, tables, tl, (iy0_2, ix0_2, pix_2), (v2, mode2, lanes2),
                             rt2, rf2)

        zc4 = self._pack_output(m, d, rf, rt, rh, j_now, delayed)

        # ---- stage 4 (7 when pipelined): the pair is assembled in a register and leaves with
        # its last step (the columns' flags come from stage 2, or 4 when pipelined) ----------
        ctl4 = delayed(Cat(v2, mode2, end2, lanes2, j2), 2 + self._extra, "rd_ctl4")
        ok4 = delayed(Cat(*oks), 2 + self._extra - 2 * self._registered, "rd_ok4")
        self._assemble_pair(m, Cat(ctl4, ok4), zc4, start_layer)
        return m

    def _patch_tables(self, m, addr):
        """The patch table's four banks read at ``addr``: ``(entry layout, the entries)`` two
        cycles later, three when pipelined (registered in the fabric)."""
        plan = self._plan
        ow, kb = plan.table_bits
        fields = {"off": ow, "bank": 1, "ky": kb, "kx": kb}
        if plan.mixed:      # the column reads as zero (a stuffed position, beyond n)
            fields["zero"] = 1
        tl = data.StructLayout(fields)
        tables = []
        for lane in range(READ_LANES):
            init = [e[0] | (e[1] << ow) | (e[2] << (ow + 1)) | (e[3] << (ow + 1 + kb))
                    | ((e[4] << (ow + 1 + 2 * kb)) if plan.mixed else 0)
                    for e in plan.table_banks[lane]]
            rom = SimpleDualPortRAM(tl.size, len(init), self._tech, init=init)
            m.submodules[f"patch_table{lane}"] = rom
            m.d.comb += [rom.r_addr.eq(addr), rom.r_en.eq(1), rom.w_en.eq(0)]
            entry = rom.r_data
            if self._table_reg:
                entry = Signal.like(rom.r_data, name=f"patch_entry{lane}")
                m.d.sync += entry.eq(rom.r_data)
            tables.append(entry)
        return tl, tables

    def _counter_flags(self, m, a_r, c_s):
        """``a_r == 0``, ``a_r == frames_in - 1``, ``c_s == 0``, ``c_s == frames_out - 1``:
        comparisons, or when pipelined flip-flops the caller keeps with the counters (so that
        no comparator stands between the counters and the frame arbitration)."""
        d = self.desc
        if not self._registered:
            return a_r == 0, a_r == d.frames_in_last, c_s == 0, c_s == d.frames_out_last
        return (Signal(init=1, name="a_zero"), Signal(name="a_last"),
                Signal(init=1, name="c_zero"), Signal(name="c_last"))

    def _keep_counter_flags(self, m, a_side, c_side, frame_end):
        """The flags of :meth:`_counter_flags` (pipelined), moved with their counters: each
        side ``(zero, last, count, last value, its frames)`` steps at a frame end of its own
        and restarts with the layer."""
        for zero, last, count, lim, mine in (a_side, c_side):
            with m.If(self.layer_start):
                m.d.sync += [zero.eq(1), last.eq(lim == 0)]
            with m.Elif(frame_end & mine):
                m.d.sync += [zero.eq(last), last.eq(Mux(last, lim == 0, count + 1 == lim))]

    @staticmethod
    def _register_fields(m, name, values):
        """``values`` registered together; the registered fields in their order."""
        packed = Cat(*values)
        reg = Signal.like(packed, name=name)
        m.d.sync += reg.eq(packed)
        fields, o = [], 0
        for v in values:
            n = len(Value.cast(v))
            fields.append(reg[o:o + n])
            o += n
        return fields

    def _input_position(self, m, d, vbits, max_out_w, sw):
        """The input side's vector ``a_vec`` and its output pixel's top-left input position
        (``iy0``, ``ix0``, ``row_base``: the row's offset, by running sums); ``a_advance``
        moves it on.  Returns ``(a_vec, iy0, ix0, row_base, a_advance)``."""
        a_vec = Signal(vbits, name="a_vec")
        a_ox = Signal(range(max_out_w + 1), name="a_ox")
        iy0, ix0 = Signal(signed(sw), name="iy0"), Signal(signed(sw), name="ix0")
        row_base = Signal(signed(sw), name="row_base")
        a_advance = Signal(name="a_advance")
        now = (a_ox, iy0, ix0, row_base)
        wrap = a_ox == d.out_w_last
        after = (Mux(wrap, 0, a_ox + 1), Mux(wrap, iy0 + d.stride, iy0),
                 Mux(wrap, -d.pad, ix0 + d.stride), Mux(wrap, row_base + d.stride_w, row_base))
        if self._registered:
            # the position after an advance, registered a cycle ahead (advances are at least
            # a frame, 2 cycles, apart), so that the advance is only the registers' enable
            nxt = [Signal.like(v, name=f"{v.name}_next") for v in now]
            m.d.sync += [n.eq(v) for n, v in zip(nxt, after)]
            after = nxt
        with m.If(self.layer_start):
            m.d.sync += [a_vec.eq(0), a_ox.eq(0), iy0.eq(-d.pad), ix0.eq(-d.pad),
                         row_base.eq(-d.pad_w)]
        with m.Elif(a_advance):
            m.d.sync += [a_vec.eq(a_vec + 1)] + [v.eq(n) for v, n in zip(now, after)]
        return a_vec, iy0, ix0, row_base, a_advance

    def _requests(self, m, d, tables, tl, pos2, ctl2, rt2, rf2):
        """Stage 2: the activation read of each lane the step issues (im2col through the patch
        table, or the vector's own layout); returns per lane whether the column is real (in
        range, inside the image), else the pair gets a zero there: at stage 2, or when
        pipelined at stage 4 (the tap's position registered before its bounds are compared,
        so that no path holds the patch table's block RAM, an adder and a comparator, and
        the four comparisons registered before they are combined)."""
        iy0_2, ix0_2, pix_2 = pos2
        v2, mode2, lanes2 = ctl2
        R = self._plan.act_replicas
        ok2 = []
        for lane in range(READ_LANES):
            j, par = lane >> 1, lane & 1
            t = Cat(Const(j, 1), rt2)
            e = Cat(t, Const(par, 1), rf2)  # the column
            ent = data.View(tl, tables[lane])
            iy = iy0_2 + ent.ky
            ix = ix0_2 + ent.kx
            in_range = e < d.n
            if self._plan.mixed:    # through the table its zero bit (stuffed frames), else n
                in_range = Mux(d.gather, ~ent.zero, in_range)
            if self._registered:
                iy3 = Signal.like(iy, name=f"tap_y{lane}")
                ix3 = Signal.like(ix, name=f"tap_x{lane}")
                r3 = Signal(name=f"in_range{lane}")
                m.d.sync += [iy3.eq(iy), ix3.eq(ix), r3.eq(in_range)]
                iy, ix, in_range = iy3, ix3, r3
            bounds = Cat(iy >= 0, iy < d.in_h, ix >= 0, ix < d.in_w)
            if self._registered:    # each comparison registered (the descriptor may be far)
                b4 = Signal(4, name=f"tap_bounds{lane}")
                r4 = Signal(name=f"in_range{lane}_d")
                m.d.sync += [b4.eq(bounds), r4.eq(in_range)]
                bounds, in_range = b4, r4
            inb = bounds.all()
            req = Signal.like(self.act[lane], name=f"request{lane}")
            if self._registered:
                m.d.sync += self.act[lane].eq(req)
            else:
                m.d.comb += self.act[lane].eq(req)
            m.d.comb += [
                req.en.eq(v2 & ~mode2 & lanes2[lane]),
                # a vector: bank = block parity, address = the column without that bit
                req.bank.eq(Mux(d.gather, ent.bank, par)),
                req.addr.eq(Mux(d.gather, pix_2 + ent.off, Cat(t, rf2))),
                req.replica.eq(0 if R == 1 else Mux(d.fast, j, par)),
            ]
            ok2.append(in_range & (inb | ~d.gather))
        return ok2

    def _assemble_pair(self, m, ctl4, zc4, start_layer):
        """Stage 4: the pair collects the activations of its steps (input frames) or takes the
        packed sample(s) (output frames), and leaves with its last step."""
        P, cw = self._plan.lanes, complex_layout(self._plan.width)
        v4, mode4, end4 = ctl4[0], ctl4[1], ctl4[2]
        lanes4 = ctl4[3:3 + READ_LANES]
        j4 = ctl4[3 + READ_LANES]
        ok4 = ctl4[4 + READ_LANES:]
        zc4v = data.View(data.ArrayLayout(cw, 2), zc4)
        act_data = self.act_data
        if self._registered:
            act_data = Signal.like(self.act_data, name="act_data_r")
            m.d.sync += act_data.eq(self.act_data)
        pair = Signal(data.ArrayLayout(cw, 2), name="pair_acc")
        with m.If(v4 & ~mode4):
            for lane in range(READ_LANES):
                j, par = lane >> 1, lane & 1
                with m.If(lanes4[lane]):
                    m.d.sync += pair[j]["im" if par else "re"].eq(
                        Mux(ok4[lane], act_data[lane], 0))
        with m.If(v4 & mode4):
            if P > 1:
                m.d.sync += pair.eq(zc4v)
            else:
                with m.If(j4):
                    m.d.sync += pair[1].eq(zc4v[0])
                with m.Else():
                    m.d.sync += pair[0].eq(zc4v[0])
        out_valid, out_mode = Signal(), Signal()
        m.d.sync += [out_valid.eq(v4 & end4 & ~start_layer), out_mode.eq(mode4)]
        m.d.comb += [self.pair_valid.eq(out_valid), self.pair.inverse.eq(out_mode),
                     self.pair.x.eq(pair)]

    def _pack_output(self, m, d, rf, rt, rh, j_now, delayed):
        """Output steps: the Y words of a frame's two blocks, Hermitian packed into one complex
        sample (``Y_2s + i Y_2s+1``, from ``conj Y[k - t]`` above ``k/2``); returns it at
        stage 4."""
        plan = self._plan
        P, cw = plan.lanes, complex_layout(plan.width)
        # ---- output frames: Y data at stage 2, packed into a register (stage 3), delayed to
        # stage 4; when pipelined the Y data is registered first instead (stage 3) and packed
        # into stage 4, so that the memories' read multiplexers and the packing adders are on
        # two paths --------------------------------------------------------------------------
        early = 1 if plan.fft.pipeline else 0
        zc = Signal(data.ArrayLayout(cw, 2), name="packed")
        lb = max(1, (P - 1).bit_length())
        fields = [lane_a_of(rf, P), mirror_of(m, self, rf, rt, rh, j_now, plan),
                  Cat(Const(1, 1), rf) < d.pb]
        if plan.has_dense:  # a dense layer's two samples: their outputs' even lanes, real parts
            hb = (P // 2).bit_length() - 1
            lanes_d = [Cat(Const(0, 1), Cat(Const(j, 1), rt, rf, Const(0, hb))[:hb]) if hb > 0
                       else Const(0, lb) for j in range(2)]
            fields += lanes_d + [d.dense]
        ypack = delayed(Cat(*fields), 2 + early, "rd_ypack")
        lane_a2, mirror2, b_ok2 = ypack[:lb], ypack[lb:lb + 2], ypack[lb + 2]
        dense2 = ypack[-1] if plan.has_dense else None
        y_data = self.y_data
        if early:
            y_data = Signal.like(self.y_data, name="y_data_r")
            m.d.sync += y_data.eq(self.y_data)
        for j in range(2):
            la = lane_a2
            if plan.has_dense and P > 2:
                la = Mux(dense2, ypack[lb + 3 + j * lb:lb + 3 + (j + 1) * lb], lane_a2)
            if P > 1:
                ya = data.View(cw, select([y_data[l][j] for l in range(P)], la))
                yb = data.View(cw, select([y_data[l][j] for l in range(P)], la + 1))
            else:  # one lane: copy 0 holds block 2s, copy 1 block 2s + 1, of the step's sample
                ya, yb = data.View(cw, y_data[0][0]), data.View(cw, y_data[0][1])
            yb_re, yb_im, ya_im = Mux(b_ok2, yb.re, 0), Mux(b_ok2, yb.im, 0), ya.im
            if plan.has_dense:  # real outputs: the pair's two values, no packing
                yb_re = Mux(b_ok2 | dense2, yb.re, 0)
                yb_im, ya_im = Mux(b_ok2 & ~dense2, yb.im, 0), Mux(dense2, 0, ya.im)
            mir = mirror2[j]
            m.d.sync += [zc[j].re.eq(Mux(mir, ya.re + yb_im, ya.re - yb_im)),
                         zc[j].im.eq(Mux(mir, yb_re - ya_im, ya_im + yb_re))]
        # (and two more when the activation requests and data are registered: both kinds of
        # pair reach the assembly at the same stage)
        return delayed(zc.as_value(), 1 - early + self._extra + self._table_reg, "rd_zc")


def lane_a_of(rf, lanes):
    """The even lane holding block ``2 rf`` (0 with one lane), ``log2 lanes`` bits (at least 1)."""
    hb = (lanes // 2).bit_length() - 1
    if hb > 0:
        return Cat(Const(0, 1), rf[:hb])
    return Const(0, max(1, (lanes - 1).bit_length()))


def dense_y_address(plan, rf, rt, rh, j_now, c):
    """A dense layer's Y address for copy ``c`` of an output step: sample ``t`` of frame ``rf``
    is the pair ``u = rf k + t`` of outputs ``2u``, ``2u + 1`` (:func:`hw.engine_spectra.
    dense_y_word`).  Several lanes: copy ``c`` reads sample ``2 rt + c``'s group; one lane:
    output ``2u + c`` of the step's sample."""
    if plan.lanes > 1:
        group = Cat(Const(c, 1), rt, rf) >> ((plan.lanes // 2).bit_length() - 1)
    else:
        group = Cat(Const(c, 1), j_now, rt, rf)
    return dense_y_word(plan, group, rh)


def mirror_of(m, reader, rf, rt, rh, j_now, plan):
    """Y addresses of an output step (into ``reader.y_addr``) and, per copy, whether its sample is
    above ``k/2`` (read from the Hermitian mirror ``conj Y[k - t]``)."""
    k, lanes, yd = plan.k, plan.lanes, plan.ybuf_depth
    half = max(1, lanes // 2)
    mirror = Signal(2, name="mirror")
    for c in range(2):
        if lanes > 1:  # copy c: sample 2rt + c of the frame's group
            t, group = Cat(Const(c, 1), rt), rf >> (half.bit_length() - 1)
        else:          # copy c: block 2rf + c (group 2rf + c) at the step's sample
            t, group = Cat(j_now, rt), (rf << 1) + c
        if plan.mixed:  # the layer's k: Y[t mod k_l], mirrored above k_l / 2
            d = reader.desc
            tm = t & d.kmask
            above = tm > d.bins_last
            mt = Mux(above, (d.kmask - tm + 1) & d.kmask, tm)
        else:
            above = t > k // 2
            mt = Mux(above, k - t, t)
        # slots of a power of two of groups, groups of k words (bins padded): no multiplier
        gb = (yd // k).bit_length() - 1
        addr = Cat(mt[:k.bit_length() - 1], group[:gb], rh) if gb else Cat(mt[:k.bit_length() - 1], rh)
        if plan.has_dense:
            addr = Mux(reader.desc.dense, dense_y_address(plan, rf, rt, rh, j_now, c), addr)
            above = above & ~reader.desc.dense
        m.d.comb += [reader.y_addr[c].eq(addr), mirror[c].eq(above)]
    return mirror
