"""Behavioural Verilog models of the ECP5 primitives circnn instantiates, for simulation.

Yosys ships ``MULT18X18D`` only as a black box (``share/ecp5/cells_bb.v``).  This model covers
the configuration ``hw.cmul.ComplexMultiplier(tech="ecp5")`` uses, written from Lattice's
description of the sysDSP block (TN1267): signed 18 x 18 multiply, input registers on A and B,
the pipeline register after the multiplier and the output register, all clocked by CLK0 and
enabled by CE0 (RST0 tied low).  Any other parameter value stops the simulation, so the model can
not silently disagree with a different use of the primitive.

``DP16KD`` (sysMEM block RAM, TN1264) is modelled in the configuration of
``hw.ram.SimpleDualPortRAM(tech="ecp5")``: both ports 18 bits wide (address in bits 13:4, write
byte enables in ADA1:0), port A writing, port B reading through its output register
(``REGMODE_B = "OUTREG"``: the word read on a ``CEB`` edge appears after the next ``OCEB`` edge),
contents from the ``INITVAL_xx`` parameters (16 words of 18 bits at a 20-bit stride each).  Yosys'
own simulation model (``cells_sim.v``) covers the primitive too, but the models here are what the
testbench compiles so that both primitives are checked the same way.
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


def dp16kd_model() -> str:
    def pins(prefix, n):
        return ", ".join(f"{prefix}{i}" for i in range(n))

    def cat(prefix, n):
        return ", ".join(f"{prefix}{i}" for i in reversed(range(n)))

    inits = "\n    ".join(f"parameter [319:0] INITVAL_{i:02X} = 320'h0;" for i in range(64))
    load = "\n".join(f"        for (j = 0; j < 16; j = j + 1) mem[{i * 16} + j] = "
                     f"INITVAL_{i:02X}[j * 20 +: 18];" for i in range(64))
    outs = "\n".join(f"    assign DOB{i} = out_r[{i}];\n    assign DOA{i} = 1'b0;"
                      for i in range(18))
    return f"""
// Behavioural model of the ECP5 DP16KD, 18-bit write port A / read port B with OUTREG only
module DP16KD({pins("DIA", 18)}, {pins("ADA", 14)}, CEA, OCEA, CLKA, WEA, RSTA, CSA0, CSA1, CSA2,
    {pins("DOA", 18)}, {pins("DIB", 18)}, {pins("ADB", 14)}, CEB, OCEB, CLKB, WEB, RSTB,
    CSB0, CSB1, CSB2, {pins("DOB", 18)});
    parameter DATA_WIDTH_A = 18;
    parameter DATA_WIDTH_B = 18;
    parameter REGMODE_A = "NOREG";
    parameter REGMODE_B = "NOREG";
    parameter RESETMODE = "SYNC";
    parameter ASYNC_RESET_RELEASE = "SYNC";
    parameter CSDECODE_A = "0b000";
    parameter CSDECODE_B = "0b000";
    parameter WRITEMODE_A = "NORMAL";
    parameter WRITEMODE_B = "NORMAL";
    parameter GSR = "ENABLED";
    parameter CLKAMUX = "CLKA";
    parameter CLKBMUX = "CLKB";
    {inits}
    input {pins("DIA", 18)}, {pins("ADA", 14)}, CEA, OCEA, CLKA, WEA, RSTA, CSA0, CSA1, CSA2;
    input {pins("DIB", 18)}, {pins("ADB", 14)}, CEB, OCEB, CLKB, WEB, RSTB, CSB0, CSB1, CSB2;
    output {pins("DOA", 18)}, {pins("DOB", 18)};
    reg [17:0] mem [0:1023];
    reg [17:0] read_r = 0, out_r = 0;
    wire [17:0] dia = {{{cat("DIA", 18)}}};
    wire [9:0] ada = {{ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4}};
    wire [9:0] adb = {{ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4}};
    integer j;
    initial begin
        if (DATA_WIDTH_A != 18 || DATA_WIDTH_B != 18 || REGMODE_A != "NOREG"
            || REGMODE_B != "OUTREG") begin
            $display("DP16KD model: unsupported configuration");
            $finish;
        end
{load}
    end
    always @(posedge CLKA) begin
        if (CEA && WEA) begin
            if (ADA0) mem[ada][8:0] <= dia[8:0];
            if (ADA1) mem[ada][17:9] <= dia[17:9];
        end
    end
    always @(posedge CLKB) begin
        if (CEB) read_r <= mem[adb];
        if (OCEB) out_r <= read_r;
    end
{outs}
endmodule
"""


def write_models(directory: Path) -> list[Path]:
    path = Path(directory) / "ecp5_models.v"
    path.write_text(mult18x18d_model() + dp16kd_model())
    return [path]
