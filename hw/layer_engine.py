"""The CirCNN layer engine: memories, descriptor table and control FSM around the FFT engine and
the MAC lanes; runs a whole quantized network from an input stream to an output stream."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, fifo, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.engine_plan import EnginePlan

from .engine_mac import MACLanes
from .fft_engine import FFTEngine
from .fixed import complex_layout, round_shift_var, saturate
from .select import select

__all__ = ["LayerEngine", "value_payload", "weight_payload", "PHASES"]

#: Values of the ``phase`` output.
PHASES = {"load": 0, "run": 1, "unload": 2, "setup": 3}

COUNTER_WIDTH = 32
#: Vectors the Z buffer and the Y banks hold: the input side may run up to ``Z_SLOTS`` vectors
#: ahead of the MAC lanes, the MAC lanes ``Y_SLOTS`` ahead of the output side.
Z_SLOTS = 4
Y_SLOTS = 2
#: Output (inverse) frames buffered between the FFT engine and the post-processing.
INVERSE_FIFO_FRAMES = 4


def _bits(n: int) -> int:
    return max(1, int(n).bit_length())


def value_payload(width: int) -> data.StructLayout:
    """One activation per beat; ``last`` marks the end of a sample (checked on ``o`` only)."""
    return data.StructLayout({"data": signed(width), "last": 1})


def weight_payload(plan: EnginePlan) -> data.StructLayout:
    """A run-time weight write: lane (bank), word address, complex weight (``re`` low)."""
    return data.StructLayout({"lane": _bits(plan.lanes - 1), "addr": _bits(plan.bank_depth - 1),
                              "data": 2 * plan.width})


class LayerEngine(wiring.Component):
    """Runs every layer of a quantized block-circulant network (golden.engine_fixed, bit exact).

    Overview
    --------
    ::

        i -> act buffer 0 <-> act buffer 1 -> o        (ping-pong between layers)
                 |  im2col reader (patch table)  ^
                 v                               | bias, ReLU, requant, pool (read-modify-write)
            two real blocks per frame            |
                 v                               |
              FFT engine (forward | inverse, per frame)
                 v                               ^
               Z buffer -> separation -> MAC lanes -> Y banks -> Hermitian packing

    Per layer (descriptor table row, ``golden.engine_plan.LayerPlan``) the vectors (fc: one;
    conv: one per output pixel) flow through three processes that run at the same time on
    consecutive vectors: the input side (input frames into the FFT engine, spectra into a free
    Z slot), the MAC lanes (``groups`` passes of ``lanes`` output blocks over ``k/2 + 1`` bins and
    ``q`` input blocks, from a full Z slot into a free Y slot) and the output side (pairs of
    output spectra through the engine, then bias, activation, requantization and pooling into the
    other activation buffer).  The reader arbitrates the FFT engine per frame, input frames first.
    After the last layer the result is streamed out; then the engine takes the next input.

    Latency and resources
    ---------------------
    Per layer about the first vector's latency plus one vector per interval of the busiest of
    the reader (2 samples per clock), the MAC lanes (one term per clock), the post-processing
    (2 values per clock) and the FFT engine's input (``sim.engine_run.estimate_layer_cycles``;
    measured in docs/benchmarks.md).  ``p*d + lanes`` complex multipliers.  Memories: see
    ``golden.engine_plan`` (the activation buffers have 2 write and 4 read ports).

    Interfaces
    ----------
    i : In(stream of value_payload)  ``in_size`` quantized inputs per sample, C order
    o : Out(stream of value_payload) ``out_size`` outputs per sample, ``last`` on the final one
    w : In(stream of weight_payload) weight writes, accepted only between samples (``busy`` low)
    busy, layer, phase : status (``PHASES``)
    saturations : spectrum and output requantization saturations (golden ``spectrum + output``)
    fft_saturations : the FFT engine's counter (golden ``fft + ifft``)
    """

    def __init__(self, plan: EnginePlan):
        if not isinstance(plan, EnginePlan):
            raise TypeError(f"plan must be an EnginePlan, not {plan!r}")
        self._plan = plan
        w = plan.width
        super().__init__({
            "i": In(stream.Signature(value_payload(w))),
            "o": Out(stream.Signature(value_payload(w))),
            "w": In(stream.Signature(weight_payload(plan))),
            "busy": Out(1),
            "layer": Out(range(len(plan.layers) + 1)),
            "phase": Out(3),
            "saturations": Out(COUNTER_WIDTH),
            "fft_saturations": Out(COUNTER_WIDTH),
        })

    @property
    def plan(self) -> EnginePlan:
        return self._plan

    def elaborate(self, platform):
        m = Module()
        plan = self._plan
        W, k, P = plan.width, plan.k, plan.lanes
        fp = plan.fft
        lanes2p, beats, bins = fp.lanes, fp.beats, plan.bins
        lk = k.bit_length() - 1
        l2p = lanes2p.bit_length() - 1
        cw = complex_layout(W)
        L = len(plan.layers)

        m.submodules.fft = fft = FFTEngine(fp)
        m.d.comb += self.fft_saturations.eq(fft.saturations)

        # ---------------- memories -----------------------------------------------------------
        A = plan.act_depth
        acts = []
        for b in range(2):
            mem = memory.Memory(shape=signed(W), depth=A, init=[])
            m.submodules[f"act{b}"] = mem
            # two write ports (two outputs per clock), four read ports (two input samples
            # per clock; the read-modify-write of pooling; unloading)
            acts.append(([mem.write_port() for _ in range(2)],
                         [mem.read_port() for _ in range(4)]))
        # Z buffer and Y banks hold two vectors (halves): the input side fills one while the MAC
        # lanes read the other, and the MAC lanes fill one Y half while the output side reads
        # the other
        zd, yd = plan.zbuf_depth, plan.ybuf_depth
        ZS, YS = Z_SLOTS, Y_SLOTS
        zmem = memory.Memory(shape=unsigned(2 * W * lanes2p), depth=ZS * zd, init=[])
        m.submodules.zbuf = zmem
        z_wp, z_ra, z_rb = zmem.write_port(), zmem.read_port(), zmem.read_port()
        ybanks, wbanks = [], []
        for lane in range(P):
            ym = memory.Memory(shape=unsigned(2 * W), depth=YS * yd, init=[])
            m.submodules[f"ybank{lane}"] = ym
            ybanks.append((ym.write_port(), [ym.read_port(), ym.read_port()]))
            init = plan.weight_banks[lane] or [0]
            wm = memory.Memory(shape=unsigned(2 * W), depth=plan.bank_depth, init=init)
            m.submodules[f"wbank{lane}"] = wm
            wbanks.append((wm.write_port(), wm.read_port()))
        bias_mem = memory.Memory(shape=signed(W), depth=max(1, len(plan.bias)),
                                 init=plan.bias or [0])
        m.submodules.bias = bias_mem
        bias_rps = [bias_mem.read_port(), bias_mem.read_port()]
        ow = _bits(max(t[0] for t in plan.patch_table))
        kb = _bits(max(max(t[1], t[2]) for t in plan.patch_table))
        tlayout = data.StructLayout({"off": ow, "ky": kb, "kx": kb})
        tinit = [o | (ky << ow) | (kx << (ow + kb)) for o, ky, kx in plan.patch_table]
        tmem = memory.Memory(shape=unsigned(ow + 2 * kb), depth=len(tinit), init=tinit)
        m.submodules.patch_table = tmem
        t_rps = [tmem.read_port() for _ in range(4)]

        # ---------------- descriptor table ---------------------------------------------------
        fields = {}

        def dfield(name, maxval):
            fields[name] = Signal(unsigned(_bits(maxval)), name=f"d_{name}")
            return fields[name]

        for name in ("conv", "relu", "pool", "n", "m", "q", "pb", "frames_in", "frames_out",
                     "groups", "vectors", "in_h", "in_w", "out_w", "stride", "pad", "pool_h",
                     "pool_w", "out_stride", "out_size", "acc_shift", "out_shift", "wbase",
                     "bbase", "tbase"):
            dfield(name, max(getattr(lp, name) for lp in plan.layers))
        d = fields
        layer = Signal(range(L + 1))
        m.d.comb += self.layer.eq(layer)

        layer = Signal(range(L + 1))
        m.d.comb += self.layer.eq(layer)
        src = Signal()  # activation buffer read by the current layer
        nvec = d["vectors"]
        vbits = range(max(lp.vectors for lp in plan.layers) + 1)
        sw = _bits(A + 2 * max(lp.pad * (lp.in_w + 1) + lp.stride * (lp.in_w + 1)
                               for lp in plan.layers)) + 2
        max_out_w = max(lp.out_w for lp in plan.layers)
        max_out_h = max(lp.out_h for lp in plan.layers)
        max_frames = max(max(lp.frames_in, lp.frames_out) for lp in plan.layers)

        running = Signal()
        layer_start = Signal()   # one cycle: reset the per-layer state

        # ---------------- buffer ownership, per half ------------------------------------------
        z_free = Signal(ZS, init=(1 << ZS) - 1)  # the input side may fill the slot
        z_full = Signal(ZS)                      # filled: the MAC lanes may read it
        y_free = Signal(YS, init=(1 << YS) - 1)  # the MAC lanes may fill the slot
        y_full = Signal(YS)                      # filled: the output side may read it

        # ---------------- input-side position (vector a_vec) ---------------------------------
        a_vec = Signal(vbits)
        a_ox = Signal(range(max_out_w + 1))
        iy0, ix0 = Signal(signed(sw)), Signal(signed(sw))
        row_base = Signal(signed(sw))
        a_advance = Signal()
        with m.If(layer_start):
            m.d.sync += [a_vec.eq(0), a_ox.eq(0), iy0.eq(-d["pad"]), ix0.eq(-d["pad"]),
                         row_base.eq(-(d["pad"] * d["in_w"]))]
        with m.Elif(a_advance):
            m.d.sync += a_vec.eq(a_vec + 1)
            with m.If(a_ox == d["out_w"] - 1):
                m.d.sync += [a_ox.eq(0), ix0.eq(-d["pad"]), iy0.eq(iy0 + d["stride"]),
                             row_base.eq(row_base + d["stride"] * d["in_w"])]
            with m.Else():
                m.d.sync += [a_ox.eq(a_ox + 1), ix0.eq(ix0 + d["stride"])]

        # ---------------- sample FIFO and beat packer (shared by both FFT directions) -------
        # entries are pairs of consecutive samples (t, t+1) plus the frame's direction
        m.submodules.sfifo = sfifo = fifo.SyncFIFOBuffered(width=4 * W + 1, depth=8)
        issue_ok = sfifo.w_level <= 4
        pairs = lanes2p // 2
        beat = Signal(data.ArrayLayout(cw, lanes2p))
        beat_inv = Signal()
        nfill = Signal(range(pairs + 1))
        bcount = Signal(range(beats))
        m.d.comb += [
            fft.i.valid.eq(nfill == pairs),
            fft.i.payload.data.eq(beat),
            fft.i.payload.inverse.eq(beat_inv),
            fft.i.payload.last.eq(bcount == beats - 1),
        ]
        # a full beat leaves and the next beat's first pair arrives in the same cycle, so the
        # packer passes two samples per clock; the reader issues whole frames, so a beat's
        # direction is that of its samples
        send = fft.i.valid & fft.i.ready
        take = sfifo.r_rdy & ((nfill != pairs) | send)
        slot = Mux(send, 0, nfill)
        with m.If(send):
            m.d.sync += [nfill.eq(0), bcount.eq(Mux(bcount == beats - 1, 0, bcount + 1))]
        with m.If(take):
            m.d.comb += sfifo.r_en.eq(1)
            m.d.sync += [nfill.eq(Mux(send, 1, nfill + 1)), beat_inv.eq(sfifo.r_data[-1])]
            with m.Switch(slot):
                for l in range(pairs):
                    with m.Case(l):
                        m.d.sync += [beat[2 * l].as_value().eq(sfifo.r_data[:2 * W]),
                                     beat[2 * l + 1].as_value().eq(sfifo.r_data[2 * W:4 * W])]

        # ---------------- reader: whole frames, input (im2col) or output (Hermitian) --------
        # arbitration per frame, input frames first (they feed the MAC lanes); a frame's first
        # pair is issued in the cycle it is chosen, so frames follow each other without a gap
        a_r = Signal(range(max_frames + 1))     # next input frame of vector a_vec
        c_vec = Signal(vbits)                   # vector whose output frames are read
        c_s = Signal(range(max_frames + 1))     # next output frame of vector c_vec
        rd_busy = Signal()
        rd_mode_r = Signal()                    # 1: output (inverse) frame
        rf_r = Signal(range(max_frames + 1))    # frame index within its vector
        rh_r = Signal(range(YS))                # Y slot of an output frame's vector
        rt_r = Signal(range(k // 2))            # pair index: samples 2*rt and 2*rt + 1
        a_pending = running & (a_vec < nvec) & (z_free.bit_select(a_vec % ZS, 1) | (a_r != 0))
        c_pending = running & (c_vec < nvec) & (y_full.bit_select(c_vec % YS, 1) | (c_s != 0))
        sel_c = ~a_pending & c_pending
        start = ~rd_busy & (a_pending | c_pending) & issue_ok
        rd_mode, rf, rh, rt = (Signal(name="rd_mode"), Signal.like(rf_r, name="rf"),
                               Signal.like(rh_r, name="rh"), Signal.like(rt_r, name="rt"))
        m.d.comb += [rd_mode.eq(Mux(rd_busy, rd_mode_r, sel_c)),
                     rf.eq(Mux(rd_busy, rf_r, Mux(sel_c, c_s, a_r))),
                     rh.eq(Mux(rd_busy, rh_r, c_vec % YS)),
                     rt.eq(Mux(rd_busy, rt_r, 0))]
        issue = Signal()
        m.d.comb += issue.eq(((rd_busy & issue_ok) | start) & ~layer_start)
        with m.If(layer_start):
            m.d.sync += [rd_busy.eq(0), a_r.eq(0), c_vec.eq(0), c_s.eq(0)]
        with m.Elif(issue):
            m.d.sync += [rd_busy.eq(1), rd_mode_r.eq(rd_mode), rf_r.eq(rf), rh_r.eq(rh),
                         rt_r.eq(rt + 1)]
            with m.If(rt == k // 2 - 1):
                m.d.sync += rd_busy.eq(0)
                with m.If(rd_mode):
                    m.d.sync += c_s.eq(c_s + 1)
                    with m.If(c_s == d["frames_out"] - 1):
                        m.d.sync += [c_s.eq(0), c_vec.eq(c_vec + 1)]
                with m.Else():
                    m.d.sync += a_r.eq(a_r + 1)
                    with m.If(a_r == d["frames_in"] - 1):
                        m.d.sync += a_r.eq(0)
                        m.d.comb += a_advance.eq(1)
        # claims and releases of slots by the reader
        a_claim = start & ~sel_c & (a_r == 0)
        c_claim = start & sel_c & (c_s == 0)
        c_release = issue & (rt == k // 2 - 1) & rd_mode & (c_s == d["frames_out"] - 1)
        # stage 0 -> 1 (addresses from the counters; position captured with the samples).
        # Element j of the pair: input samples x[e] of blocks 2r (real) and 2r+1 (imaginary) at
        # t = 2*rt + j, i.e. patch columns e = Cat(j, rt, block parity, r)
        cols = [Cat(Const(j, 1), rt, Const(par, 1), rf) for j in range(2) for par in range(2)]
        v1, v2, mode1, mode2 = Signal(), Signal(), Signal(), Signal()
        cols_1 = [Signal(len(c), name=f"col{i}_1") for i, c in enumerate(cols)]
        iy0_1, ix0_1, pix_1 = Signal(signed(sw)), Signal(signed(sw)), Signal(signed(sw))
        for tp, c in zip(t_rps, cols):
            m.d.comb += tp.addr.eq(d["tbase"] + c)
        yg = Signal(range(max(lp.groups for lp in plan.layers) + 1))
        lane_a = Signal(range(P))
        half = P // 2
        m.d.comb += [yg.eq(rf // half) if half > 1 else yg.eq(rf),
                     lane_a.eq(Cat(Const(0, 1), rf % half) if half > 1 else 0)]
        mirror_1 = Signal(2)
        for j in range(2):
            t = Cat(Const(j, 1), rt)
            mt = Mux(t > k // 2, k - t, t)
            for lane in range(P):
                m.d.comb += ybanks[lane][1][j].addr.eq(rh * yd + yg * bins + mt)
            m.d.sync += mirror_1[j].eq(t > k // 2)
        lane_a_1 = Signal.like(lane_a)
        b_ok_1 = Signal()
        m.d.sync += [v1.eq(issue), mode1.eq(rd_mode),
                     *[c1.eq(c) for c1, c in zip(cols_1, cols)],
                     iy0_1.eq(iy0), ix0_1.eq(ix0), pix_1.eq(row_base + ix0),
                     lane_a_1.eq(lane_a), b_ok_1.eq(Cat(Const(1, 1), rf) < d["pb"])]
        # stage 1: activation reads (input frames) / Hermitian packing (output frames)
        rd_addr = [Signal(range(A), name=f"rd_addr{s}") for s in range(4)]
        ok2 = [Signal(name=f"rd_ok{s}") for s in range(4)]
        for s, (c_1, tp) in enumerate(zip(cols_1, t_rps)):
            ent = data.View(tlayout, tp.data)
            iy = iy0_1 + ent.ky
            ix = ix0_1 + ent.kx
            inb = (iy >= 0) & (iy < d["in_h"]) & (ix >= 0) & (ix < d["in_w"])
            caddr = pix_1 + ent.off
            m.d.comb += rd_addr[s].eq(Mux(d["conv"], caddr, c_1))
            m.d.sync += ok2[s].eq((c_1 < d["n"]) & (inb | ~d["conv"]))
        zc = [Signal(cw, name=f"zc{j}") for j in range(2)]
        for j in range(2):
            ya = data.View(cw, select([ybanks[l][1][j].data for l in range(P)], lane_a_1))
            yb = data.View(cw, select([ybanks[l][1][j].data for l in range(P)], lane_a_1 + 1))
            yb_re = Mux(b_ok_1, yb.re, 0)
            yb_im = Mux(b_ok_1, yb.im, 0)
            m.d.sync += [
                zc[j].re.eq(Mux(mirror_1[j], ya.re + yb_im, ya.re - yb_im)),
                zc[j].im.eq(Mux(mirror_1[j], yb_re - ya.im, ya.im + yb_re)),
            ]
        m.d.sync += [v2.eq(v1), mode2.eq(mode1)]
        # activation read ports: the source buffer's four serve the reader; the destination's
        # ports 0 and 1 the pooling read-modify-write; port 3 of the final buffer unloads
        post_raddr = [Signal(range(A), name=f"post_raddr{i}") for i in range(2)]
        ua = Signal(range(A + 1))
        for b in range(2):
            rps = acts[b][1]
            m.d.comb += [rps[0].addr.eq(Mux(src == b, rd_addr[0], post_raddr[0])),
                         rps[1].addr.eq(Mux(src == b, rd_addr[1], post_raddr[1])),
                         rps[2].addr.eq(rd_addr[2]),
                         rps[3].addr.eq(Mux(self.phase == PHASES["unload"], ua, rd_addr[3]))]
        src_d = [Mux(src, acts[1][1][i].data, acts[0][1][i].data) for i in range(4)]
        # stage 2: push (cols order: (j0, block 2r), (j0, 2r+1), (j1, 2r), (j1, 2r+1))
        xin = [Signal(cw, name=f"xin{j}") for j in range(2)]
        for j in range(2):
            m.d.comb += [xin[j].re.eq(Mux(ok2[2 * j], src_d[2 * j], 0)),
                         xin[j].im.eq(Mux(ok2[2 * j + 1], src_d[2 * j + 1], 0))]
        m.d.comb += [sfifo.w_en.eq(v2),
                     sfifo.w_data.eq(Cat(Mux(mode2, Cat(zc[0].as_value(), zc[1].as_value()),
                                             Cat(xin[0].as_value(), xin[1].as_value())),
                                         mode2))]

        # ---------------- FFT output: spectra into the Z buffer, or to the post-processing --
        fo = fft.o
        # inverse beats wait here for the post-processing (two values per clock), so that the
        # FFT engine's output, shared with the forward frames, keeps moving at one beat per clock
        m.submodules.ififo = ififo = fifo.SyncFIFOBuffered(width=2 * W * lanes2p + 1,
                                                           depth=INVERSE_FIFO_FRAMES * beats)
        zw_vec = Signal(vbits)                 # vector of the forward frames coming out
        zw_r = Signal(range(max_frames + 1))
        zw_b = Signal(range(beats))
        z_done = Signal()
        m.d.comb += [z_wp.addr.eq((zw_vec % ZS) * zd + zw_r * beats + zw_b),
                     z_wp.data.eq(fo.payload.data)]
        ser = Signal(data.ArrayLayout(cw, lanes2p))
        ser_u = Signal(range(lanes2p))        # lane being emitted (real and imaginary part)
        ser_b = Signal(range(beats))          # beat index of the held beat
        ser_valid = Signal()                  # the serializer holds a beat (4p values)
        ser_last = Signal()                   # the held beat ends its frame
        ob = Signal(range(beats))             # beat counter of the inverse output frames
        post_s = Signal(range(max_frames + 1))  # output frame of vector post_vec
        post_vec = Signal(vbits)
        with m.If(layer_start):
            m.d.sync += [zw_vec.eq(0), zw_r.eq(0), zw_b.eq(0)]
        with m.Elif(~fo.payload.inverse):
            m.d.comb += fo.ready.eq(1)
            with m.If(fo.valid):
                m.d.comb += z_wp.en.eq(1)
                m.d.sync += zw_b.eq(zw_b + 1)
                with m.If(fo.payload.last):
                    m.d.sync += [zw_b.eq(0), zw_r.eq(zw_r + 1)]
                    with m.If(zw_r == d["frames_in"] - 1):
                        m.d.sync += [zw_r.eq(0), zw_vec.eq(zw_vec + 1)]
                        m.d.comb += z_done.eq(1)
        with m.If(fo.payload.inverse):
            m.d.comb += fo.ready.eq(ififo.w_rdy)
        # serializer: lane l's real part (block 2s) and imaginary part (block 2s+1) per clock
        ser_vec_end = Signal()
        ser_take = ififo.r_rdy & (~ser_valid | (ser_u == lanes2p - 1)) & ~layer_start
        ib = data.View(data.StructLayout({"data": data.ArrayLayout(cw, lanes2p), "last": 1}),
                       ififo.r_data)
        m.d.comb += [ififo.w_en.eq(fo.valid & fo.payload.inverse),
                     ififo.w_data.eq(Cat(fo.payload.data, fo.payload.last)),
                     ififo.r_en.eq(ser_take)]
        with m.If(layer_start):
            m.d.sync += [ser_valid.eq(0), post_s.eq(0), post_vec.eq(0), ob.eq(0)]
        with m.Else():
            with m.If(ser_valid):
                m.d.sync += ser_u.eq(ser_u + 1)
                with m.If(ser_u == lanes2p - 1):
                    m.d.sync += ser_valid.eq(0)
                    with m.If(ser_last):
                        m.d.sync += post_s.eq(post_s + 1)
                        with m.If(post_s == d["frames_out"] - 1):
                            m.d.sync += [post_s.eq(0), post_vec.eq(post_vec + 1)]
                            m.d.comb += ser_vec_end.eq(1)
            # the next beat may enter as the last value of this one leaves (assignments win)
            with m.If(ser_take):
                m.d.sync += [ser.eq(ib.data), ser_u.eq(0), ser_b.eq(ob),
                             ser_valid.eq(1), ser_last.eq(ib.last),
                             ob.eq(Mux(ib.last, 0, ob + 1))]
        # output-side position of vector post_vec
        p_ox = Signal(range(max_out_w + 1))
        p_oy = Signal(range(max_out_h + 1))
        with m.If(layer_start):
            m.d.sync += [p_ox.eq(0), p_oy.eq(0)]
        with m.Elif(ser_vec_end):
            with m.If(p_ox == d["out_w"] - 1):
                m.d.sync += [p_ox.eq(0), p_oy.eq(p_oy + 1)]
            with m.Else():
                m.d.sync += p_ox.eq(p_ox + 1)
        opix = Mux(d["pool"], (p_oy >> 1) * d["pool_w"] + (p_ox >> 1), post_vec)
        pool_first = ~p_oy[0] & ~p_ox[0]
        pool_ok = (p_oy < (d["pool_h"] << 1)) & (p_ox < (d["pool_w"] << 1))
        t_idx = Cat(ser_u[:l2p], ser_b)       # beat * 2p + lane (lk bits)
        # post stage 1: value 0 = real part (block 2s), value 1 = imaginary part (block 2s+1);
        # the vector's position travels with the values
        p1 = Signal(data.StructLayout({"valid": 1, "opix": range(A + 1), "first": 1, "ok": 1}))
        p1y = [Signal(signed(W), name=f"p1_y{i}") for i in range(2)]
        p1o = [Signal(lk + 1 + len(post_s), name=f"p1_o{i}") for i in range(2)]
        m.d.sync += [p1.valid.eq(ser_valid & ~layer_start), p1.opix.eq(opix),
                     p1.first.eq(pool_first), p1.ok.eq(pool_ok),
                     p1y[0].eq(select([ser[l].re for l in range(lanes2p)], ser_u)),
                     p1y[1].eq(select([ser[l].im for l in range(lanes2p)], ser_u)),
                     p1o[0].eq(Cat(t_idx, Const(0, 1), post_s)),
                     p1o[1].eq(Cat(t_idx, Const(1, 1), post_s))]
        load_idx = Signal(range(max(plan.in_size, 1) + 1))
        p2_valid, p2_clip, wr = [], [], []
        for i in range(2):
            p1_in = p1.valid & (p1o[i] < d["m"])
            p1_addr = Signal(range(A), name=f"p1_addr{i}")
            m.d.comb += [p1_addr.eq(p1o[i] * d["out_stride"] + p1.opix),
                         post_raddr[i].eq(p1_addr), bias_rps[i].addr.eq(d["bbase"] + p1o[i])]
            # post stage 2
            p2 = Signal(data.StructLayout({"valid": 1, "write": 1, "first": 1, "y": signed(W),
                                           "addr": len(p1_addr)}), name=f"p2_{i}")
            m.d.sync += [p2.valid.eq(p1_in), p2.write.eq(p1_in & (p1.ok | ~d["pool"])),
                         p2.first.eq(p1.first), p2.y.eq(p1y[i]), p2.addr.eq(p1_addr)]
            z = p2.y + bias_rps[i].data
            z_act = Mux(d["relu"] & z[-1], 0, z)
            a_out, a_clip = saturate(round_shift_var(z_act, d["out_shift"]), W)
            old = Mux(src, acts[0][1][i].data, acts[1][1][i].data)  # the destination buffer
            a_new = Mux(d["pool"] & ~p2.first & (old > a_out), old, a_out)
            p2_valid.append(p2.valid)
            p2_clip.append(p2.valid & a_clip)
            wr.append((p2, a_new))
        for b in range(2):
            wps = acts[b][0]
            for i in range(2):
                p2, a_new = wr[i]
                with m.If(self.phase == PHASES["load"]):
                    if b == 0 and i == 0:
                        m.d.comb += [wps[0].addr.eq(load_idx), wps[0].data.eq(self.i.payload.data),
                                     wps[0].en.eq(self.i.valid)]
                with m.Else():
                    m.d.comb += [wps[i].addr.eq(p2.addr), wps[i].data.eq(a_new),
                                 wps[i].en.eq(p2.write & (src != b))]
        post_done = (post_vec == nvec) & ~ser_valid & ~p1.valid & ~p2_valid[0] & ~p2_valid[1] \
            & ~ififo.r_rdy

        # ---------------- MAC lanes: vector b_vec ---------------------------------------------
        mg = Signal(range(max(lp.groups for lp in plan.layers) + 1))
        ybits = _bits(YS * yd - 1)
        m.submodules.mac = mac = MACLanes(plan, tag_width=ybits + len(mg))
        mm = Signal(range(bins))
        mj = Signal(range(plan.q_max))
        wa = Signal(range(plan.bank_depth + 1))
        b_vec = Signal(vbits)
        b_run = Signal()           # issuing the terms of vector b_vec
        bz, by = b_vec % ZS, b_vec % YS
        b_start = running & ~b_run & (b_vec < nvec) & z_full.bit_select(bz, 1) & \
            y_free.bit_select(by, 1)
        b_end = b_run & (mj == d["q"] - 1) & (mm == bins - 1) & (mg == d["groups"] - 1)
        with m.If(layer_start):
            m.d.sync += [b_vec.eq(0), b_run.eq(0)]
        with m.Elif(b_start):
            m.d.sync += [b_run.eq(1), mg.eq(0), mm.eq(0), mj.eq(0), wa.eq(d["wbase"])]
        with m.Elif(b_run):
            m.d.sync += [mj.eq(mj + 1), wa.eq(wa + 1)]
            with m.If(mj == d["q"] - 1):
                m.d.sync += [mj.eq(0), mm.eq(mm + 1)]
                with m.If(mm == bins - 1):
                    m.d.sync += [mm.eq(0), mg.eq(mg + 1)]
            with m.If(b_end):
                m.d.sync += [b_run.eq(0), b_vec.eq(b_vec + 1)]
        # a vector's Y slot is full once its last spectrum is written: its end, delayed
        # through the lanes' pipeline (the next vector's terms follow right behind)
        y_done = [Signal(1 + len(by), name=f"y_done{i}") for i in range(MACLanes.delay + 2)]
        m.d.sync += [y_done[0].eq(Cat(b_end, by))] + [
            y_done[i].eq(y_done[i - 1]) for i in range(1, len(y_done))]
        b_finish = y_done[-1][0]
        b_finish_slot = y_done[-1][1:]
        rz = mj >> 1
        mn = (k - mm) & (k - 1)
        m.d.comb += [z_ra.addr.eq(bz * zd + rz * beats + (mm >> l2p)),
                     z_rb.addr.eq(bz * zd + rz * beats + (mn >> l2p))]
        for lane in range(P):
            m.d.comb += wbanks[lane][1].addr.eq(wa)
        s1 = Signal(data.StructLayout({"valid": 1, "first": 1, "last": 1, "odd": 1,
                                       "lm": max(1, l2p), "ln": max(1, l2p),
                                       "tag": ybits + len(mg)}))
        m.d.sync += [s1.valid.eq(b_run), s1.first.eq(mj == 0), s1.last.eq(mj == d["q"] - 1),
                     s1.odd.eq(mj[0]), s1.lm.eq(mm), s1.ln.eq(mn),
                     s1.tag.eq(Cat((by * yd + mg * bins + mm)[:ybits], mg))]
        zwa = data.View(data.ArrayLayout(cw, lanes2p), z_ra.data)
        zwb = data.View(data.ArrayLayout(cw, lanes2p), z_rb.data)
        lm = s1.lm[:l2p]
        ln = s1.ln[:l2p]
        m.d.comb += [
            mac.valid.eq(s1.valid), mac.first.eq(s1.first), mac.last.eq(s1.last),
            mac.odd.eq(s1.odd), mac.tag.eq(s1.tag), mac.acc_shift.eq(d["acc_shift"]),
            mac.zm.eq(select([zwa[l].as_value() for l in range(lanes2p)], lm)),
            mac.zn.eq(select([zwb[l].as_value() for l in range(lanes2p)], ln)),
        ]
        for lane in range(P):
            m.d.comb += mac.w[lane].as_value().eq(wbanks[lane][1].data)
            yp = ybanks[lane][0]
            m.d.comb += [yp.addr.eq(mac.y_tag[:ybits]), yp.data.eq(mac.y[lane].as_value()),
                         yp.en.eq(mac.y_valid)]

        # ---------------- half ownership updates ---------------------------------------------
        with m.If(layer_start):
            m.d.sync += [z_free.eq((1 << ZS) - 1), z_full.eq(0), y_free.eq((1 << YS) - 1),
                         y_full.eq(0)]
        with m.Else():
            for h in range(ZS):
                with m.If(a_claim & (a_vec % ZS == h)):
                    m.d.sync += z_free[h].eq(0)
                with m.If(z_done & (zw_vec % ZS == h)):
                    m.d.sync += z_full[h].eq(1)
                with m.If(b_start & (bz == h)):
                    m.d.sync += z_full[h].eq(0)
                with m.If(b_end & (bz == h)):      # its last Z words are read in this cycle
                    m.d.sync += z_free[h].eq(1)
            for h in range(YS):
                with m.If(b_start & (by == h)):
                    m.d.sync += y_free[h].eq(0)
                with m.If(b_finish & (b_finish_slot == h)):
                    m.d.sync += y_full[h].eq(1)
                with m.If(c_claim & (c_vec % YS == h)):
                    m.d.sync += y_full[h].eq(0)
                with m.If(c_release & (rh == h)):
                    m.d.sync += y_free[h].eq(1)

        # ---------------- saturation counter -------------------------------------------------
        sat_now = Signal(range(P + 3))
        tag_group = mac.y_tag[ybits:]
        live = [tag_group * P + lane < d["pb"] for lane in range(P)]
        m.d.comb += sat_now.eq(sum((mac.clipped[l] & live[l] for l in range(P)), Const(0, 1))
                               + p2_clip[0] + p2_clip[1])
        sat_total = self.saturations
        m.d.sync += sat_total.eq(Mux(sat_total + sat_now > (1 << COUNTER_WIDTH) - 1,
                                     (1 << COUNTER_WIDTH) - 1, sat_total + sat_now))

        # ---------------- FSM ----------------------------------------------------------------
        ua_done = Signal()
        m.d.comb += self.busy.eq(1)
        with m.FSM(init="LOAD"):
            with m.State("LOAD"):
                m.d.comb += [self.busy.eq(0), self.phase.eq(PHASES["load"])]
                with m.If(self.i.valid & self.i.ready):
                    m.d.sync += load_idx.eq(load_idx + 1)
                    with m.If(load_idx == plan.in_size - 1):
                        m.d.sync += [load_idx.eq(0), layer.eq(0), src.eq(0)]
                        m.next = "SETUP"
            with m.State("SETUP"):
                m.d.comb += self.phase.eq(PHASES["setup"])
                with m.Switch(layer):
                    for li, lp in enumerate(plan.layers):
                        with m.Case(li):
                            m.d.sync += [d[name].eq(getattr(lp, name)) for name in d]
                m.next = "START"
            with m.State("START"):
                m.d.comb += [self.phase.eq(PHASES["setup"]), layer_start.eq(1)]
                m.next = "RUN"
            with m.State("RUN"):
                m.d.comb += [self.phase.eq(PHASES["run"]), running.eq(1)]
                with m.If(post_done):
                    m.d.sync += [layer.eq(layer + 1), src.eq(~src)]
                    with m.If(layer == L - 1):
                        m.d.sync += [ua.eq(0), ua_done.eq(0)]
                        m.next = "UNLOAD"
                    with m.Else():
                        m.next = "SETUP"
            with m.State("UNLOAD"):
                m.d.comb += self.phase.eq(PHASES["unload"])
                with m.If(ua_done):
                    m.next = "LOAD"

        # ---------------- input loading and weight writes ------------------------------------
        in_load = self.phase == PHASES["load"]
        m.d.comb += [self.i.ready.eq(in_load), self.w.ready.eq(in_load)]
        for lane in range(P):
            wp = wbanks[lane][0]
            m.d.comb += [wp.addr.eq(self.w.payload.addr), wp.data.eq(self.w.payload.data),
                         wp.en.eq(self.w.valid & self.w.ready & (self.w.payload.lane == lane))]

        # ---------------- unload -------------------------------------------------------------
        m.submodules.ofifo = ofifo = fifo.SyncFIFOBuffered(width=W + 1, depth=8)
        u_issue = Signal()
        u_v1, u_last1 = Signal(), Signal()
        with m.If((self.phase == PHASES["unload"]) & ~ua_done & (ofifo.w_level <= 4)):
            m.d.comb += u_issue.eq(1)
            m.d.sync += ua.eq(ua + 1)
            with m.If(ua == plan.out_size - 1):
                m.d.sync += ua_done.eq(1)
        m.d.sync += [u_v1.eq(u_issue), u_last1.eq(ua == plan.out_size - 1)]
        dst_d1 = Mux(src, acts[1][1][3].data, acts[0][1][3].data)
        m.d.comb += [ofifo.w_en.eq(u_v1), ofifo.w_data.eq(Cat(dst_d1, u_last1)),
                     self.o.valid.eq(ofifo.r_rdy), self.o.payload.eq(ofifo.r_data),
                     ofifo.r_en.eq(self.o.ready)]
        return m
