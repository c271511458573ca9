"""Bulk inference through the layer engine's Verilog under Verilator, without cocotb.

The cocotb testbench (``sim/tb_layer_engine.py``) verifies the engine with random gaps,
backpressure, reloads and resets; for running whole data sets the per-time-step cost of cocotb's
GPI (about 18 us per clock cycle here, measured: 55 k cycles/s idle against 659 k cycles/s for
the bare Verilated model) dominates.  This module compiles the same Verilog with a small C++
driver that streams samples in and collects outputs (``o.ready`` held high, ``i.valid`` high
while a sample is being loaded) and records each sample's cycles; the caller compares the
outputs with the fixed golden.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np

from golden.engine_plan import EnginePlan

from .engine_run import TOPLEVEL, generate_engine_verilog, plan_digest
from .simulators import SimulatorError, simulator_environment, verilator_root

DRIVER = r"""
#include "Vtop.h"
#include "verilated.h"
#include <cstdio>
#include <cstdlib>
#include <vector>

// usage: engine_fast INPUTS OUTPUTS   (INPUTS: "B N" then B*N integers; OUTPUTS: per sample
// the cycles from the first accepted input to the last output, then the M outputs)
int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  if (argc < 3) { fprintf(stderr, "usage: %s INPUTS OUTPUTS\n", argv[0]); return 2; }
  FILE* in = fopen(argv[1], "r");
  FILE* out = fopen(argv[2], "w");
  if (!in || !out) { fprintf(stderr, "cannot open files\n"); return 2; }
  long b, n, m = OUT_SIZE;
  if (fscanf(in, "%ld %ld", &b, &n) != 2) return 2;
  Vtop* t = new Vtop;
  t->clk = 0; t->rst = 1; t->i___05Fvalid = 0; t->o___05Fready = 0; t->w___05Fvalid = 0;
  for (int i = 0; i < 4; i++) { t->clk = 0; t->eval(); t->clk = 1; t->eval(); }
  t->rst = 0; t->o___05Fready = 1;
  const unsigned mask = (1u << WIDTH) - 1;
  for (long s = 0; s < b; s++) {
    std::vector<long> x(n);
    for (long i = 0; i < n; i++) if (fscanf(in, "%ld", &x[i]) != 1) return 2;
    long sent = 0, got = 0, cycles = 0, started = 0;
    std::vector<long> y;
    while (got < m) {
      t->i___05Fvalid = sent < n;
      t->i___05Fpayload = sent < n ? ((unsigned)x[sent] & mask) : 0;
      t->clk = 0; t->eval();
      bool take = t->i___05Fvalid && t->i___05Fready;
      if (t->o___05Fvalid) {
        long v = t->o___05Fpayload & mask;
        if (v >> (WIDTH - 1)) v -= (1L << WIDTH);
        y.push_back(v); got++;
      }
      t->clk = 1; t->eval();
      if (take) { sent++; started = 1; }
      if (started) cycles++;
      if (cycles > TIMEOUT) { fprintf(stderr, "timeout in sample %ld\n", s); return 1; }
    }
    fprintf(out, "%ld", cycles);
    for (long v : y) fprintf(out, " %ld", v);
    fprintf(out, "\n");
  }
  fclose(out);
  delete t;
  return 0;
}
"""


def build_fast(plan: EnginePlan, build_root: Path) -> Path:
    """Compile (once per plan) and return the driver executable."""
    build_dir = Path(build_root).resolve() / f"engine-{plan_digest(plan)}-fast"
    exe = build_dir / "obj_dir" / "engine_fast"
    build_dir.mkdir(parents=True, exist_ok=True)
    # regenerated every time (rewritten only when the gateware changed), so a stale executable
    # is never reused
    verilog = generate_engine_verilog(plan, build_dir / f"{TOPLEVEL}.v")
    if exe.exists() and exe.stat().st_mtime >= verilog.stat().st_mtime:
        return exe
    from golden.engine_cycles import estimate_cycles
    source = (DRIVER.replace("OUT_SIZE", str(plan.out_size)).replace("WIDTH", str(plan.width))
              .replace("TIMEOUT", str(50 * estimate_cycles(plan) + 10_000)))
    (build_dir / "main.cpp").write_text(source)
    root = verilator_root()
    # the C++ optimization level: -O2 for speed; tests, which simulate a few samples, may set
    # CIRCNN_FAST_DRIVER_OPT=-O0 to compile faster.  The code run once (constructors, memory
    # initial contents) is compiled without optimization: at -O2 the weight banks of a dense
    # FC 1024 x 1024 (a million initial words) took gcc over 20 minutes
    opt = os.environ.get("CIRCNN_FAST_DRIVER_OPT", "-O2")
    cmd = [str(root / "bin" / "verilator"), "--cc", "--exe", "--build", "-O3", "--no-timing",
           "-Wno-fatal", "-Wno-WIDTH", "--prefix", "Vtop", "--top-module", TOPLEVEL, "-j", "2",
           "-MAKEFLAGS", f"CFG_CXXFLAGS_PCH_I=-include OPT_FAST={opt} OPT_SLOW=-O0",
           "main.cpp", verilog.name, "-o", "engine_fast"]
    with simulator_environment("verilator"):
        r = subprocess.run(cmd, cwd=build_dir, capture_output=True, text=True)
    (build_dir / "build.log").write_text(r.stdout + r.stderr)
    if r.returncode != 0 or not exe.exists():
        raise SimulatorError(f"verilator build of the fast driver failed; see "
                             f"{build_dir / 'build.log'}")
    return exe


def run_fast(plan: EnginePlan, x_int, build_root: Path) -> dict:
    """Outputs ``(B, out_size)`` and ``cycles`` ``(B,)`` of samples ``x_int`` ``(B, in_size)``."""
    exe = build_fast(plan, build_root)
    x = np.asarray(x_int, dtype=np.int64).reshape(len(x_int), -1)
    work = exe.parent.parent
    inputs, outputs = work / "inputs.txt", work / "outputs.txt"
    with open(inputs, "w") as f:
        f.write(f"{x.shape[0]} {x.shape[1]}\n")
        np.savetxt(f, x, fmt="%d")
    r = subprocess.run([str(exe), str(inputs), str(outputs)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SimulatorError(f"fast engine simulation failed: {r.stderr.strip()}")
    rows = np.loadtxt(outputs, dtype=np.int64, ndmin=2)
    return {"outputs": rows[:, 1:], "cycles": rows[:, 0], "build_dir": work}
