"""The layer engine's two activation buffers: block-interleaved banks of one-port-each memories."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.engine_plan import EnginePlan

from .ram import SimpleDualPortRAM
from .select import select

__all__ = ["ActivationBuffers", "READ_LANES", "activation_read_delay",
           "activation_address_delay"]

#: Reader requests per cycle: samples t, t+1 (j) of blocks 2r, 2r+1 (par), lane 2j + par.
READ_LANES = 4


def activation_read_delay(plan: EnginePlan) -> int:
    """Cycles from a read request to its word (:attr:`ActivationBuffers.delay`): 2, or 4 with a
    pipelined plan (each memory's read address and its word registered)."""
    return 4 if plan.fft.pipeline else 2


def activation_address_delay(plan: EnginePlan) -> int:
    """Cycles from a read request to the memories' read (their address registers): 0, or 1
    with a pipelined plan.  A write in that cycle to the address read is not in the word."""
    return 1 if plan.fft.pipeline else 0


def _request(plan: EnginePlan) -> data.StructLayout:
    return data.StructLayout({"en": 1, "bank": 1, "replica": range(max(2, plan.act_replicas)),
                              "addr": range(plan.act_bank_depth)})


class ActivationBuffers(wiring.Component):
    """Buffer ``src`` is read by the frame reader while the other one (``dst``) is written.

    Overview
    --------
    ::

        buffer b in {0, 1}, bank n in {0, 1}, copy r < act_replicas:  SimpleDualPortRAM
            write: the loader (buffer 0), or the post-processor's output of block parity n
                   (buffer dst, every copy)
            read:  b = src: the reader's request for (bank n, copy r), or the unloader (copy 0)
                   b = dst: the post-processor's read-modify-write of pooling (copy 0)

    Tensors are block-interleaved (``golden.engine_plan``): the two values the post-processor
    writes per clock go to the two banks at the same address, and the reader's requests of one
    cycle name distinct ``(bank, copy)`` pairs (it schedules them so), so every memory has one
    write and one read port.

    When no layer pools and there is one copy (``merged``), the two buffers of a bank share one
    memory of twice the depth (the buffer is the top address bit): its one write port writes
    ``dst``, its one read port reads ``src``, and nothing reads ``dst``.

    Latency and resources
    ---------------------
    Reads take 2 cycles (``delay``), writes 1; with a pipelined plan (``plan.fft.pipeline >
    0``) reads take 4: each memory's read address is registered after the multiplexer that
    picks its request (on ECP5 the request's decoding, that multiplexer and the route to the
    DP16KD were one path), and each memory's word before the multiplexers that pick a
    request's memory (the route out of the DP16KD and the multiplexer were one path),
    and the read-modify-write word after the multiplexer of its two buffers and of the
    forwarded write (it feeds the pooling comparator).  ``2 * 2 * act_replicas`` memories of
    ``act_bank_depth`` words of ``width`` bits (``merged``: 2 memories of twice
    ``act_bank_depth`` rounded up to a power of two).

    Members
    -------
    src : In(1)
    load_en, load_bank, load_addr, load_data : In    write into buffer 0 (every copy)
    post_en : In(2), post_addr, post_data[2] : In   write bank n of buffer dst
    lane[4] : In(request)        read requests into buffer src
    lane_data[4] : Out           their words, ``delay`` cycles later
    rmw_addr : In, rmw_data[2] : Out                 both banks of buffer dst, copy 0
    rmw_fwd_en : In(2), rmw_fwd_data[2] : In         with a pipelined plan: a word taken
                                                     instead of bank n's, ``delay - 1`` cycles
                                                     after the request (a write forwarded)
    unload_en, unload_bank, unload_addr : In, unload_data : Out   buffer src, copy 0
    """

    def __init__(self, plan: EnginePlan, tech: str = "generic"):
        self._plan, self._tech = plan, tech
        w, depth = plan.width, plan.act_bank_depth
        word = data.ArrayLayout(w, 2)
        super().__init__({
            "src": In(1),
            "load_en": In(1), "load_bank": In(1), "load_addr": In(range(depth)),
            "load_data": In(w),
            "post_en": In(2), "post_addr": In(range(depth)), "post_data": In(word),
            "lane": In(data.ArrayLayout(_request(plan), READ_LANES)),
            "lane_data": Out(data.ArrayLayout(w, READ_LANES)),
            "rmw_addr": In(range(depth)), "rmw_data": Out(word),
            "rmw_fwd_en": In(2), "rmw_fwd_data": In(word),
            "unload_en": In(1), "unload_bank": In(1), "unload_addr": In(range(depth)),
            "unload_data": Out(w),
        })

    @property
    def delay(self) -> int:
        return activation_read_delay(self._plan)

    def _word(self, m, ram, name):
        """A memory's read word, registered once more when pipelined (``delay`` 4)."""
        if self.delay == 2:
            return ram.r_data
        r = Signal.like(ram.r_data, name=f"{name}_word")
        m.d.sync += r.eq(ram.r_data)
        return r

    @property
    def merged(self) -> bool:
        """One memory per bank for both buffers (no pooling, one copy)."""
        return self._plan.act_replicas == 1 and not any(lp.pool for lp in self._plan.layers)

    def elaborate(self, platform):
        if self.merged:
            return self._elaborate_merged()
        m = Module()
        plan = self._plan
        R, w = plan.act_replicas, plan.width
        mems, rams = {}, {}
        for b in range(2):
            for n in range(2):
                for r in range(R):
                    ram = SimpleDualPortRAM(w, plan.act_bank_depth, self._tech)
                    m.submodules[f"act{b}_bank{n}_copy{r}"] = ram
                    mems[b, n, r] = self._word(m, ram, f"act{b}_bank{n}_copy{r}")
                    rams[b, n, r] = ram
                    self._ports(m, ram, b, n, r)
        # which memory each answer comes from, as the request left
        lanes = self.lane
        for i in range(READ_LANES):
            sel = Signal(3, name=f"lane{i}_sel")
            m.d.comb += sel.eq(Mux(self.src, 4, 0) | (lanes[i].bank << 1)
                               | (lanes[i].replica if R > 1 else 0))
            sel = self._delayed(m, sel, f"lane{i}_sel")
            m.d.comb += self.lane_data[i].eq(self._pick(mems, sel, R))
        if self.delay == 2:
            src2 = self._delayed(m, self.src, "src")
            for n in range(2):
                m.d.comb += self.rmw_data[n].eq(Mux(src2, mems[0, n, 0], mems[1, n, 0]))
        else:   # the word registered after the buffer's multiplexer: the comparison's input
            src1 = self._delayed(m, self.src, "src", self.delay - 1)
            for n in range(2):
                word = Signal(w, name=f"rmw{n}_word")
                m.d.sync += word.eq(Mux(self.rmw_fwd_en[n], self.rmw_fwd_data[n],
                                        Mux(src1, rams[0, n, 0].r_data, rams[1, n, 0].r_data)))
                m.d.comb += self.rmw_data[n].eq(word)
        usel = Signal(3)
        m.d.comb += usel.eq(Mux(self.src, 4, 0) | (self.unload_bank << 1))
        m.d.comb += self.unload_data.eq(self._pick(mems, self._delayed(m, usel, "unload_sel"), R))
        return m

    def _elaborate_merged(self):
        m = Module()
        plan = self._plan
        rams = []
        for n in range(2):
            ram = SimpleDualPortRAM(plan.width, 2 << self._abits, self._tech)
            m.submodules[f"bank{n}"] = ram
            rams.append(self._word(m, ram, f"bank{n}"))
            loading = self.load_en
            hit = [self.lane[i].en & (self.lane[i].bank == n) for i in range(READ_LANES)]
            src_addr = self.lane[READ_LANES - 1].addr
            for i in reversed(range(READ_LANES)):
                src_addr = Mux(hit[i], self.lane[i].addr, src_addr)
            src_addr = Mux(self.unload_en & (self.unload_bank == n), self.unload_addr, src_addr)
            m.d.comb += [
                ram.w_en.eq((loading & (self.load_bank == n)) | self.post_en[n]),
                ram.w_addr.eq(Mux(loading, self.load_addr,
                                  self.post_addr | (~self.src << self._abits))),
                ram.w_data.eq(Mux(loading, self.load_data, self.post_data[n])),
                ram.r_en.eq(1),
            ]
            self._read_address(m, ram, src_addr | (self.src << self._abits), f"bank{n}")
        for i in range(READ_LANES):
            bank = self._delayed(m, self.lane[i].bank, f"lane{i}_bank")
            m.d.comb += self.lane_data[i].eq(Mux(bank, rams[1], rams[0]))
        ubank = self._delayed(m, self.unload_bank, "unload_bank")
        m.d.comb += self.unload_data.eq(Mux(ubank, rams[1], rams[0]))
        return m

    @property
    def _abits(self) -> int:
        """Address bits of one buffer's bank (``act_bank_depth`` words)."""
        return (self._plan.act_bank_depth - 1).bit_length()

    def _ports(self, m, ram, b, n, r):
        dst = self.src != b
        loading = self.load_en
        m.d.comb += [
            ram.w_en.eq((loading & (b == 0) & (self.load_bank == n)) | (self.post_en[n] & dst)),
            ram.w_addr.eq(Mux(loading, self.load_addr, self.post_addr)),
            ram.w_data.eq(Mux(loading, self.load_data, self.post_data[n])),
            ram.r_en.eq(1),
        ]
        # reading buffer src: the one request naming this bank and copy, or the unloader
        hit = [self.lane[i].en & (self.lane[i].bank == n) & (self.lane[i].replica == r)
               if self._plan.act_replicas > 1 else self.lane[i].en & (self.lane[i].bank == n)
               for i in range(READ_LANES)]
        addr = self.rmw_addr if r == 0 else self.lane[0].addr
        src_addr = self.lane[READ_LANES - 1].addr
        for i in reversed(range(READ_LANES)):
            src_addr = Mux(hit[i], self.lane[i].addr, src_addr)
        if r == 0:
            src_addr = Mux(self.unload_en & (self.unload_bank == n), self.unload_addr, src_addr)
        self._read_address(m, ram, Mux(dst, addr, src_addr), f"act{b}_bank{n}_copy{r}")

    def _read_address(self, m, ram, addr, name):
        """``ram``'s read address: ``addr``, registered first when pipelined (``delay`` 4)."""
        if activation_address_delay(self._plan):
            reg = Signal.like(ram.r_addr, name=f"{name}_raddr")
            m.d.sync += reg.eq(addr)
            addr = reg
        m.d.comb += ram.r_addr.eq(addr)

    def _delayed(self, m, value, name, cycles=None):
        for i in range(self.delay if cycles is None else cycles):
            reg = Signal.like(value, name=f"{name}_d{i}")
            m.d.sync += reg.eq(value)
            value = reg
        return value

    @staticmethod
    def _pick(mems, sel, replicas):
        """The word of memory ``(sel[2], sel[1], sel[0])`` (buffer, bank, copy)."""
        words = [mems[b, n, min(r, replicas - 1)]
                 for b in range(2) for n in range(2) for r in range(2)]
        return select(words, sel)
