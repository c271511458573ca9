"""``circnn demo``: data to verified hardware with a report (``report.html``, ``report.json``)."""

from __future__ import annotations

import json
from pathlib import Path

from . import options
from .errors import UsageError
from .files import save_json, save_text


def add_parser(sub) -> None:
    p = sub.add_parser(
        "demo", help="end to end: train or import, compress, quantize, RTL, report",
        description="Train a dense network on digits (or import one with --onnx), compress it to "
                    "block-circulant layers with fine-tuning, quantize it, run the whole test "
                    "split through the float, fixed and RTL engines (RTL checked equal to fixed "
                    "on every image), and write report.html and report.json. Steps are cached "
                    "by their inputs: a second run is fast.")
    p.add_argument("-o", "--output", default="build/demo", metavar="DIR",
                   help="output directory (default build/demo)")
    p.add_argument("--quick", action="store_true",
                   help="a smaller network and fewer epochs (a few minutes; for tests)")
    p.add_argument("--arch", choices=("mlp", "cnn"), default="mlp", help="network kind")
    p.add_argument("--k", type=options.positive_int, default=8,
                   help="block size of the accelerator, a power of two >= 4 (default 8)")
    p.add_argument("--onnx", metavar="FILE",
                   help="start from this trained ONNX model (64 inputs, 10 classes) instead of "
                        "training a dense one")
    p.add_argument("--input-scale", type=options.finite_float, default=1.0, metavar="S",
                   help="with --onnx: the graph's input is (raw - O) * S on raw pixels 0..16")
    p.add_argument("--input-offset", type=options.finite_float, default=0.0, metavar="O",
                   help="with --onnx: see --input-scale")
    p.add_argument("--lanes", type=options.positive_int, default=4,
                   help="MAC lanes of the engine, a power of two >= 2 (default 4)")
    p.add_argument("--seed", type=int, default=0, help="seed of training and fine-tuning")
    p.add_argument("--no-cache", action="store_true", help="rerun every step")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    options.add_json(p)
    p.set_defaults(run=run)


def _check(args) -> None:
    if args.k < 4 or args.k & (args.k - 1):
        raise UsageError(f"--k must be a power of two of at least 4 (the engine's FFT), not "
                         f"{args.k}")
    if args.lanes < 2 or args.lanes & (args.lanes - 1):
        raise UsageError(f"--lanes must be a power of two of at least 2, not {args.lanes}")
    if args.onnx is not None and not Path(args.onnx).is_file():
        raise UsageError(f"--onnx {args.onnx}: no such file")
    if args.onnx is None and (args.input_scale != 1.0 or args.input_offset != 0.0):
        raise UsageError("--input-scale and --input-offset go with --onnx")
    if args.input_scale == 0:
        raise UsageError("--input-scale must not be 0")
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--output {out}: exists and is not a directory")
    for parent in out.resolve().parents:
        if parent.exists() and not parent.is_dir():
            raise UsageError(f"--output {out}: {parent} is not a directory")


def run(args) -> int:
    from .demo import DemoConfig, run_demo
    from .demo_report import render_html, summary_text

    _check(args)
    cfg = DemoConfig(out=Path(args.output), arch=args.arch, k=args.k, quick=args.quick,
                     onnx=args.onnx, input_scale=args.input_scale,
                     input_offset=args.input_offset, lanes=args.lanes, seed=args.seed,
                     quiet=args.quiet or args.json == "-", use_cache=not args.no_cache)
    report = run_demo(cfg)
    html_path = cfg.out / "report.html"
    save_json(str(cfg.out / "report.json"), report)
    save_text(str(html_path), render_html(report))
    if args.json == "-":
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print(summary_text(report, str(html_path)))
        if args.json:
            save_json(args.json, report)
    rtl = report["rtl"]
    if rtl.get("status") != "ok":
        raise SystemExit(f"circnn: demo: the RTL check did not pass ({rtl.get('status')}: "
                         f"{rtl.get('reason', str(rtl.get('mismatches')) + ' mismatches')})")
    return 0
