"""The circnn command line: each command end to end, and exit code 2 on user mistakes."""

import json
import subprocess
import sys

import numpy as np
import pytest

from circnn.cli import main
from golden import model_file

from .cli_run import run


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    model = d / "m.npz"
    assert main(["train", "-o", str(model), "--hidden", "64", "--k", "8", "--epochs", "3",
                 "--quiet"]) == 0
    return model


def test_train_json(tmp_path, capsys):
    model = tmp_path / "m.npz"
    code, out, err = run(["train", "-o", model, "--hidden", "32", "--k", "4", "--epochs", "2",
                          "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    assert report["k"] == [4, 4] and report["parameters"] < report["dense_parameters"]
    assert 0 <= report["test_accuracy"] <= 1 and report["test_images"] == 360
    assert model_file.load(model).layers[0].k == 4


def test_train_progress_and_cnn(tmp_path, capsys):
    code, out, err = run(["train", "--arch", "cnn", "--channels", "4", "--k", "2,4", "--epochs",
                          "1", "-o", tmp_path / "c.npz"], capsys)
    assert code == 0
    assert "epoch   1/1" in err and "test accuracy" in out


def test_infer_float_matches_model(trained, tmp_path, capsys):
    code, _, _ = run(["dataset", "-o", tmp_path / "x.npy", "--labels", tmp_path / "y.npy"], capsys)
    assert code == 0
    code, out, _ = run(["infer", "-m", trained, "-i", tmp_path / "x.npy", "-o",
                        tmp_path / "out.npy", "--labels", tmp_path / "y.npy", "--json"], capsys)
    assert code == 0
    y = np.load(tmp_path / "out.npy")
    x = np.load(tmp_path / "x.npy")
    np.testing.assert_array_equal(y, model_file.load(trained).forward(x))
    assert json.loads(out)["accuracy"] == np.mean(y.argmax(1) == np.load(tmp_path / "y.npy"))


def test_compress_dense_model(tmp_path, capsys):
    dense = tmp_path / "d.npz"
    assert run(["train", "-o", dense, "--hidden", "32", "--k", "1", "--epochs", "1", "--quiet"],
               capsys)[0] == 0
    code, out, _ = run(["compress", "-i", dense, "--k", "4", "-o", tmp_path / "c.npz", "--json",
                        "--no-finetune"], capsys)
    assert code == 0
    report = json.loads(out)
    assert report["reduction"] > 3
    assert all(0 < layer["relative_frobenius_error"] < 1 for layer in report["layers"])
    assert [layer.k for layer in model_file.load(tmp_path / "c.npz").layers] == [4, 4]


def test_compress_npy_matrix(tmp_path, capsys):
    a = np.random.default_rng(0).standard_normal((12, 20))
    np.save(tmp_path / "w.npy", a)
    code, out, _ = run(["compress", "-i", tmp_path / "w.npy", "--k", "4", "-o",
                        tmp_path / "c.npz", "--no-finetune"], capsys)
    assert code == 0 and "reduction" in out
    net = model_file.load(tmp_path / "c.npz")
    x = np.random.default_rng(1).standard_normal((3, 20))
    assert net.forward(x).shape == (3, 12)


@pytest.mark.parametrize("args, message", [
    (["infer", "-m", "missing.npz", "-i", "x.npy", "-o", "y.npy"], "no such file"),
    (["train", "-o", "nodir/m.npz", "--epochs", "1", "--hidden", "8", "--quiet"],
     "does not exist"),
    (["compress", "-i", "w.npy", "--k", "4,4", "-o", "c.npz"], "give one, or one per layer"),
    (["compress", "-i", "w.npy", "--k", "4", "-o", "c.npz"], "fine-tuning needs training data"),
    (["infer", "-m", "{model}", "-i", "bad.npy", "-o", "y.npy"], "does not hold samples"),
    (["infer", "-m", "{model}", "-i", "text.npy", "-o", "y.npy"], "not a NumPy .npy"),
])
def test_user_errors_exit_2(trained, tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "w.npy", np.zeros((4, 4)))
    np.save(tmp_path / "bad.npy", np.zeros((3, 7)))
    (tmp_path / "text.npy").write_text("not an array")
    code, out, err = run([a.replace("{model}", str(trained)) for a in args], capsys)
    assert code == 2
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("args", [["train", "--k", "3", "-o", "m.npz"], ["infer"],
                                  ["train", "--epochs", "0", "-o", "m.npz"], ["nonsense"]])
def test_bad_options_exit_2(args, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_console_entry_point():
    r = subprocess.run([sys.executable, "-m", "circnn", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "train" in r.stdout
