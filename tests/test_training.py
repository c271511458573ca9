"""Training: network gradients against finite differences, and a short run that learns digits."""

import numpy as np
import pytest

from circnn.digits import INPUT_SCALE, load_digits_split
from circnn.training import TrainConfig, accuracy, build_cnn, build_mlp, loss_and_grads, train


def finite_difference_check(net, x, y, rng, picks=6):
    _, grads = loss_and_grads(net, x, y)
    eps = 1e-6
    for li, layer in enumerate(net.layers):
        for _ in range(picks):
            for param, grad in ((layer.weights, grads[li][0]), (layer.bias, grads[li][1])):
                idx = tuple(rng.integers(0, s) for s in param.shape)
                old = param[idx]
                param[idx] = old + eps
                lp, _ = loss_and_grads(net, x, y)
                param[idx] = old - eps
                lm, _ = loss_and_grads(net, x, y)
                param[idx] = old
                assert (lp - lm) / (2 * eps) == pytest.approx(grad[idx], rel=1e-4, abs=1e-7)


def test_mlp_gradients_finite_differences():
    rng = np.random.default_rng(0)
    net = build_mlp([12, 10], [4, 2, 8], seed=3, n_in=9, n_out=5)
    x = rng.standard_normal((6, 9))
    y = rng.integers(0, 5, 6)
    finite_difference_check(net, x, y, rng)


def test_cnn_gradients_finite_differences():
    rng = np.random.default_rng(1)
    net = build_cnn([4, 6], [2, 4, 4], seed=5, image=(2, 6, 6), n_out=3)
    x = rng.standard_normal((3, 2, 6, 6))
    y = rng.integers(0, 3, 3)
    finite_difference_check(net, x, y, rng, picks=4)


def test_training_is_deterministic_and_learns():
    x_train, y_train, x_test, y_test = load_digits_split()
    assert len(y_test) == 360
    accs = []
    for _ in range(2):
        net = build_mlp([256, 256], 8, seed=4, input_scale=INPUT_SCALE)
        train(net, x_train, y_train, TrainConfig(epochs=10, seed=4))
        accs.append(accuracy(net, x_test, y_test))
    assert accs[0] == accs[1]
    assert accs[0] > 0.90  # 10 epochs of the default k=8 MLP (full run: ~97 %); chance 0.10


def test_build_like_copies_geometry_with_new_block_sizes():
    from circnn.training import build_cnn, build_like

    src = build_cnn([4, 8], 1, seed=0, input_scale=0.5)
    src.input_offset = 1.0
    new = build_like(src, [2, 4], seed=1)
    assert new.shapes() == src.shapes()
    assert [layer.k for layer in new.layers] == [2, 4, 4]
    assert (new.input_scale, new.input_offset) == (0.5, 1.0)
    for a, b in zip(src.layers, new.layers):
        assert (a.kind, a.activation, a.pool, a.stride, a.padding) == \
            (b.kind, b.activation, b.pool, b.stride, b.padding)
