"""Per-layer tracing of the fixed engine against float: where does fixed point depart?"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .errors import UsageError
from .files import save_npy, save_text
from .report import table


def _sqnr(ref, got) -> float:
    noise = float(np.sum((ref - got) ** 2))
    signal = float(np.sum(ref ** 2))
    if noise == 0:
        return float("inf")
    return 10 * np.log10(signal / noise) if signal > 0 else float("-inf")


def write_trace(directory: Path, net, qnet, x, trace) -> dict:
    """Write ``layer{i}.fixed.npy`` (dequantized), ``layer{i}.float.npy``, ``layer{i}.int.npy``
    and ``trace.json`` to ``directory``; returns the report (with a text table)."""
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--trace {directory}: exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    floats = []
    net.forward(x, trace=floats)
    rows, layers = [], []
    a_fixed = net.normalize(x)
    for i, (layer, ql, t, f) in enumerate(zip(net.layers, qnet.layers, trace, floats)):
        got = t["output"] * 2.0 ** -ql.out_frac
        local_ref = layer.forward(a_fixed.reshape(t["input"].shape)
                                  if i else np.asarray(t["input"]) * 2.0 ** -qnet.input_frac)
        save_npy(str(directory / f"layer{i}.fixed.npy"), got)
        save_npy(str(directory / f"layer{i}.float.npy"), f)
        save_npy(str(directory / f"layer{i}.int.npy"), t["output"])
        entry = {"layer": i, "kind": ql.kind, "shape": list(got.shape[1:]),
                 "sqnr_db": _sqnr(f, got), "local_sqnr_db": _sqnr(local_ref, got),
                 "max_abs_error": float(np.max(np.abs(f - got))),
                 "out_frac": ql.out_frac, "saturations": t["saturations"]}
        layers.append(entry)
        rows.append((i, ql.kind, "x".join(map(str, entry["shape"])),
                     f"{entry['sqnr_db']:.1f}", f"{entry['local_sqnr_db']:.1f}",
                     f"{entry['max_abs_error']:.3g}", sum(t["saturations"].values())))
        a_fixed = got
    text = table(rows, ("layer", "kind", "shape", "SQNR dB", "local SQNR dB", "max |err|",
                        "saturations"))
    report = {"layers": layers, "table": text}
    save_text(str(directory / "trace.json"),
              json.dumps({"layers": layers}, indent=2, sort_keys=True) + "\n")
    return report
