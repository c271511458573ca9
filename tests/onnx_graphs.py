"""ONNX graphs built with ``onnx.helper`` for the import and export tests (no framework needed)."""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def tensor(name, array, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(array, dtype=dtype), name)


def node(op, inputs, output, **attrs):
    return helper.make_node(op, inputs, [output], name=output + "_node", **attrs)


def model(nodes, inits, in_shape, out_name="y", opset=17):
    graph = helper.make_graph(
        nodes, "test",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"] + list(in_shape))],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ["N", "C"])], initializer=inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def mlp(rng, sizes=(64, 48, 32, 10), matmul=False, trans_b=1, alpha=1.0, beta=1.0):
    """Gemm (or MatMul + Add) layers with Relu between them."""
    nodes, inits, cur = [], [], "x"
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = rng.standard_normal((b, a)) / np.sqrt(a)
        bias = rng.standard_normal(b) * 0.1
        out = f"fc{i}"
        if matmul:
            inits += [tensor(f"w{i}", w.T), tensor(f"b{i}", bias)]
            nodes += [node("MatMul", [cur, f"w{i}"], out + "_mm"), node("Add", [out + "_mm", f"b{i}"], out)]
        else:
            inits += [tensor(f"w{i}", w if trans_b else w.T), tensor(f"b{i}", bias)]
            nodes.append(node("Gemm", [cur, f"w{i}", f"b{i}"], out, transB=trans_b, alpha=alpha,
                              beta=beta))
        cur = out
        if i < len(sizes) - 2:
            nodes.append(node("Relu", [cur], out + "_relu"))
            cur = out + "_relu"
    nodes[-1].output[0] = "y"
    return model(nodes, inits, [sizes[0]])


def cnn(rng, relu_before_pool=True, reshape=True):
    """Conv(pad 1)+Relu+MaxPool, Conv(stride 2, pad 1)+MaxPool+Relu, flatten, Gemm, Relu, Gemm."""
    inits = [tensor("w1", rng.standard_normal((4, 1, 3, 3)) / 3), tensor("b1", rng.standard_normal(4)),
             tensor("w2", rng.standard_normal((6, 4, 3, 3)) / 6), tensor("b2", rng.standard_normal(6)),
             tensor("w3", rng.standard_normal((12, 6)) / 2), tensor("b3", rng.standard_normal(12)),
             tensor("w4", rng.standard_normal((10, 12)) / 3), tensor("b4", rng.standard_normal(10)),
             tensor("shape", [0, -1], np.int64)]
    first = ([node("Relu", ["c1"], "r1"), node("MaxPool", ["r1"], "p1", kernel_shape=[2, 2],
                                                 strides=[2, 2])]
             if relu_before_pool else
             [node("MaxPool", ["c1"], "r1", kernel_shape=[2, 2], strides=[2, 2]),
              node("Relu", ["r1"], "p1")])
    flat = (node("Reshape", ["r2", "shape"], "f") if reshape else
            node("Flatten", ["r2"], "f", axis=1))
    nodes = ([node("Conv", ["x", "w1", "b1"], "c1", pads=[1, 1, 1, 1], kernel_shape=[3, 3])]
             + first +
             [node("Conv", ["p1", "w2", "b2"], "c2", pads=[1, 1, 1, 1], strides=[2, 2]),
              node("MaxPool", ["c2"], "p2", kernel_shape=[2, 2], strides=[2, 2]),
              node("Relu", ["p2"], "r2"), flat,
              node("Gemm", ["f", "w3", "b3"], "g", transB=1), node("Relu", ["g"], "r3"),
              node("Gemm", ["r3", "w4", "b4"], "y", transB=1)])
    return model(nodes, inits, [1, 8, 8])


def save(m, path):
    onnx.save(m, str(path))
    return path
