"""``circnn formal``: the stream-interface proofs (SymbiYosys) of sim/formal_units.py."""

from __future__ import annotations

import tempfile
from pathlib import Path

from . import options
from .errors import UsageError
from .files import check_output_paths
from .report import emit, progress, table


def add_parser(sub) -> None:
    p = sub.add_parser(
        "formal", help="prove the stream interfaces of the FFT engine, layer engine and units",
        description="Run the SymbiYosys proofs of the stream contracts (output stable until "
                    "ready, no spurious output, order of a carried tag, bounded drain). "
                    "Exit 1 when a proof finds a counterexample.")
    p.add_argument("names", nargs="*", metavar="NAME", help="proofs to run (default: all)")
    p.add_argument("--list", action="store_true", help="list the proofs and exit")
    p.add_argument("--timeout", type=options.positive_float, default=1800, metavar="S",
                   help="time limit per proof in seconds; BMC then reports the depth it "
                        "reached (default 1800)")
    p.add_argument("--workdir", metavar="DIR",
                   help="keep the proof directories (harness, logs, counterexample traces) here")
    options.add_json(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from sim.formal import formal_tools_available, run_contract
    from sim.formal_units import CONTRACTS, contract_by_name

    if args.list:
        print("\n".join(CONTRACTS))
        return 0
    unknown = [n for n in args.names if n not in CONTRACTS]
    if unknown:
        raise UsageError(f"no proof named {', '.join(unknown)}; known: {', '.join(CONTRACTS)}")
    missing = formal_tools_available()
    if missing:
        raise UsageError(missing)
    check_output_paths(None if args.json in (None, "-") else args.json)
    if args.workdir and Path(args.workdir).exists() and not Path(args.workdir).is_dir():
        raise UsageError(f"--workdir {args.workdir} is not a directory")
    names = args.names or list(CONTRACTS)
    with tempfile.TemporaryDirectory(prefix="circnn-formal-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        results = []
        for i, name in enumerate(names, 1):
            progress(f"[{i}/{len(names)}] {name} ...")
            result = run_contract(contract_by_name(name), workdir, timeout=args.timeout)
            progress(f"[{i}/{len(names)}] {name}: {result.status} ({result.seconds:.0f} s)")
            results.append(result)
        rows = [(r.name, r.status, r.depth, f"{r.seconds:.0f}",
                 ", ".join(r.failed) if r.failed else r.detail) for r in results]
        text = table(rows, ("proof", "status", "depth", "seconds", "detail"))
        emit(args, text, {"proofs": [r.as_dict() for r in results]})
    failed = [r.name for r in results if r.status in ("fail", "error")]
    return 1 if failed else 0
