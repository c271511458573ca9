"""Energy per inference from action counts times a per-action energy table.

The counts come from the plan (what the engine does for one inference, whatever its
parallelism); the tables are JSON files (``circnn/energy_tables/``: a 45 nm ASIC table after
Horowitz, ISSCC 2014, and an FPGA table derived from it), which a user may replace with
``--energy-table FILE``.  The counts are also written in Accelergy's ``action_counts`` YAML
format so the estimate can be redone with that tool and its own component models.

What is counted, per inference (each layer, all its vectors):

* FFT and IFFT butterflies: one complex multiply (4 ``mult16``, 2 ``add32``) and two complex
  additions (4 ``add16``) each, one twiddle read (``2 * twiddle_width`` bits); every sample of a
  frame written and read once per stage in the FFT engine's buffers and once in its input and
  output buffers (an assumption: the delay lines of a pipelined engine hold fewer words, the
  recirculating engine's level memories as many).
* Complex multiply-accumulates: 4 ``mult16`` and 4 ``add32``, a weight read (``2 * width``
  bits) each, a Z read per ``lanes`` of them (broadcast), a Y write per output bin.
* The reader's activation reads (``frames_in * k`` values a vector) and Y reads
  (``frames_out * k`` values), the post-processor's bias reads and additions (an ``add32`` per
  output value) and activation writes.
* Register toggles: the estimated flip-flops, one toggle in eight cycles each (an assumed
  activity factor), over the estimated cycles.
"""

from __future__ import annotations

import json
from pathlib import Path

from golden.engine_plan import EnginePlan

from .errors import UsageError

__all__ = ["TABLES", "load_table", "action_counts", "energy", "accelergy_yaml",
           "REGISTER_ACTIVITY"]

TABLES_DIR = Path(__file__).resolve().parent / "energy_tables"
#: The shipped tables; ``--energy-table`` takes one of these names or a JSON file.
TABLES = ("asic-45nm", "fpga-40nm")
#: Fraction of flip-flops toggling per cycle (assumed).
REGISTER_ACTIVITY = 1 / 8
_ACTIONS = ("mult16", "add16", "add32", "sram_read_bit", "sram_write_bit", "reg_bit")


def load_table(name_or_path: str) -> dict:
    """An energy table: a shipped one by name, or a JSON file with the same layout
    (``{"name", "unit": "pJ", "actions": {action: {"energy": pJ, "source": text}}}``)."""
    path = TABLES_DIR / f"{name_or_path}.json" if name_or_path in TABLES else Path(name_or_path)
    try:
        table = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"energy table '{name_or_path}': no such table or file "
                         f"(shipped tables: {', '.join(TABLES)})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UsageError(f"energy table '{name_or_path}': cannot read it ({e})") from None
    if not isinstance(table, dict) or table.get("unit") != "pJ":
        raise UsageError(f"energy table '{name_or_path}': 'unit' must be \"pJ\"")
    actions = table.get("actions")
    missing = [a for a in _ACTIONS if not isinstance(actions, dict) or a not in actions]
    if missing:
        raise UsageError(f"energy table '{name_or_path}': missing action(s) {', '.join(missing)}")
    for a in _ACTIONS:
        v = actions[a].get("energy") if isinstance(actions[a], dict) else None
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not v >= 0:
            raise UsageError(f"energy table '{name_or_path}': {a}.energy must be a "
                             f"non-negative number, not {v!r}")
    return table


def action_counts(plan: EnginePlan, cycles: int, flip_flops: int) -> dict:
    """``{component: {action: count}}`` for one inference."""
    k, w, fp = plan.k, plan.width, plan.fft
    stages = fp.stages
    c = {name: {} for name in ("fft", "fft_buffers", "twiddles", "mac", "weights", "z_buffer",
                               "y_banks", "activations", "bias", "post", "registers")}

    def add(comp, action, n):
        c[comp][action] = c[comp].get(action, 0) + int(n)

    for lp in plan.layers:
        frames = (lp.frames_in + lp.frames_out) * lp.vectors
        bfly = frames * (k // 2) * stages
        add("fft", "mult16", 4 * bfly)
        add("fft", "add32", 2 * bfly)
        add("fft", "add16", 4 * bfly)
        add("twiddles", "sram_read_bit", bfly * 2 * fp.twiddle_width)
        sample_bits = 2 * fp.internal_width
        add("fft_buffers", "sram_write_bit", frames * k * (stages + 2) * sample_bits)
        add("fft_buffers", "sram_read_bit", frames * k * (stages + 2) * sample_bits)
        cmacs = lp.pb * lp.q * lp.bins * lp.vectors
        add("mac", "mult16", 4 * cmacs)
        add("mac", "add32", 4 * cmacs)
        add("weights", "sram_read_bit", cmacs * 2 * w)
        add("z_buffer", "sram_write_bit", lp.frames_in * k * lp.vectors * 2 * w)
        add("z_buffer", "sram_read_bit", -(-cmacs // plan.lanes) * 2 * w)
        add("y_banks", "sram_write_bit", lp.pb * lp.bins * lp.vectors * 2 * w)
        add("y_banks", "sram_read_bit", lp.frames_out * k * lp.vectors * 2 * w)
        add("activations", "sram_read_bit", lp.frames_in * k * lp.vectors * w)
        add("activations", "sram_write_bit", lp.out_size * w)
        add("bias", "sram_read_bit", lp.m * w)
        add("post", "add32", lp.m * lp.out_h * lp.out_w if lp.conv else lp.m)
    add("registers", "reg_bit", cycles * flip_flops * REGISTER_ACTIVITY)
    return {comp: acts for comp, acts in c.items() if acts}


def energy(counts: dict, table: dict) -> dict:
    """Energy per inference: total (J), per component (J), arithmetic operations and GOPS/W
    (operations: every ``mult16``, ``add16`` and ``add32``)."""
    per = table["actions"]
    by_comp = {comp: sum(n * per[a]["energy"] for a, n in acts.items()) * 1e-12
               for comp, acts in counts.items()}
    total = sum(by_comp.values())
    ops = sum(n for acts in counts.values() for a, n in acts.items()
              if a in ("mult16", "add16", "add32"))
    return {"energy_per_inference_j": total, "by_component_j": by_comp, "operations": ops,
            "gops_per_w": ops / total / 1e9 if total else None, "table": table.get("name")}


def accelergy_yaml(counts: dict, name: str = "circnn") -> str:
    """The counts in Accelergy's ``action_counts`` format (version 0.4)."""
    lines = ["action_counts:", "  version: 0.4", "  local:"]
    for comp, acts in counts.items():
        lines += [f"  - name: {name}.{comp}", "    action_counts:"]
        for action, n in acts.items():
            lines += [f"    - name: {action}", f"      counts: {n}"]
    return "\n".join(lines) + "\n"
