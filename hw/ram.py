"""Simple dual-port RAM with a registered read (technology layer: generic, ECP5 DP16KD, iCE40
SB_RAM40_4K and SB_SPRAM256KA)."""

from __future__ import annotations

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, Mux, Signal, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SimpleDualPortRAM", "DP16KD_WIDTH", "DP16KD_DEPTH", "EBR_WIDTH", "EBR_DEPTH",
           "SPRAM_WIDTH", "SPRAM_DEPTH", "ebr_columns", "ebr_blocks"]

#: Word width and depth of one DP16KD in the configuration used here (1024 x 18).
DP16KD_WIDTH, DP16KD_DEPTH = 18, 1024
#: iCE40 SB_RAM40_4K in its 256 x 16 configuration, and the UP5K's SB_SPRAM256KA (16K x 16).
EBR_WIDTH, EBR_DEPTH = 16, 256
SPRAM_WIDTH, SPRAM_DEPTH = 16, 16384


def ebr_columns(width: int, depth: int) -> list:
    """``(width, mode)`` of each SB_RAM40_4K column of a ``width`` x ``depth`` memory: 256 x 16
    (mode 0), the last one narrower when that needs fewer blocks: 512 x 8, 1024 x 4 or 2048 x 2
    (modes 1 to 3)."""
    cols = -(-width // EBR_WIDTH)
    rem = width - EBR_WIDTH * (cols - 1)
    mode = 0 if rem > 8 else 1 if rem > 4 else 2 if rem > 2 else 3
    if -(-depth // (EBR_DEPTH << mode)) == -(-depth // EBR_DEPTH):
        mode = 0
    return [(EBR_WIDTH, 0)] * (cols - 1) + [(rem, mode)]


def ebr_blocks(width: int, depth: int) -> int:
    """SB_RAM40_4K blocks of a ``width`` x ``depth`` memory (:func:`ebr_columns`)."""
    return sum(-(-depth // (EBR_DEPTH << mode)) for _, mode in ebr_columns(width, depth))


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
    multiplexer after the output register).  ``tech="ice40"``: ``SB_RAM40_4K`` in the 256 x 16
    configuration (the block's read register, then a row multiplexer and one fabric register),
    or, with ``single_port``, ``SB_SPRAM256KA`` (16K x 16, no initial contents).
    ``sim/ecp5_models.py`` and ``sim/ice40_models.py`` have behavioural models of those
    configurations; every tech has the same cycle behaviour and contents.

    Primitives are instantiated rather than inferred so that Yosys adds no logic of its own
    around them (inferred iCE40 memories get registers and multiplexers that emulate
    read-during-write behaviour, several hundred cells per design): callers never read an
    address in the cycle it is written.

    Latency and resources
    ---------------------
    ``delay = 2``.  Generic: ``width * depth`` bits.  ECP5: ``ceil(width / 18) * ceil(depth /
    1024)`` DP16KD.  iCE40: ``ceil(width / 16) * ceil(depth / 256)`` SB_RAM40_4K, or with
    ``single_port`` ``ceil(width / 16) * ceil(depth / 16384)`` SB_SPRAM256KA.

    Parameters
    ----------
    width, depth : int
        Word width (1 to 4096) and number of words (at least 1).
    tech : str
        ``"generic"``, ``"ecp5"`` or ``"ice40"``.
    init : list of int, optional
        Initial contents (a ROM when nothing is written).
    single_port : bool
        One address for reads and writes (the write address in a cycle with ``w_en``, which then
        is no read cycle: the first read register holds).  On iCE40 the memory is then SPRAM,
        which has no initial contents (``init`` must be empty).
    """

    TECHS = ("generic", "ecp5", "ice40")

    def __init__(self, width: int, depth: int, tech: str = "generic", init=None,
                 single_port: bool = False):
        if not isinstance(width, int) or isinstance(width, bool) or not 1 <= width <= 4096:
            raise TypeError(f"width must be an integer from 1 to 4096, not {width!r}")
        if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
            raise TypeError(f"depth must be a positive integer, not {depth!r}")
        if tech not in self.TECHS:
            raise TypeError(f"tech must be 'generic', 'ecp5' or 'ice40', not {tech!r}")
        init = [] if init is None else [int(v) for v in init]
        if len(init) > depth or any(not 0 <= v < (1 << width) for v in init):
            raise ValueError(f"init must hold at most {depth} words of {width} unsigned bits")
        self._width, self._depth, self._tech, self._init = width, depth, tech, init
        self._single = bool(single_port)
        if self._single and tech == "ice40" and init:
            raise ValueError("an iCE40 single-port memory (SPRAM) has no initial contents")
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
        """Block memories of the tech: DP16KD on ECP5, SB_RAM40_4K (or SB_SPRAM256KA with
        ``single_port``) on iCE40, 0 for generic."""
        if self._tech == "ecp5":
            return -(-self._width // DP16KD_WIDTH) * -(-self._depth // DP16KD_DEPTH)
        if self._tech == "ice40":
            if not self._single:
                return ebr_blocks(self._width, self._depth)
            return -(-self._width // SPRAM_WIDTH) * -(-self._depth // SPRAM_DEPTH)
        return 0

    def _ebr_columns(self):
        return ebr_columns(self._width, self._depth)

    def elaborate(self, platform):
        m = Module()
        if self._tech == "ecp5":
            self._elaborate_ecp5(m)
            return m
        if self._tech == "ice40":
            self._elaborate_ice40(m)
            return m
        m.submodules.mem = mem = memory.Memory(shape=unsigned(self._width), depth=self._depth,
                                               init=self._init)
        wp, rp = mem.write_port(), mem.read_port(domain="sync")
        m.d.comb += [wp.addr.eq(self.w_addr), wp.data.eq(self.w_data), wp.en.eq(self.w_en),
                     rp.addr.eq(self.r_addr), rp.en.eq(self._read_enable)]
        with m.If(self.r_en):
            m.d.sync += self.r_data.eq(rp.data)
        return m

    @property
    def _read_enable(self):
        """The first read register's enable (a write cycle is no read cycle with one port)."""
        return self.r_en & ~self.w_en if self._single else self.r_en

    def _elaborate_ice40(self, m):
        """Tiles of SB_RAM40_4K (256 x 16) or SB_SPRAM256KA (16K x 16), then the row
        multiplexer (a narrow last column of SB_RAM40_4K in a deeper mode when that saves
        blocks: :meth:`_elaborate_ice40_columns`).  EBR: a fabric register on the read
        address, then the block's read register (``r_data`` straight from the block: address
        bits instead of data bits in fabric flip-flops,
        with the same cycle behaviour for callers that write no word in the cycle after its read
        address).  SPRAM: the block's output register, then one fabric register."""
        if not self._single and self._ebr_columns()[-1][1]:
            self._elaborate_ice40_columns(m)
            return
        pw, pd = (SPRAM_WIDTH, SPRAM_DEPTH) if self._single else (EBR_WIDTH, EBR_DEPTH)
        cols, rows = -(-self._width // pw), -(-self._depth // pd)
        lb = pd.bit_length() - 1
        rbits = max(0, (rows - 1).bit_length())
        read = Signal(name="read")
        m.d.comb += read.eq(self._read_enable)
        if self._single:
            addr = Signal.like(self.r_addr, name="addr")
            m.d.comb += addr.eq(Mux(self.w_en, self.w_addr, self.r_addr))
        else:  # the address register; the block reads at the second edge
            addr = Signal.like(self.r_addr, name="r_addr_reg")
            with m.If(self.r_en):
                m.d.sync += addr.eq(self.r_addr)
        w_data = Signal(cols * pw)
        m.d.comb += w_data.eq(self.w_data)
        outs = []
        for row in range(rows):
            words = self._init[row * pd:(row + 1) * pd]
            w_row = self.w_addr if not self._single else addr
            we = self.w_en & (w_row[lb:lb + rbits] == row) if rbits else self.w_en
            re = read & (addr[lb:lb + rbits] == row) if rbits else read
            row_out = []
            for col in range(cols):
                lo = col * pw
                name = f"{'spram' if self._single else 'ebr'}_r{row}_c{col}"
                dout = Signal(pw, name=f"{name}_do")
                if self._single:
                    self._spram(m, name, addr[:lb], w_data[lo:lo + pw], we, re, dout)
                else:
                    data = [(v >> lo) & ((1 << pw) - 1) for v in words]
                    self._ebr(m, name, addr[:lb], w_data[lo:lo + pw], we, re, dout, data)
                row_out.append(dout)
            outs.append(Cat(*row_out)[:self._width])
        sel = Signal(max(1, rbits))
        if rbits:
            with m.If(read):
                m.d.sync += sel.eq(addr[lb:lb + rbits])
        if self._single:
            with m.If(self.r_en):
                with m.Switch(sel):
                    for row, o in enumerate(outs):
                        with m.Case(row):
                            m.d.sync += self.r_data.eq(o)
        else:
            with m.Switch(sel):
                for row, o in enumerate(outs):
                    with m.Case(row):
                        m.d.comb += self.r_data.eq(o)

    def _elaborate_ice40_columns(self, m):
        """SB_RAM40_4K columns of their own depth (:meth:`_ebr_columns`), each with its rows
        and its row multiplexer; same cycle behaviour as the 256 x 16 tiles."""
        addr = Signal.like(self.r_addr, name="r_addr_reg")
        with m.If(self.r_en):
            m.d.sync += addr.eq(self.r_addr)
        read = Signal(name="read")
        m.d.comb += read.eq(self._read_enable)
        outs, sels, lo = [], {}, 0
        for col, (cw, mode) in enumerate(self._ebr_columns()):
            pd = EBR_DEPTH << mode
            lb, rows = pd.bit_length() - 1, -(-self._depth // pd)
            rbits = max(0, (rows - 1).bit_length())
            col_out = Signal(cw, name=f"ebr_c{col}_out")
            row_outs = []
            for row in range(rows):
                words = self._init[row * pd:(row + 1) * pd]
                we = self.w_en & (self.w_addr[lb:lb + rbits] == row) if rbits else self.w_en
                re = read & (addr[lb:lb + rbits] == row) if rbits else read
                dout = Signal(cw, name=f"ebr_r{row}_c{col}_do")
                data = [(v >> lo) & ((1 << cw) - 1) for v in words]
                self._ebr(m, f"ebr_r{row}_c{col}", addr[:lb], self.w_data[lo:lo + cw], we, re,
                          dout, data, mode)
                row_outs.append(dout)
            if rbits and lb not in sels:
                sels[lb] = Signal(rbits, name=f"row_sel{lb}")
                with m.If(read):
                    m.d.sync += sels[lb].eq(addr[lb:lb + rbits])
            with m.Switch(sels[lb] if rbits else Const(0, 1)):
                for row, o in enumerate(row_outs):
                    with m.Case(row):
                        m.d.comb += col_out.eq(o)
            outs.append(col_out)
            lo += cw
        m.d.comb += self.r_data.eq(Cat(*outs))

    def _ebr(self, m, name, raddr, din, we, re, dout, data, mode=0):
        """One SB_RAM40_4K in mode ``mode`` (``256 << mode`` words of ``16 >> mode`` bits):
        data bit ``j`` on pin ``j * 2**mode + (0, 0, 1, 3)[mode]``, stored (TN1250; Yosys'
        model) in row ``a[7:0]``, bit ``j * 2**mode + a >> 8`` (the initial contents too)."""
        step, off = 1 << mode, (0, 0, 1, 3)[mode]
        init = {}
        for blk in range(16):
            v = 0
            for j in range(16):
                row = blk * 16 + j
                if mode == 0:
                    word = data[row] if row < len(data) else 0
                else:
                    word = 0
                    for sub in range(step):
                        a = sub * 256 + row
                        if a < len(data):
                            for bit in range(16 >> mode):
                                word |= ((data[a] >> bit) & 1) << (bit * step + sub)
                v |= word << (16 * j)
            init[f"p_INIT_{blk:X}"] = Const(v, 256)
        wa, ra = Signal(11, name=f"{name}_wa"), Signal(11, name=f"{name}_ra")
        m.d.comb += [wa.eq(self.w_addr[:8 + mode]), ra.eq(raddr)]
        if mode:
            pins_in, pins_out = Signal(16, name=f"{name}_wd"), Signal(16, name=f"{name}_rd")
            for bit in range(16 >> mode):
                m.d.comb += [pins_in[bit * step + off].eq(din[bit] if bit < len(din) else 0)]
                if bit < len(dout):
                    m.d.comb += dout[bit].eq(pins_out[bit * step + off])
            din, dout = pins_in, pins_out
        m.submodules[name] = Instance(
            "SB_RAM40_4K", p_READ_MODE=mode, p_WRITE_MODE=mode, **init,
            i_WCLK=ClockSignal(), i_WCLKE=Const(1, 1), i_WE=we, i_WADDR=wa, i_WDATA=din,
            i_MASK=Const(0, 16),
            i_RCLK=ClockSignal(), i_RCLKE=re, i_RE=Const(1, 1), i_RADDR=ra, o_RDATA=dout)

    @staticmethod
    def _spram(m, name, addr, din, we, re, dout):
        a = Signal(14, name=f"{name}_addr")
        m.d.comb += a.eq(addr)
        m.submodules[name] = Instance(
            "SB_SPRAM256KA", i_CLOCK=ClockSignal(), i_ADDRESS=a, i_DATAIN=din,
            i_MASKWREN=Const(0b1111, 4), i_WREN=we, i_CHIPSELECT=we | re,
            i_STANDBY=Const(0, 1), i_SLEEP=Const(0, 1), i_POWEROFF=Const(1, 1), o_DATAOUT=dout)

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
        with m.If(self._read_enable):
            m.d.sync += sel1.eq(self.r_addr[10:10 + rbits])
        with m.If(self.r_en):
            m.d.sync += sel2.eq(sel1)
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
        # port A only writes: its data outputs go to a wire nothing reads (named, so that the
        # instance has every pin connected)
        unused = Signal(DP16KD_WIDTH, name=f"{name}_doa_unused")
        ports = {}
        for i in range(DP16KD_WIDTH):
            ports[f"o_DOA{i}"] = unused[i]
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
            i_CLKB=ClockSignal(), i_CEB=self._read_enable, i_OCEB=self.r_en, i_WEB=Const(0, 1),
            i_RSTB=Const(0, 1),
            **init, **ports)
        return dout
