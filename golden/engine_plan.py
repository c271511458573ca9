"""How a quantized network is laid out in the layer engine: descriptors, memory images, sizes.

Pure Python and NumPy, shared by the gateware (``hw/layer_engine.py``: memory initial contents,
descriptor table, widths), the simulation glue and the CLI (manifest, analytic cycle counts).

Memories
--------
* **Weight banks**: one per MAC lane ``l`` (``lanes`` of them).  Output block ``i = g*lanes + l``
  lives in bank ``l``; per layer the words run ``for g: for m in 0 .. k/2: for j in 0 .. q-1``,
  so the MAC reads each bank at consecutive addresses.  A word is one complex weight,
  ``re`` in the low ``width`` bits.  Blocks beyond the layer's ``P`` are zero.
* **Bias memory**: every layer's ``bias_q`` one after the other.
* **Patch table** (im2col, conv layers): per conv layer ``2*ceil(q/2)*k`` entries, entry ``e``
  ``(offset, ky, kx)`` of patch column ``e = (c, ky, kx)`` with ``offset = c*H*W + ky*W + kx``
  (entries past ``in_features`` are never used).  The reader adds the pixel's base
  ``(oy*stride - pad)*W + ox*stride - pad`` and checks ``0 <= oy*stride - pad + ky < H`` (and the
  same for x): out-of-image taps read as zero, which is the zero padding.
* **Activation buffers**: two, ping-pong between layers, ``max`` activation size deep.  The
  input is written to buffer 0; layer ``l`` reads buffer ``l % 2`` and writes the other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .engine_fixed import QNetwork, accumulator_width
from .fft_fixed import FFTParams
from .fixedpoint import pack_complex
from .layers import conv_output_size

__all__ = ["EnginePlan", "LayerPlan", "plan_engine"]


@dataclass
class LayerPlan:
    """One row of the layer-descriptor table (all integers)."""

    index: int
    conv: int
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
    pool_h: int
    pool_w: int
    out_stride: int     # address step between output channels
    in_size: int
    out_size: int
    acc_shift: int
    out_shift: int
    wbase: int
    bbase: int
    tbase: int


@dataclass
class EnginePlan:
    k: int
    width: int
    lanes: int
    fft: FFTParams
    layers: list
    weight_banks: list          # lanes lists of packed words
    bias: list                  # ints
    patch_table: list           # (offset, ky, kx)
    act_depth: int
    q_max: int

    @property
    def bins(self) -> int:
        return self.k // 2 + 1

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
        return max(l.frames_in for l in self.layers) * self.fft.beats

    @property
    def ybuf_depth(self) -> int:
        return max(l.groups for l in self.layers) * self.bins

    @property
    def multipliers(self) -> dict:
        """Complex multipliers instantiated: FFT butterflies and MAC lanes (4 real each)."""
        return {"fft": self.fft.p * self.fft.d, "mac": self.lanes,
                "total": self.fft.p * self.fft.d + self.lanes}

    @property
    def memories(self) -> dict:
        """The engine's memories: ``count`` x ``depth`` words of ``bits`` (logical sizes, before
        any mapping to a device's block RAM)."""
        w = self.width
        return {"activation_buffers": {"count": 2, "depth": self.act_depth, "bits": w},
                "weight_banks": {"count": self.lanes, "depth": self.bank_depth, "bits": 2 * w},
                "z_buffer": {"count": 1, "depth": self.zbuf_depth,
                             "bits": 2 * w * self.fft.lanes},
                "y_banks": {"count": self.lanes, "depth": self.ybuf_depth, "bits": 2 * w},
                "bias": {"count": 1, "depth": len(self.bias), "bits": w},
                "patch_table": {"count": 1, "depth": len(self.patch_table)}}

    def layer_work(self, lp: LayerPlan) -> dict:
        """Complex multiplications of one layer (all vectors): butterflies and CMACs."""
        butterflies = (lp.frames_in + lp.frames_out) * (self.k // 2) * self.fft.stages
        cmacs = lp.pb * lp.q * self.bins
        return {"butterflies": butterflies * lp.vectors, "cmacs": cmacs * lp.vectors}

    def bound_cycles(self, lp: LayerPlan) -> float:
        """Analytic lower bound: the layer's complex multiplications over the multipliers."""
        w = self.layer_work(lp)
        return (w["butterflies"] + w["cmacs"]) / self.multipliers["total"]


def plan_engine(qnet: QNetwork, p: int = 1, d: int | None = None, lanes: int = 2,
                pipeline: int = 0) -> EnginePlan:
    """Lay ``qnet`` out for an engine with FFT parameters ``p``, ``d`` and ``lanes`` MAC lanes.

    Raises ValueError for parameters the engine cannot be built with.
    """
    if not isinstance(lanes, int) or isinstance(lanes, bool) or lanes < 2 or lanes & (lanes - 1):
        raise ValueError(f"lanes must be a power of two of at least 2, not {lanes!r}")
    fft = qnet.fft_params(p=p, d=d, pipeline=pipeline)
    k, w = qnet.k, qnet.width
    bins = k // 2 + 1
    shapes = qnet.shapes()
    banks = [[] for _ in range(lanes)]
    bias, table, plans = [], [], []
    for index, ql in enumerate(qnet.layers):
        pb, q = ql.blocks
        r_frames = -(-q // 2)
        groups = -(-pb // lanes)
        in_shape, out_shape = shapes[index], shapes[index + 1]
        in_size = math.prod(in_shape)
        out_size = math.prod(out_shape)
        if ql.kind == "conv":
            _, h, wd = in_shape
            ho = conv_output_size(h, ql.kernel, ql.stride, ql.padding)
            wo = conv_output_size(wd, ql.kernel, ql.stride, ql.padding)
            vectors = ho * wo
            ph, pw = (ho // 2, wo // 2) if ql.pool == 2 else (ho, wo)
            out_stride = ph * pw
        else:
            h = wd = ho = wo = ph = pw = 1
            vectors, out_stride = 1, 1
        tbase = len(table)
        if ql.kind == "conv":
            for e in range(2 * r_frames * k):
                if e < ql.in_features:
                    c, rest = divmod(e, ql.kernel * ql.kernel)
                    ky, kx = divmod(rest, ql.kernel)
                    table.append((c * h * wd + ky * wd + kx, ky, kx))
                else:
                    table.append((0, 0, 0))
        wbase = len(banks[0])
        for g in range(groups):
            for lane in range(lanes):
                i = g * lanes + lane
                for m in range(bins):
                    for j in range(q):
                        if i < pb:
                            banks[lane].append(pack_complex(ql.wq[i, j, m, 0], ql.wq[i, j, m, 1], w))
                        else:
                            banks[lane].append(0)
        bbase = len(bias)
        bias.extend(int(b) for b in ql.bias_q)
        plans.append(LayerPlan(
            index=index, conv=int(ql.kind == "conv"), relu=int(ql.activation == "relu"),
            pool=int(ql.pool == 2), n=ql.in_features, m=ql.out_features, q=q, pb=pb,
            frames_in=r_frames, frames_out=-(-pb // 2), groups=groups, vectors=vectors,
            in_h=h, in_w=wd, out_h=ho, out_w=wo, stride=ql.stride if ql.kind == "conv" else 1,
            pad=ql.padding if ql.kind == "conv" else 0, pool_h=ph, pool_w=pw,
            out_stride=out_stride, in_size=in_size, out_size=out_size,
            acc_shift=ql.acc_shift, out_shift=ql.out_shift, wbase=wbase, bbase=bbase,
            tbase=tbase))
    act_depth = max(max(l.in_size, l.out_size) for l in plans)
    return EnginePlan(k=k, width=w, lanes=lanes, fft=fft, layers=plans, weight_banks=banks,
                      bias=bias, patch_table=table or [(0, 0, 0)], act_depth=act_depth,
                      q_max=max(l.q for l in plans))


def weight_address(plan: EnginePlan, layer: int, i: int, j: int, m: int) -> tuple[int, int]:
    """``(lane, address)`` of weight ``Wq[i, j, m]`` of ``layer`` (for run-time reloads)."""
    lp = plan.layers[layer]
    g, lane = divmod(i, plan.lanes)
    return lane, lp.wbase + (g * plan.bins + m) * lp.q + j
