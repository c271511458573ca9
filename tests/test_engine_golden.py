"""The fixed-point engine model (golden.engine_fixed) and the quantizer against float math."""

import numpy as np
import pytest

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


@pytest.mark.parametrize("kind, k", [("fc", 4), ("fc", 16), ("fc", 64), ("cnn", 4), ("cnn", 8)])
def test_per_layer_sqnr_against_float(kind, k):
    """Each layer's fixed output against the float layer on the same (dequantized) input:
    at least 40 dB on random networks; the quantizer leaves no saturation on the calibration
    set."""
    rng = np.random.default_rng(k)
    net = fc_net(rng, k, [3 * k, 2 * k + 3, 10]) if kind == "fc" else cnn_net(rng, k)
    qnet, calib = quantized(net, rng, samples=128)
    xq, _ = qnet.quantize_input(net.check_input(calib))
    trace = []
    _, sats = run_fixed(qnet, xq, trace=trace)
    assert sum(sats.values()) == 0
    a_prev = xq * 2.0 ** -qnet.input_frac
    for layer, ql, t in zip(net.layers, qnet.layers, trace):
        ref = layer.forward(a_prev.reshape(t["input"].shape))
        got = t["output"] * 2.0 ** -ql.out_frac
        assert _sqnr(ref, got) >= 40.0, f"layer {ql} SQNR {_sqnr(ref, got):.1f} dB"
        a_prev = t["output"] * 2.0 ** -ql.out_frac


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


def test_quantizer_refuses_mixed_block_sizes():
    rng = np.random.default_rng(0)
    net = fc_net(rng, 4, [8, 8, 4])
    net.layers[1].k = 8
    net.layers[1].weights = rng.normal(size=(1, 1, 8))
    with pytest.raises(QuantizationError, match="one block size"):
        quantize(net, rng.normal(size=(4, 8)))


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
