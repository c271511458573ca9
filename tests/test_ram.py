# amaranth: UnusedElaboratable=no
"""The simple dual-port RAM of the technology layer: two-cycle read, stall on ``r_en``, initial
contents, constructor checks (the ECP5 DP16KD version is checked against its behavioural model
inside the FFT engine: tests/test_fft_rtl.py::test_rtl_ecp5_primitives_bit_exact)."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hw.ram import SimpleDualPortRAM


def test_two_cycle_read_holds_when_disabled_and_reads_init():
    dut = SimpleDualPortRAM(12, 40, init=[7, 9, 11])
    rng = np.random.default_rng(1)
    got = []

    async def bench(ctx):
        # the initial contents, then a write of every word, then reads with the reader stalled
        ctx.set(dut.r_en, 1)
        for a in (0, 1, 2, 0, 0):
            ctx.set(dut.r_addr, a)
            await ctx.tick()
            got.append(ctx.get(dut.r_data))
        values = rng.integers(0, 1 << 12, 40)
        ctx.set(dut.r_en, 0)
        for a, v in enumerate(values):
            ctx.set(dut.w_addr, a)
            ctx.set(dut.w_data, int(v))
            ctx.set(dut.w_en, 1)
            await ctx.tick()
        ctx.set(dut.w_en, 0)
        reads = []
        en = [1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1]
        addrs = iter(range(40))
        a = next(addrs)
        for e in en:
            ctx.set(dut.r_en, e)
            ctx.set(dut.r_addr, a)
            await ctx.tick()
            reads.append((e, ctx.get(dut.r_data)))
            if e:
                a = next(addrs)
        got.append((values, reads))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got[1:4] == [7, 9, 11]  # two cycles after the address
    values, reads = got[5]
    # each enabled cycle shows the word addressed in the previous enabled cycle (address then
    # output register); a disabled cycle holds the output
    enabled = [v for e, v in reads if e]
    assert enabled[1:] == [int(v) for v in values[:len(enabled) - 1]]
    held = [reads[i][1] == reads[i - 1][1] for i, (e, _) in enumerate(reads) if i and not e]
    assert all(held)


@pytest.mark.parametrize("kwargs, message", [
    ({"width": 0, "depth": 4}, "width must be an integer from 1 to 4096, not 0"),
    ({"width": 8, "depth": 0}, "depth must be a positive integer, not 0"),
    ({"width": 8, "depth": 4, "tech": "xilinx"}, "tech must be 'generic', 'ecp5' or 'ice40', not 'xilinx'"),
])
def test_validation(kwargs, message):
    with pytest.raises(TypeError, match=message):
        SimpleDualPortRAM(**kwargs)


def test_init_checked_and_primitive_count():
    with pytest.raises(ValueError, match="init must hold at most 2 words of 4 unsigned bits"):
        SimpleDualPortRAM(4, 2, init=[1, 2, 3])
    assert SimpleDualPortRAM(36, 2048, "ecp5").primitives == 4


@pytest.mark.parametrize("width, depth, sim", [
    (20, 1024, "icarus"),     # 256 x 16 tiles and a 1024 x 4 column (SB_RAM40_4K mode 2)
    (24, 600, "verilator"),   # a 512 x 8 column of two rows (mode 1) beside three 256 x 16 rows
    (18, 2048, "icarus"),     # a 2048 x 2 column (mode 3)
    (16, 300, "verilator"),   # 256 x 16 only
])
def test_ice40_block_ram_columns_rtl(width, depth, sim, tmp_path):
    """SB_RAM40_4K tiles with a narrow last column in a deeper mode (fewer blocks), against the
    primitive's behavioural model: the initial contents (pins and bit layout of each mode),
    writes, reads and read stalls, every read checked (sim/tb_ram.py)."""
    import json

    from sim.primitive_models import primitive_models
    from sim.simulators import available, run_cocotb
    from sim.verilog import write_verilog

    if not available(sim):
        pytest.skip(f"{sim} is not installed (Icarus is optional: apt-get install iverilog)")
    rng = np.random.default_rng(width)
    init = [int(v) for v in rng.integers(0, 1 << width, depth // 2)]
    dut = SimpleDualPortRAM(width, depth, "ice40", init=init)
    narrow = -(-depth // 256) * -(-width // 16)
    assert dut.primitives < narrow if width % 16 else dut.primitives == narrow
    sources = [write_verilog(dut, "ram", tmp_path / "ram.v")] + primitive_models("ice40", tmp_path)
    cfg = {"width": width, "depth": depth, "init": init, "seed": 3, "cycles": 1500}
    run_cocotb(sim, sources, "ram", "sim.tb_ram", tmp_path,
               extra_env={"CIRCNN_RAM_CONFIG": json.dumps(cfg)})
