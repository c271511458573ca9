"""ONNX import and export, checked against onnxruntime on the same inputs."""

import json

import numpy as np
import onnx
import pytest

from circnn.onnx_export import export_onnx
from circnn.onnx_import import import_onnx
from circnn.training import build_cnn, build_mlp
from golden import model_file

from . import onnx_graphs as G
from .cli_run import run

ort = pytest.importorskip("onnxruntime", reason="onnxruntime (a test dependency) is not installed")


def _ort(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})[0]


def _rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("kind, kwargs", [
    ("mlp", {}), ("mlp", {"matmul": True}), ("mlp", {"trans_b": 0, "alpha": 0.5, "beta": 2.0}),
    ("cnn", {}), ("cnn", {"relu_before_pool": False, "reshape": False}),
])
def test_import_matches_onnxruntime(tmp_path, capsys, kind, kwargs):
    rng = np.random.default_rng(len(str(kwargs)))
    path = G.save(getattr(G, kind)(rng, **kwargs), tmp_path / "m.onnx")
    code, out, err = run(["import", path, "-o", tmp_path / "m.npz", "--json"], capsys)
    assert code == 0, err
    net = model_file.load(tmp_path / "m.npz")
    assert all(layer.k == 1 for layer in net.layers)
    # inputs exactly representable in float32, so both sides see the same numbers
    x = rng.standard_normal((16,) + net.input_shape).astype(np.float32).astype(np.float64)
    np.save(tmp_path / "x.npy", x)
    assert run(["infer", "-m", tmp_path / "m.npz", "-i", tmp_path / "x.npy", "-o",
                tmp_path / "y.npy", "--engine", "float"], capsys)[0] == 0
    ours, ref = np.load(tmp_path / "y.npy"), _ort(path, x).reshape(16, -1)
    assert _rel(ours, ref) < 1e-6
    assert json.loads(out)["parameters"] == net.parameter_count


def test_input_normalization_folds_into_the_model(tmp_path):
    rng = np.random.default_rng(1)
    m = G.mlp(rng, sizes=(64, 10))
    graph = m.graph
    graph.initializer.extend([G.tensor("mean", 3.0), G.tensor("std", 4.0)])
    gemm = graph.node[0]
    gemm.input[0] = "xn"
    graph.node.insert(0, G.node("Sub", ["x", "mean"], "xs"))
    graph.node.insert(1, G.node("Div", ["xs", "std"], "xn"))
    path = G.save(m, tmp_path / "n.onnx")
    net = import_onnx(str(path), input_scale=2.0, input_offset=1.0)
    x = rng.uniform(0, 16, (8, 64)).astype(np.float32).astype(np.float64)
    # circnn's raw input x maps to the graph input (x - 1) * 2
    ref = _ort(path, (x - 1.0) * 2.0)
    assert _rel(net.forward(x), ref) < 1e-6
    assert net.input_scale == pytest.approx(0.5) and net.input_offset == pytest.approx(1.0 + 1.5)


def _set(node, name, values):
    """Replace (or add) the integer-list attribute ``name`` of ``node``."""
    for a in list(node.attribute):
        if a.name == name:
            node.attribute.remove(a)
    node.attribute.append(onnx.helper.make_attribute(name, values))


def _refused(rng):
    """(graph, message) pairs that import must refuse."""
    def edit(m, fn):
        fn(m.graph)
        return m

    cases = []
    m = G.mlp(rng, sizes=(64, 10))
    m.graph.node.append(G.node("Sigmoid", ["y"], "z"))
    m.graph.output[0].name = "z"
    cases.append((m, "node 'z_node' (Sigmoid): op type Sigmoid is not supported"))
    cases.append((edit(G.cnn(rng), lambda g: g.node[0].attribute.append(
        onnx.helper.make_attribute("group", 2))), "grouped or depthwise"))
    cases.append((edit(G.cnn(rng), lambda g: _set(g.node[2], "kernel_shape", [3, 3])),
                  "only MaxPool 2x2 with stride 2"))
    cases.append((edit(G.cnn(rng), lambda g: _set(g.node[0], "pads", [1, 1, 0, 0])),
                  "padding must be the same on every side"))
    m = G.mlp(rng, sizes=(64, 10))
    m.graph.node.append(G.node("Add", ["y", "y"], "z"))
    m.graph.output[0].name = "z"
    cases.append((m, "must be a constant"))
    m = G.mlp(rng, sizes=(64, 10))
    m.graph.node[0].input[0] = "x"
    m.graph.node.insert(0, G.node("Relu", ["x"], "xr"))
    cases.append((m, "(Relu) must follow a Gemm, MatMul or Conv layer"))
    return cases


@pytest.mark.parametrize("case", range(6))
def test_unsupported_graphs_exit_2_and_write_nothing(tmp_path, capsys, case):
    m, message = _refused(np.random.default_rng(0))[case]
    path = tmp_path / "bad.onnx"
    onnx.save(m, str(path))
    out = tmp_path / "m.npz"
    code, _, err = run(["import", path, "-o", out], capsys)
    assert code == 2 and message in err and "Traceback" not in err, err
    assert not out.exists()


@pytest.mark.parametrize("content, message", [
    (None, "not a readable ONNX model"), (b"not an onnx file at all", "ONNX model"),
])
def test_damaged_files_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "bad.onnx"
    good = G.mlp(np.random.default_rng(0)).SerializeToString()
    path.write_bytes(good[: len(good) // 3] if content is None else content)
    code, _, err = run(["import", path, "-o", tmp_path / "m.npz"], capsys)
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "m.npz").exists()


def test_missing_file_exit_2(tmp_path, capsys):
    code, _, err = run(["import", tmp_path / "nope.onnx", "-o", tmp_path / "m.npz"], capsys)
    assert code == 2 and "no such file" in err


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_export_runs_in_onnxruntime_and_reimports(tmp_path, capsys, arch):
    net = (build_mlp([40], [4, 2], seed=1, input_scale=1 / 16) if arch == "mlp" else
           build_cnn([8], [4, 8], seed=1, input_scale=0.25))
    net.input_offset = 2.0
    rng = np.random.default_rng(3)
    for layer in net.layers:
        layer.bias = rng.standard_normal(layer.bias.shape) * 0.1
    model_file.save(net, tmp_path / "bc.npz")
    code, out, err = run(["export", "-m", tmp_path / "bc.npz", "-o", tmp_path / "bc.onnx"], capsys)
    assert code == 0, err
    x = rng.uniform(0, 16, (12,) + net.input_shape).astype(np.float32).astype(np.float64)
    assert _rel(net.forward(x), _ort(tmp_path / "bc.onnx", x)) < 1e-6
    again = import_onnx(str(tmp_path / "bc.onnx"))
    np.testing.assert_allclose(again.forward(x), net.forward(x), rtol=1e-5,
                               atol=1e-6 * np.abs(net.forward(x)).max())
    assert export_onnx(net) == (tmp_path / "bc.onnx").read_bytes()


def test_bench_onnx_round_trip(capsys):
    code, out, _ = run(["bench", "onnx", "--epochs", "1", "--json"], capsys)
    assert code == 0
    for row in json.loads(out)["results"]:
        assert row["max_rel_diff_circnn_vs_onnxruntime"] < 1e-6
        assert row["max_rel_diff_reimported_vs_onnxruntime"] < 1e-6
        assert row["images"] == 360
