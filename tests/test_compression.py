"""Compression that keeps accuracy: the data-aware projection (per-bin least squares) and
projected retraining, against brute-force least squares and on digits through the CLI."""

import json

import numpy as np
import pytest
from scipy.linalg import lstsq

from circnn.compression import compress_network, project_network
from circnn.training import build_mlp, build_cnn
from golden import blockcirculant as bc
from golden import model_file

from .cli_run import run


def _brute_force(x, y, k):
    """Least squares over the block-circulant weights with an explicit design matrix."""
    m, n = y.shape[1], x.shape[1]
    p, q = bc.block_grid(m, n, k)
    columns = []
    for i in range(p * q * k):
        e = np.zeros(p * q * k)
        e[i] = 1.0
        columns.append(bc.bc_matmul(e.reshape(p, q, k), x, m).ravel())
    return lstsq(np.array(columns).T, y.ravel())[0].reshape(p, q, k)


@pytest.mark.parametrize("m, n, k", [(16, 24, 8), (12, 20, 4), (8, 10, 2), (6, 5, 1),
                                     (32, 16, 16)])
def test_project_on_data_is_least_squares(m, n, k):
    rng = np.random.default_rng(m * n + k)
    x = rng.standard_normal((max(3 * n, 40), n))
    y = x @ rng.standard_normal((n, m)) + 0.1 * rng.standard_normal((len(x), m))
    w = bc.project_on_data(x, y, k, ridge=0)
    ref = _brute_force(x, y, k)
    np.testing.assert_allclose(w, ref, atol=1e-9 * max(1.0, np.abs(ref).max()))
    # and the residual is orthogonal to every block-circulant direction (normal equations)
    resid = y - bc.bc_matmul(w, x, m)
    direction = rng.standard_normal(w.shape)
    assert abs(np.sum(resid * bc.bc_matmul(direction, x, m))) < 1e-8 * np.sum(y * y)


def test_ridge_pulls_towards_the_prior():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((50, 16)), rng.standard_normal((50, 8))
    prior = rng.standard_normal((2, 4, 4))
    far = bc.project_on_data(x, y, 4, ridge=1e9, prior=prior)
    np.testing.assert_allclose(far, prior, atol=1e-6)
    fits = [np.linalg.norm(y - bc.bc_matmul(bc.project_on_data(x, y, 4, r, prior), x, 8))
            for r in (0.0, 0.1, 1.0, 10.0)]
    assert fits == sorted(fits)  # more regularization, larger residual
    with pytest.raises(ValueError, match="ridge must be >= 0"):
        bc.project_on_data(x, y, 4, ridge=-1)
    with pytest.raises(ValueError, match="prior has shape"):
        bc.project_on_data(x, y, 4, prior=np.zeros((1, 4, 4)))


def test_project_network_without_data_is_the_frobenius_projection():
    dense = build_cnn([4], 1, seed=3)
    net = project_network(dense, [4, 8])
    for src, new, k in zip(dense.layers, net.layers, (4, 8)):
        assert new.k == k
        np.testing.assert_array_equal(new.weights, bc.project(src.dense_matrix(), k))
        np.testing.assert_array_equal(new.bias, src.bias)


def test_data_aware_projection_follows_the_dense_network_more_closely():
    # white inputs make least squares and the Frobenius projection the same thing; real inputs
    # are correlated (here: rank 6 in 32 features), which the data-aware projection exploits
    rng = np.random.default_rng(5)
    dense = build_mlp([48, 48], 1, seed=5, n_in=32, n_out=6)
    x = rng.standard_normal((400, 6)) @ rng.standard_normal((6, 32))
    frob = project_network(dense, [8, 8, 2])
    aware = project_network(dense, [8, 8, 2], x)
    ref = dense.forward(x)
    err_frob = np.linalg.norm(frob.forward(x) - ref)
    err_aware = np.linalg.norm(aware.forward(x) - ref)
    assert err_aware < 0.5 * err_frob


def test_compress_network_reports_each_step_and_finetunes():
    rng = np.random.default_rng(2)
    teacher = build_mlp([32], 1, seed=9, n_in=16, n_out=3)
    x = rng.standard_normal((300, 16))
    y = np.argmax(teacher.forward(x), axis=1)
    net, acc = compress_network(teacher, [4, 4], x, y, x, y, epochs=15, seed=1)
    assert set(acc) == {"source", "frobenius_projection", "data_aware_projection", "finetuned"}
    assert acc["source"] == 1.0
    assert acc["finetuned"] > acc["frobenius_projection"]
    assert [layer.k for layer in net.layers] == [4, 4]


@pytest.fixture(scope="module")
def dense_digits(tmp_path_factory):
    from circnn.cli import main

    path = tmp_path_factory.mktemp("compress") / "dense.npz"
    assert main(["train", "--hidden", "64", "--k", "1", "--epochs", "15", "--quiet", "-o",
                 str(path)]) == 0
    return path


def test_compress_cli_keeps_accuracy_on_digits(dense_digits, tmp_path, capsys):
    out = tmp_path / "bc.npz"
    code, text, err = run(["compress", "-i", dense_digits, "--k", "4", "-o", out, "--epochs",
                           "20", "--json", tmp_path / "r.json"], capsys)
    assert code == 0
    report = json.loads((tmp_path / "r.json").read_text())
    acc = report["accuracy"]
    assert acc["frobenius_projection"] < 0.5  # the projection alone loses the network
    assert acc["data_aware_projection"] > acc["frobenius_projection"]
    assert acc["finetuned"] > acc["source"] - 0.04
    assert "fine-tune epoch  20/20" in err and "after fine-tuning" in text
    net = model_file.load(out)
    assert [layer.k for layer in net.layers] == [4, 4]
    assert "fine-tuning" in net.meta["compression"]


def test_compress_cli_with_user_data(dense_digits, tmp_path, capsys):
    from circnn.digits import load_digits_split

    x, y, _, _ = load_digits_split()
    np.save(tmp_path / "x.npy", x[:200])
    np.save(tmp_path / "y.npy", y[:200])
    code, _, _ = run(["compress", "-i", dense_digits, "--k", "4", "-o", tmp_path / "bc.npz",
                      "--data", tmp_path / "x.npy", "--labels", tmp_path / "y.npy", "--epochs",
                      "2", "--quiet", "--json", tmp_path / "r.json"], capsys)
    assert code == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["data"] == "--data" and report["finetune_epochs"] == 2


@pytest.mark.parametrize("labels, message", [
    (np.arange(200) % 10 + 0.5, "integer labels"),
    (np.arange(199) % 10, "expected 200 integer labels"),
    (np.full(200, 10), "labels must be 0..9"),
])
def test_compress_cli_bad_data_exit_2(dense_digits, tmp_path, capsys, labels, message):
    np.save(tmp_path / "x.npy", np.zeros((200, 64)))
    np.save(tmp_path / "y.npy", labels)
    out = tmp_path / "bc.npz"
    code, _, err = run(["compress", "-i", dense_digits, "--k", "4", "-o", out, "--data",
                        tmp_path / "x.npy", "--labels", tmp_path / "y.npy"], capsys)
    assert code == 2 and message in err and "Traceback" not in err
    assert not out.exists()
