"""Benchmark: the FFT engine's design points through Yosys and nextpnr (area, Fmax, throughput).

Each point is synthesized out of context like ``circnn synth fft`` and kept in a cache keyed by
its parameters, target, seeds, the tool versions and the source of ``hw/`` and ``golden/``, so a
rerun only synthesizes what changed.  The peers' figures (the same flow, measured once for
issue 8 and quoted in docs/benchmarks.md) are drawn for comparison.
"""

from __future__ import annotations

from pathlib import Path

from golden.fft_fixed import FFTParams, engine_frame_interval

from .synth_cache import load_run, run_key, store_run

__all__ = ["DEFAULT_POINTS", "QUICK_POINTS", "PEERS", "run_points", "point_name"]

#: (target, parameters) of the default sweep.
DEFAULT_POINTS = [
    ("ecp5-85k", dict(k=64, samples_per_clock=1)),
    ("ecp5-85k", dict(k=64, p=1)),
    ("ecp5-85k", dict(k=64, p=2)),
    ("ecp5-85k", dict(k=64, p=4)),
    ("ecp5-85k", dict(k=256, samples_per_clock=1)),
    ("ecp5-85k", dict(k=256, p=1)),
    ("ecp5-85k", dict(k=64, p=1, d=1)),
    ("ecp5-85k", dict(k=64, p=1, d=2)),
    ("ecp5-85k", dict(k=64, p=1, d=3)),
    ("ecp5-85k", dict(k=256, p=1, d=2)),
    ("ice40-up5k", dict(k=256, p=1, d=1)),
    ("ice40-up5k", dict(k=512, p=1, d=1)),
    ("ice40-up5k", dict(k=1024, p=1, d=1, shared_io=True)),   # I/O buffers in the SPRAMs
]
QUICK_POINTS = [("ecp5-85k", dict(k=16, samples_per_clock=1))]

#: The open-source peers (64 points, 16 bits, same ECP5 flow; issue 8): name, samples per
#: clock, LUT, MULT18, Fmax MHz.
PEERS = [
    ("Amaranth R2²SDF (maia-sdr)", 1, 1738, 6, 134.4),
    ("Verilog R2²SDF", 1, 1726, 10, 92.7),
    ("generated radix-2 pipeline (dblclockfft)", 1, 3433, 24, 102.5),
]


def point_params(target: str, kw: dict) -> FFTParams:
    """The FFT parameters of a point: 16 bits, and on ECP5 the registered DSPs (pipeline 2)."""
    base = dict(width=16, pipeline=2 if target.startswith("ecp5") else 0)
    return FFTParams(**{**base, **kw})


def point_name(target: str, params: FFTParams) -> str:
    if params.radix22:
        shape = "1 sample/clk (radix 2²)"
    elif params.passes > 1:
        shape = f"p={params.p} d={params.d} (recirculating, {params.passes} passes" + (
            ", input and output buffers in SPRAM)" if params.shared_io else ")")
    else:
        shape = f"p={params.p} ({params.lanes} samples/clk)"
    return f"{target} k={params.k} {shape}"


def run_points(points, seeds, workroot: Path, freq: float = 150.0, progress=print,
               use_cache: bool = True) -> list[dict]:
    """Synthesize every ``(target, params)`` point (cached); returns one report per point.  A
    point the tools fail on (it does not fit the device, say) is recorded with ``failed`` (the
    reason) and no figures, and the sweep goes on."""
    from .errors import UsageError
    from .synth import resolve_tech, synthesize_fft

    workroot = Path(workroot)
    results = []
    for n, (target, kw) in enumerate(points):
        params = point_params(target, kw)
        tech = resolve_tech(params, target)
        key = run_key({"target": target, "params": repr(params), "tech": tech,
                       "seeds": list(seeds), "freq": freq})
        name = point_name(target, params)
        kept = load_run(workroot / "cache", key) if use_cache else None
        if kept is not None:
            progress(f"fft-synth {n + 1}/{len(points)}: {name}: cached")
            results.append(kept)
            continue
        progress(f"fft-synth {n + 1}/{len(points)}: {name} (seeds {','.join(map(str, seeds))})")
        try:
            r = synthesize_fft(params, target, tech, freq, seeds, workroot / key, quiet=True)
        except UsageError as e:
            progress(f"fft-synth {n + 1}/{len(points)}: {name}: failed: {e}")
            r = {"target": target, "failed": str(e), "lut": None, "ff": None, "dsp": None,
                 "bram": None, "fmax_mhz": None, "lut_per_sample_per_clock": None,
                 "throughput_samples_per_clock": params.throughput,
                 "frame_interval_cycles": engine_frame_interval(params)}
        r["name"] = name
        r["cache_key"] = key
        store_run(workroot / "cache", key, r)
        results.append(r)
    return results


def peers_table() -> list[dict]:
    return [{"name": n, "samples_per_clock": s, "lut": lut, "dsp": dsp, "fmax_mhz": f,
             "lut_per_sample_per_clock": lut / s} for n, s, lut, dsp, f in PEERS]
