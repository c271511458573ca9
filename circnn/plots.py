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
