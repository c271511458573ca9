"""Compressing a trained network to block-circulant layers without losing its accuracy.

Three steps, each usable alone:

1. :func:`project_network` with no data: every weight matrix replaced by its nearest
   block-circulant matrix in the Frobenius norm (:func:`golden.blockcirculant.project`).  Cheap,
   but it keeps only about ``1/k`` of a trained matrix's energy: a dense digits MLP projected to
   k = 8 keeps 0.94 relative error and scores near chance.
2. :func:`project_network` with training inputs: the *data-aware* projection.  Layer by layer,
   the block-circulant weights are fitted by least squares (per frequency bin, so it is exact and
   fast: :func:`golden.blockcirculant.project_on_data`) to reproduce the dense layer's outputs
   from the inputs the already compressed layers before it produce, regularized towards the
   Frobenius projection.  Errors of earlier layers are thereby corrected by later ones.
3. :func:`finetune`: projected retraining.  The network is trained further in its
   block-circulant parameterization (the weights stay block-circulant at every step) with the
   FFT-based gradients of :func:`golden.blockcirculant.bc_backward`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from golden import blockcirculant as bc
from golden.network import Layer, Network

from .training import TrainConfig, accuracy, train

__all__ = ["project_network", "finetune", "compress_network", "DEFAULT_RIDGE", "DEFAULT_EPOCHS",
           "DEFAULT_LR"]

#: Regularization of the data-aware projection towards the Frobenius projection (scale free).
DEFAULT_RIDGE = 0.1
#: Fine-tuning epochs (training a block-circulant MLP from scratch takes 40).
DEFAULT_EPOCHS = 20
#: Fine-tuning learning rate (Adam, cosine decay): twice the from-scratch rate, measured better
#: on the digits CNN (docs/benchmarks.md, "Compression that keeps accuracy").
DEFAULT_LR = 4e-3


def _patches(layer: Layer, a: np.ndarray) -> np.ndarray:
    """Rows the layer's matrix multiplies (fc: the flattened inputs; conv: im2col patches)."""
    cache: dict = {}
    layer.matmul(a, cache)
    return cache["x"].reshape(-1, layer.in_features)


def project_network(src: Network, ks: list[int], x: np.ndarray | None = None,
                    ridge: float = DEFAULT_RIDGE) -> Network:
    """``src`` with layer ``i`` made block-circulant with block size ``ks[i]``.

    Without ``x``: Frobenius projection of each matrix.  With ``x`` (raw training inputs): the
    data-aware projection described in the module docstring.  A layer whose block size does not
    change is copied unchanged.  Biases, activations and geometry are kept.
    """
    if len(ks) != len(src.layers):
        raise ValueError(f"{len(ks)} block sizes for {len(src.layers)} layers")
    a_dense = a_comp = None if x is None else src.normalize(src.check_input(x))
    layers = []
    for layer, k in zip(src.layers, ks):
        if k == layer.k:
            new = Layer(**{**layer.__dict__, "weights": layer.weights.copy()})
        else:
            prior = bc.project(layer.dense_matrix(), k)
            if x is None:
                w = prior
            else:
                target = _patches(layer, a_dense) @ layer.dense_matrix().T
                w = bc.project_on_data(_patches(layer, a_comp), target, k, ridge, prior)
            new = Layer(**{**layer.__dict__, "k": k, "weights": w})
        layers.append(new)
        if x is not None:
            a_dense, a_comp = layer.forward(a_dense), new.forward(a_comp)
    return Network(input_shape=src.input_shape, layers=layers, input_offset=src.input_offset,
                   input_scale=src.input_scale, meta=dict(src.meta))


def finetune(net: Network, x: np.ndarray, y: np.ndarray, epochs: int = DEFAULT_EPOCHS,
             lr: float = DEFAULT_LR, batch: int = 32, seed: int = 0,
             progress: Callable[[int, float, float], None] | None = None) -> Network:
    """Projected retraining of a block-circulant ``net`` in place (Adam, cosine learning rate)."""
    return train(net, net.check_input(x), y,
                 TrainConfig(epochs=epochs, lr=lr, batch=batch, seed=seed), progress)


def compress_network(src: Network, ks: list[int], x: np.ndarray | None, y: np.ndarray | None,
                     eval_x: np.ndarray | None = None, eval_y: np.ndarray | None = None,
                     epochs: int = DEFAULT_EPOCHS, ridge: float = DEFAULT_RIDGE,
                     lr: float = DEFAULT_LR, batch: int = 32, seed: int = 0,
                     progress: Callable[[int, float, float], None] | None = None
                     ) -> tuple[Network, dict]:
    """Project (data-aware when ``x`` is given) and fine-tune (when ``epochs`` > 0 and ``x``);
    returns the network and the accuracies at each step on ``(eval_x, eval_y)``."""
    acc: dict = {}
    measure = eval_x is not None and eval_y is not None
    if measure:
        acc["source"] = accuracy(src, eval_x, eval_y)
        frob = project_network(src, ks)
        acc["frobenius_projection"] = accuracy(frob, eval_x, eval_y)
    if x is None:
        return (frob if measure else project_network(src, ks)), acc
    net = project_network(src, ks, x, ridge)
    if measure:
        acc["data_aware_projection"] = accuracy(net, eval_x, eval_y)
    if epochs > 0:
        finetune(net, x, y, epochs, lr, batch, seed, progress)
        if measure:
            acc["finetuned"] = accuracy(net, eval_x, eval_y)
    return net, acc
