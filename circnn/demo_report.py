"""Rendering ``circnn demo``'s results: plots, a self-contained ``report.html`` and a terminal
summary.  The page embeds its images as ``data:`` URIs, so it is one file that can be mailed."""

from __future__ import annotations

import base64
import html
import io
import math

from .report import table

__all__ = ["summary_rows", "summary_text", "render_html", "accuracy_k_png", "ranges_png"]


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


def summary_rows(r: dict) -> list[tuple[str, str]]:
    comp, fixed, rtl = r["compression"], r["fixed"], r["rtl"]
    k = comp["k"]
    rows = [("dense (float)", _pct(r["dense"]["accuracy"])),
            (f"block-circulant k={k}, trained from scratch (float)",
             _pct(r["scratch"]["accuracy"])),
            (f"dense projected to k={k}, no fine-tuning (float)",
             _pct(comp["accuracy"].get("frobenius_projection"))),
            (f"dense compressed to k={k}, fine-tuned (float)",
             _pct(comp["accuracy"].get("finetuned"))),
            (f"fixed point, {fixed['quantize']['width']} bits (bit-exact engine model)",
             _pct(fixed["accuracy"]))]
    if rtl.get("status") in ("ok", "mismatch"):
        rows.append((f"RTL (Verilator), equal to fixed on {rtl['samples'] - rtl['mismatches']}"
                     f" of {rtl['samples']} images", _pct(fixed["accuracy"])
                     if rtl["mismatches"] == 0 else "MISMATCH"))
    else:
        rows.append(("RTL", f"not run: {rtl.get('reason', '')}"))
    return rows


def summary_text(r: dict, report_path: str) -> str:
    comp, rtl = r["compression"], r["rtl"]
    text = table(summary_rows(r), (f"digits test accuracy ({r['config']['test_images']} images)",
                                   ""))
    text += (f"\n\ncompression: {comp['dense_parameters']} -> {comp['parameters']} parameters "
             f"({comp['reduction']:.1f}x)")
    if rtl.get("status") == "ok":
        text += (f"\nengine: {rtl['cycles_per_inference']:.0f} cycles per inference (k={rtl['k']},"
                 f" p={rtl['p']}, d={rtl['d']}, {rtl['lanes']} MAC lanes), "
                 f"{rtl['inferences_per_second_at_assumed_clock']:,.0f} inferences/s at an "
                 f"assumed {rtl['assumed_clock_mhz']:.0f} MHz")
    text += f"\nsynthesis: {r['synth']['status']} ({r['synth']['reason']})"
    text += f"\nreport: {report_path}"
    return text


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def accuracy_k_png(r: dict) -> bytes:
    """Test accuracy against block size: projection only, data-aware, fine-tuned; dense line."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ks = [e["k"] for e in r["sweep"]]
    for key, label, marker in (("frobenius_projection", "Frobenius projection only", "x"),
                               ("data_aware_projection", "data-aware projection", "s"),
                               ("finetuned", "data-aware projection + fine-tuning", "o")):
        ax.plot(ks, [100 * e["accuracy"].get(key, math.nan) for e in r["sweep"]],
                marker=marker, label=label)
    ax.axhline(100 * r["dense"]["accuracy"], color="gray", linestyle="--",
               label=f"dense ({r['dense']['parameters']:,} parameters)")
    ax.plot([r["compression"]["k"]], [100 * r["scratch"]["accuracy"]], marker="*",
            markersize=12, linestyle="none", color="black",
            label=f"k={r['compression']['k']} trained from scratch")
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("block size k (weights stored: about 1/k of dense)")
    ax.set_ylabel("digits test accuracy (%)")
    ax.set_title("Accuracy against block size")
    ax.set_ylim(0, 100)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    data = _png(fig)
    plt.close(fig)
    return data


def ranges_png(r: dict) -> bytes:
    """Per tensor: observed magnitudes (1 % .. 99.9 %, max) against the fixed-point format."""
    plt = _pyplot()
    rows = r["fixed"]["ranges"]
    fig, ax = plt.subplots(figsize=(6.4, 0.55 * len(rows) + 1.4))
    for i, e in enumerate(rows):
        lo, hi = math.log2(e["lsb"]), math.log2(e["format_max"])
        ax.barh(i, hi - lo, left=lo, height=0.6, color="#cfe0f3",
                label="format: LSB .. full scale" if i == 0 else None)
        if e["p99_9"] > 0:
            a, b = math.log2(e["p1"]), math.log2(e["p99_9"])
            ax.barh(i, b - a, left=a, height=0.3, color="#2b6cb0",
                    label="|value|: 1 % .. 99.9 % of non-zero" if i == 0 else None)
            ax.plot(math.log2(e["max"]), i, marker="|", markersize=14, color="#c53030",
                    label="|value|: max" if i == 0 else None)
    ax.set_yticks(range(len(rows)), [f"{e['tensor']} (frac {e['frac']})" for e in rows])
    ax.invert_yaxis()
    ax.set_xlabel("log2 of magnitude")
    ax.set_title(f"Value ranges against the {r['fixed']['quantize']['width']}-bit formats")
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.3 / len(rows)),
              ncol=3)
    data = _png(fig)
    plt.close(fig)
    return data


def _table_html(header, rows) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(data: bytes, alt: str) -> str:
    return (f'<img alt="{html.escape(alt)}" src="data:image/png;base64,'
            f'{base64.b64encode(data).decode()}">')


_STYLE = """
body { font-family: sans-serif; max-width: 60rem; margin: 2rem auto; color: #1a202c; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #cbd5e0; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #edf2f7; } .ok { color: #276749; } .bad { color: #c53030; }
img { max-width: 100%; } .note { color: #4a5568; font-size: 0.9rem; }
"""


def _sections(r: dict) -> list[str]:
    comp, fixed, rtl = r["compression"], r["fixed"], r["rtl"]
    parts = ["<h2>Accuracy</h2>",
             _table_html((f"digits test accuracy ({r['config']['test_images']} images)", ""),
                         summary_rows(r)),
             "<h2>Compression</h2>",
             _table_html(("k", "parameters", "reduction", "Frobenius projection",
                          "data-aware projection", "fine-tuned", "fine-tuning epochs"),
                         [(e["k"], f"{e['parameters']:,}",
                           f"{e['dense_parameters'] / e['parameters']:.1f}x",
                           _pct(e["accuracy"].get("frobenius_projection")),
                           _pct(e["accuracy"].get("data_aware_projection")),
                           _pct(e["accuracy"].get("finetuned")), e["epochs"])
                          for e in r["sweep"]]),
             _img(accuracy_k_png(r), "accuracy against block size"),
             "<h2>Fixed point</h2>",
             _table_html(("layer", "kind", "SQNR vs float (dB)", "local SQNR (dB)",
                          "max |error|", "output frac", "saturations"),
                         [(e["layer"], e["kind"], f"{e['sqnr_db']:.1f}",
                           f"{e['local_sqnr_db']:.1f}", f"{e['max_abs_error']:.3g}",
                           e["out_frac"], sum(e["saturations"].values()))
                          for e in fixed["layers"]]),
             f"<p>argmax equal to float on {100 * fixed['argmax_agreement']:.2f} % of the test "
             f"images; saturations on the test split: {fixed['saturations']}.</p>",
             _img(ranges_png(r), "value ranges against the fixed-point formats")]
    parts.append("<h2>Hardware</h2>")
    if rtl.get("status") in ("ok", "mismatch"):
        cls = "ok" if rtl["mismatches"] == 0 else "bad"
        parts.append(_table_html(("figure", "value"), [
            ("engine", f"k={rtl['k']}, p={rtl['p']}, d={rtl['d']}, {rtl['lanes']} MAC lanes, "
                       f"{rtl['multipliers']['total']} complex multipliers"),
            ("memories (logical, before mapping to block RAM)",
             f"{rtl['memory_bits']:,} bits: " + ", ".join(
                 f"{name.replace('_', ' ')} {m['count']}x{m['depth']}"
                 + (f"x{m['bits']}" if "bits" in m else "")
                 for name, m in rtl["memories"].items())),
            ("LUT, FF, block RAM, Fmax", "need synthesis (skipped, see below)"),
            ("RTL equal to the fixed model", f"{rtl['samples'] - rtl['mismatches']} of "
                                             f"{rtl['samples']} images"),
            ("cycles per inference (RTL simulation)", f"{rtl['cycles_per_inference']:.0f}"),
            (f"inferences per second at an assumed {rtl['assumed_clock_mhz']:.0f} MHz",
             f"{rtl['inferences_per_second_at_assumed_clock']:,.0f}")]))
        parts.append(f'<p class="{cls}">RTL == fixed golden on '
                     f'{rtl["samples"] - rtl["mismatches"]} of {rtl["samples"]} images.</p>')
    else:
        parts.append(f'<p class="bad">RTL not run: {html.escape(rtl.get("reason", ""))}</p>')
    parts.append(f"<p>Synthesis: {html.escape(r['synth']['status'])}: "
                 f"{html.escape(r['synth']['reason'])}</p>")
    parts.append("<h2>Steps</h2>")
    parts.append(_table_html(("step", "cached", "seconds"),
                             [(s["step"], "yes" if s["cached"] else "no", s["seconds"])
                              for s in r["steps"]]))
    parts.append(f'<p class="note">compression {comp["dense_parameters"]:,} -> '
                 f'{comp["parameters"]:,} parameters; total {r["seconds"]} s. Figures from '
                 "<code>circnn demo</code>; report.json holds every number on this page.</p>")
    return parts


def render_html(r: dict) -> str:
    """The whole page; an inline script marks the body once every image has decoded."""
    cfg = r["config"]
    title = (f"circnn demo: {cfg['arch'].upper()} on digits, k = {cfg['k']}"
             + (" (quick)" if cfg["quick"] else ""))
    script = ("window.addEventListener('load', function () { var imgs = document.images, ok = 0;"
              " for (var i = 0; i < imgs.length; i++) if (imgs[i].complete && "
              "imgs[i].naturalWidth > 0) ok++; document.body.setAttribute('data-images-ok', ok);"
              " document.body.setAttribute('data-images', imgs.length); });")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style>"
            f"<script>{script}</script></head><body>"
            f"<h1>{html.escape(title)}</h1>" + "\n".join(_sections(r)) + "</body></html>\n")
