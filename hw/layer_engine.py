"""The CirCNN layer engine: its units around the FFT engine; runs a whole quantized network from an
input stream to an output stream."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.engine_plan import EnginePlan

from .counters import add_saturating
from .engine_activations import ActivationBuffers
from .engine_beats import BeatPacker, Serializer
from .engine_mac_scheduler import MACScheduler, weight_payload
from .engine_post import PostProcessor
from .engine_reader import FrameReader
from .engine_sequencer import Phase, Sequencer
from .engine_slots import SlotTracker
from .engine_spectra import YBanks, ZBuffer
from .fft_engine import FFTEngine
from .skid_buffer import SkidBuffer

__all__ = ["LayerEngine", "weights_in_bitstream", "lean_buffers",
           "value_payload", "weight_payload", "PHASES", "TECHS"]

#: Values of the ``phase`` output.
PHASES = {p.name.lower(): int(p) for p in Phase}
COUNTER_WIDTH = 32
#: Output (inverse) frames buffered between the FFT engine and the post-processing.
INVERSE_FIFO_FRAMES = 4
TECHS = ("generic", "ecp5", "ice40")


def lean_buffers(tech: str) -> bool:
    """Whether the engine built for ``tech`` has no FIFO around its FFT engine
    (:attr:`LayerEngine.lean_buffers`)."""
    return tech == "ice40"


def weights_in_bitstream(tech: str) -> bool:
    """The weight banks start with the model's weights on ``tech`` (not on iCE40, whose SPRAM
    has no initial contents: the weights are written through ``w`` first)."""
    return tech != "ice40"


def value_payload(width: int) -> data.StructLayout:
    """One activation per beat; ``last`` marks the end of a sample (checked on ``o`` only)."""
    return data.StructLayout({"data": signed(width), "last": 1})


class LayerEngine(wiring.Component):
    """Runs every layer of a quantized block-circulant network (golden.engine_fixed, bit exact).

    Overview
    --------
    ::

        i -> activation buffers (ping-pong, block-interleaved banks) ----------------> o
                 | frame reader (im2col, patch table)         ^ post-processor (bias, ReLU,
                 v  pairs -> beat packer                      |   requantization, pooling)
              FFT engine (forward | inverse, per frame)      serializer <- inverse beats
                 v forward beats                              ^ output frames (Hermitian)
               Z buffer --(Z[m], Z[k-m])--> MAC scheduler + lanes --> Y banks -> frame reader

    Per layer (descriptor table row, ``golden.engine_plan.LayerPlan``, by the sequencer) the
    vectors (fc: one; conv: one per output pixel) flow through three processes that run at the
    same time on consecutive vectors: the input side (the reader's input frames into the FFT
    engine, spectra into a free Z slot), the MAC scheduler (``groups`` passes of ``lanes``
    output blocks over ``k/2 + 1`` bins and ``q`` input blocks, from a full Z slot into a free Y
    slot) and the output side (the reader's output frames through the engine, then the
    post-processor into the other activation buffer).  Slots are handed over by two
    :class:`hw.engine_slots.SlotTracker`.  After the last layer the result is streamed out;
    then the engine takes the next input.

    Every memory has one write and one read port (banked and copied:
    ``golden.engine_plan``), so each maps to a block RAM; ``tech="ecp5"`` builds them, the FFT
    engine's and the MAC lanes' multipliers on DP16KD and MULT18X18D with their registers.
    ``tech="ice40"``: products split for the 16 x 16 SB_MAC16, and weight banks without initial
    contents and with one address (SPRAM): the weights are then written through ``w`` before the
    first sample (``weights_built_in`` is False).

    Latency and resources
    ---------------------
    Per layer about the first vector's latency plus one vector per interval of the busiest of
    the reader, the MAC lanes, the post-processing and the FFT engine's input
    (``golden.engine_cycles``; measured in docs/benchmarks.md).
    ``fft.multipliers + lanes`` complex multipliers.  Memories: ``plan.memories``.

    Interfaces
    ----------
    i : In(stream of value_payload)  ``in_size`` quantized inputs per sample, C order
    o : Out(stream of value_payload) ``out_size`` outputs per sample, ``last`` on the final one
    w : In(stream of weight_payload) weight writes, accepted only between samples (``busy`` low)
    busy, layer, phase : status (``PHASES``)
    saturations : spectrum and output requantization saturations (golden ``spectrum + output``)
    fft_saturations : the FFT engine's counter (golden ``fft + ifft``)
    """

    def __init__(self, plan: EnginePlan, tech: str = "generic"):
        if not isinstance(plan, EnginePlan):
            raise TypeError(f"plan must be an EnginePlan, not {plan!r}")
        if tech not in TECHS:
            raise TypeError(f"tech must be one of {', '.join(TECHS)}, not {tech!r}")
        if tech == "ecp5" and plan.fft.pipeline != 2:
            raise TypeError("tech 'ecp5' needs the FFT engine's pipeline 2 (plan_engine(..., "
                            "pipeline=2))")
        self._plan, self._tech = plan, tech
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

    @property
    def tech(self) -> str:
        return self._tech

    @property
    def lean_buffers(self) -> bool:
        """No FIFO before or after the FFT engine (its own input and output buffers and frame
        credits instead): the iCE40 build, where each such FIFO costs 5 of the 30 EBR."""
        return lean_buffers(self._tech)

    @property
    def weights_built_in(self) -> bool:
        """The weight banks start with the model's weights (else: load them through ``w``)."""
        return weights_in_bitstream(self._tech)

    def elaborate(self, platform):
        m = Module()
        plan, tech = self._plan, self._tech
        W, k = plan.width, plan.k
        fp = plan.fft
        max_frames = max(max(lp.frames_in, lp.frames_out) for lp in plan.layers)

        m.submodules.seq = seq = Sequencer(plan)
        m.submodules.fft = fft = FFTEngine(fp, tech)
        m.submodules.acts = acts = ActivationBuffers(plan, tech)
        m.submodules.reader = reader = FrameReader(plan, tech)
        lean = self.lean_buffers
        m.submodules.packer = packer = BeatPacker(fp, W, room=reader.delay + 1,
                                                  credits=lean, registered=bool(fp.pipeline))
        m.submodules.serializer = ser = Serializer(fp, W, 0 if lean else INVERSE_FIFO_FRAMES,
                                                   max_frames, registered_ready=bool(fp.pipeline))
        m.submodules.mac = mac = MACScheduler(plan, tech)
        m.submodules.post = post = PostProcessor(plan, tech)
        m.submodules.z_slots = zt = SlotTracker(plan.z_slots)
        m.submodules.y_slots = yt = SlotTracker(plan.y_slots)
        stuffs = tuple(lp.stuff for lp in plan.layers)
        m.submodules.zbuf = zbuf = ZBuffer(2 * W, plan.z_slots * plan.zbuf_depth * fp.lanes, k,
                                           fp.lanes, tech, stuffs)
        if any(stuffs):
            m.d.comb += zbuf.stuff.eq(seq.desc.stuff)
        m.submodules.ybanks = ybanks = YBanks(2 * W, plan.y_slots * plan.ybuf_depth, k,
                                              plan.lanes, tech)
        m.d.comb += [self.fft_saturations.eq(fft.saturations), self.busy.eq(seq.busy),
                     self.layer.eq(seq.layer), self.phase.eq(seq.phase)]
        start = seq.layer_start
        for unit in (reader, mac, post):
            m.d.comb += [unit.desc.eq(seq.desc), unit.layer_start.eq(start)]
        m.d.comb += [reader.running.eq(seq.running), mac.running.eq(seq.running),
                     zt.clear.eq(start), yt.clear.eq(start), ser.clear.eq(start),
                     ser.frames_out.eq(seq.desc.frames_out), acts.src.eq(seq.src)]

        # ---- slots: Z (reader claims, FFT output fills, MAC takes and releases), Y (MAC claims
        # and fills, reader takes and releases) -----------------------------------------------
        # (pipelined: the reader's events a cycle late, so that its frame arbitration and the
        # trackers' flag updates are on two paths; safe because the reader's next event is on
        # another slot, at least a frame later, and its own flags are masked by its counters
        # meanwhile, while for the MAC lanes a slot becomes free or full a cycle later.  The
        # MAC lanes' release, take and claim a cycle late too, so that their end and start of a
        # vector and the trackers' flags are on two paths: a released slot is free later, and
        # only the MAC lanes read the flags they take and claim, and only while no vector runs,
        # which lasts at least 3 cycles)
        events = [(zt.claim, zt.claim_slot, reader.z_claim, reader.z_claim_slot),
                  (yt.take, yt.take_slot, reader.y_take, reader.y_take_slot),
                  (yt.release, yt.release_slot, reader.y_release, reader.y_release_slot),
                  (zt.release, zt.release_slot, mac.z_release, mac.z_release_slot),
                  (zt.take, zt.take_slot, mac.z_take, mac.z_take_slot),
                  (yt.claim, yt.claim_slot, mac.y_claim, mac.y_claim_slot)]
        for event, slot, src, src_slot in events:
            if fp.pipeline:
                m.d.sync += [event.eq(src & ~start), slot.eq(src_slot)]
            else:
                m.d.comb += [event.eq(src), slot.eq(src_slot)]
        m.d.comb += [yt.fill.eq(mac.y_fill), yt.fill_slot.eq(mac.y_fill_slot),
                     reader.z_free.eq(zt.free), reader.y_full.eq(yt.full),
                     mac.z_full.eq(zt.full), mac.y_free.eq(yt.free)]

        # ---- reader -> packer -> FFT engine ---------------------------------------------------
        m.d.comb += [reader.issue_ok.eq(packer.issue_ok), reader.frame_ok.eq(packer.frame_ok),
                     packer.frame_start.eq(reader.frame_start),
                     *([] if plan.has_dense else [packer.freed.eq(fft.freed)]),
                     packer.pair_valid.eq(reader.pair_valid), packer.pair.eq(reader.pair),
                     acts.lane.eq(reader.act), reader.act_data.eq(acts.lane_data),
                     ybanks.r_addr.eq(reader.y_addr), reader.y_data.eq(ybanks.r_data)]
        bypass_ready = Signal()     # a dense layer's beats taken past the FFT engine
        if plan.has_dense:
            dense = seq.desc.dense
            m.d.comb += [fft.i.payload.eq(packer.o.payload),
                         fft.i.valid.eq(packer.o.valid & ~dense),
                         packer.o.ready.eq(Mux(dense, bypass_ready, fft.i.ready)),
                         packer.freed.eq(fft.freed | (dense & packer.o.valid & bypass_ready
                                                      & packer.o.payload.last))]
        else:
            wiring.connect(m, packer.o, fft.i)
        if fp.max_stuffing:     # a layer of a smaller block size: zero-stuffed frames
            m.d.comb += packer.stuffing.eq(seq.desc.stuff)

        # ---- FFT output: forward beats into the Z buffer, inverse beats to the serializer ------
        # (pipelined: through a skid buffer, so that the serializer's FIFO level does not reach
        # the FFT output buffer's block-RAM enables in the same cycle)
        fo = fft.o
        if fp.pipeline:
            m.submodules.fft_out = skid = SkidBuffer(fft.o.signature.members["payload"].shape)
            wiring.connect(m, fft.o, skid.i)
            fo = skid.o
        if plan.has_dense:
            fo = self._bypass(m, seq.desc.dense, fo, packer.o, bypass_ready)
        self._forward_beats(m, seq, fo, zbuf, zt)
        m.d.comb += [ser.i.valid.eq(fo.valid & fo.payload.inverse),
                     ser.i.payload.data.eq(fo.payload.data),
                     ser.i.payload.last.eq(fo.payload.last)]
        with m.If(fo.payload.inverse):
            m.d.comb += fo.ready.eq(ser.i.ready)

        # ---- MAC scheduler: Z reads, Y writes, weight writes -----------------------------------
        m.d.comb += [zbuf.r_addr.eq(mac.z_addr), mac.z_data.eq(zbuf.r_data),
                     ybanks.w_en.eq(mac.y_en), ybanks.w_addr.eq(mac.y_addr),
                     ybanks.w_data.eq(mac.y_data),
                     mac.w_enable.eq(seq.loading)]
        wiring.connect(m, wiring.flipped(self.w), mac.w)

        # ---- serializer -> post-processor -> activation buffers ---------------------------------
        m.d.comb += [post.valid.eq(ser.valid), post.i.eq(ser.o),
                     acts.post_en.eq(post.write_en), acts.post_addr.eq(post.write_addr),
                     acts.post_data.eq(post.write_data), acts.rmw_addr.eq(post.rmw_addr),
                     post.rmw_data.eq(acts.rmw_data), acts.rmw_fwd_en.eq(post.rmw_fwd_en),
                     acts.rmw_fwd_data.eq(post.rmw_fwd_data)]
        # (pipelined: registered, the sequencer sees the end a cycle later, so that the units'
        # counters and idle flags and the state register's next state are on two paths; the
        # value is stale for one cycle after the state moves on, while the next layer is still
        # being set up)
        done = seq.running & (post.vectors_done == seq.desc.vectors) & post.idle & ~ser.busy
        if plan.fft.pipeline:
            m.d.sync += seq.layer_done.eq(done)
        else:
            m.d.comb += seq.layer_done.eq(done)
        # the clip flags registered: the counter's adder is off the requantizers' paths
        total = mac.clipped + post.clipped
        clipped = Signal.like(total, name="clipped")
        m.d.sync += clipped.eq(total)
        add_saturating(m, self.saturations, clipped)

        # ---- loading and unloading ------------------------------------------------------------
        self._load(m, seq, acts)
        self._unload(m, seq, acts)
        return m

    @staticmethod
    def _bypass(m, dense, fo, beats, ready):
        """The FFT engine's output, or while a dense layer runs the packer's ``beats`` (its
        pairs of real inputs, of outputs), whose ``ready`` this drives: one stream for the Z
        buffer and the serializer."""
        merged = stream.Signature(fo.signature.members["payload"].shape).create(
            path=("fft_or_bypass",))
        m.d.comb += [merged.valid.eq(Mux(dense, beats.valid, fo.valid)),
                     merged.payload.data.eq(Mux(dense, beats.payload.data.as_value(),
                                                fo.payload.data.as_value())),
                     merged.payload.inverse.eq(Mux(dense, beats.payload.inverse,
                                                   fo.payload.inverse)),
                     merged.payload.last.eq(Mux(dense, beats.payload.last, fo.payload.last)),
                     fo.ready.eq(merged.ready & ~dense), ready.eq(merged.ready & dense)]
        return merged

    def _forward_beats(self, m, seq, fo, zbuf, zt):
        """Forward beats into the Z slot of their vector; the slot is full after its last."""
        plan = self._plan
        beats, zd = plan.fft.beats, plan.zbuf_depth
        vbits = range(max(lp.vectors for lp in plan.layers) + 1)
        max_frames = max(lp.frames_in for lp in plan.layers)
        vec, r, b = Signal(vbits), Signal(range(max_frames + 1)), Signal(range(beats))
        done = Signal()
        fb = (zd // beats).bit_length() - 1
        m.d.comb += [zbuf.w_addr.eq(Cat(b, r[:fb], vec % plan.z_slots) if fb
                                    else Cat(b, vec % plan.z_slots)),
                     zbuf.w_data.eq(fo.payload.data)]
        # (pipelined: the slot is marked full a cycle after its last beat, so that the beat's
        # handshake and the tracker's flags are on two paths; the MAC lanes start a cycle later)
        fill = [zt.fill.eq(done), zt.fill_slot.eq(vec % plan.z_slots)]
        if plan.fft.pipeline:
            m.d.sync += fill
        else:
            m.d.comb += fill
        with m.If(seq.layer_start):
            m.d.sync += [vec.eq(0), r.eq(0), b.eq(0)]
        with m.Elif(~fo.payload.inverse):
            m.d.comb += fo.ready.eq(1)
            with m.If(fo.valid):
                m.d.comb += zbuf.w_en.eq(1)
                m.d.sync += b.eq(b + 1)
                with m.If(fo.payload.last):
                    m.d.sync += [b.eq(0), r.eq(r + 1)]
                    with m.If(r == seq.desc.frames_in_last):
                        m.d.sync += [r.eq(0), vec.eq(vec + 1)]
                        m.d.comb += done.eq(1)

    def _walk(self, m, name, geometry, k):
        """Counters over a tensor of ``geometry = (channels, pixels)`` in C order, with the
        bank and address of the element they point at (block-interleaved in blocks of ``k``),
        and the last.  The address is a running sum (``local(c) * pixels`` kept in a
        register), no multiplier."""
        plan = self._plan
        lk = k.bit_length() - 1
        channels, pixels = geometry
        c = Signal(range(channels + 1), name=f"{name}_channel")
        pix = Signal(range(pixels + 1), name=f"{name}_pixel")
        base = Signal(range(plan.act_bank_depth + k * pixels), name=f"{name}_base")
        addr = Signal(range(plan.act_bank_depth), name=f"{name}_addr")
        m.d.comb += addr.eq(base + pix)
        bank = c[lk] if len(c) > lk else 0
        last = (c == channels - 1) & (pix == pixels - 1)

        def advance():
            with m.If(pix == pixels - 1):
                m.d.sync += pix.eq(0)
                with m.If(c == channels - 1):
                    m.d.sync += [c.eq(0), base.eq(0)]
                with m.Else():
                    m.d.sync += c.eq(c + 1)
                    # into bank 1: back to the start of this pair of blocks; else the next one
                    into_bank1 = ((c + 1) & (2 * k - 1)) == k
                    m.d.sync += base.eq(Mux(into_bank1, base - (k - 1) * pixels,
                                            base + pixels))
            with m.Else():
                m.d.sync += pix.eq(pix + 1)

        return bank, addr, last, advance

    def _load(self, m, seq, acts):
        """Inputs into buffer 0 while LOAD; weight writes are accepted then too."""
        # (in the first layer's blocks)
        bank, addr, last, advance = self._walk(m, "load", self._plan.in_geometry,
                                               self._plan.layers[0].k)
        loading = seq.loading
        accept = self.i.valid & self.i.ready
        write = [acts.load_en.eq(accept), acts.load_bank.eq(bank), acts.load_addr.eq(addr),
                 acts.load_data.eq(self.i.payload.data)]
        if self._plan.fft.pipeline:
            # the write registered (the phase decode into every activation memory's write-data
            # multiplexer was an ECP5 critical path: the word lands a cycle later, before the
            # first layer's first read), and the sample's end (off the sequencer's next-state
            # path; nothing is accepted in the cycle it takes)
            done = Signal(name="load_done_r")
            m.d.sync += write + [done.eq(accept & last)]
            m.d.comb += [self.i.ready.eq(loading & ~done), seq.load_done.eq(done)]
        else:
            m.d.comb += write + [self.i.ready.eq(loading), seq.load_done.eq(accept & last)]
        with m.If(accept):
            advance()

    def _unload(self, m, seq, acts):
        """The last layer's output from its buffer into the output FIFO, in C order."""
        # (in the last layer's blocks)
        bank, addr, last, advance = self._walk(m, "unload", self._plan.out_geometry,
                                               self._plan.layers[-1].k)
        # room above the threshold for the requests in flight (the request register when
        # pipelined, the read cycles, the level's delay)
        reg = 1 if self._plan.fft.pipeline else 0
        lat = acts.delay
        depth = 2 + lat + reg if self.lean_buffers else 8
        m.submodules.ofifo = of = fifo.SyncFIFOBuffered(width=self._plan.width + 1, depth=depth)
        done = Signal()
        issue = Signal()
        with m.If(seq.phase == Phase.UNLOAD):
            with m.If(~done & (of.w_level <= depth - 2 - lat - reg)):
                m.d.comb += issue.eq(1)
                advance()
                with m.If(last):
                    m.d.sync += done.eq(1)
        with m.Else():
            m.d.sync += done.eq(0)
        # the request registered (off the FIFO level's path), the word the read delay after it,
        # with its 'last' flag
        r_en, r_bank, r_addr = issue, bank, addr
        if reg:
            r_en, r_bank, r_addr = Signal(), Signal.like(bank, name="unload_bank_r"), \
                Signal.like(addr, name="unload_addr_r")
            m.d.sync += [r_en.eq(issue), r_bank.eq(bank), r_addr.eq(addr)]
        m.d.comb += [acts.unload_en.eq(r_en), acts.unload_bank.eq(r_bank),
                     acts.unload_addr.eq(r_addr)]
        l_req = issue & last
        if reg:
            l_req = Signal()
            m.d.sync += l_req.eq(issue & last)
        # the word's valid and last flags, the activation buffers' read delay behind the request
        vs, ls = [r_en], [l_req]
        for i in range(lat):
            v, last_i = Signal(name=f"unload_v{i + 1}"), Signal(name=f"unload_last{i + 1}")
            m.d.sync += [v.eq(vs[-1]), last_i.eq(ls[-1])]
            vs.append(v)
            ls.append(last_i)
        m.d.comb += [of.w_en.eq(vs[-1]), of.w_data.eq(Cat(acts.unload_data, ls[-1])),
                     self.o.valid.eq(of.r_rdy), self.o.payload.eq(of.r_data),
                     of.r_en.eq(self.o.ready),
                     seq.unload_done.eq(done & ~Cat(*vs[1:]).any() & (seq.phase == Phase.UNLOAD)
                                        & (~r_en if reg else 1))]
