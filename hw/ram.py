"""Simple dual-port RAM with a registered read (technology layer: generic or ECP5 DP16KD)."""

from __future__ import annotations

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, Signal, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SimpleDualPortRAM", "DP16KD_WIDTH", "DP16KD_DEPTH"]

#: Word width and depth of one DP16KD in the configuration used here (1024 x 18).
DP16KD_WIDTH, DP16KD_DEPTH = 18, 1024


class SimpleDualPortRAM(wiring.Component):
    """One write port and one read port; a read takes two cycles (address, output register).

    Overview
    --------
    ``w_data`` is written at ``w_addr`` when ``w_en``.  The word at ``r_addr`` appears on
    ``r_data`` two cycles later; both read registers advance only when ``r_en`` (so a stalled
    reader keeps its data).  Reading an address in the cycle it is written gives an undefined
    word: callers never do.

    ``tech="generic"``: an Amaranth ``Memory`` with a synchronous read port and one more register
    (any device; small ones become distributed RAM).  ``tech="ecp5"``: ``DP16KD`` primitives in
    the 1024 x 18 configuration, port A writing and port B reading, with the primitive's own output
    register enabled (``REGMODE_B = "OUTREG"``: about 1 ns clock-to-out instead of 5.8 ns), as
    many columns as 18-bit slices and as many rows as 1024-word blocks (rows selected by a
    multiplexer after the output register).  ``sim/ecp5_models.py`` has a behavioural model of
    that configuration; the two techs have the same cycle behaviour and contents.

    Latency and resources
    ---------------------
    ``delay = 2``.  Generic: ``width * depth`` bits.  ECP5: ``ceil(width / 18) * ceil(depth /
    1024)`` DP16KD.

    Parameters
    ----------
    width, depth : int
        Word width (1 to 4096) and number of words (at least 1).
    tech : str
        ``"generic"`` or ``"ecp5"``.
    init : list of int, optional
        Initial contents (a ROM when nothing is written).
    """

    TECHS = ("generic", "ecp5")

    def __init__(self, width: int, depth: int, tech: str = "generic", init=None):
        if not isinstance(width, int) or isinstance(width, bool) or not 1 <= width <= 4096:
            raise TypeError(f"width must be an integer from 1 to 4096, not {width!r}")
        if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
            raise TypeError(f"depth must be a positive integer, not {depth!r}")
        if tech not in self.TECHS:
            raise TypeError(f"tech must be 'generic' or 'ecp5', not {tech!r}")
        init = [] if init is None else [int(v) for v in init]
        if len(init) > depth or any(not 0 <= v < (1 << width) for v in init):
            raise ValueError(f"init must hold at most {depth} words of {width} unsigned bits")
        self._width, self._depth, self._tech, self._init = width, depth, tech, init
        abits = max(1, (depth - 1).bit_length())
        super().__init__({
            "w_addr": In(abits), "w_data": In(width), "w_en": In(1),
            "r_addr": In(abits), "r_en": In(1), "r_data": Out(width),
        })

    @property
    def delay(self) -> int:
        return 2

    @property
    def primitives(self) -> int:
        """DP16KD used on ECP5."""
        return -(-self._width // DP16KD_WIDTH) * -(-self._depth // DP16KD_DEPTH)

    def elaborate(self, platform):
        m = Module()
        if self._tech == "ecp5":
            self._elaborate_ecp5(m)
            return m
        m.submodules.mem = mem = memory.Memory(shape=unsigned(self._width), depth=self._depth,
                                               init=self._init)
        wp, rp = mem.write_port(), mem.read_port(domain="sync")
        m.d.comb += [wp.addr.eq(self.w_addr), wp.data.eq(self.w_data), wp.en.eq(self.w_en),
                     rp.addr.eq(self.r_addr), rp.en.eq(self.r_en)]
        with m.If(self.r_en):
            m.d.sync += self.r_data.eq(rp.data)
        return m

    def _elaborate_ecp5(self, m):
        cols = -(-self._width // DP16KD_WIDTH)
        rows = -(-self._depth // DP16KD_DEPTH)
        rbits = max(0, (rows - 1).bit_length())
        outs = []
        for row in range(rows):
            words = self._init[row * DP16KD_DEPTH:(row + 1) * DP16KD_DEPTH]
            row_out = []
            for col in range(cols):
                lo = col * DP16KD_WIDTH
                data = [(v >> lo) & ((1 << DP16KD_WIDTH) - 1) for v in words]
                we = self.w_en
                if rbits:
                    we = self.w_en & (self.w_addr[10:10 + rbits] == row)
                row_out.append(self._dp16kd(m, f"bram_r{row}_c{col}", lo, we, data))
            outs.append(Cat(*row_out)[:self._width])
        if rows == 1:
            m.d.comb += self.r_data.eq(outs[0])
            return
        sel1, sel2 = Signal(rbits), Signal(rbits)
        with m.If(self.r_en):
            m.d.sync += [sel1.eq(self.r_addr[10:10 + rbits]), sel2.eq(sel1)]
        with m.Switch(sel2):
            for row, o in enumerate(outs):
                with m.Case(row):
                    m.d.comb += self.r_data.eq(o)

    def _dp16kd(self, m, name, lo, we, data):
        din = Signal(DP16KD_WIDTH, name=f"{name}_di")
        dout = Signal(DP16KD_WIDTH, name=f"{name}_do")
        m.d.comb += din.eq(self.w_data[lo:lo + DP16KD_WIDTH])
        wa = Signal(10, name=f"{name}_wa")
        ra = Signal(10, name=f"{name}_ra")
        m.d.comb += [wa.eq(self.w_addr), ra.eq(self.r_addr)]
        ports = {}
        for i in range(DP16KD_WIDTH):
            ports[f"i_DIA{i}"] = din[i]
            ports[f"i_DIB{i}"] = Const(0, 1)
            ports[f"o_DOB{i}"] = dout[i]
        # 18-bit mode: address in bits 13:4; on the write port bits 1:0 are byte enables
        for i in range(14):
            ports[f"i_ADA{i}"] = wa[i - 4] if i >= 4 else Const(int(i < 2), 1)
            ports[f"i_ADB{i}"] = ra[i - 4] if i >= 4 else Const(0, 1)
        for p in ("A", "B"):
            for i in range(3):
                ports[f"i_CS{p}{i}"] = Const(0, 1)
        init = {}
        for blk in range(64):
            v = 0
            for j in range(16):
                idx = blk * 16 + j
                if idx < len(data):
                    v |= data[idx] << (20 * j)
            init[f"p_INITVAL_{blk:02X}"] = Const(v, 320)
        m.submodules[name] = Instance(
            "DP16KD",
            p_DATA_WIDTH_A=DP16KD_WIDTH, p_DATA_WIDTH_B=DP16KD_WIDTH,
            p_REGMODE_A="NOREG", p_REGMODE_B="OUTREG",
            p_RESETMODE="SYNC", p_ASYNC_RESET_RELEASE="SYNC",
            p_CSDECODE_A="0b000", p_CSDECODE_B="0b000",
            p_WRITEMODE_A="NORMAL", p_WRITEMODE_B="NORMAL", p_GSR="DISABLED",
            i_CLKA=ClockSignal(), i_CEA=Const(1, 1), i_OCEA=Const(1, 1), i_WEA=we,
            i_RSTA=Const(0, 1),
            i_CLKB=ClockSignal(), i_CEB=self.r_en, i_OCEB=self.r_en, i_WEB=Const(0, 1),
            i_RSTB=Const(0, 1),
            **init, **ports)
        return dout
