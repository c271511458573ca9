"""Reading a trained network from an ONNX graph into a circnn (dense, k = 1) network.

Supported: a chain of layers, each ``Gemm`` or ``MatMul`` (+ ``Add`` of a bias) or ``Conv``
(square kernel, equal strides, symmetric padding, one group, no dilation), optionally followed by
``Relu`` and, after a ``Conv``, ``MaxPool`` 2x2 with stride 2 (in either order: ReLU and max
pooling commute).  ``Flatten`` (axis 1) and ``Reshape`` to ``(batch, features)`` may stand
between layers, ``Identity`` and ``Dropout`` (inference: a no-op) anywhere, and scalar ``Sub``,
``Add``, ``Mul``, ``Div`` on the graph input fold into the model's input normalization.  Any
other node is refused with its name and op type.
"""

from __future__ import annotations

import os

import numpy as np

from golden.network import Layer, Network

__all__ = ["OnnxImportError", "import_onnx"]


class OnnxImportError(ValueError):
    """A graph circnn cannot represent, with the reason (node name and op type)."""


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _where(node) -> str:
    return f"node '{node.name or '(unnamed)'}' ({node.op_type})"


class _Importer:
    def __init__(self, model, path: str):
        from onnx import numpy_helper

        self.path = path
        self.graph = model.graph
        self.consts = {t.name: numpy_helper.to_array(t) for t in self.graph.initializer}
        inputs = [i for i in self.graph.input if i.name not in self.consts]
        if len(inputs) != 1:
            raise OnnxImportError(f"{path}: the graph must have exactly one data input, has "
                                  f"{len(inputs)} ({', '.join(i.name for i in inputs)})")
        self.cur = inputs[0].name
        self.shape = self._input_shape(inputs[0])
        self.input_shape = self.shape
        self.layers: list[Layer] = []
        self.scale, self.offset = 1.0, 0.0  # graph input = raw * scale + offset
        self.started = False  # a layer has been seen (normalization nodes only before)

    def _input_shape(self, value) -> tuple[int, ...]:
        dims = value.type.tensor_type.shape.dim
        shape = [d.dim_value if d.HasField("dim_value") else None for d in dims]
        if len(shape) not in (2, 4) or any(s is None or s < 1 for s in shape[1:]):
            raise OnnxImportError(
                f"{self.path}: input '{value.name}' must be (batch, features) or (batch, "
                f"channels, height, width) with fixed sizes after the batch axis, is "
                f"{['?' if s is None else s for s in shape]}")
        return tuple(int(s) for s in shape[1:])

    def const(self, node, index: int, what: str) -> np.ndarray:
        if index >= len(node.input) or not node.input[index]:
            raise OnnxImportError(f"{self.path}: {_where(node)} has no {what}")
        name = node.input[index]
        if name not in self.consts:
            raise OnnxImportError(f"{self.path}: {_where(node)}: its {what} '{name}' must be a "
                                  "constant (initializer)")
        a = np.asarray(self.consts[name])
        if a.dtype.kind in "f" and not np.all(np.isfinite(a)):
            raise OnnxImportError(f"{self.path}: {_where(node)}: {what} holds NaN or Inf")
        return a

    def run(self) -> None:
        for node in self.graph.node:
            if node.op_type == "Constant":
                from onnx import numpy_helper

                self.consts[node.output[0]] = numpy_helper.to_array(_attrs(node)["value"])
                continue
            if node.input[0] != self.cur:
                raise OnnxImportError(f"{self.path}: {_where(node)} reads '{node.input[0]}', but "
                                      f"circnn imports chains of layers only (expected '{self.cur}')")
            handler = getattr(self, "op_" + node.op_type, None)
            if handler is None:
                raise OnnxImportError(f"{self.path}: {_where(node)}: op type {node.op_type} is "
                                      "not supported (see docs/user-guide.md, 'circnn import')")
            handler(node)
            self.cur = node.output[0]
        outputs = [o.name for o in self.graph.output]
        if outputs != [self.cur]:
            raise OnnxImportError(f"{self.path}: the graph's output must be the last node's "
                                  f"output '{self.cur}', is {outputs}")
        if not self.layers:
            raise OnnxImportError(f"{self.path}: the graph has no Gemm, MatMul or Conv layer")

    # -- layers ------------------------------------------------------------------------------
    def _fc(self, node, w: np.ndarray, bias: np.ndarray) -> None:
        if len(self.shape) != 1:
            raise OnnxImportError(f"{self.path}: {_where(node)}: input of shape {self.shape} "
                                  "must be flattened first (Flatten or Reshape)")
        m, n = w.shape
        if n != self.shape[0]:
            raise OnnxImportError(f"{self.path}: {_where(node)}: weights take {n} inputs, the "
                                  f"tensor has {self.shape[0]}")
        self._add(Layer(kind="fc", k=1, weights=w[:, :, None].astype(np.float64),
                        bias=np.broadcast_to(bias, (m,)).astype(np.float64), in_features=n,
                        out_features=m, activation="none"), (m,))

    def _add(self, layer: Layer, shape) -> None:
        self.layers.append(layer)
        self.shape = tuple(shape)
        self.started = True

    def op_Gemm(self, node) -> None:
        a = _attrs(node)
        if a.get("transA", 0):
            raise OnnxImportError(f"{self.path}: {_where(node)}: transA=1 is not supported")
        b = self.const(node, 1, "weight B")
        if b.ndim != 2:
            raise OnnxImportError(f"{self.path}: {_where(node)}: B must be 2-D, is {b.shape}")
        w = a.get("alpha", 1.0) * (b if a.get("transB", 0) else b.T)
        c = (self.const(node, 2, "bias C") * a.get("beta", 1.0) if len(node.input) > 2
             and node.input[2] else np.zeros(w.shape[0]))
        if c.size not in (1, w.shape[0]) or (c.ndim == 2 and c.shape[0] != 1):
            raise OnnxImportError(f"{self.path}: {_where(node)}: bias C of shape {c.shape} "
                                  f"does not match {w.shape[0]} outputs")
        self._fc(node, w, c.reshape(-1))

    def op_MatMul(self, node) -> None:
        b = self.const(node, 1, "weight matrix")
        if b.ndim != 2:
            raise OnnxImportError(f"{self.path}: {_where(node)}: weights must be 2-D, are "
                                  f"{b.shape}")
        self._fc(node, b.T, np.zeros(b.shape[1]))

    def op_Conv(self, node) -> None:
        if len(self.shape) != 3:
            raise OnnxImportError(f"{self.path}: {_where(node)}: needs a (channels, height, "
                                  f"width) input, has {self.shape}")
        w = self.const(node, 1, "weights")
        a = _attrs(node)
        c_in = self.shape[0]
        if w.ndim != 4 or w.shape[2] != w.shape[3]:
            raise OnnxImportError(f"{self.path}: {_where(node)}: only square 2-D kernels are "
                                  f"supported, weights have shape {w.shape}")
        r = int(w.shape[2])
        if a.get("group", 1) != 1 or w.shape[1] != c_in:
            raise OnnxImportError(f"{self.path}: {_where(node)}: grouped or depthwise "
                                  f"convolution is not supported (group {a.get('group', 1)}, "
                                  f"weights {w.shape}, input channels {c_in})")
        if any(d != 1 for d in a.get("dilations", [1, 1])):
            raise OnnxImportError(f"{self.path}: {_where(node)}: dilation is not supported")
        strides = list(a.get("strides", [1, 1]))
        if len(set(strides)) != 1:
            raise OnnxImportError(f"{self.path}: {_where(node)}: strides must be equal, are "
                                  f"{strides}")
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto not in ("NOTSET", "VALID"):
            raise OnnxImportError(f"{self.path}: {_where(node)}: auto_pad {auto} is not "
                                  "supported (give explicit pads)")
        pads = list(a.get("pads", [0, 0, 0, 0])) if auto == "NOTSET" else [0, 0, 0, 0]
        if len(set(pads)) != 1:
            raise OnnxImportError(f"{self.path}: {_where(node)}: padding must be the same on "
                                  f"every side, is {pads}")
        bias = (self.const(node, 2, "bias") if len(node.input) > 2 and node.input[2]
                else np.zeros(w.shape[0]))
        layer = Layer(kind="conv", k=1, weights=w.reshape(w.shape[0], -1)[:, :, None]
                      .astype(np.float64), bias=bias.reshape(-1).astype(np.float64),
                      in_features=c_in * r * r, out_features=int(w.shape[0]), activation="none",
                      in_channels=c_in, kernel=r, stride=int(strides[0]), padding=int(pads[0]))
        try:
            shape = layer.output_shape(self.shape)
        except ValueError as e:
            raise OnnxImportError(f"{self.path}: {_where(node)}: {e}") from None
        self._add(layer, shape)

    # -- what attaches to a layer -----------------------------------------------------------
    def _last(self, node) -> Layer:
        if not self.layers:
            raise OnnxImportError(f"{self.path}: {_where(node)} must follow a Gemm, MatMul or "
                                  "Conv layer")
        return self.layers[-1]

    def op_Relu(self, node) -> None:
        layer = self._last(node)
        if layer.activation == "relu":
            raise OnnxImportError(f"{self.path}: {_where(node)}: a second Relu on one layer")
        layer.activation = "relu"

    def op_MaxPool(self, node) -> None:
        layer = self._last(node)
        a = _attrs(node)
        ok = (list(a.get("kernel_shape", [])) == [2, 2] and list(a.get("strides", [1, 1])) ==
              [2, 2] and not any(a.get("pads", [0] * 4)) and not a.get("ceil_mode", 0) and
              list(a.get("dilations", [1, 1])) == [1, 1] and len(node.output) == 1)
        if not ok or layer.kind != "conv" or layer.pool or len(self.shape) != 3:
            raise OnnxImportError(f"{self.path}: {_where(node)}: only MaxPool 2x2 with stride 2, "
                                  "no padding, once after a Conv is supported")
        layer.pool = 2
        try:
            self.shape = layer.output_shape(self._conv_input_shape(layer))
        except ValueError as e:
            raise OnnxImportError(f"{self.path}: {_where(node)}: {e}") from None

    def _conv_input_shape(self, layer: Layer) -> tuple[int, ...]:
        shape = tuple(self.input_shape)
        for other in self.layers:
            if other is layer:
                return shape
            shape = other.output_shape(shape)
        raise AssertionError("layer not in the network")

    def op_Add(self, node) -> None:
        c = self.const(node, 1, "addend")
        if not self.started:
            self._shift(node, c, 1.0)
            return
        layer = self._last(node)
        if layer.kind != "fc" or layer.activation != "none" or c.size != layer.out_features:
            raise OnnxImportError(f"{self.path}: {_where(node)}: an Add must be a bias of "
                                  f"{layer.out_features} values right after a MatMul or Gemm")
        layer.bias = layer.bias + c.reshape(-1).astype(np.float64)

    def _shift(self, node, c: np.ndarray, sign: float) -> None:
        """Fold a scalar Add (sign 1) or Sub (sign -1) on the graph input into the offset."""
        if c.size != 1:
            raise OnnxImportError(f"{self.path}: {_where(node)}: only a scalar constant on the "
                                  "graph input (input normalization) is supported")
        self.offset += sign * float(c.reshape(-1)[0])

    def op_Sub(self, node) -> None:
        if self.started:
            raise OnnxImportError(f"{self.path}: {_where(node)}: Sub is only supported on the "
                                  "graph input (input normalization)")
        self._shift(node, self.const(node, 1, "subtrahend"), -1.0)

    def _factor(self, node, what: str) -> float:
        """The non-zero scalar constant of a Mul or Div on the graph input."""
        if self.started:
            raise OnnxImportError(f"{self.path}: {_where(node)}: {node.op_type} is only supported "
                                  "on the graph input (input normalization)")
        c = self.const(node, 1, what)
        v = float(c.reshape(-1)[0]) if c.size == 1 else 0.0
        if v == 0:
            raise OnnxImportError(f"{self.path}: {_where(node)}: the {what} must be one non-zero "
                                  "scalar")
        return v

    def op_Mul(self, node) -> None:
        v = self._factor(node, "factor")
        self.scale, self.offset = self.scale * v, self.offset * v

    def op_Div(self, node) -> None:
        v = self._factor(node, "divisor")
        self.scale, self.offset = self.scale / v, self.offset / v

    # -- shape-only nodes --------------------------------------------------------------------
    def op_Flatten(self, node) -> None:
        if _attrs(node).get("axis", 1) != 1:
            raise OnnxImportError(f"{self.path}: {_where(node)}: only axis=1 is supported")
        self.shape = (int(np.prod(self.shape)),)

    def op_Reshape(self, node) -> None:
        target = [int(v) for v in self.const(node, 1, "shape").reshape(-1)]
        n = int(np.prod(self.shape))
        if len(target) != 2 or target[0] not in (0, -1) or target[1] not in (-1, n):
            raise OnnxImportError(f"{self.path}: {_where(node)}: only a reshape to (batch, "
                                  f"{n}) is supported, target {target}")
        self.shape = (n,)

    def op_Identity(self, node) -> None:
        pass

    def op_Dropout(self, node) -> None:
        pass


def import_onnx(path: str, input_scale: float = 1.0, input_offset: float = 0.0) -> Network:
    """The network of the ONNX file ``path`` with dense (k = 1) layers.

    ``input_scale`` and ``input_offset`` describe how raw inputs become the graph's input:
    ``graph_input = (raw - input_offset) * input_scale``; scalar normalization nodes at the start
    of the graph are folded in after them.  Raises :class:`OnnxImportError` on anything circnn
    cannot represent exactly.
    """
    import onnx

    try:
        model = onnx.load(path)
    except FileNotFoundError:
        raise OnnxImportError(f"{path}: no such file") from None
    except Exception as e:  # onnx raises DecodeError and others for a damaged file
        raise OnnxImportError(f"{path}: not a readable ONNX model ({type(e).__name__}: "
                              f"{str(e).strip() or 'damaged or truncated'})") from None
    try:
        onnx.checker.check_model(model)
    except Exception as e:
        raise OnnxImportError(f"{path}: not a valid ONNX model ({str(e).strip()})") from None
    imp = _Importer(model, path)
    imp.run()
    # raw -> (raw - O_cli) * S_cli -> * a + b  ==  (raw - O) * S
    a, b = imp.scale, imp.offset
    scale = a * input_scale
    offset = input_offset - b / scale
    net = Network(input_shape=imp.input_shape, layers=imp.layers, input_offset=float(offset),
                  input_scale=float(scale), meta={"imported_from": os.path.basename(path)})
    try:
        net.shapes()
    except ValueError as e:
        raise OnnxImportError(f"{path}: {e}") from None
    return net
