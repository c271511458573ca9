"""Model file: round trip, and a clear error for every kind of broken file."""

import numpy as np
import pytest

from circnn.training import build_cnn, build_mlp
from golden import model_file
from golden.model_file import ModelFileError


@pytest.fixture
def net():
    return build_cnn([4], [2, 4], seed=0, image=(1, 6, 6), n_out=3, input_scale=0.5)


def test_round_trip(tmp_path, net):
    path = tmp_path / "m.npz"
    net.meta = {"note": "x"}
    model_file.save(net, path)
    back = model_file.load(path)
    assert back.input_shape == net.input_shape and back.input_scale == 0.5
    assert back.meta == {"note": "x"}
    x = np.random.default_rng(0).integers(0, 17, (4, 36)).astype(float)
    np.testing.assert_array_equal(back.forward(x), net.forward(x))


def write_modified(tmp_path, net, change):
    arrays = model_file.to_arrays(net)
    change(arrays)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update(version=np.array(7)), "version 7 is not supported"),
    (lambda a: a.pop("layer0.bias"), "missing key 'layer0.bias'"),
    (lambda a: a.update({"layer1.weights": np.zeros((3, 3, 4))}),
     r"'layer1.weights' has shape \(3, 3, 4\), expected \(1, 9, 4\)"),
    (lambda a: a.update({"layer0.k": np.array(3)}), "'layer0.k': block size k must be a power"),
    (lambda a: a.update({"layer0.kind": np.array("lstm")}), "'layer0.kind' is 'lstm'"),
    (lambda a: a.update({"layer0.activation": np.array("tanh")}), "'layer0.activation'"),
    (lambda a: a.update({"layer0.pool": np.array(3)}), "'layer0.pool' must be 0 or 2"),
    (lambda a: a.update(format=np.array("onnx")), "not a circnn model file"),
    (lambda a: a.update({"layer0.bias": np.full(4, np.nan)}), "NaN"),
    (lambda a: a.update(n_layers=np.array(0)), "'n_layers' must be at least 1"),
    (lambda a: a.update({"layer1.in_features": np.array(5), "layer1.weights": np.zeros((1, 2, 4))}),
     "layer 1: fc layer expects 5 inputs, gets 36"),
])
def test_bad_files(tmp_path, net, change, message):
    with pytest.raises(ModelFileError, match=message):
        model_file.load(write_modified(tmp_path, net, change))


def test_not_an_npz(tmp_path):
    path = tmp_path / "x.npz"
    path.write_text("hello")
    with pytest.raises(ModelFileError, match="not a circnn model file"):
        model_file.load(path)
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(ModelFileError, match="single array"):
        model_file.load(tmp_path / "a.npy")
    with pytest.raises(ModelFileError, match="no such file"):
        model_file.load(tmp_path / "missing.npz")


def test_mlp_round_trip_keeps_k(tmp_path):
    net = build_mlp([16], [1, 8], seed=1, n_in=10, n_out=3)
    model_file.save(net, tmp_path / "m.npz")
    assert [layer.k for layer in model_file.load(tmp_path / "m.npz").layers] == [1, 8]
