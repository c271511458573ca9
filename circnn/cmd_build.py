"""``circnn build``: a board's bitstream for a quantized model (engine, UART host link)."""

from __future__ import annotations

from pathlib import Path

from .board_flow import BOARDS, build_board
from .engine_options import load_quantized
from .errors import UsageError
from .files import save_json
from .options import positive_int
from .report import emit, table


def add_parser(sub) -> None:
    p = sub.add_parser("build", help="a board's bitstream for a quantized model",
                       description="Build the board top (the layer engine behind a UART host "
                                   "link, docs/host-link.md) for a board with the pin "
                                   "constraints of constraints/: DIR/top.bit (ULX3S) or "
                                   "DIR/top.bin (iCEBreaker), DIR/build.json and the tools' "
                                   "files.  Programming the board is left to the board's own "
                                   "tools (openFPGALoader, iceprog).")
    p.add_argument("--board", required=True, choices=tuple(BOARDS))
    p.add_argument("--model", "-m", required=True, metavar="FILE",
                   help="quantized model file (circnn quantize)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output directory")
    p.add_argument("--baud", type=positive_int, default=115200,
                   help="UART baud rate (default 115200)")
    p.add_argument("--seed", type=int, default=1, help="nextpnr placement seed (default 1)")
    p.add_argument("--p", type=positive_int, default=None, help="FFT butterflies per level")
    p.add_argument("--d", type=positive_int, default=None, help="FFT levels")
    p.add_argument("--lanes", type=positive_int, default=None, help="MAC lanes")
    p.add_argument("--json", metavar="FILE", nargs="?", const="-", default=None,
                   help="report as JSON (stdout, or FILE)")
    p.set_defaults(run=run)


def run(args) -> int:
    _, qnet = load_quantized(args.model)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a directory")
    r = build_board(qnet, args.board, out, baud=args.baud, seed=args.seed,
                    quiet=args.json == "-", p=args.p, d=args.d, lanes=args.lanes)
    r["model"] = str(Path(args.model).resolve())
    save_json(str(out / "build.json"), r)
    rows = [(args.board, r["lut"], r["ff"] if r["ff"] is not None else "-", r["dsp"], r["bram"],
             r["spram"] if r["spram"] is not None else "-", r["fmax_mhz"], r["clock_mhz"],
             "yes" if r["timing_met"] else "NO")]
    text = table(rows, ("board", "LUT", "FF", "DSP", "BRAM", "SPRAM", "Fmax MHz", "clock MHz",
                        "timing met"))
    text += (f"\n\nbitstream: {r['bitstream']}\nmodel id {r['model_id_hex']}, UART "
             f"{r['baud']} baud (8N1), engine {r['engine']}\nhost side: circnn board infer "
             f"--port PORT -m {args.model} -i X.npy -o Y.npy --board {args.board}")
    emit(args, text, r)
    return 0
