"""Bit-exact model of circnn's FFT engine (``hw/fft_engine.py``).

Algorithm
---------
A radix-2 decimation-in-frequency FFT in *constant geometry* (Pease form): every stage ``s`` of
the ``L = log2 k`` stages reads the pair ``(x[i], x[i + k/2])`` and writes

    y[2i]     = sat(round((x[i] + x[i + k/2]) / 2**sh[s]))
    d         = sat(round((x[i] - x[i + k/2]) / 2**sh[s]))
    y[2i + 1] = sat(round(d * W^e / 2**tw_frac)),                e = (i >> s) << s

with ``W = exp(-2*pi*j/k)`` (its conjugate for the inverse) quantized by
:func:`golden.fixedpoint.twiddle_table`, ``tw_frac = twiddle_width - 1``, rounding half up, and
``sat`` saturating to the internal width.  The difference is scaled *before* the twiddle
multiplication so that the multiplier's data operand has the internal width (18 bits for
16-bit data with 2 guard bits: one ECP5 MULT18X18D per real product); it costs one more rounding
on that path (about 0.6 dB of SQNR, measured in docs/fft-engine.md).  Because the addressing is the same in every
stage, one hardware level can compute any stage, which is what lets frames recirculate when fewer
levels than stages are instantiated.  After ``L`` stages ``y[n] = X[bitrev(n)]``; the reorder
buffer restores natural order.

Numerics
--------
Inputs of ``width`` bits enter with ``guard`` extra fractional bits (internal width
``width + guard``, shifted left by ``guard``).  The output drops the guard bits with one more
rounding and saturates to ``width`` bits.  The output gain is exactly
``2**-sum(shifts)`` times the DFT (forward) or times ``k * ifft`` (inverse); with the default
schedule (a shift of one bit in every stage, both directions) forward gives ``fft(x) / k`` and
inverse gives ``ifft(X)``, and no stage can overflow except by the ``sqrt(2)`` growth of a
rotation (saturated and counted).

Saturation count: the number of complex samples, in any stage or at the output, of which at least
one component was clipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .fft_radix22 import has_twiddle, multiplier_count, radix22_stage
from .fixedpoint import round_shift, saturate, signed_range, twiddle_table

__all__ = ["FFTParams", "fft_fixed", "stage_model", "reorder_model", "bitrev_indices",
           "stuffed_shifts", "stuff_frames", "unstuff_output",
           "right_angle", "pipelined_twiddles", "pipelined_multipliers"]


def _is_pow2(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1 and (v & (v - 1)) == 0


@dataclass(frozen=True)
class FFTParams:
    """Parameters of the FFT engine, validated, with the quantities derived from them.

    Parameters
    ----------
    k : int
        Transform size, a power of two from 2 to 1024.
    width : int
        Input and output width of each real component, 8 to 24 bits.
    twiddle_width : int or None
        Width of each twiddle component, 8 to 24 bits (default: ``width``).
    guard : int
        Extra fractional bits carried between stages, 0 to 4 (default 2).
    p : int
        Parallel butterflies per level: a power of two, at most ``k/2``.  Each stream beat carries
        ``2p`` complex samples.
    d : int or None
        Instantiated levels, 1 to ``log2 k`` (default ``log2 k``: fully pipelined).
    pipeline : int
        Extra register stages in each butterfly's complex multiplier, 0 to 2.
    forward_shifts, inverse_shifts : tuple of int or None
        Per-stage right shift (0 or 1) of each direction (default: 1 in every stage).
    natural_order : bool
        Output in natural order (default) or in bit-reversed order (no reorder buffer).
    samples_per_clock : int or None
        Complex samples per stream beat: ``2p`` (default, ``None``), or 1 for the radix-2²
        single-path engine (``p = 1``, ``d = log2 k``), whose numerics are those of
        :mod:`golden.fft_radix22`.
    min_length : int or None
        Shortest transform a frame may ask for at run time: a power of two from 4 to ``k``
        (default ``k``: one length).  A frame of length ``n = k / 2**stuffing`` is given
        *zero-stuffed* (forward: sample ``i`` at position ``i * 2**stuffing``, zeros between;
        inverse: the ``n`` bins repeated ``2**stuffing`` times) and its result is read off the
        ``k``-point output (forward: bins ``0 .. n-1``; inverse: every ``2**stuffing``-th
        sample); see :func:`stuffed_shifts`.  Not with the radix-2² engine.
    shared_io : bool
        The input and the output frame buffers of a recirculating engine (``d < log2 k``) share
        one single-port memory of ``2p`` banks (the iCE40 UP5K's SPRAM), for transforms whose
        buffers fit no block RAM.  Frames then enter on a longer grid
        (:func:`recirculating_schedule`); the numerics are unchanged.
    """

    k: int
    width: int = 16
    twiddle_width: int | None = None
    guard: int = 2
    p: int = 1
    d: int | None = None
    pipeline: int = 0
    forward_shifts: tuple | None = None
    inverse_shifts: tuple | None = None
    natural_order: bool = True
    samples_per_clock: int | None = None
    min_length: int | None = None
    shared_io: bool = False

    def __post_init__(self):
        k = self.k
        if not _is_pow2(k) or not 2 <= k <= 1024:
            raise ValueError(f"k must be a power of two from 2 to 1024, not {k!r}")
        if not isinstance(self.width, int) or not 8 <= self.width <= 24:
            raise ValueError(f"width must be an integer from 8 to 24, not {self.width!r}")
        tw = self.width if self.twiddle_width is None else self.twiddle_width
        if not isinstance(tw, int) or not 8 <= tw <= 24:
            raise ValueError(f"twiddle_width must be an integer from 8 to 24, not {tw!r}")
        object.__setattr__(self, "twiddle_width", tw)
        if not isinstance(self.guard, int) or not 0 <= self.guard <= 4:
            raise ValueError(f"guard must be an integer from 0 to 4, not {self.guard!r}")
        if not _is_pow2(self.p) or self.p > k // 2:
            raise ValueError(f"p must be a power of two from 1 to k/2 = {k // 2}, not {self.p!r}")
        stages = k.bit_length() - 1
        d = stages if self.d is None else self.d
        if not isinstance(d, int) or isinstance(d, bool) or not 1 <= d <= stages:
            raise ValueError(f"d must be an integer from 1 to log2(k) = {stages}, not {d!r}")
        object.__setattr__(self, "d", d)
        if self.pipeline not in (0, 1, 2):
            raise ValueError(f"pipeline must be 0, 1 or 2, not {self.pipeline!r}")
        for name in ("forward_shifts", "inverse_shifts"):
            value = getattr(self, name)
            value = (1,) * stages if value is None else tuple(value)
            if len(value) != stages or any(v not in (0, 1) for v in value):
                raise ValueError(f"{name} must be {stages} values, each 0 or 1, not {value!r}")
            object.__setattr__(self, name, tuple(int(v) for v in value))
        spc = self.samples_per_clock
        if spc is not None:
            if spc not in (1, 2 * self.p) or isinstance(spc, bool):
                raise ValueError(f"samples_per_clock must be 1 or 2p = {2 * self.p}, not {spc!r}")
            if spc == 1 and (self.p != 1 or d != stages):
                raise ValueError("samples_per_clock 1 is the fully pipelined single-path engine: "
                                 f"it needs p = 1 and d = log2(k) = {stages}, not p = {self.p} "
                                 f"and d = {d}")
            if spc != 1:
                object.__setattr__(self, "samples_per_clock", None)
        ml = k if self.min_length is None else self.min_length
        if not _is_pow2(ml) or not min(4, k) <= ml <= k:
            raise ValueError(f"min_length must be a power of two from 4 to k = {k}, not {ml!r}")
        if ml < k and self.samples_per_clock == 1:
            raise ValueError("a run-time transform length (min_length < k) needs the engine with "
                             "2p samples per clock, not the radix-2² single-path engine")
        object.__setattr__(self, "min_length", ml)
        if not isinstance(self.shared_io, bool):
            raise ValueError(f"shared_io must be True or False, not {self.shared_io!r}")
        if self.shared_io and d == stages:
            raise ValueError("shared_io (one single-port memory for the input and output "
                             "buffers) needs a recirculating engine: d below log2(k) = "
                             f"{stages}, not {d}")

    # derived quantities -------------------------------------------------------------------
    @property
    def stages(self) -> int:
        """Radix-2 stages, ``log2 k``."""
        return self.k.bit_length() - 1

    @property
    def passes(self) -> int:
        """Times a frame goes through the ``d`` levels: ``ceil(log2 k / d)``."""
        return -(-self.stages // self.d)

    @property
    def radix22(self) -> bool:
        """The single-path engine (one sample per clock) with radix-2² numerics."""
        return self.samples_per_clock == 1

    @property
    def lanes(self) -> int:
        """Complex samples per stream beat: ``2p``, or 1 for the single-path engine."""
        return 1 if self.radix22 else 2 * self.p

    @property
    def beats(self) -> int:
        """Stream beats per frame, ``k / 2p``."""
        return self.k // self.lanes

    @property
    def internal_width(self) -> int:
        return self.width + self.guard

    @property
    def max_stuffing(self) -> int:
        """``log2(k / min_length)``: the largest ``stuffing`` a frame may carry."""
        return (self.k // self.min_length).bit_length() - 1

    def shifts(self, inverse: bool, stuffing: int = 0) -> tuple:
        """Per-stage right shifts of a frame (:func:`stuffed_shifts` when ``stuffing``)."""
        if stuffing:
            return stuffed_shifts(self, inverse, stuffing)
        return self.inverse_shifts if inverse else self.forward_shifts

    def gain(self, inverse: bool = False, stuffing: int = 0) -> float:
        """Output / reference: reference is ``numpy.fft.fft`` (forward) or ``n * ifft`` of the
        frame's length ``n = k / 2**stuffing``."""
        own = self.inverse_shifts if inverse else self.forward_shifts
        return 2.0 ** -sum(own[:self.stages - stuffing])

    @property
    def throughput(self) -> float:
        """Complex samples per clock in steady state: ``k`` over
        :func:`engine_frame_interval` (``2p / passes``, unless ``shared_io``)."""
        return self.k / engine_frame_interval(self)

    @property
    def multipliers(self) -> int:
        """Complex multipliers instantiated (each is 4 real multiplies): ``p * d``, or
        ``ceil(log2 k / 2) - 1`` for the radix-2² single-path engine."""
        return multiplier_count(self.k) if self.radix22 else self.p * self.d


def stuffed_shifts(params: FFTParams, inverse: bool, stuffing: int) -> tuple:
    """The ``k``-point stages' shifts for a frame of length ``n = k / 2**stuffing``.

    The ``n``-point schedule is the first ``log2 n`` entries of the engine's own (for the
    defaults: a shift in every stage forward, every other stage inverse, as for an ``n``-point
    engine).  Forward, the zero-stuffed frame's first ``log2 n`` stages are exactly the ``n``-point
    stages (samples ``2**stuffing`` apart), and the last ``stuffing`` stages add zeros: no shift.
    Inverse, the repeated spectrum's first ``stuffing`` stages double every value exactly: a
    shift of one each halves it back without rounding.  With these, bins ``0 .. n-1`` (forward)
    and every ``2**stuffing``-th sample (inverse) equal the ``n``-point engine's output bit for
    bit (``tests/test_fft_golden.py``).
    """
    if not isinstance(stuffing, int) or not 0 <= stuffing <= params.max_stuffing:
        raise ValueError(f"stuffing must be an integer from 0 to {params.max_stuffing} "
                         f"(min_length {params.min_length}), not {stuffing!r}")
    if not stuffing:
        return params.shifts(inverse)
    n_stages = params.stages - stuffing
    if inverse:
        return (1,) * stuffing + params.inverse_shifts[:n_stages]
    return params.forward_shifts[:n_stages] + (0,) * stuffing


def stuff_frames(frames, k: int, inverse: bool = False) -> np.ndarray:
    """Frames ``(F, n)`` as the ``k``-point engine takes them (see ``FFTParams.min_length``):
    forward zero-stuffed, inverse repeated."""
    frames = np.asarray(frames)
    n = frames.shape[-1]
    if inverse:
        return np.tile(frames, (1, k // n))
    out = np.zeros(frames.shape[:-1] + (k,), dtype=frames.dtype)
    out[..., ::k // n] = frames
    return out


def unstuff_output(out, n: int, inverse: bool = False) -> np.ndarray:
    """The ``n``-point result in a ``k``-point output ``(F, k)`` in natural order."""
    out = np.asarray(out)
    return out[..., ::out.shape[-1] // n] if inverse else out[..., :n]


def bitrev_indices(k: int) -> np.ndarray:
    """``bitrev(n)`` for ``n < k``."""
    bits = k.bit_length() - 1
    n = np.arange(k)
    r = np.zeros(k, dtype=np.int64)
    for b in range(bits):
        r |= ((n >> b) & 1) << (bits - 1 - b)
    return r


def stage_model(re, im, params: FFTParams, stage: int, inverse: bool, stuffing: int = 0):
    """One constant-geometry stage on frames ``(F, k)`` of internal-width integers.

    Returns ``(re, im, saturated)`` with ``saturated`` a boolean ``(F, k)`` mask of output
    samples with a clipped component.
    """
    k = params.k
    half = k // 2
    w = params.internal_width
    shift = params.shifts(inverse, stuffing)[stage]
    frac = params.twiddle_width - 1
    tw_re, tw_im = twiddle_table(k, params.twiddle_width)
    i = np.arange(half)
    e = (i >> stage) << stage
    c, s = tw_re[e], (tw_im[e] if not inverse else -tw_im[e])
    x0r, x0i, x1r, x1i = re[:, :half], im[:, :half], re[:, half:], im[:, half:]
    ar, sat_ar = saturate(round_shift(x0r + x1r, shift), w)
    ai, sat_ai = saturate(round_shift(x0i + x1i, shift), w)
    dr, sat_dr = saturate(round_shift(x0r - x1r, shift), w)
    di, sat_di = saturate(round_shift(x0i - x1i, shift), w)
    pr, pi = dr * c - di * s, dr * s + di * c
    br, sat_br = saturate(round_shift(pr, frac), w)
    bi, sat_bi = saturate(round_shift(pi, frac), w)
    sat_br, sat_bi = sat_br | sat_dr, sat_bi | sat_di
    out_re = np.empty_like(re)
    out_im = np.empty_like(im)
    sat = np.empty(re.shape, dtype=bool)
    out_re[:, 0::2], out_re[:, 1::2] = ar, br
    out_im[:, 0::2], out_im[:, 1::2] = ai, bi
    sat[:, 0::2], sat[:, 1::2] = sat_ar | sat_ai, sat_br | sat_bi
    return out_re, out_im, sat


def reorder_model(values: np.ndarray) -> np.ndarray:
    """Natural order from the stages' bit-reversed order, along the last axis."""
    return values[..., bitrev_indices(values.shape[-1])]


def _split(frames, width):
    a = np.asarray(frames)
    if np.iscomplexobj(a):
        re, im = a.real, a.imag
    else:
        re, im = a, np.zeros(a.shape)
    lo, hi = signed_range(width)
    out = []
    for part in (re, im):
        if np.any(part != np.round(part)):
            raise ValueError("FFT input frames must hold integers")
        part = part.astype(np.int64)
        if part.size and (part.min() < lo or part.max() > hi):
            raise ValueError(f"FFT input must lie in the signed {width}-bit range [{lo}, {hi}]")
        out.append(part)
    return out


def fft_fixed(frames, params: FFTParams, inverse: bool = False, trace: list | None = None,
              stuffing: int = 0):
    """Run frames ``(F, k)`` (complex, or real integers) through the engine's arithmetic.

    Returns ``(out, saturations)``: ``out`` a complex128 array ``(F, k)`` of output integers
    (natural order unless ``params.natural_order`` is False), and the number of saturated
    complex samples.  ``trace`` collects each stage's ``(re, im)`` at internal width.
    ``stuffing``: the frames are of length ``k / 2**stuffing``, stuffed (:func:`stuff_frames`;
    the stages then shift by :func:`stuffed_shifts`).
    """
    frames = np.asarray(frames)
    if frames.ndim != 2 or frames.shape[1] != params.k:
        raise ValueError(f"FFT input must have shape (frames, {params.k}), not {frames.shape}")
    re, im = _split(frames, params.width)
    re, im = re << params.guard, im << params.guard
    saturations = 0
    params.shifts(inverse, stuffing)     # (validates stuffing)
    for stage in range(params.stages):
        if params.radix22:
            re, im, sat = radix22_stage(re, im, params, stage, inverse)
        else:
            re, im, sat = stage_model(re, im, params, stage, inverse, stuffing)
        saturations += int(sat.sum())
        if trace is not None:
            trace.append((re.copy(), im.copy()))
    if params.natural_order:
        re, im = reorder_model(re), reorder_model(im)
    out_re, sat_r = saturate(round_shift(re, params.guard), params.width)
    out_im, sat_i = saturate(round_shift(im, params.guard), params.width)
    saturations += int((sat_r | sat_i).sum())
    return out_re + 1j * out_im, saturations


def butterfly_latency(params: FFTParams) -> int:
    """Register stages of a butterfly: sum/difference, rounded difference, saturated difference,
    products, ``pipeline`` extra, combine, rounded outputs, saturated outputs."""
    return 7 + params.pipeline


#: Read latency of the engine's block memories (address register, output register).
RAM_DELAY = 2


def pipelined_schedule(params: FFTParams) -> dict:
    """Timing of the fully pipelined engine (``d = log2 k``, ``hw/fft_pipelined.py``).

    Offsets count cycles from the cycle a frame is injected (taken from the input buffer); a
    signal "at offset ``o``" holds the frame's sample pair ``t`` in cycle ``o + t``.

    * ``stage_in[s]``: butterfly inputs of stage ``s`` (``stage_in[L]``: outputs of the last);
      the block memory read, then a crossbar register: ``stage_in[0] = RAM_DELAY + 1``;
    * ``delay[s]``: the delay-commutator in front of stage ``s`` (0 where there is none): ``k /
      2p / 2**s`` for the ``log2(k/p)`` stages inside each of the ``p`` paths, a butterfly plus a
      switch register plus ``delay[s]`` cycles each; the last ``log2 p`` stages pair paths
      without memory;
    * ``exit``: the rounded output entering the output buffer (one register after the last stage);
    * ``slots``: frames the output buffer holds, enough for a frame to be injected every
      ``k/2p`` cycles while earlier ones are still in the pipeline or being read (a slot's
      credit returns one cycle after its frame's last output beat).
    """
    beats, b = params.beats, butterfly_latency(params)
    inner = params.stages - (params.p.bit_length() - 1)
    stage_in, delay = [RAM_DELAY + 1], [0]
    for s in range(1, params.stages + 1):
        dly = beats >> s if s < inner else 0
        stage_in.append(stage_in[-1] + b + (1 + dly if dly else 0))
        delay.append(dly)
    exit_ = stage_in[-1] + 1
    slots = max(2, -(-(exit_ + 2 * beats + 4) // beats) + 1)
    return {"stage_in": stage_in, "delay": delay[:params.stages], "inner": inner,
            "exit": exit_, "slots": slots}


def right_angle(k: int, e: int) -> int | None:
    """Whether the twiddle ``W_k^e`` is a right angle a butterfly applies without multiplier:
    0 for ``W^0 = 1``, 1 for ``W^(k/4) = -j`` (for ``k = 2``, ``k/4`` is 0: only ``W^0``),
    ``None`` for every other twiddle."""
    return 0 if e == 0 else 1 if 4 * e == k else None


def pipelined_twiddles(params: FFTParams) -> list:
    """The twiddle exponents each butterfly of the fully pipelined engine applies
    (``hw/fft_pipelined.py``), one tuple per butterfly in stage order: the ``p`` paths' ROMs
    (``k / 2p / 2**s`` exponents) while a path holds more than one, then constants."""
    k, p, beats = params.k, params.p, params.beats
    inner = pipelined_schedule(params)["inner"]
    out = []
    for s in range(params.stages):
        if s < inner:
            out += [tuple((t * p + r) << s for t in range(beats >> s)) for r in range(p)]
        else:
            hq = k >> (s + 1)
            out += [((r % (2 * hq)) << s,) for r in range(p) if r % (2 * hq) < hq
                    for _ in range(2)]
    return out


def pipelined_multipliers(params: FFTParams) -> int:
    """Complex multipliers the fully pipelined engine instantiates: one per butterfly, except
    those whose one constant twiddle is a right angle (:func:`right_angle`)."""
    return sum(1 for es in pipelined_twiddles(params)
               if len(es) > 1 or right_angle(params.k, es[0]) is None)


def sdf_schedule(params: FFTParams) -> dict:
    """Timing of the single-path radix-2² engine (``samples_per_clock = 1``, ``hw/fft_sdf.py``),
    offsets as in :func:`pipelined_schedule` (sample ``t`` of a frame at offset ``o`` in cycle
    ``o + t``).

    * ``stage_in[s]``: input of stage ``s`` (``stage_in[0] = RAM_DELAY + 1``, the input buffer's
      read and a register); a stage with ``h = k / 2**(s+1)`` delays its upper inputs by ``h``,
      registers the sums and differences, delays the differences by ``h`` and registers the
      chosen output: ``stage_out[s] = stage_in[s] + h + 2``;
    * after an odd stage that is not the last, the twiddle product: the complex multiplier
      (``2 + pipeline``) and a saturation register;
    * ``exit`` and ``slots`` as for the delay-commutator pipeline.
    """
    beats, k = params.beats, params.k
    stage_in, stage_out = [RAM_DELAY + 1], []
    for s in range(params.stages):
        out = stage_in[-1] + (k >> (s + 1)) + 2
        stage_out.append(out)
        stage_in.append(out + (3 + params.pipeline if has_twiddle(k, s) else 0))
    exit_ = stage_in[-1] + 1
    slots = max(2, -(-(exit_ + 2 * beats + 4) // beats) + 1)
    return {"stage_in": stage_in, "stage_out": stage_out, "exit": exit_, "slots": slots}


def recirculating_schedule(params: FFTParams) -> dict:
    """Timing of the recirculating engine (``d < log2 k``, ``hw/fft_recirculating.py``).

    Time is cut into *epochs* of ``B = k/2p`` cycles.  In every epoch each level reads one frame
    (or nothing) from its memory, one word pair per cycle, and streams the results into the
    next level's memory (the last level's into the first level's, or out of the engine):

    * ``level``: cycles from a level's read address to the next level's write port (the block
      memory's read, the butterfly, an output register that also chooses the copied words of a
      bypassing level);
    * ``hop``: epochs from a level reading a frame to the next level reading it, the smallest
      ``E`` with ``E B >= level + B/2 + 1`` (the next level's first word pair needs the frame's
      beat ``B/2`` written);
    * ``positions``: frames the ring holds: ``d * hop``, or the next number that has no common
      divisor with ``passes`` (the first level then reads a frame ``hops[0] = positions - (d - 1)
      hop`` epochs after the last level), so that frames injected ``passes`` epochs apart never
      compete for a position: one frame every ``passes * k / 2p`` cycles, the ideal, with evenly
      spaced injections (at most one per ``passes`` epochs);
    * ``hops[i]``, ``level_slots[i]``: per level, the epochs between the previous level's read and
      this one's, and the frames its memory holds (``hops[i] + 1``);
    * ``read_offset``: the input buffer is read this many cycles after the injection so that the
      new frame reaches the first level's memory at ``level``, in step with a returning frame;
    * ``exit``: the rounded output entering the output buffer;
    * ``slots``: frames of output buffer (credits) for a frame every ``passes`` epochs;
    * ``input_slots``: frames of input buffer (2, or 4 when epochs are short): a slot is held
      from its first beat written to its last beat read, ``read_offset`` after the injection,
      and refilled a few cycles after it is freed; two slots cover that turnaround only when it
      is at most two frame intervals (with two, an engine of ``k/2p = 2`` and 2 passes took a
      frame every 4 and 8 cycles in turn instead of every 4);
    * ``grid``: epochs between injections: ``passes``, or with ``shared_io``
      :func:`shared_io_grid` (the input buffer's reads for an injection and the output
      buffer's writes of an exit then never fall in the same cycle of the one memory port).
    """
    beats, passes, d = params.beats, params.passes, params.d
    level = RAM_DELAY + butterfly_latency(params) + 1
    hop = max(1, -(-(level + beats // 2 + 1) // beats))
    positions = d * hop
    while math.gcd(positions, passes) != 1:
        positions += 1
    hops = [positions - (d - 1) * hop] + [hop] * (d - 1)
    # injected at epoch 0 (as if the last level read it then): one revolution of `positions`
    # epochs per pass, ending when the last level reads it
    exit_ = passes * positions * beats + level + 1
    read_offset = level - (RAM_DELAY + 1)
    grid = passes
    if params.shared_io:
        grid = shared_io_grid(passes, positions, beats, (level + 1) - read_offset)
    # a frame's credit is held until its last beat has left the output buffer (written, then
    # read: about exit + 2B + 4 cycles, and 2B more when the reads wait for the shared port's
    # scheduled accesses); frames enter every `grid` epochs
    interval = grid * beats
    shared = 2 * beats if params.shared_io else 0
    slots = max(2, -(-(exit_ + 2 * beats + 4 + shared) // interval))
    # a slot's turnaround: written (beats), read from read_offset after its injection (beats),
    # refilled by a producer a few cycles after it is freed
    turnaround = 2 * beats + read_offset + 4 + shared
    input_slots = 2 if 2 * interval >= turnaround else 4
    return {"level": level, "hop": hop, "hops": hops, "level_slots": [h + 1 for h in hops],
            "positions": positions, "read_offset": read_offset,
            "stage_in": [RAM_DELAY + 1], "exit": exit_, "slots": slots,
            "input_slots": input_slots, "grid": grid}


def shared_io_grid(passes: int, positions: int, beats: int, gap: int) -> int:
    """Epochs between injections when one memory port serves the input and the output buffer.

    An injection at epoch ``h`` reads the input buffer in cycles ``[h B + r, h B + r + B)``; an
    exit at epoch ``e`` writes the output buffer in ``[e B + r + gap, e B + r + gap + B)``
    (``B = beats``; ``gap``: the exit's offset in its epoch minus the read's).  They share a
    cycle when ``gap - B < (h - e) B < gap + B``.  Frames are injected on a grid of ``G``
    epochs and exit ``passes * positions`` epochs later, so the smallest ``G >= passes`` with
    ``(passes * positions + f) mod G != 0`` for every such ``f = h - e`` keeps them apart, and
    ``G`` coprime to ``positions`` keeps frames from competing for a ring position (as
    ``passes`` is).  ``G >= 4``: per frame the port makes four passes over ``B`` words (input
    written, read for the injection, output written at the exit, read out).  With one position
    (``d = 1``) and long epochs: ``passes + 2``.
    """
    span = passes * positions
    near = [f for f in range(-(gap // beats) - 2, gap // beats + 3)
            if gap - beats < f * beats < gap + beats]
    g = max(passes, 4)
    while math.gcd(g, positions) != 1 or any((span + f) % g == 0 for f in near):
        g += 1
    return g


def core_schedule(params: FFTParams) -> dict:
    """The schedule of the structure ``params`` selects."""
    if params.passes > 1:
        return recirculating_schedule(params)
    return sdf_schedule(params) if params.radix22 else pipelined_schedule(params)


def engine_input_slots(params: FFTParams) -> int:
    """Frames the engine's input buffer holds (2, or 4 for a recirculating engine with short
    epochs: see :func:`recirculating_schedule`); a producer with credits may start that many
    frames ahead of the engine."""
    return core_schedule(params).get("input_slots", 2)


def engine_latency(params: FFTParams) -> int:
    """Cycles from a frame's first input beat to its first output beat, alone in the engine.

    Fully pipelined (``d = log2 k``): the frame written into the input buffer (``k/2p``), the
    pipeline (:func:`pipelined_schedule`), the output buffer (``k/2p + 3``).  Recirculating:
    ``passes`` trips through the ``d`` levels, the reorder buffer (``k/2p + 3``: the frame, the
    memory read, its register and the lane crossbar) when the output is in natural order, and the
    output register that drops the guard bits.
    """
    return 2 * params.beats + core_schedule(params)["exit"] + 3


def engine_frame_interval(params: FFTParams) -> int:
    """Cycles between frames in steady state: ``passes * k / 2p`` (levels never idle), or with
    ``shared_io`` the schedule's ``grid`` epochs instead of ``passes``."""
    return core_schedule(params).get("grid", params.passes) * params.beats
