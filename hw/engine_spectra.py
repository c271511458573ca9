"""The layer engine's spectrum memories: the Z buffer (input spectra) and the Y banks (output
spectra), banked or copied so that every memory has one write and one read port."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .ram import SimpleDualPortRAM
from .select import select

__all__ = ["CopiedMemory", "PairedBanks", "ZBuffer", "YBanks", "dense_y_word"]


def dense_y_word(plan, group, slot):
    """A dense layer's Y address (the MAC scheduler writes it, the reader reads it): output
    ``g * lanes + lane`` at word ``g`` of the slot (no bins); with one lane ``g``'s bit 0 moved
    to the group bit ``log2 k`` the banks are split on (the reader takes outputs ``2u`` and
    ``2u + 1`` in one cycle)."""
    lk = plan.k.bit_length() - 1
    gb = (plan.ybuf_depth // plan.k).bit_length() - 1
    g = Cat(group, Const(0, lk + gb))[:lk + gb]
    if plan.lanes == 1:
        g = Cat(g[1:lk + 1], g[0], g[lk + 1:])
    return Cat(g, slot) if plan.y_slots > 1 else g


class CopiedMemory(wiring.Component):
    """``banks`` memories of ``depth`` words, each kept in ``copies`` copies written together.

    Overview
    --------
    A write puts ``w_data[b]`` at ``w_addr`` in every copy of bank ``b`` (one address for all
    banks); read port ``c`` reads address ``r_addr[c]`` from copy ``c`` of every bank, so each
    memory has one write and one read port.

    Latency and resources
    ---------------------
    Reads take 2 cycles (``delay``).  ``banks * copies`` :class:`hw.ram.SimpleDualPortRAM`.

    Members
    -------
    w_en : In(1), w_addr : In(range(depth)), w_data : In(ArrayLayout(width, banks))
    r_addr : In(ArrayLayout(range(depth), copies))
    r_data : Out(ArrayLayout(ArrayLayout(width, copies), banks))
    """

    delay = 2

    def __init__(self, width: int, depth: int, banks: int = 1, copies: int = 2,
                 tech: str = "generic"):
        self._width, self._depth, self._banks, self._copies = width, depth, banks, copies
        self._tech = tech
        abits = range(depth)
        super().__init__({
            "w_en": In(1), "w_addr": In(abits), "w_data": In(data.ArrayLayout(width, banks)),
            "r_addr": In(data.ArrayLayout(abits, copies)),
            "r_data": Out(data.ArrayLayout(data.ArrayLayout(width, copies), banks)),
        })

    def elaborate(self, platform):
        m = Module()
        for b in range(self._banks):
            for c in range(self._copies):
                ram = SimpleDualPortRAM(self._width, self._depth, self._tech)
                m.submodules[f"bank{b}_copy{c}"] = ram
                m.d.comb += [ram.w_en.eq(self.w_en), ram.w_addr.eq(self.w_addr),
                             ram.w_data.eq(self.w_data[b]), ram.r_addr.eq(self.r_addr[c]),
                             ram.r_en.eq(1), self.r_data[b][c].eq(ram.r_data)]
        return m


class PairedBanks(wiring.Component):
    """A memory of ``depth`` words with ``writes`` write ports and two read ports, in two banks
    of ``depth / 2`` words that each have one write and one read port.

    Overview
    --------
    Word ``a`` is in bank ``XOR of a[i] for i in bank_bits``, at ``a`` without bit
    ``bank_bits[0]``.  Callers choose ``bank_bits`` so that the words of one cycle fall in
    different banks: the two writes (when ``writes = 2``), and the two reads.  Two reads in the
    same bank are served with read port 0's address: both ports then show that word (right
    when both asked for it, and otherwise port 1's word is the caller's don't-care).

    Latency and resources
    ---------------------
    Reads take 2 cycles (``delay``).  Two :class:`hw.ram.SimpleDualPortRAM` of ``depth / 2``
    words (half the memory of two copies), multiplexers on the ports.

    Members
    -------
    w_en : In(writes), w_addr : In(ArrayLayout(range(depth), writes)),
    w_data : In(ArrayLayout(width, writes))
    r_addr : In(ArrayLayout(range(depth), 2)), r_data : Out(ArrayLayout(width, 2))
    """

    delay = 2

    def __init__(self, width: int, depth: int, bank_bits: tuple, writes: int = 1,
                 tech: str = "generic"):
        abits = max(1, (depth - 1).bit_length())
        if depth < 2 or depth & (depth - 1):
            raise ValueError(f"depth must be a power of two of at least 2, not {depth}")
        if not bank_bits or any(not 0 <= b < abits for b in bank_bits):
            raise ValueError(f"bank_bits must be address bits (0 to {abits - 1}), not "
                             f"{bank_bits!r}")
        if writes not in (1, 2):
            raise ValueError(f"writes must be 1 or 2, not {writes!r}")
        self._width, self._depth, self._bits = width, depth, tuple(bank_bits)
        self._writes, self._tech = writes, tech
        super().__init__({
            "w_en": In(writes), "w_addr": In(data.ArrayLayout(range(depth), writes)),
            "w_data": In(data.ArrayLayout(width, writes)),
            "r_addr": In(data.ArrayLayout(range(depth), 2)),
            "r_data": Out(data.ArrayLayout(width, 2)),
        })

    def _bank(self, addr):
        b = addr[self._bits[0]]
        for i in self._bits[1:]:
            b = b ^ addr[i]
        return b

    def _inner(self, addr):
        i = self._bits[0]
        return Cat(addr[:i], addr[i + 1:])

    def elaborate(self, platform):
        m = Module()
        rams = [SimpleDualPortRAM(self._width, self._depth // 2, self._tech) for _ in range(2)]
        for b, ram in enumerate(rams):
            m.submodules[f"bank{b}"] = ram
        # writes: port p into bank bank(w_addr[p]) (two ports: never the same bank)
        wb = [self._bank(self.w_addr[p]) for p in range(self._writes)]
        for b, ram in enumerate(rams):
            port = 0 if self._writes == 1 else Mux(wb[0] == b, 0, 1)
            en = [self.w_en[p] & (wb[p] == b) for p in range(self._writes)]
            if self._writes == 1:
                m.d.comb += [ram.w_addr.eq(self._inner(self.w_addr[0])),
                             ram.w_data.eq(self.w_data[0]), ram.w_en.eq(en[0])]
            else:
                m.d.comb += [ram.w_addr.eq(Mux(port, self._inner(self.w_addr[1]),
                                               self._inner(self.w_addr[0]))),
                             ram.w_data.eq(Mux(port, self.w_data[1], self.w_data[0])),
                             ram.w_en.eq(en[0] | en[1])]
        # reads: bank b takes the address of the port that wants it (port 0 first)
        rb = [self._bank(self.r_addr[c]) for c in range(2)]
        for b, ram in enumerate(rams):
            take1 = (rb[1] == b) & (rb[0] != b)
            m.d.comb += [ram.r_addr.eq(Mux(take1, self._inner(self.r_addr[1]),
                                           self._inner(self.r_addr[0]))),
                         ram.r_en.eq(1)]
        sel, sel1 = Signal(2), Signal(2)  # the bank each port reads, with the memories' delay
        m.d.sync += [sel1.eq(Cat(rb[0], rb[1])), sel.eq(sel1)]
        for c in range(2):
            m.d.comb += self.r_data[c].eq(Mux(sel[c], rams[1].r_data, rams[0].r_data))
        return m


class ZBuffer(wiring.Component):
    """The input spectra: written a beat (``lanes`` samples) at a time, read two samples a cycle.

    Overview
    --------
    Sample addresses are ``Cat(n, frame, slot)`` (``n`` the sample of the frame, ``log2 k``
    bits), beat addresses that without the low ``log2 lanes`` bits.  The MAC terms read
    ``Z[m]`` and ``Z[(k - m) mod k]``.  With ``lanes = 2`` (``p = 1``) the buffer is
    :class:`PairedBanks` of samples, bank ``n[0] xor n[log2 k - 1]`` (a beat's two samples and
    ``m, k - m`` fall in different banks; ``m = 0, k/2`` read one word); with more lanes, two
    copies of beat words and a lane selection after the read.  A layer of a smaller block
    size ``k_l`` (``stuffs``: the plan's, ``stuff`` the layer's) reads ``Z[m]`` and
    ``Z[(k_l - m) mod k_l]``: its addresses are permuted so that the bank is ``n[0] xor
    n[log2 k_l - 1]``.

    Latency and resources
    ---------------------
    Reads take 2 cycles (``delay``).  ``lanes = 2``: two memories of ``depth`` samples / 2;
    else two of ``depth / lanes`` beats.

    Members
    -------
    w_en : In(1), w_addr : In(range(depth // lanes)), w_data : In(lanes samples)
    r_addr : In(2 sample addresses), r_data : Out(2 samples)
    stuff : In    the layer's zero stuffing (when ``stuffs`` has more than 0)
    """

    delay = 2

    def __init__(self, sample_width: int, depth: int, k: int, lanes: int,
                 tech: str = "generic", stuffs: tuple = (0,)):
        self._sw, self._depth, self._k, self._lanes, self._tech = sample_width, depth, k, \
            lanes, tech
        self._stuffs = tuple(sorted(set(stuffs)))
        super().__init__({
            "w_en": In(1), "w_addr": In(range(depth // lanes)),
            "w_data": In(data.ArrayLayout(sample_width, lanes)),
            "r_addr": In(data.ArrayLayout(range(depth), 2)),
            "r_data": Out(data.ArrayLayout(sample_width, 2)),
            **({"stuff": In(range(max(self._stuffs) + 1))} if self._stuffs != (0,) else {}),
        })

    def _layer_order(self, addr):
        """A sample address with bits ``log2 k_l - 1`` and ``log2 k - 1`` of ``n`` swapped for
        a layer of block size ``k_l = k / 2**stuff`` (the same permutation on writes and
        reads), so that the banks' ``n[0] xor n[log2 k - 1]`` is the layer's ``n[0] xor
        n[log2 k_l - 1]``: ``m`` and ``k_l - m`` in different banks."""
        if self._stuffs == (0,):
            return addr
        top = self._k.bit_length() - 2
        out = addr
        for st in self._stuffs:
            if st:
                b = top - st
                bits = [addr[i] for i in range(len(addr))]
                bits[b], bits[top] = bits[top], bits[b]
                out = Mux(self.stuff == st, Cat(*bits), out)
        return out

    def elaborate(self, platform):
        m = Module()
        lanes, lk = self._lanes, self._k.bit_length() - 1
        if lanes == 2 and self._k >= 4:
            m.submodules.banks = mem = PairedBanks(self._sw, self._depth, (0, lk - 1), 2,
                                                   self._tech)
            if self._stuffs == (0,):
                r_addr = [mem.r_addr.eq(self.r_addr)]
            else:
                r_addr = [mem.r_addr[c].eq(self._layer_order(self.r_addr[c])) for c in range(2)]
            m.d.comb += [mem.w_en.eq(Cat(self.w_en, self.w_en)),
                         mem.w_addr[0].eq(self._layer_order(Cat(Const(0, 1), self.w_addr))),
                         mem.w_addr[1].eq(self._layer_order(Cat(Const(1, 1), self.w_addr))),
                         mem.w_data[0].eq(self.w_data[0]), mem.w_data[1].eq(self.w_data[1]),
                         *r_addr, self.r_data.eq(mem.r_data)]
            return m
        l2 = lanes.bit_length() - 1
        m.submodules.copies = mem = CopiedMemory(self._sw * lanes, self._depth // lanes, 1, 2,
                                                 self._tech)
        m.d.comb += [mem.w_en.eq(self.w_en), mem.w_addr.eq(self.w_addr),
                     mem.w_data[0].eq(self.w_data.as_value())]
        for c in range(2):
            lane = self.r_addr[c][:l2] if l2 else Const(0, 1)
            lane2 = Signal(max(1, l2), name=f"lane{c}_d2")
            lane1 = Signal(max(1, l2), name=f"lane{c}_d1")
            m.d.sync += [lane1.eq(lane), lane2.eq(lane1)]
            words = data.View(data.ArrayLayout(self._sw, lanes), mem.r_data[0][c])
            m.d.comb += [mem.r_addr[c].eq(self.r_addr[c] >> l2),
                         self.r_data[c].eq(select([words[i] for i in range(lanes)], lane2)
                                           if l2 else words[0])]
        return m


class YBanks(wiring.Component):
    """The output spectra: one bank per MAC lane, written one word per lane a cycle (one
    address), each read at two addresses a cycle.

    Overview
    --------
    Each lane's bank is :class:`PairedBanks` split on one address bit that the reader's two
    addresses of a cycle always differ in: with several lanes the bin's bit 0 (the reader
    reads two neighbouring samples of one block), with one lane the group's bit 0 (address
    bit ``log2 k``: the reader reads one sample of two blocks).

    Latency and resources
    ---------------------
    Reads take 2 cycles (``delay``).  ``2 * lanes`` memories of ``depth / 2`` words.

    Members
    -------
    w_en : In(1), w_addr : In(range(depth)), w_data : In(ArrayLayout(width, lanes))
    r_addr : In(ArrayLayout(range(depth), 2))
    r_data : Out(ArrayLayout(ArrayLayout(width, 2), lanes))
    """

    delay = 2

    def __init__(self, width: int, depth: int, k: int, lanes: int, tech: str = "generic"):
        self._width, self._depth, self._k, self._lanes, self._tech = width, depth, k, lanes, tech
        super().__init__({
            "w_en": In(1), "w_addr": In(range(depth)), "w_data": In(data.ArrayLayout(width, lanes)),
            "r_addr": In(data.ArrayLayout(range(depth), 2)),
            "r_data": Out(data.ArrayLayout(data.ArrayLayout(width, 2), lanes)),
        })

    def elaborate(self, platform):
        m = Module()
        bit = 0 if self._lanes > 1 else self._k.bit_length() - 1
        for lane in range(self._lanes):
            bank = PairedBanks(self._width, self._depth, (bit,), 1, self._tech)
            m.submodules[f"lane{lane}"] = bank
            m.d.comb += [bank.w_en.eq(self.w_en), bank.w_addr[0].eq(self.w_addr),
                         bank.w_data[0].eq(self.w_data[lane]), bank.r_addr.eq(self.r_addr),
                         self.r_data[lane].eq(bank.r_data)]
        return m
