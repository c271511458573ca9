"""Training block-circulant networks in NumPy, with FFT-based gradients.

Gradients of every block-circulant product come from
:func:`golden.blockcirculant.bc_backward` (FFT correlations, no dense matrix).  Optimizer: Adam
on softmax cross-entropy.  Everything is seeded, so a run is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from golden import blockcirculant as bc
from golden import layers as L
from golden.network import Layer, Network

__all__ = ["build_mlp", "build_cnn", "build_like", "loss_and_grads", "train", "TrainConfig",
           "accuracy"]


def _init_layer(rng, kind, k, n_in, n_out, activation, **conv) -> Layer:
    p, q = bc.block_grid(n_out, n_in, k)
    # He initialization: each output sums n_in products, whatever the block structure.
    w = rng.standard_normal((p, q, k)) * np.sqrt(2.0 / n_in)
    return Layer(kind=kind, k=k, weights=w, bias=np.zeros(n_out), in_features=n_in,
                 out_features=n_out, activation=activation, **conv)


def _per_layer(k, n: int) -> list[int]:
    """A block size per layer from one int or a list (a short list repeats its last entry)."""
    ks = [k] if isinstance(k, int) else list(k)
    if not ks:
        raise ValueError("at least one block size is needed")
    return [int(ks[min(i, len(ks) - 1)]) for i in range(n)]


def build_mlp(hidden: list[int], k: int | list[int], seed: int, n_in: int = 64, n_out: int = 10,
              input_scale: float = 1.0) -> Network:
    """An MLP ``n_in -> hidden... -> n_out`` with ReLU; ``k`` per layer (int: the same for all)."""
    rng = np.random.default_rng(seed)
    sizes = [n_in] + list(hidden) + [n_out]
    ks = _per_layer(k, len(sizes) - 1)
    layers = [
        _init_layer(rng, "fc", ks[i], a, b, "relu" if i < len(sizes) - 2 else "none")
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))
    ]
    return Network(input_shape=(n_in,), layers=layers, input_scale=input_scale)


def build_cnn(channels: list[int], k: int | list[int], seed: int, image: tuple[int, int, int] = (1, 8, 8),
              n_out: int = 10, input_scale: float = 1.0) -> Network:
    """CONV3x3(pad 1)+ReLU+pool per entry of ``channels``, then one FC layer to ``n_out``."""
    rng = np.random.default_rng(seed)
    ks = _per_layer(k, len(channels) + 1)
    layers = []
    c, h, w = image
    for i, ch in enumerate(channels):
        layers.append(_init_layer(rng, "conv", ks[i], c * 9, ch, "relu", pool=2, in_channels=c,
                                  kernel=3, stride=1, padding=1))
        c, h, w = ch, h // 2, w // 2
    layers.append(_init_layer(rng, "fc", ks[-1], c * h * w, n_out, "none"))
    return Network(input_shape=image, layers=layers, input_scale=input_scale)


def build_like(net: Network, k: int | list[int], seed: int) -> Network:
    """A freshly initialized network with the geometry of ``net`` and block size(s) ``k``."""
    rng = np.random.default_rng(seed)
    ks = _per_layer(k, len(net.layers))
    layers = [_init_layer(rng, l.kind, ks[i], l.in_features, l.out_features, l.activation,
                          pool=l.pool, in_channels=l.in_channels, kernel=l.kernel,
                          stride=l.stride, padding=l.padding)
              for i, l in enumerate(net.layers)]
    return Network(input_shape=tuple(net.input_shape), layers=layers,
                   input_offset=net.input_offset, input_scale=net.input_scale)


def _softmax_xent(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = logits.shape[0]
    loss = -np.mean(np.log(p[np.arange(n), labels] + 1e-300))
    d = p
    d[np.arange(n), labels] -= 1.0
    return float(loss), d / n


def loss_and_grads(net: Network, x: np.ndarray, labels: np.ndarray):
    """Mean cross-entropy of ``net`` on ``(x, labels)`` and gradients ``[(dW, db), ...]``."""
    a = net.normalize(net.check_input(x))
    caches = []
    for layer in net.layers:
        cache: dict = {}
        a = layer.forward(a, cache)
        caches.append(cache)
    loss, d = _softmax_xent(a.reshape(a.shape[0], -1), labels)
    grads = []
    for layer, cache in zip(reversed(net.layers), reversed(caches)):
        act = cache["act"]
        d = d.reshape((d.shape[0],) + act.shape[1:]) if layer.pool == 0 else d
        if layer.pool == 2:
            d = L.maxpool2_backward(act, d.reshape((act.shape[0], act.shape[1]) +
                                                   (act.shape[2] // 2, act.shape[3] // 2)))
        if layer.activation == "relu":
            d = L.relu_backward(act, d)
        if layer.kind == "conv":
            b, c = d.shape[:2]
            dz = d.reshape(b, c, -1).transpose(0, 2, 1)  # (B, HW, C_out)
        else:
            dz = d.reshape(d.shape[0], -1)
        dw, dx = bc.bc_backward(layer.weights, cache["x"], dz)
        db = dz.reshape(-1, layer.out_features).sum(axis=0)
        if layer.kind == "conv":
            d = L.col2im(dx, cache["in_shape"], layer.kernel, layer.stride, layer.padding)
        else:
            d = dx.reshape(cache["in_shape"])
        grads.append((dw, db))
    return loss, grads[::-1]


def accuracy(net: Network, x: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(net.predict(x) == labels))


@dataclass
class TrainConfig:
    epochs: int = 60
    batch: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0


def train(net: Network, x: np.ndarray, y: np.ndarray, cfg: TrainConfig,
          progress: Callable[[int, float, float], None] | None = None) -> Network:
    """Adam on minibatches, in place; ``progress(epoch, loss, train_accuracy)`` after each epoch."""
    rng = np.random.default_rng(cfg.seed + 1_000_003)
    params = [[layer.weights, layer.bias] for layer in net.layers]
    m = [[np.zeros_like(p) for p in pair] for pair in params]
    v = [[np.zeros_like(p) for p in pair] for pair in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    step = 0
    n = x.shape[0]
    for epoch in range(cfg.epochs):
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, cfg.batch):
            idx = order[start:start + cfg.batch]
            loss, grads = loss_and_grads(net, x[idx], y[idx])
            total += loss * len(idx)
            step += 1
            lr = cfg.lr * 0.5 * (1 + np.cos(np.pi * epoch / cfg.epochs))  # cosine decay
            for li, (gw, gb) in enumerate(grads):
                for pi, g in enumerate((gw + cfg.weight_decay * params[li][0], gb)):
                    m[li][pi] = b1 * m[li][pi] + (1 - b1) * g
                    v[li][pi] = b2 * v[li][pi] + (1 - b2) * g * g
                    mh = m[li][pi] / (1 - b1 ** step)
                    vh = v[li][pi] / (1 - b2 ** step)
                    params[li][pi] -= lr * mh / (np.sqrt(vh) + eps)
        if progress is not None:
            progress(epoch + 1, total / n, accuracy(net, x, y))
    return net
