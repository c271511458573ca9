"""The stream contracts circnn proves (:mod:`sim.formal`): the FFT engine's structures, the layer
engine top and the stream units split out of it.

Each function returns a :class:`sim.formal.StreamContract` for one design point, with the
latency bound derived from the block's documented figures (never measured and pasted in).
"""

from __future__ import annotations

import dataclasses

from amaranth.back import verilog

from golden.fft_fixed import FFTParams, engine_frame_interval, engine_latency
from golden.engine_cycles import estimate_cycles

from .formal import StreamContract

__all__ = ["skid_buffer_contract", "bit_reverse_buffer_contract", "fft_engine_contract", "layer_engine_contract",
           "CONTRACTS", "contract_by_name"]


def _dut(component) -> str:
    return verilog.convert(component, name="dut", emit_src=False)


def skid_buffer_contract(width: int = 8, component=None) -> StreamContract:
    """:class:`hw.skid_buffer.SkidBuffer`: the whole payload is the tag; a beat held leaves in
    the first cycle the consumer is ready, the second (in the skid register) in the next."""
    from hw.skid_buffer import SkidBuffer

    dut = component if component is not None else SkidBuffer(width)
    return StreamContract("skid_buffer", _dut(dut), width, width, 1, 1, latency=0,
                          latency_per_unit=1, depth=24,
                          in_tag=(0, width), out_tag=(0, width), induction_depth=8)


def bit_reverse_buffer_contract(k: int = 8, width: int = 8, lanes: int = 2) -> StreamContract:
    """:class:`hw.reorder.BitReverseBuffer` (ping-pong frames, read bit-reversed): frames of
    ``k / lanes`` beats, the direction flag is the tag; a lone frame has left ``delay`` plus its
    beats after the input stops, each further frame adds its beats."""
    from hw.reorder import BitReverseBuffer, reorder_payload

    ilay, olay = reorder_payload(width, lanes), reorder_payload(width, lanes, True)
    dut = BitReverseBuffer(k, width, lanes, frame_flags=True)
    beats = k // lanes
    return StreamContract(
        f"bit_reverse_buffer_k{k}_lanes{lanes}", _dut(dut), ilay.size, olay.size, beats, beats,
        latency=dut.delay + beats, latency_per_unit=beats, depth=dut.delay + 4 * beats + 6,
        in_tag=(ilay["inverse"].offset, 1), out_tag=(olay["inverse"].offset, 1),
        zero_fields=((ilay["data"].offset, ilay["data"].width),), induction_depth=12)


def fft_drain_bound(params: FFTParams) -> int:
    """Cycles within which a lone frame held by an FFT engine has left once its input stops
    (output always ready): at most ``delay`` (first input beat to first output beat, an upper
    bound once the frame is written) plus its ``beats`` of output.  Each further frame held
    adds one ``frame_interval`` (the core injects one frame per interval and never stalls)."""
    return engine_latency(params) + params.beats


def fft_engine_contract(params: FFTParams, depth: int | None = None, tech: str = "generic",
                        name: str | None = None) -> StreamContract:
    """:class:`hw.fft_engine.FFTEngine` at ``params``: frames of ``beats`` beats, ``last`` on
    the input assumed well-formed, the direction flag is the tag."""
    from hw.fft_engine import FFTEngine, input_payload, output_payload

    ilay, olay = input_payload(params), output_payload(params)
    bound = fft_drain_bound(params)
    interval = engine_frame_interval(params)
    depth = depth if depth is not None else bound + 2 * interval + 3 * params.beats + 4
    structure = ("recirculating" if params.passes > 1 else
                 "sdf" if params.radix22 else "pipelined")
    return StreamContract(
        name or f"fft_{structure}_k{params.k}_p{params.p}_d{params.d}",
        _dut(FFTEngine(params, tech)), ilay.size, olay.size, params.beats, params.beats,
        latency=bound, latency_per_unit=interval, depth=depth, in_last=ilay["last"].offset,
        in_tag=(ilay["inverse"].offset, 1), out_tag=(olay["inverse"].offset, 1),
        zero_fields=((ilay["data"].offset, ilay["data"].width),), induction_depth=12)


def layer_engine_contract(plan, depth: int | None = None) -> StreamContract:
    """:class:`hw.layer_engine.LayerEngine` for ``plan``: a unit is one inference (``in_size``
    values in, ``out_size`` out), weight port idle, data zeroed for the counting properties.
    The drain bound of a lone inference is twice the documented cycle estimate
    (:func:`golden.engine_cycles.estimate_cycles`, a model, hence the margin) plus its outputs;
    each further inference held adds one estimate."""
    from hw.layer_engine import LayerEngine, value_payload

    lay = value_payload(plan.width)
    per_inference = estimate_cycles(plan)
    bound = 2 * per_inference + plan.out_size
    depth = depth if depth is not None else plan.in_size + bound + 10
    return StreamContract(
        f"layer_engine_{len(plan.layers)}layers_k{plan.k}", _dut(LayerEngine(plan)), lay.size,
        lay.size, plan.in_size, plan.out_size, latency=bound, latency_per_unit=per_inference,
        depth=depth, tie={"w__valid": "1'b0", "w__payload": "0"}, induction_depth=12,
        zero_fields=((lay["data"].offset, lay["data"].width),))


def _small_plan():
    """A one-layer FC network (4 in, 4 out, k = 4), quantized, on the smallest engine (one lane,
    two Z and Y slots, one copy of the activations): the least state for BMC."""
    import numpy as np

    from golden.engine_plan import plan_engine
    from golden.network import Layer, Network
    from golden.quantize import quantize

    rng = np.random.default_rng(0)
    layer = Layer(kind="fc", k=4, weights=rng.normal(0, 0.3, (1, 1, 4)),
                  bias=rng.normal(0, 0.1, 4), in_features=4, out_features=4, activation="relu")
    net = Network(input_shape=(4,), layers=[layer])
    qnet, _ = quantize(net, rng.normal(0, 1, (32, 4)))
    return plan_engine(qnet, p=1, lanes=1, z_slots=2, y_slots=2, act_replicas=1)


# the proofs `make formal` runs: name -> contract factory
CONTRACTS = {
    "skid_buffer": skid_buffer_contract,
    "bit_reverse_buffer_k8": bit_reverse_buffer_contract,
    "fft_pipelined_k8": lambda: fft_engine_contract(FFTParams(k=8, width=8)),
    "fft_pipelined_k8_p2": lambda: fft_engine_contract(FFTParams(k=8, width=8, p=2)),
    "fft_sdf_k8": lambda: fft_engine_contract(FFTParams(k=8, width=8, samples_per_clock=1)),
    "fft_recirculating_k8_d1": lambda: fft_engine_contract(FFTParams(k=8, width=8, d=1)),
    "layer_engine_fc4": lambda: layer_engine_contract(_small_plan()),
}


def contract_by_name(name: str) -> StreamContract:
    if name not in CONTRACTS:
        raise KeyError(f"no proof named {name!r}; known: {', '.join(CONTRACTS)}")
    return dataclasses.replace(CONTRACTS[name](), name=name)  # reported under its listed name
