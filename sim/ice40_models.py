"""Behavioural Verilog models of the iCE40 primitives circnn instantiates, for simulation.

``SB_RAM40_4K`` (iCE40 sysMEM block RAM, Lattice TN1250) is modelled in the configurations of
``hw.ram.SimpleDualPortRAM(tech="ice40")``: the same mode on both ports, ``MASK`` tied to 0
(every bit written), a read register clocked by ``RCLK`` when ``RCLKE`` and ``RE``, contents
from ``INIT_0`` to ``INIT_F`` (256 rows of 16 bits, row ``i`` in bits ``16 i + 15 : 16 i`` of
``INIT_{i / 16}``).  Mode 0 is 256 x 16 (address bits 7:0).  Mode ``m`` of 1 to 3 is ``256 *
2**m`` words of ``16 / 2**m`` bits: data bit ``j`` on pin ``j * 2**m + (0, 0, 1, 3)[m]``,
stored in row ``a[7:0]`` at bit ``j * 2**m + a[7 + m:8]`` (as Yosys' ``cells_sim.v`` has it),
the other read pins 0.

``SB_SPRAM256KA`` (the UP5K's 16K x 16 single-port RAM, TN1314): one address, ``WREN`` with
``CHIPSELECT`` writes the nibbles enabled in ``MASKWREN``, ``CHIPSELECT`` alone reads into
``DATAOUT``; a write leaves ``DATAOUT`` undefined (X), as Yosys' own model and the data sheet
have it, so that a design that relied on the output holding over a write fails in Icarus.
``STANDBY``, ``SLEEP`` must be 0 and ``POWEROFF`` 1 (the model stops otherwise).  No initial
contents: the model's memory starts as X.

Any other configuration stops the simulation, so the models cannot silently disagree with a
different use of the primitives.
"""

from __future__ import annotations

from pathlib import Path


def sb_ram40_4k_model() -> str:
    inits = "\n    ".join(f"parameter [255:0] INIT_{i:X} = 256'h0;" for i in range(16))
    load = "\n".join(f"        for (j = 0; j < 16; j = j + 1) mem[{i * 16} + j] = "
                     f"INIT_{i:X}[j * 16 +: 16];" for i in range(16))
    return f"""`timescale 1ns/1ps
// Behavioural model of the iCE40 SB_RAM40_4K, equal read and write modes, no masks
// (see sim/ice40_models.py)
module SB_RAM40_4K(RDATA, RCLK, RCLKE, RE, RADDR, WCLK, WCLKE, WE, WADDR, MASK, WDATA);
    parameter WRITE_MODE = 0;
    parameter READ_MODE = 0;
    parameter INIT_FILE = "";
    {inits}
    output [15:0] RDATA;
    input RCLK, RCLKE, RE, WCLK, WCLKE, WE;
    input [10:0] RADDR, WADDR;
    input [15:0] MASK, WDATA;
    localparam STEP = 1 << READ_MODE;
    localparam OFF = READ_MODE == 2 ? 1 : READ_MODE == 3 ? 3 : 0;
    reg [15:0] mem [0:255];
    reg [15:0] read_r;
    integer j;
    // a row with the word's bits of sub-address `sub` replaced (written) or picked (read)
    function [15:0] merged(input [15:0] row, input [15:0] pins, input [2:0] sub);
        integer b;
        begin
            merged = row;
            for (b = 0; b < 16 / STEP; b = b + 1) merged[b * STEP + sub] = pins[b * STEP + OFF];
        end
    endfunction
    function [15:0] picked(input [15:0] row, input [2:0] sub);
        integer b;
        begin
            picked = 16'h0;
            for (b = 0; b < 16 / STEP; b = b + 1) picked[b * STEP + OFF] = row[b * STEP + sub];
        end
    endfunction
    initial begin
        if (WRITE_MODE != READ_MODE || READ_MODE < 0 || READ_MODE > 3 || INIT_FILE != "") begin
            $display("SB_RAM40_4K model: unsupported configuration");
            $finish;
        end
{load}
    end
    always @(posedge WCLK) begin
        if (WE && WCLKE) begin
            if (MASK != 16'h0) begin
                $display("SB_RAM40_4K model: write masks are not modelled");
                $finish;
            end
            mem[WADDR[7:0]] <= READ_MODE == 0 ? WDATA
                : merged(mem[WADDR[7:0]], WDATA, (WADDR >> 8) & (STEP - 1));
        end
    end
    always @(posedge RCLK) begin
        if (RE && RCLKE)
            read_r <= READ_MODE == 0 ? mem[RADDR[7:0]]
                : picked(mem[RADDR[7:0]], (RADDR >> 8) & (STEP - 1));
    end
    assign RDATA = read_r;
endmodule
"""


def sb_spram256ka_model() -> str:
    return """
// Behavioural model of the iCE40 UP5K SB_SPRAM256KA (see sim/ice40_models.py)
module SB_SPRAM256KA(ADDRESS, DATAIN, MASKWREN, WREN, CHIPSELECT, CLOCK, STANDBY, SLEEP,
    POWEROFF, DATAOUT);
    input [13:0] ADDRESS;
    input [15:0] DATAIN;
    input [3:0] MASKWREN;
    input WREN, CHIPSELECT, CLOCK, STANDBY, SLEEP, POWEROFF;
    output reg [15:0] DATAOUT;
    reg [15:0] mem [0:16383];
    integer n;
    always @(posedge CLOCK) begin
        if (STANDBY !== 1'b0 || SLEEP !== 1'b0 || POWEROFF !== 1'b1) begin
            $display("SB_SPRAM256KA model: only the powered, awake configuration is modelled");
            $finish;
        end
        if (CHIPSELECT) begin
            if (WREN) begin
                for (n = 0; n < 4; n = n + 1)
                    if (MASKWREN[n]) mem[ADDRESS][n * 4 +: 4] <= DATAIN[n * 4 +: 4];
                DATAOUT <= 16'bx;
            end else begin
                DATAOUT <= mem[ADDRESS];
            end
        end
    end
endmodule
"""


def write_models(directory: Path) -> list[Path]:
    path = Path(directory) / "ice40_models.v"
    path.write_text(sb_ram40_4k_model() + sb_spram256ka_model())
    return [path]
