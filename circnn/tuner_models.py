"""The tuner's models of a layer engine on a device: cycles, resources, Fmax (pure Python,
milliseconds per design point, no toolchain).

Cycles come from :mod:`golden.engine_cycles` (the engine's one set of cycle formulas).  Block
RAM, SPRAM and multipliers are counted from the structure (every memory of the plan and the FFT
engine's buffers, mapped to the target's primitive as ``hw/ram.py`` does; four real products per
complex multiplier, none for the fully pipelined engine's butterflies whose one twiddle is 1
or -j).
LUTs, flip-flops and the clock period are linear in a few structural features, with
coefficients that :mod:`circnn.tuner_calibrate` fits to measured syntheses; the priors below are
what the engines measured in docs/benchmarks.md suggest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from golden.engine_plan import EnginePlan
from golden.fft_fixed import pipelined_multipliers
from hw.ram import ebr_blocks

__all__ = ["DEVICES", "PRIORS", "DesignPoint", "features", "block_memories", "multipliers",
           "estimate_resources", "estimate_fmax", "LINEAR_RESOURCES"]

#: What each target offers (LUT: TRELLIS_COMB or ICESTORM_LC).
DEVICES = {
    "ecp5-85k": {"lut": 83640, "ff": 83640, "dsp": 156, "bram": 208, "spram": 0},
    "ice40-up5k": {"lut": 5280, "ff": 5280, "dsp": 8, "bram": 30, "spram": 4},
}

#: Resources (and the clock period) modelled as ``sum(coef * feature)``.
LINEAR_RESOURCES = ("lut", "ff", "period_ns")

#: Prior coefficients per target (fitted ones replace them: ``circnn tune --measure``).
PRIORS = {
    "ecp5-85k": {
        "lut": {"one": 3300.0, "fft_mults": 250.0, "fft_lanes": 150.0, "mac_lanes": 300.0,
                "layers": 20.0, "conv": 500.0},
        "ff": {"one": 3000.0, "fft_mults": 300.0, "fft_lanes": 200.0, "mac_lanes": 450.0,
               "layers": 0.0, "conv": 300.0},
        "period_ns": {"one": 6.0, "log_mac_lanes": 0.4, "log_k": 0.3, "log_fft_lanes": 0.5},
    },
    "ice40-up5k": {
        "lut": {"one": 3300.0, "fft_mults": 300.0, "fft_lanes": 250.0, "mac_lanes": 500.0,
                "layers": 20.0, "conv": 700.0},
        "ff": {"one": 1500.0, "fft_mults": 150.0, "fft_lanes": 100.0, "mac_lanes": 250.0,
               "layers": 0.0, "conv": 150.0},
        "period_ns": {"one": 30.0, "log_mac_lanes": 2.0, "log_k": 1.5, "log_fft_lanes": 2.0},
    },
}

ICE40_EBR = (16, 256)
_PRIMITIVES = {  # (width, depth) of one block memory
    "ecp5-85k": {"bram": (18, 1024)},
    "ice40-up5k": {"bram": ICE40_EBR, "spram": (16, 16384)},
}


@dataclass(frozen=True)
class DesignPoint:
    """Engine parameters the tuner varies: FFT butterflies per level ``p``, FFT levels ``d``,
    MAC ``lanes``."""

    p: int
    d: int
    lanes: int

    def as_dict(self) -> dict:
        return {"p": self.p, "d": self.d, "lanes": self.lanes}


def features(plan: EnginePlan) -> dict:
    """The structural quantities the linear models use."""
    return {
        "one": 1.0,
        "fft_mults": float(multipliers(plan)["fft"]) / 4,
        "fft_lanes": float(plan.fft.lanes),
        "mac_lanes": float(plan.lanes),
        "layers": float(len(plan.layers)),
        "conv": float(any(lp.gather for lp in plan.layers)),
        "log_mac_lanes": math.log2(plan.lanes),
        "log_k": math.log2(plan.k),
        "log_fft_lanes": math.log2(plan.fft.lanes),
    }


def _blocks(bits: int, depth: int, prim: tuple) -> int:
    if prim == ICE40_EBR:   # as hw/ram.py maps it: a narrow last column in a deeper mode
        return ebr_blocks(bits, depth)
    w, d = prim
    return -(-bits // w) * -(-depth // d)


def block_memories(plan: EnginePlan, target: str) -> dict:
    """Block RAMs and SPRAMs: every memory of ``plan.memories`` as ``hw/ram.py`` maps it (the
    weight banks in SPRAM on the UP5K), plus the FFT engine's output buffer (``2p`` banks of
    ``slots`` frames) and, when recirculating, its level memories (two frames per level)."""
    prims = _PRIMITIVES[target]
    bram = spram = 0
    for name, mem in plan.memories.items():
        if name == "weight_banks" and "spram" in prims:
            spram += mem["count"] * _blocks(mem["bits"], mem["depth"], prims["spram"])
        else:
            bram += mem["count"] * _blocks(mem["bits"], mem["depth"], prims["bram"])
    fp = plan.fft
    word = 2 * fp.width
    slots = 2 if fp.passes > 1 else 3
    bram += fp.lanes * _blocks(word, slots * fp.beats, prims["bram"])
    if fp.passes > 1:   # level memories, two banks of two frames per level
        bram += fp.d * 2 * _blocks(word * fp.lanes // 2, fp.beats * 2, prims["bram"])
    return {"bram": bram, "spram": spram}


def multipliers(plan: EnginePlan) -> dict:
    """Real multipliers (MULT18X18D or SB_MAC16): four per complex multiplier; the fully
    pipelined FFT engine has none in the butterflies whose one twiddle is 1 or -j
    (:func:`golden.fft_fixed.pipelined_multipliers`)."""
    fp = plan.fft
    fft = pipelined_multipliers(fp) if fp.passes == 1 and not fp.radix22 else fp.multipliers
    return {"fft": 4 * fft, "mac": 4 * plan.lanes, "total": 4 * (fft + plan.lanes)}


def _linear(coefs: dict, feats: dict) -> float:
    return sum(c * feats[name] for name, c in coefs.items())


def estimate_resources(plan: EnginePlan, target: str, coefs: dict | None = None) -> dict:
    """LUT, FF, DSP, block RAM and SPRAM of the engine of ``plan`` on ``target``."""
    coefs = coefs or PRIORS[target]
    feats = features(plan)
    out = {r: max(0, round(_linear(coefs[r], feats))) for r in ("lut", "ff")}
    out["dsp"] = multipliers(plan)["total"]
    out.update(block_memories(plan, target))
    return out


def estimate_fmax(plan: EnginePlan, target: str, coefs: dict | None = None) -> float:
    """Estimated Fmax in MHz (from the modelled clock period)."""
    coefs = coefs or PRIORS[target]
    period = max(1.0, _linear(coefs["period_ns"], features(plan)))
    return round(1000.0 / period, 1)

