"""The board tops' host link: the frames of ``golden/board_protocol.py`` between a UART and the
layer engine's streams."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import fifo, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from golden import board_protocol as bp
from golden.engine_plan import EnginePlan

from .layer_engine import value_payload, weight_payload
from .select import select

__all__ = ["HostLink"]


class HostLink(wiring.Component):
    """Parses request frames from ``rx``, runs them on the engine, sends reply frames on ``tx``.

    Overview
    --------
    ::

        rx bytes -> SYNC, command, length, payload (into a buffer), check -> verify
            INFO    -> reply: magic, model id, sizes, width, largest payload
            INFER   -> buffer -> engine.i (one value per value_bytes bytes)
                       engine.o -> reply payload, as the outputs come
            WEIGHTS -> buffer -> engine.w (records of lane, address, weight)
            errors  -> reply with the status (checksum, length, command, timeout)
        reply bytes -> FIFO -> tx

    A request's payload is kept until its check byte has been verified, so a corrupted frame
    changes nothing; the link then waits for the next sync byte.  A frame that stops for
    ``timeout`` cycles is dropped with a TIMEOUT reply.  Weights are written between
    inferences (the engine takes them only then).

    Latency and resources
    ---------------------
    The UART sets the pace (ten bit times per byte).  A payload buffer of ``max_payload`` bytes
    (``max(in_size * value_bytes, RECORDS_PER_FRAME * record)``), a reply FIFO of 4 bytes (the
    UART sets the pace anyway).

    Members
    -------
    rx : In(stream.Signature(8)), tx : Out(stream.Signature(8))
    engine_i : Out(stream of value_payload), engine_o : In(stream of value_payload)
    engine_w : Out(stream of weight_payload)
    errors : Out(8)   requests answered with an error
    """

    def __init__(self, plan: EnginePlan, identity: int, timeout: int,
                 load_weights: bool = False):
        self._plan, self._identity, self._timeout = plan, identity, timeout
        self._load_weights = load_weights
        w = plan.width
        self._vb = bp.value_bytes(w)
        self._record = 3 + 2 * self._vb
        self.max_payload = max(plan.in_size * self._vb, bp.RECORDS_PER_FRAME * self._record)
        super().__init__({
            "rx": In(stream.Signature(8)), "tx": Out(stream.Signature(8)),
            "engine_i": Out(stream.Signature(value_payload(w))),
            "engine_o": In(stream.Signature(value_payload(w))),
            "engine_w": Out(stream.Signature(weight_payload(plan))),
            "errors": Out(8),
        })

    def elaborate(self, platform):
        m = Module()
        plan, vb = self._plan, self._vb
        W = plan.width
        maxp = self.max_payload
        in_bytes, out_bytes = plan.in_size * vb, plan.out_size * vb

        m.submodules.txq = txq = fifo.SyncFIFOBuffered(width=8, depth=4)
        wiring.connect(m, wiring.flipped(self.tx), txq.r_stream)
        m.submodules.buf = buf = memory.Memory(shape=8, depth=maxp, init=[])
        bw, br = buf.write_port(), buf.read_port()
        fetched = Signal()  # the byte at the read address of the previous cycle is on br.data

        cmd = Signal(8)
        length = Signal(16)
        count = Signal(16)             # payload bytes received, or bytes handled
        acc = Signal(8)                # running sum of the frame
        status = Signal(8)
        phase = Signal(range(self._record))   # payload bytes received modulo the record size
        idle = Signal(range(self._timeout + 1))
        rx = self.rx
        m.d.comb += rx.ready.eq(0)

        # reply bytes: tx_acc sums what follows the sync byte, the check byte closes it
        tx_acc = Signal(8)
        push_data = Signal(8)
        push = Signal()
        m.d.comb += [txq.w_data.eq(push_data), txq.w_en.eq(push)]
        room = txq.w_rdy

        def send(byte, after_sync=True):
            """Push ``byte`` this cycle (the caller checks ``room``)."""
            m.d.comb += [push_data.eq(byte), push.eq(1)]
            if after_sync:
                m.d.sync += tx_acc.eq(tx_acc + byte)
            else:
                m.d.sync += tx_acc.eq(0)

        info = bp.info_payload(self._identity, plan.in_size, plan.out_size, W, maxp,
                               self._load_weights)
        hi = Signal(range(len(info) + 5))   # byte index within a fixed reply
        part = Signal(range(max(vb, self._record) + 1))
        word = Signal(8 * max(vb, self._record))
        out_word = Signal(8 * vb)

        with m.FSM(init="SYNC"):
            with m.State("SYNC"):
                m.d.comb += rx.ready.eq(1)
                m.d.sync += [acc.eq(0), count.eq(0), idle.eq(0), phase.eq(0)]
                with m.If(rx.valid & (rx.payload == bp.SYNC_REQUEST)):
                    m.next = "CMD"
            for state, nxt in (("CMD", "LEN0"), ("LEN0", "LEN1"), ("LEN1", "PAYLOAD")):
                with m.State(state):
                    m.d.comb += rx.ready.eq(1)
                    m.d.sync += idle.eq(idle + 1)
                    with m.If(rx.valid):
                        m.d.sync += [acc.eq(acc + rx.payload), idle.eq(0)]
                        if state == "CMD":
                            m.d.sync += cmd.eq(rx.payload)
                        elif state == "LEN0":
                            m.d.sync += length[:8].eq(rx.payload)
                        else:
                            m.d.sync += length[8:].eq(rx.payload)
                            with m.If(Cat(length[:8], rx.payload) == 0):
                                m.next = "CHECK"
                            with m.Else():
                                m.next = "PAYLOAD"
                        if state != "LEN1":
                            m.next = nxt
                    with m.Elif(idle == self._timeout):
                        m.d.sync += status.eq(bp.Status.TIMEOUT)
                        m.next = "ERROR"
            with m.State("PAYLOAD"):
                m.d.comb += rx.ready.eq(1)
                m.d.sync += idle.eq(idle + 1)
                with m.If(rx.valid):
                    m.d.sync += [acc.eq(acc + rx.payload), idle.eq(0), count.eq(count + 1),
                                 phase.eq(Mux(phase == self._record - 1, 0, phase + 1))]
                    m.d.comb += [bw.addr.eq(count), bw.data.eq(rx.payload),
                                 bw.en.eq(count < maxp)]
                    with m.If(count == length - 1):
                        m.next = "CHECK"
                with m.Elif(idle == self._timeout):
                    m.d.sync += status.eq(bp.Status.TIMEOUT)
                    m.next = "ERROR"
            with m.State("CHECK"):
                m.d.comb += rx.ready.eq(1)
                m.d.sync += [idle.eq(idle + 1), count.eq(0), hi.eq(0), part.eq(0)]
                with m.If(rx.valid):
                    m.d.sync += idle.eq(0)
                    with m.If((acc + rx.payload)[:8] != 0):
                        m.d.sync += status.eq(bp.Status.CHECKSUM)
                        m.next = "ERROR"
                    with m.Elif(cmd == bp.Command.INFO):
                        with m.If(length == 0):
                            m.next = "INFO"
                        with m.Else():
                            m.d.sync += status.eq(bp.Status.LENGTH)
                            m.next = "ERROR"
                    with m.Elif(cmd == bp.Command.INFER):
                        with m.If(length == in_bytes):
                            m.next = "INFER_HEADER"
                        with m.Else():
                            m.d.sync += status.eq(bp.Status.LENGTH)
                            m.next = "ERROR"
                    with m.Elif(cmd == bp.Command.WEIGHTS):
                        with m.If((length <= maxp) & (length != 0) & (phase == 0)):
                            m.next = "WEIGHTS"
                        with m.Else():
                            m.d.sync += status.eq(bp.Status.LENGTH)
                            m.next = "ERROR"
                    with m.Else():
                        m.d.sync += status.eq(bp.Status.COMMAND)
                        m.next = "ERROR"
                with m.Elif(idle == self._timeout):
                    m.d.sync += status.eq(bp.Status.TIMEOUT)
                    m.next = "ERROR"

            # ---- replies: header, a fixed payload, the check byte; INFER's header only --------
            tx = (send, room, hi, count, push_data, push, tx_acc)

            def reply(state, status_value, payload=b"", length=None, then="SYNC", close=True,
                      on_close=()):
                self._reply_state(m, tx, state, status_value, payload, length, then, close,
                                  on_close)

            reply("INFO", bp.Status.OK, info)
            reply("DONE", bp.Status.OK)
            reply("ERROR", status, on_close=[self.errors.eq(self.errors + 1)])
            # INFER: the reply's header, then inputs in and outputs out together
            reply("INFER_HEADER", bp.Status.OK, length=out_bytes, then="INFER", close=False)
            with m.State("INFER"):
                self._feed_inputs(m, br, fetched, count, part, word, in_bytes)
                with m.If(self._forward_outputs(m, send, room, out_word, hi)):
                    m.next = "CLOSE"
            with m.State("CLOSE"):
                with m.If(room):
                    m.d.comb += [push_data.eq(-tx_acc), push.eq(1)]
                    m.next = "SYNC"

            # ---- WEIGHTS: records from the buffer to the engine's weight port -------------------
            with m.State("WEIGHTS"):
                self._write_weights(m, br, fetched, count, part, word, length, hi)
        return m

    def _write_weights(self, m, br, fetched, count, part, word, length, hi):
        """State WEIGHTS: records from the buffer, one at a time, to the engine's weight port;
        then the DONE reply."""
        rec, vb, W = self._record, self._vb, self._plan.width
        w = self.engine_w
        self._fetch(m, br, fetched, count, part, word, (part < rec) & (count < length))
        with m.If((part == rec) & ~fetched):
            # word: lane (8 bits), address (16), re, im (value_bytes each), from the top
            base = len(word) - 8 * rec
            re = word[base + 24:base + 24 + W]
            im = word[base + 24 + 8 * vb:base + 24 + 8 * vb + W]
            m.d.comb += [w.valid.eq(1), w.payload.lane.eq(word[base:base + 8]),
                         w.payload.addr.eq(word[base + 8:base + 24]),
                         w.payload.data.eq(Cat(re, im))]
            with m.If(w.ready):
                m.d.sync += part.eq(0)
                with m.If(count == length):
                    m.d.sync += hi.eq(0)
                    m.next = "DONE"

    @staticmethod
    def _reply_state(m, tx, state, status_value, payload: bytes = b"", length=None,
                     then="SYNC", close=True, on_close=()):
        """FSM state ``state``: a reply header (sync, status, length), a fixed ``payload`` and,
        if ``close``, the check byte; then state ``then``."""
        send, room, hi, count, push_data, push, tx_acc = tx
        n = len(payload) if length is None else length
        with m.State(state):
            with m.If(room):
                m.d.sync += hi.eq(hi + 1)
                with m.Switch(hi):
                    with m.Case(0):
                        send(bp.SYNC_REPLY, after_sync=False)
                    with m.Case(1):
                        send(status_value)
                    with m.Case(2):
                        send(n & 0xFF)
                    with m.Case(3):
                        send(n >> 8)
                        if not close:
                            m.d.sync += [hi.eq(0), count.eq(0)]
                            m.next = then
                    for i, byte in enumerate(payload):
                        with m.Case(4 + i):
                            send(byte)
                    if close:
                        with m.Case(4 + len(payload)):
                            m.d.comb += [push_data.eq(-tx_acc), push.eq(1)]
                            m.d.sync += [hi.eq(0), *on_close]
                            m.next = then

    @staticmethod
    def _fetch(m, br, fetched, count, part, word, want):
        """Read the buffer's next byte (at ``count``) when ``want``; a cycle later it is shifted
        into the top of ``word`` (bytes little endian)."""
        m.d.comb += br.addr.eq(count)
        m.d.sync += fetched.eq(0)
        with m.If(fetched):
            m.d.sync += [word.eq(Cat(word[8:], br.data)), part.eq(part + 1)]
        with m.Elif(want):
            m.d.sync += [fetched.eq(1), count.eq(count + 1)]

    def _feed_inputs(self, m, br, fetched, count, part, word, in_bytes):
        """Buffer bytes into the engine's input stream, ``value_bytes`` per value."""
        vb, W = self._vb, self._plan.width
        i = self.engine_i
        self._fetch(m, br, fetched, count, part, word, (part < vb) & (count < in_bytes))
        with m.If((part == vb) & ~fetched):
            # ``last`` on the sample's final value (the engine ignores it; driven so that no
            # output bit is a constant in a process without inputs, which Icarus never runs)
            m.d.comb += [i.valid.eq(1), i.payload.data.eq(word[len(word) - 8 * vb:][:W]),
                         i.payload.last.eq(count == in_bytes)]
            with m.If(i.ready):
                m.d.sync += part.eq(0)

    def _forward_outputs(self, m, send, room, out_word, bi):
        """The engine's outputs into the reply, ``value_bytes`` bytes each; returns the cycle's
        "every output has been sent"."""
        vb, n = self._vb, self._plan.out_size
        o = self.engine_o
        held = Signal()
        sent = Signal(range(n + 1))
        done = Signal()
        with m.If(~held):
            m.d.comb += o.ready.eq(1)
            with m.If(o.valid):
                m.d.sync += [out_word.eq(o.payload.data), held.eq(1), bi.eq(0)]
        with m.Elif(room):
            byte = select([out_word[8 * b:8 * b + 8] for b in range(vb)], bi)
            send(byte)
            m.d.sync += bi.eq(bi + 1)
            with m.If(bi == vb - 1):
                m.d.sync += [held.eq(0), sent.eq(sent + 1)]
        m.d.comb += done.eq(sent == n)
        with m.If(done):
            m.d.sync += sent.eq(0)
        return done
