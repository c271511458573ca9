"""Plots people would rather look at than tables (matplotlib, Agg backend, written atomically)."""

from __future__ import annotations

import io

from .files import save_bytes


def _save(fig, path: str) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    save_bytes(path, buf.getvalue())


def accuracy_plot(report: dict, path: str) -> None:
    """Digits test accuracy (mean and spread over seeds) against parameter count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for arch, marker in (("mlp", "o"), ("cnn", "s")):
        rows = [e for e in report["results"] if e["arch"] == arch]
        if not rows:
            continue
        ax.errorbar([e["parameters"] for e in rows], [100 * e["mean"] for e in rows],
                    yerr=[100 * e["std"] for e in rows], marker=marker, linestyle="none",
                    capsize=3, label=arch)
        for e in rows:
            ax.annotate(e["name"].split(" ", 1)[1], (e["parameters"], 100 * e["mean"]),
                        textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("digits test accuracy (%)")
    ax.set_title(f"dense vs block-circulant, seeds {report['seeds']}")
    ax.grid(True, alpha=0.3)
    ax.legend()
    _save(fig, path)
    plt.close(fig)


def fft_synth_plot(results: list[dict], peers: list[dict], path: str) -> None:
    """LUT per complex sample per clock against Fmax for every synthesized design point
    (ECP5), the peers marked, the targets of issue 8 drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    styles = {"1 sample": ("o", "radix-2² single path"), "samples/clk)": ("s", "delay-commutator"),
              "recirculating": ("^", "recirculating")}
    drawn = set()
    for r in results:
        if not r.get("fmax_mhz") or not r["target"].startswith("ecp5"):
            continue
        kind = next(k for k in styles if k in r["name"])
        marker, label = styles[kind]
        ax.scatter(r["fmax_mhz"], r["lut_per_sample_per_clock"], marker=marker,
                   label=None if label in drawn else label, color="C0" if kind != "recirculating"
                   else "C2", zorder=3)
        drawn.add(label)
        ax.annotate(r["name"].split(" ", 1)[1].split(" (")[0], (r["fmax_mhz"],
                    r["lut_per_sample_per_clock"]), textcoords="offset points", xytext=(5, 3),
                    fontsize=7)
    for i, p in enumerate(peers):
        ax.scatter(p["fmax_mhz"], p["lut_per_sample_per_clock"], marker="x", color="C3",
                   label="peers (64 points)" if i == 0 else None, zorder=3)
        ax.annotate(p["name"].split(" (")[0], (p["fmax_mhz"], p["lut_per_sample_per_clock"]),
                    textcoords="offset points", xytext=(5, -9), fontsize=7, color="C3")
    ax.axvline(180, color="grey", linestyle=":", linewidth=1)
    ax.axhline(1600, color="grey", linestyle=":", linewidth=1)
    ax.set_yscale("log")
    ax.set_xlabel("Fmax (MHz), median of the seeds, ECP5-85k")
    ax.set_ylabel("LUT per complex sample per clock")
    ax.set_title("FFT engine design points (16 bits; dotted: 180 MHz, 1600 LUT)")
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    _save(fig, path)
    plt.close(fig)


def tune_plot(points: list[dict], chosen: dict, target: str, metric: str, path: str) -> None:
    """The tuner's design space: inferences per second against LUTs for every evaluated point
    (the ones that do not fit the device hollow), the Pareto front (more throughput for fewer
    LUTs) drawn, the chosen point labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    fits = [r for r in points if r["fits"]]
    over = [r for r in points if not r["fits"]]
    for rows, face, label in ((fits, None, "fits"), (over, "none", "does not fit")):
        if rows:
            ax.scatter([r["resources"]["lut"] for r in rows],
                       [r["inferences_per_second"] for r in rows], marker="o",
                       facecolors=face, edgecolors="C0", label=label)
    front, best = [], -1.0
    for r in sorted(fits, key=lambda r: (r["resources"]["lut"], -r["inferences_per_second"])):
        if r["inferences_per_second"] > best:
            front.append(r)
            best = r["inferences_per_second"]
    if front:
        ax.step([r["resources"]["lut"] for r in front],
                [r["inferences_per_second"] for r in front], where="post", color="C1",
                label="Pareto front")
    for r in points:
        p = r["parameters"]
        ax.annotate(f"p{p['p']} d{p['d']} L{p['lanes']}",
                    (r["resources"]["lut"], r["inferences_per_second"]),
                    textcoords="offset points", xytext=(3, 3), fontsize=7, alpha=0.7)
    ax.scatter([chosen["resources"]["lut"]], [chosen["inferences_per_second"]], marker="*",
               s=220, color="C3", zorder=5, label=f"chosen ({metric})")
    ax.set_xlabel("LUTs (model)")
    ax.set_ylabel("inferences per second (model)")
    ax.set_title(f"circnn tune: design space on {target}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)
    plt.close(fig)
