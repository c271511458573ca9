"""The fixed-point engine model (golden.engine_fixed) and the quantizer against float math."""

import numpy as np
import pytest

from golden import layers as L
from golden import quantized_file
from golden.engine_fixed import (accumulator_width, fft_numerics, fft_passes, hermitian_frames,
                                 layer_fixed, run_fixed, separate)
from golden.fft_fixed import fft_fixed
from golden.model_file import ModelFileError
from golden.quantize import QuantizationError, frac_for, quantize

from .engine_nets import cnn_net, fc_net, quantized


@pytest.mark.parametrize("k", [4, 16, 64])
def test_separation_gives_both_real_spectra(k):
    """Two real blocks in one complex FFT, separated: each equals rfft(x)/k within 2 LSB."""
    rng = np.random.default_rng(k)
    params = fft_numerics(k)
    x = rng.integers(-20000, 20000, (50, 2, k))
    z, _ = fft_fixed(x[:, 0] + 1j * x[:, 1], params)
    xr, xi, sat = separate(z.real.astype(np.int64), z.imag.astype(np.int64), 16)
    want = np.fft.rfft(x, axis=-1) / k
    err = np.maximum(np.abs(xr - want.real), np.abs(xi - want.imag))
    assert sat == 0
    assert err.max() <= 2.0
    assert np.all(xi[..., 0] == 0) and np.all(xi[..., k // 2] == 0)  # exactly real bins


@pytest.mark.parametrize("k", [4, 32])
def test_hermitian_packing_gives_two_real_blocks(k):
    """One complex IFFT of the packed half spectra returns both real blocks (exact in float)."""
    rng = np.random.default_rng(k)
    y = np.fft.rfft(rng.normal(size=(7, 2, k)), axis=-1)
    y[..., 0] = y[..., 0].real
    y[..., k // 2] = y[..., k // 2].real
    zr, zi = hermitian_frames(y.real, y.imag)
    t = np.fft.ifft(zr + 1j * zi, axis=-1)
    np.testing.assert_allclose(t.real, np.fft.irfft(y[:, 0], n=k), atol=1e-12)
    np.testing.assert_allclose(t.imag, np.fft.irfft(y[:, 1], n=k), atol=1e-12)


def test_fft_pass_count():
    assert fft_passes(16, 16) == (16, 32)   # FC 1024x1024, k = 64
    assert fft_passes(3, 1) == (3, 4)


def test_accumulator_cannot_overflow():
    """The worst case of q products of 16-bit extremes fits the stated width, one bit less
    does not."""
    q = 16
    worst = q * 2 * (-(1 << 15)) * (-(1 << 15))   # ar*br - ai*bi with ai = -bi = extreme
    width = accumulator_width(16, q)
    assert width == 37
    assert worst <= (1 << (width - 1)) - 1
    assert worst > (1 << (width - 2)) - 1


def _sqnr(ref, got):
    return 10 * np.log10(np.sum(ref ** 2) / max(np.sum((ref - got) ** 2), 1e-300))


def _layers_against_float(net, rng):
    """Quantize ``net`` on 128 random inputs and run them: no saturation, and each layer's fixed
    output at least 40 dB from the float layer on the same (dequantized) input.  Returns the
    quantized layers and their traces."""
    qnet, calib = quantized(net, rng, samples=128)
    xq, _ = qnet.quantize_input(net.check_input(calib))
    trace = []
    _, sats = run_fixed(qnet, xq, trace=trace)
    assert sum(sats.values()) == 0
    a_prev = xq * 2.0 ** -qnet.input_frac
    for layer, ql, t in zip(net.layers, qnet.layers, trace):
        ref = layer.forward(a_prev.reshape(t["input"].shape))
        got = t["output"] * 2.0 ** -ql.out_frac
        assert _sqnr(ref, got) >= 40.0, f"layer k={ql.k} SQNR {_sqnr(ref, got):.1f} dB"
        a_prev = t["output"] * 2.0 ** -ql.out_frac
    return qnet.layers, trace


@pytest.mark.parametrize("kind, k", [("fc", 4), ("fc", 16), ("fc", 64), ("cnn", 4), ("cnn", 8)])
def test_per_layer_sqnr_against_float(kind, k):
    """Each layer's fixed output against the float layer on the same (dequantized) input:
    at least 40 dB on random networks; the quantizer leaves no saturation on the calibration
    set."""
    rng = np.random.default_rng(k)
    net = fc_net(rng, k, [3 * k, 2 * k + 3, 10]) if kind == "fc" else cnn_net(rng, k)
    _layers_against_float(net, rng)


def test_trained_digits_mlp_argmax_agrees():
    """On a trained digits network the fixed engine picks the float network's class on at least
    99 % of the 360 test images."""
    from circnn import digits, training
    xtr, ytr, xte, _ = digits.load_digits_split()
    net = training.build_mlp([128, 128], 8, 0, input_scale=digits.INPUT_SCALE)
    training.train(net, xtr, ytr, training.TrainConfig(epochs=15))
    qnet, report = quantize(net, xtr)
    xq, _ = qnet.quantize_input(net.check_input(xte))
    out, _ = run_fixed(qnet, xq)
    agree = np.mean(np.argmax(out, 1) == net.predict(xte))
    assert agree >= 0.99
    assert report["total_saturations"] == 0


def test_quantizer_reports_unavoidable_saturation():
    """A bias too large for the output format is clipped and reported, not hidden."""
    rng = np.random.default_rng(1)
    net = fc_net(rng, 4, [8, 8, 4])
    net.layers[-1].bias[:] = 0
    net.layers[-1].bias[0] = 1e6
    _, report = quantize(net, rng.normal(size=(16, 8)))
    assert report["layers"][-1]["bias_saturations"] == 1
    assert report["total_saturations"] >= 1


@pytest.mark.parametrize("kind, ks", [("fc", (4, 8, 16)), ("fc", (8, 8, 1)), ("fc", (1, 4, 1)),
                                       ("cnn", (4, 8)), ("cnn", (1, 8)), ("cnn", (8, 1))])
def test_mixed_block_sizes_and_dense_layers_against_float(kind, ks):
    """Each layer at its own block size (1: dense, no transforms): every layer's fixed output
    against the float layer on the same input, at least 40 dB; no saturation on the
    calibration set; a dense layer's spectrum is its exact integer product requantized."""
    rng = np.random.default_rng(sum(ks))
    net = (fc_net(rng, list(ks), [24, 20, 16, 10]) if kind == "fc"
           else cnn_net(rng, list(ks)))
    qlayers, trace = _layers_against_float(net, rng)
    assert [ql.k for ql in qlayers] == list(ks)
    for ql, t in zip(qlayers, trace):
        assert len(ql.inverse_shifts) == (ql.k.bit_length() - 1)
        if ql.k == 1:   # W x in integers (float64 is exact below 2**53), no imaginary part
            assert np.all(ql.wq[..., 1] == 0)
            x = t["input"]
            vec = (x.reshape(len(x), 1, -1) if ql.kind == "fc" else
                   L.im2col(x, ql.kernel, ql.stride, ql.padding))
            want = np.einsum("ij,bvj->bvi", ql.wq[:, :, 0, 0].astype(np.float64),
                             vec.astype(np.float64))
            np.testing.assert_array_equal(t["acc_re"], want.astype(np.int64))
            assert not np.any(t["acc_im"])


def test_quantizer_refuses_block_size_two():
    rng = np.random.default_rng(0)
    net = fc_net(rng, [4, 2], [8, 8, 4])
    with pytest.raises(QuantizationError, match="layer 1 has block size k = 2"):
        quantize(net, rng.normal(size=(4, 8)))


def test_shifts_for_one_block_size_only():
    """Explicit IFFT shifts name one block size; a model of two is refused, not guessed."""
    rng = np.random.default_rng(0)
    net = fc_net(rng, [4, 8], [8, 8, 4])
    with pytest.raises(QuantizationError, match="this model has k = 4, 8"):
        quantize(net, rng.normal(size=(4, 8)), inverse_shifts=(1, 0))


def test_frac_for():
    assert frac_for(1.0, 16) == 14       # 1.0 * 2**14 = 16384 <= 32767 < 32768
    assert frac_for(0.9999, 16) == 15
    assert frac_for(0.0, 16) == 0
    assert frac_for(40000.0, 16) == -1


def test_quantized_file_round_trip(tmp_path):
    rng = np.random.default_rng(4)
    net = cnn_net(rng, 4)
    qnet, calib = quantized(net, rng)
    path = tmp_path / "q.npz"
    quantized_file.save(net, qnet, path)
    net2, qnet2 = quantized_file.load(path)
    xq, _ = qnet.quantize_input(net.check_input(calib[:4]))
    np.testing.assert_array_equal(run_fixed(qnet, xq)[0], run_fixed(qnet2, xq)[0])
    assert qnet2.inverse_shifts == qnet.inverse_shifts


def test_quantized_file_mixed_block_sizes_and_version_2(tmp_path):
    """Version 3 keeps each layer's k and IFFT shifts; a version-2 file (one block size, the
    shifts only at network level) still reads, with the same numbers."""
    rng = np.random.default_rng(5)
    net = cnn_net(rng, [4, 1])
    qnet, calib = quantized(net, rng)
    xq, _ = qnet.quantize_input(net.check_input(calib[:4]))
    quantized_file.save(net, qnet, tmp_path / "q3.npz")
    _, qnet3 = quantized_file.load(tmp_path / "q3.npz")
    assert [l.inverse_shifts for l in qnet3.layers] == [l.inverse_shifts for l in qnet.layers]
    assert qnet3.block_sizes == [4, 1]
    np.testing.assert_array_equal(run_fixed(qnet, xq)[0], run_fixed(qnet3, xq)[0])

    net = cnn_net(rng, 8)
    qnet, calib = quantized(net, rng)
    arrays = quantized_file.to_arrays(net, qnet)
    arrays["version"] = np.array(2)
    for i in range(len(net.layers)):
        del arrays[f"layer{i}.q.inverse_shifts"]
    np.savez(tmp_path / "q2.npz", **arrays)
    _, qnet2 = quantized_file.load(tmp_path / "q2.npz")
    xq, _ = qnet.quantize_input(net.check_input(calib[:4]))
    np.testing.assert_array_equal(run_fixed(qnet, xq)[0], run_fixed(qnet2, xq)[0])

    arrays = quantized_file.to_arrays(*quantized_file.load(tmp_path / "q3.npz"))
    arrays["layer1.q.inverse_shifts"] = np.array([1, 0], dtype=np.int64)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ModelFileError, match="must be empty for a dense layer"):
        quantized_file.load(tmp_path / "bad.npz")
    arrays["layer1.q.inverse_shifts"] = np.array([], dtype=np.int64)
    arrays["layer0.q.inverse_shifts"] = np.array([1, 0, 1], dtype=np.int64)
    np.savez(tmp_path / "bad2.npz", **arrays)
    with pytest.raises(ModelFileError, match="layer0.q.inverse_shifts"):
        quantized_file.load(tmp_path / "bad2.npz")


def test_quantized_file_errors(tmp_path):
    rng = np.random.default_rng(4)
    net = fc_net(rng, 4, [8, 8, 4])
    from golden import model_file
    model_file.save(net, tmp_path / "float.npz")
    with pytest.raises(ModelFileError, match="not a quantized model"):
        quantized_file.load(tmp_path / "float.npz")
    qnet, _ = quantized(net, rng)
    arrays = quantized_file.to_arrays(net, qnet)
    arrays["layer0.q.wq"] = arrays["layer0.q.wq"][:, :, :2]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ModelFileError, match="layer0.q.wq"):
        quantized_file.load(tmp_path / "bad.npz")
    arrays = quantized_file.to_arrays(net, qnet)
    arrays["layer1.q.bias"] = arrays["layer1.q.bias"] + 70000
    np.savez(tmp_path / "bad2.npz", **arrays)
    with pytest.raises(ModelFileError, match="16-bit range"):
        quantized_file.load(tmp_path / "bad2.npz")


def test_layer_trace_holds_intermediates():
    rng = np.random.default_rng(2)
    qnet, calib = quantized(fc_net(rng, 4, [8, 6]), rng)
    xq, _ = qnet.quantize_input(calib[:3])
    t = {}
    out, _ = layer_fixed(qnet.layers[0], xq, qnet.fft_params(), t)
    assert t["acc_re"].shape == (3, 1, 2, 3) and t["output"].shape == out.shape == (3, 6)


def test_a_layer_without_its_own_shifts_takes_the_networks():
    """QLayers made without per-layer IFFT shifts (code written before version 3) run with the
    network's shifts, as they did, not with the default."""
    import dataclasses
    rng = np.random.default_rng(6)
    net = fc_net(rng, 4, [8, 8, 4])
    qnet, calib = quantized(net, rng)
    xq, _ = qnet.quantize_input(net.check_input(calib[:8]))
    custom = dataclasses.replace(qnet, inverse_shifts=(0, 0), layers=[
        dataclasses.replace(l, inverse_shifts=(0, 0)) for l in qnet.layers])
    bare = dataclasses.replace(custom, layers=[
        dataclasses.replace(l, inverse_shifts=()) for l in qnet.layers])
    default = run_fixed(qnet, xq)[0]
    np.testing.assert_array_equal(run_fixed(bare, xq)[0], run_fixed(custom, xq)[0])
    assert not np.array_equal(run_fixed(custom, xq)[0], default)


def test_engine_plan_of_mixed_block_sizes():
    """The engine's k is the largest; a smaller layer's frames are zero-stuffed (``stuff``), its
    weights and biases laid out with its own bins and blocks, each tensor in its producer's
    blocks; a dense layer past the FFT engine; a layer whose IFFT shifts are not the first of the
    largest k's (its stuffed frames follow those) and a model without a block-circulant layer
    are refused, not run wrong."""
    from golden.engine_plan import plan_engine

    rng = np.random.default_rng(4)
    qnet, _ = quantized(fc_net(rng, [4, 16, 8], [20, 40, 24, 10]), rng)
    plan = plan_engine(qnet)
    assert plan.k == 16 and plan.mixed and plan.fft.min_length == 4
    assert [(lp.k, lp.stuff, lp.in_layout) for lp in plan.layers] == [(4, 2, 4), (16, 0, 4),
                                                                      (8, 1, 16)]
    assert all(lp.gather for lp in plan.layers)     # stuffed, or a vector in other blocks
    assert [lp.bins for lp in plan.layers] == [3, 9, 5]
    lp = plan.layers[0]
    groups, pb, q = lp.groups, lp.pb, lp.q
    assert plan.layers[1].wbase == groups * lp.bins * q and pb == 10
    # every column of layer 0's frames: a real one is feature (2r + par) 4 + t / 4
    entries = [e for bank in plan.table_banks for e in bank[:lp.frames_in * 8]]
    assert sum(1 for e in entries if not e[4]) == lp.n
    qnet.layers[0].inverse_shifts = (0, 1)
    with pytest.raises(ValueError, match=r"layer 0 \(k = 4\): its IFFT shifts \[0, 1\]"):
        plan_engine(qnet)
    # a dense layer: frames of 2k features (pairs), one bin, the FFT engine bypassed
    qnet2, _ = quantized(fc_net(rng, [8, 1], [16, 40, 6]), rng)
    plan2 = plan_engine(qnet2)
    assert plan2.k == 8 and plan2.has_dense and plan2.fft.min_length == 8
    lp = plan2.layers[1]
    assert (lp.dense, lp.gather, lp.bins, lp.q, lp.pb) == (1, 1, 1, 40, 6)
    assert (lp.frames_in, lp.frames_out) == (3, 1)   # 40 inputs, 6 outputs, 16 a frame
    assert plan2.layer_work(lp) == {"butterflies": 0, "cmacs": 240}
    qnet3, _ = quantized(fc_net(rng, 1, [16, 12, 6]), rng)
    with pytest.raises(ValueError, match=r"at least 4 \(and dense layers, k = 1, next to them\); "
                                         r"this model has k = 1, 1"):
        plan_engine(qnet3)
