"""``circnn demo``'s pipeline: from data to a verified block-circulant accelerator and a report.

Steps (each cached by :class:`circnn.step_cache.StepCache`, so a second run is fast):

1. ``dense``: train a dense network on digits, or import the user's ONNX model;
2. ``scratch``: train a block-circulant network of the same geometry from scratch, for
   comparison;
3. ``compress-k*``: compress the dense network at every block size of the sweep (data-aware
   projection, fine-tuning);
4. ``quantize``: fixed-point formats from the training split;
5. ``fixed``: the bit-exact engine model on the whole test split, per-layer SQNR and value ranges;
6. ``rtl``: the generated layer engine under Verilator on the whole test split, every output
   compared with the fixed model;
7. ``synth``: synthesis of the engine, or the reason it is skipped.

The results are one dict (``report.json``); :mod:`circnn.demo_report` renders it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .compression import compress_network
from .digits import INPUT_SCALE, load_digits_split
from .errors import UsageError
from .files import load_model, save_model, save_npy
from .step_cache import StepCache, file_digest
from .training import TrainConfig, accuracy, build_cnn, build_like, build_mlp, train

__all__ = ["DemoConfig", "run_demo", "ASSUMED_CLOCK_MHZ"]

#: Clock used to turn cycles into inferences per second until the engine has a synthesis flow.
ASSUMED_CLOCK_MHZ = 100.0


@dataclass
class DemoConfig:
    out: Path
    arch: str = "mlp"
    k: int = 8
    quick: bool = False
    onnx: str | None = None
    input_scale: float = 1.0
    input_offset: float = 0.0
    lanes: int = 4
    seed: int = 0
    quiet: bool = False
    use_cache: bool = True

    @property
    def hidden(self):
        return [64, 64] if self.quick else [256, 256]

    @property
    def channels(self):
        return [8, 16] if self.quick else [32, 64]

    @property
    def dense_epochs(self):
        return (15 if self.quick else 20) if self.arch == "mlp" else (4 if self.quick else 15)

    @property
    def scratch_epochs(self):
        return (20 if self.quick else 40) if self.arch == "mlp" else (5 if self.quick else 30)

    @property
    def finetune_epochs(self):
        return (10 if self.quick else 20) if self.arch == "mlp" else (3 if self.quick else 15)

    @property
    def k_sweep(self):
        ks = {4, 8} if self.quick else {2, 4, 8, 16}
        return sorted(ks | {self.k})


def _data(cfg: DemoConfig, input_shape):
    x_train, y_train, x_test, y_test = load_digits_split()
    shape = (-1,) + tuple(input_shape)
    return x_train.reshape(shape), y_train, x_test.reshape(shape), y_test


def _dense_step(cfg: DemoConfig, cache: StepCache) -> Path:
    path = cfg.out / "dense.npz"
    if cfg.onnx:
        from .onnx_import import OnnxImportError, import_onnx

        def produce():
            try:
                net = import_onnx(cfg.onnx, cfg.input_scale, cfg.input_offset)
            except OnnxImportError as e:
                raise UsageError(str(e)) from None
            if int(np.prod(net.input_shape)) != 64 or int(np.prod(net.shapes()[-1])) != 10:
                raise UsageError(f"{cfg.onnx}: the demo runs on digits (64 inputs, 10 classes); "
                                 f"this model takes {net.input_shape} and gives "
                                 f"{net.shapes()[-1]}")
            save_model(str(path), net)
            return {"source": f"imported from {Path(cfg.onnx).name}"}

        cache.run("dense", {"onnx": file_digest(cfg.onnx), "scale": cfg.input_scale,
                            "offset": cfg.input_offset}, produce, outputs=(path,))
        return path

    def produce():
        net = _build(cfg, 1)
        x, y, _, _ = _data(cfg, net.input_shape)
        train(net, x, y, TrainConfig(epochs=cfg.dense_epochs, seed=cfg.seed))
        net.meta = {"trained_on": "sklearn digits", "arch": cfg.arch, "epochs": cfg.dense_epochs}
        save_model(str(path), net)
        return {"source": f"trained on digits, {cfg.dense_epochs} epochs"}

    cache.run("dense", _params(cfg, "dense_epochs"), produce, outputs=(path,))
    return path


def _build(cfg: DemoConfig, k):
    if cfg.arch == "mlp":
        return build_mlp(cfg.hidden, k, cfg.seed, input_scale=INPUT_SCALE)
    return build_cnn(cfg.channels, k, cfg.seed, input_scale=INPUT_SCALE)


def _params(cfg: DemoConfig, *names) -> dict:
    base = {"arch": cfg.arch, "quick": cfg.quick, "seed": cfg.seed, "hidden": cfg.hidden,
            "channels": cfg.channels}
    return {**base, **{n: getattr(cfg, n) for n in names}}


def _accuracy_steps(cfg: DemoConfig, cache: StepCache, dense_path: Path) -> dict:
    """Dense accuracy, the from-scratch network and the compression sweep over k."""
    def scratch():
        net = build_like(load_model(str(dense_path)), cfg.k, cfg.seed)
        x, y, xt, yt = _data(cfg, net.input_shape)
        train(net, x, y, TrainConfig(epochs=cfg.scratch_epochs, seed=cfg.seed))
        return {"accuracy": accuracy(net, xt, yt), "parameters": net.parameter_count,
                "epochs": cfg.scratch_epochs}

    result = {"scratch": cache.run("scratch", _params(cfg, "k", "scratch_epochs"), scratch,
                                   inputs=(dense_path,)), "sweep": []}
    for k in cfg.k_sweep:
        path = cfg.out / f"compressed-k{k}.npz"

        def compress(k=k, path=path):
            src = load_model(str(dense_path))
            x, y, xt, yt = _data(cfg, src.input_shape)
            ks = [k] * len(src.layers)
            net, acc = compress_network(src, ks, x, y, xt, yt, epochs=cfg.finetune_epochs,
                                        seed=cfg.seed)
            save_model(str(path), net)
            return {"k": k, "accuracy": acc, "parameters": net.parameter_count,
                    "dense_parameters": src.parameter_count, "epochs": cfg.finetune_epochs}

        result["sweep"].append(cache.run(f"compress-k{k}", _params(cfg, "finetune_epochs"),
                                         compress, inputs=(dense_path,), outputs=(path,)))
    return result


def _fixed_step(cfg: DemoConfig, cache: StepCache, model: Path, qpath: Path) -> dict:
    def quantize_step():
        from golden.quantize import QuantizationError, quantize

        from .files import save_quantized_model

        net = load_model(str(model))
        x, _, _, _ = _data(cfg, net.input_shape)
        try:
            qnet, report = quantize(net, x)
        except QuantizationError as e:
            raise UsageError(f"quantization failed: {e}") from None
        save_quantized_model(str(qpath), net, qnet)
        return {"total_saturations": report["total_saturations"], "width": qnet.width}

    quant = cache.run("quantize", {}, quantize_step, inputs=(model,), outputs=(qpath,))

    def fixed_step():
        from golden.engine_fixed import run_fixed

        from .engine_options import load_quantized
        from .trace import write_trace

        net, qnet = load_quantized(str(qpath))
        _, _, xt, yt = _data(cfg, net.input_shape)
        xq, in_sat = qnet.quantize_input(xt)
        trace: list = []
        yq, sats = run_fixed(qnet, xq, trace=trace)
        save_npy(str(cfg.out / "y_fixed_int.npy"), yq)
        save_npy(str(cfg.out / "x_test_int.npy"), xq)
        tr = write_trace(cfg.out / "trace", net, qnet, xt, trace)
        floats: list = []
        y_float = net.forward(xt, trace=floats)
        return {"accuracy": float(np.mean(np.argmax(yq, axis=-1) == yt)),
                "float_accuracy": float(np.mean(np.argmax(y_float, axis=-1) == yt)),
                "argmax_agreement": float(np.mean(np.argmax(yq, -1) == np.argmax(y_float, -1))),
                "saturations": int(in_sat + sum(sats.values())),
                "layers": [{k: v for k, v in e.items()} for e in tr["layers"]],
                "ranges": _value_ranges(net, qnet, xt, floats)}

    fixed = cache.run("fixed", {}, fixed_step, inputs=(qpath,),
                      outputs=(cfg.out / "y_fixed_int.npy", cfg.out / "x_test_int.npy"))
    return {"quantize": quant, **fixed}


def _value_ranges(net, qnet, x, floats) -> list[dict]:
    """Per tensor (input, each layer's output): observed magnitudes against its format."""
    tensors = [("input", net.normalize(x), qnet.input_frac)]
    tensors += [(f"layer {i} out", f, ql.out_frac)
                for i, (f, ql) in enumerate(zip(floats, qnet.layers))]
    rows = []
    for name, values, frac in tensors:
        mag = np.abs(np.asarray(values, dtype=np.float64)).ravel()
        nz = mag[mag > 0]
        rows.append({"tensor": name, "frac": int(frac),
                     "format_max": 2.0 ** (qnet.width - 1 - frac), "lsb": 2.0 ** -frac,
                     "max": float(mag.max(initial=0.0)),
                     "p99_9": float(np.percentile(nz, 99.9)) if nz.size else 0.0,
                     "p50": float(np.percentile(nz, 50)) if nz.size else 0.0,
                     "p1": float(np.percentile(nz, 1)) if nz.size else 0.0,
                     "zero_fraction": float(1 - nz.size / max(mag.size, 1))})
    return rows


def _rtl_step(cfg: DemoConfig, cache: StepCache, qpath: Path) -> dict:
    def produce():
        from golden.engine_plan import plan_engine
        from sim.engine_fast import run_fast
        from sim.simulators import SimulatorError

        from .engine_options import load_quantized

        _, qnet = load_quantized(str(qpath))
        plan = plan_engine(qnet, p=1, lanes=cfg.lanes)
        xq = np.load(cfg.out / "x_test_int.npy")
        yq = np.load(cfg.out / "y_fixed_int.npy")
        t0 = time.time()
        try:
            r = run_fast(plan, xq, cfg.out / "sim")
        except SimulatorError as e:
            return {"status": "failed", "reason": str(e)}
        mismatches = int(np.sum(np.any(r["outputs"] != yq, axis=1)))
        save_npy(str(cfg.out / "y_rtl_int.npy"), r["outputs"])
        cycles = float(np.mean(r["cycles"]))
        return {"status": "ok" if mismatches == 0 else "mismatch", "simulator": "verilator",
                "samples": int(len(xq)), "mismatches": mismatches, "cycles_per_inference": cycles,
                "inferences_per_second_at_assumed_clock": ASSUMED_CLOCK_MHZ * 1e6 / cycles,
                "assumed_clock_mhz": ASSUMED_CLOCK_MHZ, "k": plan.k, "p": plan.fft.p,
                "d": plan.fft.d, "lanes": plan.lanes,
                "multipliers": dict(plan.multipliers), "memories": plan.memories,
                "memory_bits": sum(m["count"] * m["depth"] * m.get("bits", 0)
                                   for m in plan.memories.values()),
                "seconds": round(time.time() - t0, 1)}

    return cache.run("rtl", {"lanes": cfg.lanes}, produce, inputs=(qpath,),
                     outputs=(cfg.out / "y_rtl_int.npy",))


def run_demo(cfg: DemoConfig) -> dict:
    """Run every step into ``cfg.out``; returns the report dict (also written as report.json)."""
    cfg.out.mkdir(parents=True, exist_ok=True)
    cache = StepCache(cfg.out, cfg.quiet, cfg.use_cache)
    t0 = time.time()
    dense_path = _dense_step(cfg, cache)
    dense = load_model(str(dense_path))
    _, _, xt, yt = _data(cfg, dense.input_shape)
    acc = _accuracy_steps(cfg, cache, dense_path)
    model = cfg.out / f"compressed-k{cfg.k}.npz"
    qpath = cfg.out / f"compressed-k{cfg.k}-q.npz"
    fixed = _fixed_step(cfg, cache, model, qpath)
    rtl = _rtl_step(cfg, cache, qpath)
    main = next(e for e in acc["sweep"] if e["k"] == cfg.k)
    return {
        "config": {"arch": cfg.arch, "k": cfg.k, "quick": cfg.quick, "onnx": cfg.onnx,
                   "lanes": cfg.lanes, "seed": cfg.seed, "test_images": int(len(yt))},
        "dense": {"accuracy": accuracy(dense, xt, yt), "parameters": dense.parameter_count},
        "scratch": acc["scratch"], "sweep": acc["sweep"],
        "compression": {"k": cfg.k, "parameters": main["parameters"],
                        "dense_parameters": main["dense_parameters"],
                        "reduction": main["dense_parameters"] / main["parameters"],
                        "accuracy": main["accuracy"]},
        "fixed": fixed, "rtl": rtl,
        "synth": {"status": "skipped",
                  "reason": "circnn has no synthesis flow for the layer engine yet (issue 9: its "
                            "multi-port activation and Y memories fit no block RAM); cycles are "
                            "measured in RTL simulation, inferences per second use an assumed "
                            f"{ASSUMED_CLOCK_MHZ:.0f} MHz clock"},
        "steps": cache.log, "seconds": round(time.time() - t0, 1),
    }
