"""Behavioural Verilog models of the ECP5 primitives circnn instantiates, for simulation.

Yosys ships ``MULT18X18D`` only as a black box (``share/ecp5/cells_bb.v``).  This model covers
the configuration ``hw.cmul.ComplexMultiplier(tech="ecp5")`` uses, written from Lattice's
description of the sysDSP block (TN1267): signed 18 x 18 multiply, input registers on A and B,
the pipeline register after the multiplier and the output register, all clocked by CLK0 and
enabled by CE0 (RST0 tied low).  Any other parameter value stops the simulation, so the model can
not silently disagree with a different use of the primitive.
"""

from __future__ import annotations

from pathlib import Path

_REGS = ("INPUTA", "INPUTB", "INPUTC", "PIPELINE", "OUTPUT")


def mult18x18d_model() -> str:
    params = []
    for r in _REGS:
        params += [f'parameter REG_{r}_CLK = "NONE";', f'parameter REG_{r}_CE = "CE0";',
                   f'parameter REG_{r}_RST = "RST0";']
    params += ['parameter CLK0_DIV = "ENABLED";', 'parameter CLK1_DIV = "ENABLED";',
               'parameter CLK2_DIV = "ENABLED";', 'parameter CLK3_DIV = "ENABLED";',
               'parameter HIGHSPEED_CLK = "NONE";', 'parameter GSR = "ENABLED";',
               'parameter CAS_MATCH_REG = "FALSE";', 'parameter SOURCEB_MODE = "B_SHIFT";',
               'parameter MULT_BYPASS = "DISABLED";', 'parameter RESETMODE = "SYNC";']
    a = ", ".join(f"A{i}" for i in range(18))
    b = ", ".join(f"B{i}" for i in range(18))
    p = ", ".join(f"P{i}" for i in range(36))
    a_cat = ", ".join(f"A{i}" for i in reversed(range(18)))
    b_cat = ", ".join(f"B{i}" for i in reversed(range(18)))
    body = "\n".join(f"    assign P{i} = out_r[{i}];" for i in range(36))
    plist = "\n    ".join(params)
    return f"""`timescale 1ns/1ps
// Behavioural model of the ECP5 MULT18X18D, registered configuration only (see sim/ecp5_models.py)
module MULT18X18D({a}, {b}, SIGNEDA, SIGNEDB, SOURCEA, SOURCEB, CLK0, CE0, RST0, {p});
    {plist}
    input {a};
    input {b};
    input SIGNEDA, SIGNEDB, SOURCEA, SOURCEB, CLK0, CE0, RST0;
    output {p};
    reg signed [17:0] a_r = 0, b_r = 0;
    reg signed [35:0] pipe_r = 0, out_r = 0;
    initial begin
        if (REG_INPUTA_CLK != "CLK0" || REG_INPUTB_CLK != "CLK0" || REG_PIPELINE_CLK != "CLK0"
            || REG_OUTPUT_CLK != "CLK0" || REG_INPUTA_CE != "CE0" || REG_INPUTB_CE != "CE0"
            || REG_PIPELINE_CE != "CE0" || REG_OUTPUT_CE != "CE0") begin
            $display("MULT18X18D model: unsupported register configuration");
            $finish;
        end
    end
    always @(posedge CLK0) begin
        if (CE0) begin
            a_r <= {{{a_cat}}};
            b_r <= {{{b_cat}}};
            pipe_r <= a_r * b_r;
            out_r <= pipe_r;
        end
    end
{body}
endmodule
"""


def write_models(directory: Path) -> list[Path]:
    path = Path(directory) / "ecp5_models.v"
    path.write_text(mult18x18d_model())
    return [path]
