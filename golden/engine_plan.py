"""How a quantized network is laid out in the layer engine: descriptors, memory images, sizes.

Pure Python and NumPy, shared by the gateware (``hw/layer_engine.py``: memory initial contents,
descriptor table, widths), the simulation glue and the CLI (manifest, cycle estimates).

Every memory has one write port and one read port (what an FPGA block RAM offers: ECP5 DP16KD,
iCE40 EBR); where the engine reads more per cycle, the memory is banked or replicated:

* **Activation tensors** (the network's input, every layer's output) live in two ping-pong
  buffers.  A tensor of ``C`` channels of ``S`` pixels (a vector: ``C`` features, ``S = 1``) is
  *block-interleaved*: element ``(c, pix)`` is in bank ``(c >> log2 k) & 1`` (the parity of its
  block of ``k`` channels) at ``local(c) * S + pix``, ``local(c)`` being ``c`` without that bit
  (``k``: the block size of the layer that writes the tensor; the input's: the first layer's).
  A layer's two outputs per clock are blocks ``2s`` and ``2s + 1`` of one IFFT frame: the same
  local address in the two banks.  Each bank is ``act_replicas`` copies written together, so
  that an FC layer reading a vector (``gather = 0``) reads samples ``t`` and ``t + 1`` of blocks
  ``2r`` and ``2r + 1`` in one cycle (bank = block parity, copy = sample).  A conv layer, or an FC
  layer reading a conv output, reads through the **patch table** (``gather = 1``): column ``e``
  gives ``(offset, bank, ky, kx)``, one copy per block parity, a sample per cycle.
* **Patch table**, four banks: column ``e = (2r + par) k + 2 rt + j`` is in bank ``2j + par``
  (the four columns of a pair of samples), at ``Cat(rt, r)``.
* **Bias**, two banks by block parity of the output feature (the two outputs of a clock).
* **Weight banks**: one per MAC lane ``l``.  Output block ``i = g*lanes + l`` lives in bank ``l``;
  per layer the words run ``for g: for m in 0 .. k/2: for j in 0 .. q-1``, so the MAC reads each
  bank at consecutive addresses.  A word is one complex weight, ``re`` in the low ``width`` bits.
  Blocks beyond the layer's ``P`` are zero.
* **Z buffer** (input spectra, ``z_slots`` vectors), two copies (``Z[m]`` and ``Z[k - m]``).
* **Y banks** (output spectra, ``y_slots`` vectors), per lane, two copies (the two samples of an
  output frame's cycle).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .engine_fixed import QNetwork, accumulator_width, fft_numerics
from .fft_fixed import FFTParams
from .fixedpoint import pack_complex
from .layers import conv_output_size

__all__ = ["EnginePlan", "LayerPlan", "plan_engine", "weight_address", "tensor_geometry",
           "block_interleaved"]


def tensor_geometry(shape) -> tuple[int, int]:
    """``(channels, pixels per channel)`` of a tensor shape: ``(C, H, W)`` or ``(n,)``."""
    shape = tuple(shape)
    return (shape[0], math.prod(shape[1:])) if len(shape) > 1 else (shape[0], 1)


def block_interleaved(c: int, pix: int, pixels: int, k: int) -> tuple[int, int]:
    """``(bank, local address)`` of element ``(c, pix)`` of a tensor with ``pixels`` per channel."""
    lk = k.bit_length() - 1
    local_c = ((c >> (lk + 1)) << lk) | (c & (k - 1))
    return (c >> lk) & 1, local_c * pixels + pix


def _pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def _bank_depth(channels: int, pixels: int, k: int) -> int:
    """Words per bank for a tensor: the even blocks of ``k`` channels, ``pixels`` each."""
    blocks = -(-channels // k)
    return max(1, -(-blocks // 2) * k * pixels)


@dataclass
class LayerPlan:
    """One row of the layer-descriptor table (all integers)."""

    index: int
    conv: int
    gather: int         # the reader goes through the patch table (conv, fc after conv)
    fast: int           # a pair's four reads fit one cycle's ports (see reader_steps)
    relu: int
    pool: int
    n: int              # input features (patch length for conv)
    m: int              # output features (channels for conv)
    q: int              # input blocks
    pb: int             # output blocks
    frames_in: int      # ceil(q/2) complex FFTs per vector
    frames_out: int     # ceil(pb/2) complex IFFTs per vector
    groups: int         # ceil(pb/lanes) MAC passes per vector
    vectors: int        # 1 (fc) or output pixels (conv)
    in_h: int
    in_w: int
    out_h: int
    out_w: int
    stride: int
    pad: int
    pad_w: int          # pad * in_w
    stride_w: int       # stride * in_w
    pool_h: int
    pool_w: int
    out_stride: int     # pixels per output channel (the output tensor's S)
    in_size: int
    out_size: int
    acc_shift: int
    out_shift: int
    wbase: int          # first word of the layer in each weight bank
    bbase: int          # first local word of the layer in each bias bank
    tbase: int          # first entry of the layer in each patch-table bank
    k: int = 0          # the layer's block size (the engine's k unless the plan is mixed)
    stuff: int = 0      # log2(engine k / layer k): the layer's frames are zero-stuffed
    in_layout: int = 0  # the block size the input tensor is laid out in (its producer's k)
    dense: int = 0      # k = 1: real products on the MAC lanes, the FFT bypassed

    @property
    def bins(self) -> int:
        """Frequency bins of the layer's blocks (``k/2 + 1``): the MAC terms per block pair."""
        return self.k // 2 + 1

    @property
    def bins_last(self) -> int:
        return self.k // 2

    @property
    def kmask(self) -> int:
        return self.k - 1


@dataclass
class EnginePlan:
    k: int
    width: int
    lanes: int
    fft: FFTParams
    layers: list
    weight_banks: list          # lanes lists of packed words
    bias_banks: list            # 2 lists of ints (block parity of the output feature)
    table_banks: list           # 4 lists of (offset, bank, ky, kx, zero), bank 2j + par of a column
    act_bank_depth: int         # words per bank of an activation buffer
    q_max: int
    in_geometry: tuple          # (channels, pixels) of the network's input
    out_geometry: tuple         # (channels, pixels) of the last layer's output
    z_slots: int = 4
    y_slots: int = 4
    act_replicas: int = 2

    @property
    def bins(self) -> int:
        """Bins of the engine's block size (the Z and Y words of a frame's half spectrum)."""
        return self.k // 2 + 1

    @property
    def mixed(self) -> bool:
        """Layers of different block sizes: the smaller run zero-stuffed frames through the
        ``k``-point engine (descriptor fields ``stuff``, ``bins_last``, ``kmask``; the patch
        table's entries carry a zero bit)."""
        return any(lp.k != self.k for lp in self.layers)

    @property
    def block_sizes(self) -> list:
        """Each layer's block size."""
        return [lp.k for lp in self.layers]

    @property
    def k_label(self) -> str:
        """``"8"``, or ``"4,8,8 per layer, engine 8"`` when the block sizes differ."""
        if not self.mixed:
            return str(self.k)
        return f"{','.join(str(k) for k in self.block_sizes)} per layer, engine {self.k}"

    @property
    def acc_width(self) -> int:
        return accumulator_width(self.width, self.q_max)

    @property
    def bank_depth(self) -> int:
        return max(1, len(self.weight_banks[0]))

    @property
    def in_size(self) -> int:
        return self.layers[0].in_size

    @property
    def out_size(self) -> int:
        return self.layers[-1].out_size

    @property
    def zbuf_depth(self) -> int:
        """Words of one Z slot: frames (a power of two of them) of ``k/2p`` beats, so that an
        address is ``Cat(beat, frame, slot)`` (no multiplier)."""
        return _pow2(max(l.frames_in for l in self.layers)) * self.fft.beats

    @property
    def ybuf_depth(self) -> int:
        """Words of one Y slot: groups (a power of two of them) of ``k`` words, the ``k/2 + 1``
        bins of a group padded to ``k``: an address is ``Cat(bin, group, slot)``."""
        return _pow2(max(l.groups for l in self.layers)) * self.k

    def weight_records(self) -> tuple[list, list, list]:
        """Every weight word as ``(lanes, addresses, words)``: what writes the weight banks
        through the engine's weight port (a reload, or an engine without built-in weights)."""
        lanes, addrs, words = [], [], []
        for lane, bank in enumerate(self.weight_banks):
            lanes += [lane] * len(bank)
            addrs += range(len(bank))
            words += [int(v) for v in bank]
        return lanes, addrs, words

    @property
    def multipliers(self) -> dict:
        """Complex multipliers instantiated: FFT butterflies and MAC lanes (4 real each)."""
        return {"fft": self.fft.multipliers, "mac": self.lanes,
                "total": self.fft.multipliers + self.lanes}

    def reader_steps(self, lp: LayerPlan) -> int:
        """Cycles the reader spends on a pair of input samples: the activation reads it needs
        (4) over those one cycle allows.  When every column's bank is its block parity (a
        vector; a 1x1 convolution, such as a batch run as pixels) that is a copy per sample and
        a bank per block parity; otherwise (through the patch table, banks arbitrary) a copy per
        block parity."""
        per_cycle = self.act_replicas * (2 if lp.fast else 1)
        return 4 // per_cycle

    @property
    def output_steps(self) -> int:
        """Cycles per pair of output-frame samples: one with two lanes or more (the two blocks
        of a frame in different Y banks), two with one lane."""
        return 1 if self.lanes > 1 else 2

    @property
    def memories(self) -> dict:
        """The engine's memories: ``count`` x ``depth`` words of ``bits``, each with one write
        and one read port (banks and copies counted)."""
        w, r = self.width, self.act_replicas
        tbits = self.table_bits
        if r == 1 and not any(lp.pool for lp in self.layers):   # both buffers in one memory
            acts = {"count": 2, "depth": 2 << (self.act_bank_depth - 1).bit_length(), "bits": w}
        else:
            acts = {"count": 2 * 2 * r, "depth": self.act_bank_depth, "bits": w}
        return {"activation_buffers": acts,
                "weight_banks": {"count": self.lanes, "depth": self.bank_depth, "bits": 2 * w},
                "z_buffer": self._z_memories(),
                "y_banks": {"count": 2 * self.lanes,
                            "depth": self.y_slots * self.ybuf_depth // 2, "bits": 2 * w},
                "bias": {"count": 2, "depth": max(len(b) for b in self.bias_banks), "bits": w},
                "patch_table": {"count": 4, "depth": max(len(t) for t in self.table_banks),
                                "bits": sum(tbits)}}

    def _z_memories(self) -> dict:
        """The Z buffer (hw/engine_spectra.py ZBuffer): two banks of samples with 2 samples a
        beat, else two copies of beat words."""
        samples = self.z_slots * self.zbuf_depth * self.fft.lanes
        if self.fft.lanes == 2:
            return {"count": 2, "depth": samples // 2, "bits": 2 * self.width}
        return {"count": 2, "depth": samples // self.fft.lanes,
                "bits": 2 * self.width * self.fft.lanes}

    @property
    def table_bits(self) -> tuple[int, int]:
        """Bits of a patch-table entry's offset and of each of ``ky``, ``kx``."""
        entries = [e for bank in self.table_banks for e in bank]
        ow = max(1, max(t[0] for t in entries).bit_length())
        kb = max(1, max(max(t[2], t[3]) for t in entries).bit_length())
        return ow, kb

    @property
    def has_dense(self) -> bool:
        """A dense layer (``k = 1``): the FFT engine is bypassed for it."""
        return any(lp.dense for lp in self.layers)

    def layer_work(self, lp: LayerPlan) -> dict:
        """Complex multiplications of one layer (all vectors): butterflies and CMACs (a dense
        layer's real products counted as CMACs: each takes a MAC lane's cycle)."""
        butterflies = 0 if lp.dense else \
            (lp.frames_in + lp.frames_out) * (self.k // 2) * self.fft.stages
        cmacs = lp.pb * lp.q * lp.bins
        return {"butterflies": butterflies * lp.vectors, "cmacs": cmacs * lp.vectors}

    def bound_cycles(self, lp: LayerPlan) -> float:
        """Analytic lower bound: the layer's complex multiplications over the multipliers."""
        w = self.layer_work(lp)
        return (w["butterflies"] + w["cmacs"]) / self.multipliers["total"]


def _split_by_block(values: list, k: int) -> list[list]:
    """``values`` indexed by feature into the two block-interleaved banks (padded with 0)."""
    banks = [[], []]
    for o, v in enumerate(values):
        b, local = block_interleaved(o, 0, 1, k)
        while len(banks[b]) <= local:
            banks[b].append(0)
        banks[b][local] = v
    return banks


def _engine_fft(qnet: QNetwork, p, d, pipeline, k=None) -> FFTParams:
    """The FFT engine of the plan: the largest block size's numerics (or ``k``'s, larger); with
    a run-time length down to the smallest when the block sizes differ.  ValueError for models
    it cannot run."""
    ks = qnet.block_sizes
    blocks = [b for b in ks if b != 1]      # k = 1: a dense layer, the FFT bypassed
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or k < max(ks)
                          or k < 4 or k & (k - 1)):
        raise ValueError(f"the engine's k must be a power of two of at least 4 and of the "
                         f"model's largest block size ({max(ks)}), not {k!r}")
    if (not blocks and k is None) or (blocks and min(blocks) < 4):
        raise ValueError(
            "the layer engine runs block sizes of at least 4 (and dense layers, k = 1, next "
            f"to them); this model has k = {', '.join(str(b) for b in ks)} (per layer), which "
            "the fixed model runs (circnn infer --engine fixed)")
    if len(set(ks)) == 1 and (k is None or k == ks[0]):
        return qnet.fft_params(p=p, d=d, pipeline=pipeline)
    k = max(ks) if k is None else k
    top = (qnet.layer_params(qnet.layers[ks.index(k)]) if k in ks else
           fft_numerics(k, qnet.width, qnet.guard, qnet.twiddle_width))
    for index, layer in enumerate(qnet.layers):
        if layer.k == 1:
            continue
        own = qnet.layer_params(layer).inverse_shifts
        if own != top.inverse_shifts[:len(own)]:
            raise ValueError(
                f"layer {index} (k = {layer.k}): its IFFT shifts {list(own)} are not the first "
                f"{len(own)} of the k = {k} layers' {list(top.inverse_shifts)}, which its "
                "frames follow in the k-point engine; quantize with the default shifts")
    return fft_numerics(k, qnet.width, qnet.guard, qnet.twiddle_width, top.inverse_shifts,
                        p=p, d=d, pipeline=pipeline, min_length=min(blocks + [k]))


def _table_entry(ql, e: int, in_shape, layout: int) -> tuple:
    """``(offset, bank, ky, kx)`` of column ``e`` (a feature of the layer's input vector) in the
    input tensor, laid out in blocks of ``layout``."""
    in_c, in_s = tensor_geometry(in_shape)
    if ql.kind == "conv":
        _, h, wd = in_shape
        c, rest = divmod(e, ql.kernel * ql.kernel)
        ky, kx = divmod(rest, ql.kernel)
        bank, off = block_interleaved(c, ky * wd + kx, h * wd, layout)
        return off, bank, ky, kx
    c, pix = divmod(e, in_s)    # an fc layer on a conv output: feature e = c * S + pix
    bank, off = block_interleaved(c, pix, in_s, layout)
    return off, bank, 0, 0


def _patch_columns(ql, r_frames: int, k: int, stuff: int, in_shape, layout: int, mixed: bool):
    """The patch-table entries of a layer: ``(bank, index, entry)`` per real column (frame
    column ``e = (2r + par) k + 2 rt + j`` in bank ``2j + par`` at index ``Cat(rt, r)``), and
    whether every real column's bank is its block parity (``fast``).  A zero-stuffed frame's
    sample ``t`` is the layer's column ``(2r + par) k_l + t >> stuff`` when ``t mod 2**stuff ==
    0``; the other positions and columns beyond ``n`` are entries with the zero bit (mixed
    plans), else left at their default (the reader's ``e < n`` makes them zero).
    A dense layer's frame ``r`` holds ``2k`` features, sample ``t`` the pair ``2 (r k + t)`` and
    ``2 (r k + t) + 1`` (the FFT bypassed: the pairs go straight to the Z buffer)."""
    out, fast = [], True
    for e in range(2 * r_frames * k):
        r, rest = divmod(e, 2 * k)
        par, t = divmod(rest, k)
        rt, j = divmod(t, 2)
        if ql.k == 1:   # dense: sample t of frame r is the pair of features 2 (r k + t) + par
            col = 2 * (r * k + t) + par
        else:
            col = (2 * r + par) * (k >> stuff) + (t >> stuff)
        if t % (1 << stuff) or col >= ql.in_features:
            if mixed:
                out.append((2 * j + par, r * (k // 2) + rt, (0, par, 0, 0, 1)))
            continue
        off, bank, ky, kx = _table_entry(ql, col, in_shape, layout)
        out.append((2 * j + par, r * (k // 2) + rt, (off, bank, ky, kx, 0)))
        fast &= bank == par
    return out, fast


def plan_engine(qnet: QNetwork, p: int = 1, d: int | None = None, lanes: int = 2,
                pipeline: int = 0, z_slots: int = 4, y_slots: int = 4,
                act_replicas: int = 2, k: int | None = None) -> EnginePlan:
    """Lay ``qnet`` out for an engine with FFT parameters ``p``, ``d``, ``pipeline``, ``lanes``
    MAC lanes, ``z_slots`` and ``y_slots`` vectors of input and output spectra and
    ``act_replicas`` copies of each activation bank.

    The engine's block size ``k`` is the largest of the layers' (or ``k``, larger: the same
    engine for several models); a layer of a smaller ``k_l``
    (at least 4) runs zero-stuffed frames (``stuff = log2(k / k_l)``) through the FFT engine's
    run-time length, its ``k_l/2 + 1`` bins through the MAC lanes.  Each tensor is laid out
    in blocks of its producer's block size (the input: the first layer's).

    Raises ValueError for parameters the engine cannot be built with.
    """
    for name, value, low in (("lanes", lanes, 1), ("z_slots", z_slots, 2),
                             ("y_slots", y_slots, 2)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low \
                or value & (value - 1):
            raise ValueError(f"{name} must be a power of two of at least {low}, not {value!r}")
    if act_replicas not in (1, 2):
        raise ValueError(f"act_replicas must be 1 or 2, not {act_replicas!r}")
    fft = _engine_fft(qnet, p, d, pipeline, k)
    if fft.radix22:
        raise ValueError("the layer engine needs an FFT engine with 2p samples per clock")
    k, w = fft.k, qnet.width
    mixed = any(b != fft.k for b in qnet.block_sizes)
    shapes = qnet.shapes()
    banks = [[] for _ in range(lanes)]
    bias_banks, table_banks, plans = [[], []], [[], [], [], []], []
    depth = 1
    layout = qnet.layers[0].k
    empty = (0, 0, 0, 0, 0)
    for index, ql in enumerate(qnet.layers):
        kl = ql.k
        dense = int(kl == 1)
        stuff = 0 if dense else (k // kl).bit_length() - 1
        pb, q = ql.blocks
        per_frame = 2 * k if dense else 2    # blocks a frame holds
        r_frames, s_frames = -(-q // per_frame), -(-pb // per_frame)
        groups = -(-pb // lanes)
        in_shape, out_shape = shapes[index], shapes[index + 1]
        in_c, in_s = tensor_geometry(in_shape)
        out_c, out_s = tensor_geometry(out_shape)
        depth = max(depth, _bank_depth(in_c, in_s, layout), _bank_depth(out_c, out_s, kl))
        if ql.kind == "conv":
            _, h, wd = in_shape
            ho = conv_output_size(h, ql.kernel, ql.stride, ql.padding)
            wo = conv_output_size(wd, ql.kernel, ql.stride, ql.padding)
            vectors = ho * wo
            ph, pw = (ho // 2, wo // 2) if ql.pool == 2 else (ho, wo)
        else:
            h = wd = ho = wo = ph = pw = 1
            vectors = 1
        # through the patch table: im2col, a conv output, zero-stuffed frames, a vector in
        # another layer's blocks, or a dense layer's pairs
        gather = int(ql.kind == "conv" or in_s > 1 or stuff > 0 or layout != kl or dense)
        fast = True
        tbase = len(table_banks[0])
        if gather:
            for bank in table_banks:
                bank.extend([empty] * (r_frames * k // 2))
            columns, fast = _patch_columns(ql, r_frames, k, stuff, in_shape, layout, mixed)
            for bank, at, entry in columns:
                table_banks[bank][tbase + at] = entry
        wbase = len(banks[0])
        for g in range(groups):
            for lane in range(lanes):
                i = g * lanes + lane
                for m in range(kl // 2 + 1):
                    for j in range(q):
                        if i < pb:
                            banks[lane].append(pack_complex(ql.wq[i, j, m, 0], ql.wq[i, j, m, 1], w))
                        else:
                            banks[lane].append(0)
        bbase = len(bias_banks[0])
        split = _split_by_block([int(b) for b in ql.bias_q], kl)
        span = s_frames * k if dense else -(-pb // 2) * kl
        for b in range(2):
            bias_banks[b].extend(split[b] + [0] * (span - len(split[b])))
        plans.append(LayerPlan(
            index=index, conv=int(ql.kind == "conv"), gather=gather, fast=int(fast),
            relu=int(ql.activation == "relu"), pool=int(ql.pool == 2), n=ql.in_features,
            m=ql.out_features, q=q, pb=pb, frames_in=r_frames, frames_out=s_frames,
            groups=groups, vectors=vectors, in_h=h, in_w=wd, out_h=ho, out_w=wo,
            stride=ql.stride if ql.kind == "conv" else 1,
            pad=ql.padding if ql.kind == "conv" else 0,
            pad_w=(ql.padding if ql.kind == "conv" else 0) * wd,
            stride_w=(ql.stride if ql.kind == "conv" else 1) * wd, pool_h=ph, pool_w=pw,
            out_stride=out_s, in_size=math.prod(in_shape), out_size=math.prod(out_shape),
            acc_shift=ql.acc_shift, out_shift=ql.out_shift, wbase=wbase, bbase=bbase,
            tbase=tbase, k=kl, stuff=stuff, in_layout=layout, dense=dense))
        layout = kl
    for bank in table_banks:
        if not bank:
            bank.append(empty)
    for bank in bias_banks:
        if not bank:
            bank.append(0)
    return EnginePlan(k=k, width=w, lanes=lanes, fft=fft, layers=plans, weight_banks=banks,
                      bias_banks=bias_banks, table_banks=table_banks, act_bank_depth=depth,
                      q_max=max(l.q for l in plans),
                      in_geometry=tensor_geometry(shapes[0]),
                      out_geometry=tensor_geometry(shapes[-1]), z_slots=z_slots,
                      y_slots=y_slots, act_replicas=act_replicas)


def weight_address(plan: EnginePlan, layer: int, i: int, j: int, m: int) -> tuple[int, int]:
    """``(lane, address)`` of weight ``Wq[i, j, m]`` of ``layer`` (for run-time reloads)."""
    lp = plan.layers[layer]
    g, lane = divmod(i, plan.lanes)
    return lane, lp.wbase + (g * lp.bins + m) * lp.q + j
