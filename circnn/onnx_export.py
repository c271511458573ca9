"""Writing a circnn network as an ONNX graph (dense reconstruction of its block-circulant layers).

The graph takes raw inputs ``(batch,) + input_shape`` (float32), applies the model's input
normalization (``Sub`` and ``Mul`` when they are not the identity), then per layer ``Conv`` or
``Gemm`` (``transB = 1``, weights from :meth:`golden.network.Layer.dense_matrix`), ``Relu`` and
``MaxPool`` 2x2 as the layer says, with a ``Flatten`` before the first ``Gemm`` after a
convolution and at the end, so the output is ``(batch, outputs)`` as ``circnn infer`` writes it.
:func:`circnn.onnx_import.import_onnx` reads such a graph back into the same network.
"""

from __future__ import annotations

import numpy as np

from golden.network import Network

__all__ = ["export_onnx", "OPSET"]

#: ONNX operator set of exported graphs (onnxruntime 1.16 and newer run it).
OPSET = 17


def export_onnx(net: Network, name: str = "circnn") -> bytes:
    """The serialized ONNX model of ``net`` (validated with ``onnx.checker``)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    counter = iter(range(1_000_000))

    def const(array, label):
        tensor_name = f"{label}_{next(counter)}"
        inits.append(numpy_helper.from_array(np.asarray(array, dtype=np.float32), tensor_name))
        return tensor_name

    def node(op, inputs, label, **attrs):
        out = f"{label}_{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    x = "input"
    cur = x
    if net.input_offset != 0.0:
        cur = node("Sub", [cur, const(np.float32(net.input_offset), "offset")], "normalize")
    if net.input_scale != 1.0:
        cur = node("Mul", [cur, const(np.float32(net.input_scale), "scale")], "normalize")
    shape = tuple(net.input_shape)
    for i, layer in enumerate(net.layers):
        w = layer.dense_matrix()
        if layer.kind == "conv":
            r = layer.kernel
            cur = node("Conv", [cur, const(w.reshape(layer.out_features, layer.in_channels, r, r),
                                           f"layer{i}_w"), const(layer.bias, f"layer{i}_b")],
                       f"layer{i}_conv", kernel_shape=[r, r], strides=[layer.stride] * 2,
                       pads=[layer.padding] * 4)
        else:
            if len(shape) != 1:
                cur = node("Flatten", [cur], f"layer{i}_flatten", axis=1)
            cur = node("Gemm", [cur, const(w, f"layer{i}_w"), const(layer.bias, f"layer{i}_b")],
                       f"layer{i}_gemm", transB=1)
        if layer.activation == "relu":
            cur = node("Relu", [cur], f"layer{i}_relu")
        if layer.pool == 2:
            cur = node("MaxPool", [cur], f"layer{i}_pool", kernel_shape=[2, 2], strides=[2, 2])
        shape = layer.output_shape(shape)
    if len(shape) != 1:
        cur = node("Flatten", [cur], "output_flatten", axis=1)
    nodes[-1].output[0] = "output"
    nodes[-1].name = "output"
    out_features = int(np.prod(shape))
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch"] + list(net.input_shape))],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", out_features])],
        initializer=inits)
    model = helper.make_model(graph, producer_name="circnn",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()
