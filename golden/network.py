"""Float reference of a block-circulant network: layer descriptions and the forward pass.

A network takes raw input features (for the digits demo: 64 values 0..16, or a 1x8x8 image),
normalizes them with ``(x - input_offset) * input_scale`` (stored with the network, so every
engine applies the same normalization), then runs its layers in order.  Each layer is

    z = W a + b        (fc: ``a`` flattened; conv: on im2col patches, see golden.layers)
    a' = pool(act(z))  (act: relu or none; pool: 2x2 max or none, conv only)

with ``W`` block-circulant (golden.blockcirculant).  ``k = 1`` is a dense layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import blockcirculant as bc
from . import layers as L

__all__ = ["Layer", "Network", "ACTIVATIONS", "KINDS"]

ACTIVATIONS = ("relu", "none")
KINDS = ("fc", "conv")


@dataclass
class Layer:
    """One FC or CONV layer.

    Attributes
    ----------
    kind : "fc" or "conv"
    k : block size (power of two; 1 means dense)
    weights : (P, Q, k) block-circulant weights of the ``out_features x in_features`` matrix
    bias : (out_features,)
    in_features : fc: input length; conv: ``in_channels * kernel**2`` (filter-matrix columns)
    out_features : fc: output length; conv: output channels
    activation : "relu" or "none"
    pool : 0 (none) or 2 (2x2 max pooling, conv only)
    in_channels, kernel, stride, padding : conv geometry (0 for fc)
    """

    kind: str
    k: int
    weights: np.ndarray
    bias: np.ndarray
    in_features: int
    out_features: int
    activation: str = "relu"
    pool: int = 0
    in_channels: int = 0
    kernel: int = 0
    stride: int = 1
    padding: int = 0

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of one sample's output for one sample's input shape (validated)."""
        if self.kind == "fc":
            n = int(np.prod(in_shape))
            if n != self.in_features:
                raise ValueError(f"fc layer expects {self.in_features} inputs, gets {n}")
            return (self.out_features,)
        if len(in_shape) != 3 or in_shape[0] != self.in_channels:
            raise ValueError(
                f"conv layer expects input (channels={self.in_channels}, height, width), "
                f"gets {tuple(in_shape)}")
        ho = L.conv_output_size(in_shape[1], self.kernel, self.stride, self.padding)
        wo = L.conv_output_size(in_shape[2], self.kernel, self.stride, self.padding)
        if self.pool == 2:
            if ho < 2 or wo < 2:
                raise ValueError(f"2x2 pooling needs at least 2x2 pixels, gets {ho}x{wo}")
            ho, wo = ho // 2, wo // 2
        return (self.out_features, ho, wo)

    @property
    def parameter_count(self) -> int:
        return int(self.weights.size + self.bias.size)

    @property
    def dense_parameter_count(self) -> int:
        return int(self.in_features * self.out_features + self.bias.size)

    def dense_matrix(self) -> np.ndarray:
        return bc.to_dense(self.weights, (self.out_features, self.in_features))

    def matmul(self, a: np.ndarray, cache: dict | None = None) -> np.ndarray:
        """``W a + b`` for a batch: fc on ``(B, n)``, conv on ``(B, C, H, W)``."""
        if self.kind == "fc":
            x = a.reshape(a.shape[0], -1)
        else:
            x = L.im2col(a, self.kernel, self.stride, self.padding)  # (B, HW, C r r)
        if cache is not None:
            cache["x"] = x
        y = bc.bc_matmul(self.weights, x, self.out_features) + self.bias
        if self.kind == "conv":
            b = a.shape[0]
            ho = L.conv_output_size(a.shape[2], self.kernel, self.stride, self.padding)
            wo = L.conv_output_size(a.shape[3], self.kernel, self.stride, self.padding)
            y = y.transpose(0, 2, 1).reshape(b, self.out_features, ho, wo)
        return y

    def forward(self, a: np.ndarray, cache: dict | None = None) -> np.ndarray:
        """Full layer: matrix product, bias, activation, pooling.  ``cache`` keeps intermediates."""
        z = self.matmul(a, cache)
        act = L.relu(z) if self.activation == "relu" else z
        if cache is not None:
            cache["in_shape"] = a.shape
            cache["act"] = act
        return L.maxpool2(act) if self.pool == 2 else act


@dataclass
class Network:
    """A sequence of layers with its input normalization."""

    input_shape: tuple[int, ...]
    layers: list[Layer]
    input_offset: float = 0.0
    input_scale: float = 1.0
    meta: dict = field(default_factory=dict)

    def shapes(self) -> list[tuple[int, ...]]:
        """Per-sample shapes: input, then each layer's output (validates the chain)."""
        shapes = [tuple(self.input_shape)]
        for i, layer in enumerate(self.layers):
            try:
                shapes.append(layer.output_shape(shapes[-1]))
            except ValueError as e:
                raise ValueError(f"layer {i}: {e}") from None
        return shapes

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.input_offset) * self.input_scale

    def check_input(self, x: np.ndarray) -> np.ndarray:
        """Reshape a batch of raw inputs to ``(B,) + input_shape`` or raise ValueError."""
        x = np.asarray(x)
        per = int(np.prod(self.input_shape))
        if x.ndim == 0 or x.size % per != 0 or (x.ndim >= 2 and int(np.prod(x.shape[1:])) != per):
            raise ValueError(
                f"input of shape {x.shape} does not hold samples of shape {tuple(self.input_shape)}"
                f" ({per} values each)")
        if x.ndim == 1:
            x = x[None]
        return x.reshape((x.shape[0],) + tuple(self.input_shape))

    def forward(self, x: np.ndarray, trace: list | None = None) -> np.ndarray:
        """Outputs ``(B, out)`` for raw inputs ``(B, ...)``; ``trace`` collects each layer's output."""
        a = self.normalize(self.check_input(x))
        for layer in self.layers:
            a = layer.forward(a)
            if trace is not None:
                trace.append(a)
        return a.reshape(a.shape[0], -1)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(self.forward(x), axis=-1)

    @property
    def parameter_count(self) -> int:
        return sum(layer.parameter_count for layer in self.layers)

    @property
    def dense_parameter_count(self) -> int:
        return sum(layer.dense_parameter_count for layer in self.layers)
