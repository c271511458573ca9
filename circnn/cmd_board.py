"""``circnn board infer``: the host side of a board top's UART link (or its simulation)."""

from __future__ import annotations

from pathlib import Path

from golden import board_protocol as bp

from .board_flow import BOARDS, board_plan
from .engine_options import load_quantized
from .errors import UsageError
from .files import load_npy, save_npy
from .options import positive_int
from .report import emit, progress, table


def add_parser(sub) -> None:
    p = sub.add_parser("board", help="talk to a board top (docs/host-link.md)")
    bsub = p.add_subparsers(dest="board_command", metavar="COMMAND", required=True)
    i = bsub.add_parser("infer", help="run samples on a board (or on its simulation)",
                        description="Check that the board runs this model (INFO: model id), "
                                    "then send each sample (INFER) and collect the outputs.")
    i.add_argument("--model", "-m", required=True, metavar="FILE",
                   help="the quantized model the bitstream was built for")
    i.add_argument("--input", "-i", required=True, metavar="FILE",
                   help="samples (.npy), raw like circnn infer's, quantized on the host")
    i.add_argument("--output", "-o", required=True, metavar="FILE", help="outputs (.npy)")
    i.add_argument("--board", choices=tuple(BOARDS), default=None,
                   help="the board the bitstream is for (default icebreaker with --sim)")
    where = i.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", metavar="DEVICE", help="serial port, e.g. /dev/ttyUSB0")
    where.add_argument("--sim", action="store_true",
                       help="the simulated board top instead of a board (Verilator)")
    i.add_argument("--baud", type=positive_int, default=115200)
    i.add_argument("--p", type=positive_int, default=None,
                   help="the engine parameters the bitstream was built with, if not the "
                        "board's defaults (--p, --d, --lanes as given to circnn build)")
    i.add_argument("--d", type=positive_int, default=None)
    i.add_argument("--lanes", type=positive_int, default=None)
    i.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for a reply")
    i.add_argument("--build-dir", default="build/circnn-sim", metavar="DIR")
    i.add_argument("--json", metavar="FILE", nargs="?", const="-", default=None)
    i.set_defaults(run=run_infer)


def run_infer(args) -> int:
    _, qnet = load_quantized(args.model)
    board = args.board or "icebreaker"
    plan, tech, params, identity = board_plan(qnet, board, p=args.p, d=args.d,
                                              lanes=args.lanes)
    raw = load_npy(args.input, "input")
    if raw.ndim < 1 or tuple(raw.shape[1:]) != tuple(qnet.input_shape):
        raise UsageError(f"{args.input}: expected samples of shape (N, "
                         f"{', '.join(map(str, qnet.input_shape))}), found {raw.shape}")
    x, clipped = qnet.quantize_input(raw)
    quiet = args.json == "-"
    if args.sim:
        from sim.board_run import run_board
        from sim.simulators import SimulatorError

        progress(f"board infer: {len(x)} samples through the simulated {board} board top", quiet)
        try:
            r = run_board(plan, identity, x.reshape(len(x), -1), "verilator",
                          Path(args.build_dir), tech=tech)
        except SimulatorError as e:
            raise UsageError(str(e)) from None
        y, where = r["outputs"], f"simulated {board} board top"
    else:
        frames = bp.model_weight_frames(plan, qnet.width)
        y, where = _serial_session(args, identity, qnet.width, x, frames), args.port
    save_npy(args.output, y)
    report = {"samples": int(len(x)), "board": board, "where": where, "model_id": identity,
              "input_saturations": clipped, "output": args.output}
    text = table([(where, len(x), f"{identity:#010x}", args.output)],
                 ("board", "samples", "model id", "outputs"))
    emit(args, text, report)
    return 0


def _serial_session(args, identity, width, x, model_frames):
    try:
        import serial
    except ImportError:
        raise UsageError("the host link needs pyserial (pip install pyserial)") from None
    try:
        port = serial.Serial(args.port, args.baud, timeout=args.timeout)
    except (serial.SerialException, OSError) as e:
        raise UsageError(f"cannot open {args.port}: {e}") from None
    parser = bp.ReplyParser()
    session = bp.inference_session(identity, width, x, model_frames=model_frames)
    try:
        with port:
            frame = next(session)
            while True:
                port.write(frame)
                replies = []
                while not replies:
                    data = port.read(1 + port.in_waiting)
                    if not data:
                        raise UsageError(f"no reply from {args.port} within {args.timeout} s")
                    replies = parser.feed(data)
                try:
                    frame = session.send(replies[0])
                except StopIteration as done:
                    return done.value
    except bp.ProtocolError as e:
        raise UsageError(str(e)) from None
