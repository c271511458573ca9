"""The host link of circnn's board tops: frames over a UART (8 data bits, no parity, 1 stop bit).

This module is the protocol's definition: the board top (``hw/board_link.py``) implements it,
the host tool (``circnn board infer``) and the board's simulation test speak it through these
functions, so what the test proves is what the host sends to a board.

Frames::

    request:  0xA5  command  length (2 bytes, little endian)  payload (length bytes)  check
    reply:    0x5A  status   length (2 bytes, little endian)  payload (length bytes)  check

``check`` makes the bytes after the sync byte sum to 0 modulo 256.  Commands:

* ``INFO`` (0x01, no payload): reply ``b"CNN1"``, the model id (4 bytes), ``in_size`` and
  ``out_size`` (2 bytes each), the value width in bits (1 byte), the largest request payload the
  board takes (2 bytes), flags (1 byte; bit 0: the weights are not in the bitstream, so the host
  loads them with WEIGHTS before the first INFER).  The model id is a hash of the quantized network and the engine's
  parameters (:func:`model_id`): the host refuses a model that is not the bitstream's.
* ``INFER`` (0x02): ``in_size`` quantized inputs, ``value_bytes`` bytes each (two's complement,
  little endian); reply: ``out_size`` outputs the same way.
* ``WEIGHTS`` (0x03): records of a lane (1 byte), a weight-bank address (2 bytes) and a complex
  weight (``2 * value_bytes`` bytes: re, then im); reply: no payload.  Only between inferences.

Errors reply with their status and no payload: ``CHECKSUM`` (0x01), ``LENGTH`` (0x02: a payload
of the wrong size for the command, or larger than the board takes), ``COMMAND`` (0x03: unknown),
``TIMEOUT`` (0x04: the frame stopped before its end).  After an error the board waits for the
next sync byte, so the next frame works.
"""

from __future__ import annotations

import hashlib
import json
import struct

import numpy as np

__all__ = ["SYNC_REQUEST", "SYNC_REPLY", "Command", "Status", "checksum", "request", "reply",
           "ReplyParser", "ProtocolError", "value_bytes", "encode_values", "decode_values",
           "encode_weights", "model_id", "info_payload", "parse_info", "RECORDS_PER_FRAME",
           "inference_session", "check_reply", "FLAG_LOAD_WEIGHTS", "model_weight_frames"]

SYNC_REQUEST = 0xA5
SYNC_REPLY = 0x5A
MAGIC = b"CNN1"
#: Weight records the board buffers per WEIGHTS frame.
RECORDS_PER_FRAME = 64


class Command:
    INFO = 0x01
    INFER = 0x02
    WEIGHTS = 0x03


class Status:
    OK = 0x00
    CHECKSUM = 0x01
    LENGTH = 0x02
    COMMAND = 0x03
    TIMEOUT = 0x04

    NAMES = {0x00: "ok", 0x01: "bad checksum", 0x02: "bad length", 0x03: "unknown command",
             0x04: "frame timed out"}


class ProtocolError(RuntimeError):
    """A malformed reply, or the board's error status."""


def checksum(body: bytes) -> int:
    """The byte that makes ``body + check`` sum to 0 modulo 256."""
    return (-sum(body)) & 0xFF


def request(command: int, payload: bytes = b"") -> bytes:
    body = bytes([command]) + struct.pack("<H", len(payload)) + bytes(payload)
    return bytes([SYNC_REQUEST]) + body + bytes([checksum(body)])


def reply(status: int, payload: bytes = b"") -> bytes:
    """A reply frame (what the board sends; the simulation's reference)."""
    body = bytes([status]) + struct.pack("<H", len(payload)) + bytes(payload)
    return bytes([SYNC_REPLY]) + body + bytes([checksum(body)])


class ReplyParser:
    """Feed bytes as they arrive; complete replies come out as ``(status, payload)``."""

    def __init__(self):
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buf += data
        out = []
        while True:
            while self._buf and self._buf[0] != SYNC_REPLY:
                self._buf.pop(0)  # noise before a sync byte
            if len(self._buf) < 4:
                return out
            length = self._buf[2] | (self._buf[3] << 8)
            if len(self._buf) < 5 + length:
                return out
            frame = bytes(self._buf[:5 + length])
            del self._buf[:5 + length]
            if sum(frame[1:]) & 0xFF:
                raise ProtocolError("reply with a bad checksum")
            out.append((frame[1], frame[4:4 + length]))


def value_bytes(width: int) -> int:
    return -(-width // 8)


def encode_values(values, width: int) -> bytes:
    """Integers of ``width`` bits, two's complement, little endian, ``value_bytes`` each."""
    n = value_bytes(width)
    mask = (1 << (8 * n)) - 1
    return b"".join((int(v) & mask).to_bytes(n, "little") for v in np.asarray(values).ravel())


def decode_values(data: bytes, width: int) -> np.ndarray:
    n = value_bytes(width)
    if len(data) % n:
        raise ProtocolError(f"{len(data)} bytes are not a whole number of {n}-byte values")
    out = []
    for i in range(0, len(data), n):
        v = int.from_bytes(data[i:i + n], "little") & ((1 << width) - 1)
        out.append(v - (1 << width) if v >> (width - 1) else v)
    return np.array(out, dtype=np.int64)


def encode_weights(lanes, addrs, words, width: int) -> list[bytes]:
    """WEIGHTS payloads (at most RECORDS_PER_FRAME records each) for packed complex ``words``
    (``re`` in the low ``width`` bits, as the weight banks hold them)."""
    n = value_bytes(width)
    mask = (1 << width) - 1
    records = []
    for lane, addr, word in zip(lanes, addrs, words):
        re, im = int(word) & mask, (int(word) >> width) & mask
        records.append(bytes([int(lane)]) + struct.pack("<H", int(addr))
                       + encode_values([re, im], 8 * n))
    return [b"".join(records[i:i + RECORDS_PER_FRAME])
            for i in range(0, len(records), RECORDS_PER_FRAME)]


def model_id(qnet, parameters: dict) -> int:
    """32 bits identifying a quantized network and the engine parameters it was built with."""
    h = hashlib.sha256()
    h.update(json.dumps({"parameters": parameters, "width": qnet.width, "guard": qnet.guard,
                         "twiddle": qnet.twiddle_width, "shape": list(qnet.input_shape),
                         "inverse_shifts": list(qnet.inverse_shifts)}, sort_keys=True).encode())
    for layer in qnet.layers:
        for array in (layer.wq, layer.bias_q):
            h.update(np.asarray(array, dtype=np.int64).tobytes())
        h.update(json.dumps([layer.kind, layer.acc_shift, layer.out_shift]).encode())
    return int.from_bytes(h.digest()[:4], "little")


#: INFO flag: the board's weight memories start empty (iCE40 SPRAM); load them first.
FLAG_LOAD_WEIGHTS = 0x01


def info_payload(identity: int, in_size: int, out_size: int, width: int,
                 max_payload: int, load_weights: bool = False) -> bytes:
    return MAGIC + struct.pack("<IHHBHB", identity, in_size, out_size, width, max_payload,
                               FLAG_LOAD_WEIGHTS if load_weights else 0)


def parse_info(payload: bytes) -> dict:
    if len(payload) != 16 or payload[:4] != MAGIC:
        raise ProtocolError("the INFO reply is not a circnn board's")
    identity, in_size, out_size, width, max_payload, flags = struct.unpack("<IHHBHB",
                                                                           payload[4:])
    return {"model_id": identity, "in_size": in_size, "out_size": out_size, "width": width,
            "max_payload": max_payload, "load_weights": bool(flags & FLAG_LOAD_WEIGHTS)}


def check_reply(status: int, what: str) -> None:
    if status != Status.OK:
        raise ProtocolError(f"the board answered {what} with '{Status.NAMES.get(status, status)}'"
                            f" (status {status:#04x})")


def inference_session(identity: int, width: int, samples, weight_frames=(), model_frames=()):
    """The host's side of a session, without I/O (a generator): it yields each request frame
    and is sent the ``(status, payload)`` reply; it returns the outputs ``(samples, out_size)``.

    Asks INFO first and refuses a board whose model id is not ``identity``; then sends the
    model's WEIGHTS payloads ``model_frames`` if the board says its weights are not in the
    bitstream (refusing to go on without them), the WEIGHTS payloads ``weight_frames`` (a
    reload, if any) and one INFER per sample.  A serial port
    (``circnn board infer``) and the board's simulation (``sim/tb_board.py``) both drive it.
    """
    status, payload = yield request(Command.INFO)
    check_reply(status, "INFO")
    info = parse_info(payload)
    if info["model_id"] != identity:
        raise ProtocolError(f"the board runs model {info['model_id']:#010x}, not this model "
                            f"({identity:#010x}): build the bitstream for it (circnn build)")
    if info["width"] != width:
        raise ProtocolError(f"the board's values are {info['width']} bits, not {width}")
    model_frames = list(model_frames)
    if info["load_weights"] and not model_frames:
        raise ProtocolError("the board's weights are not in its bitstream and no weights "
                            "were given to load")
    for frame in (model_frames if info["load_weights"] else []) + list(weight_frames):
        status, _ = yield request(Command.WEIGHTS, frame)
        check_reply(status, "WEIGHTS")
    outputs = []
    for x in samples:
        x = np.asarray(x).ravel()
        if x.size != info["in_size"]:
            raise ProtocolError(f"a sample has {x.size} values, the board takes "
                                f"{info['in_size']}")
        status, payload = yield request(Command.INFER, encode_values(x, width))
        check_reply(status, "INFER")
        y = decode_values(payload, width)
        if y.size != info["out_size"]:
            raise ProtocolError(f"the board returned {y.size} values, not {info['out_size']}")
        outputs.append(y)
    return np.array(outputs, dtype=np.int64).reshape(len(outputs), info["out_size"])


def model_weight_frames(plan, width: int) -> list[bytes]:
    """The WEIGHTS payloads that write every word of an engine plan's weight banks
    (``plan.weight_records()``)."""
    return encode_weights(*plan.weight_records(), width)
