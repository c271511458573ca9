"""Float reference for block-circulant matrices, computed the CirCNN way.

Convention
----------
An ``m x n`` block-circulant matrix with block size ``k`` (a power of two) is stored as an array
``w`` of shape ``(P, Q, k)`` with ``P = ceil(m / k)`` and ``Q = ceil(n / k)``.  Block ``(i, j)``
is ``scipy.linalg.circulant(w[i, j])``: the vector is the block's *first column*, so
``block[r, s] = w[i, j, (r - s) % k]``.  When ``m`` or ``n`` is not a multiple of ``k`` the matrix
is the top-left ``m x n`` corner of the ``P*k x Q*k`` block matrix (inputs are zero padded,
outputs truncated).

Products never build the dense matrix: each input block is transformed by a real FFT
(``k//2 + 1`` bins), multiplied by the frequency-domain weights, accumulated over the input
blocks ``j`` *in the frequency domain*, and each output block takes one inverse FFT.  All
functions are vectorized over leading (batch) axes; none loops over blocks in Python.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "check_block_size",
    "block_grid",
    "weights_to_freq",
    "bc_matmul",
    "bc_matmul_freq",
    "bc_backward",
    "to_dense",
    "project",
    "project_on_data",
    "parameter_count",
]


def check_block_size(k) -> int:
    """Return ``k`` as an int if it is a power of two (1 included), else raise ValueError."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"block size k must be an integer power of two, not {k!r}")
    k = int(k)
    if k < 1 or (k & (k - 1)) != 0:
        raise ValueError(f"block size k must be a power of two (1, 2, 4, 8, ...), not {k}")
    return k


def block_grid(m: int, n: int, k: int) -> tuple[int, int]:
    """Number of block rows and block columns ``(P, Q)`` of an ``m x n`` matrix with block size k."""
    k = check_block_size(k)
    return -(-int(m) // k), -(-int(n) // k)


def weights_to_freq(w: np.ndarray) -> np.ndarray:
    """Frequency-domain weights ``rfft(w)``: shape ``(P, Q, k//2 + 1)``, complex."""
    return np.fft.rfft(np.asarray(w, dtype=np.float64), axis=-1)


def _blocks_freq(x: np.ndarray, q: int, k: int) -> np.ndarray:
    """Zero-pad the last axis of ``x`` to ``q*k``, split into blocks and take their real FFTs."""
    n = x.shape[-1]
    if n > q * k:
        raise ValueError(f"input has {n} features, more than the matrix's {q * k} columns")
    if n < q * k:
        x = np.concatenate([x, np.zeros(x.shape[:-1] + (q * k - n,), dtype=x.dtype)], axis=-1)
    return np.fft.rfft(x.reshape(x.shape[:-1] + (q, k)), axis=-1)


def bc_matmul_freq(wf: np.ndarray, xf: np.ndarray) -> np.ndarray:
    """Accumulate ``sum_j wf[i, j, f] * xf[..., j, f]`` over j, for every output block i and bin f.

    ``wf``: ``(P, Q, F)``; ``xf``: ``(..., Q, F)``; returns ``(..., P, F)``.  Computed as one
    batched matrix product per frequency bin (bins as the batch axis), so BLAS does the work.
    """
    lead = xf.shape[:-2]
    q, f = xf.shape[-2:]
    xb = xf.reshape(-1, q, f).transpose(2, 0, 1)  # (F, B, Q)
    wb = wf.transpose(2, 1, 0)  # (F, Q, P)
    yb = np.matmul(xb, wb)  # (F, B, P)
    return yb.transpose(1, 2, 0).reshape(lead + (wf.shape[0], f))


def bc_matmul(w: np.ndarray, x: np.ndarray, out_features: int | None = None,
              wf: np.ndarray | None = None) -> np.ndarray:
    """Product ``y = W x`` of a block-circulant matrix with vectors along the last axis of ``x``.

    Parameters
    ----------
    w : array, shape (P, Q, k)
        Block-circulant weights in the convention of this module.
    x : array, shape (..., n)
        Input vectors, ``n <= Q*k`` (zero padded to ``Q*k``).
    out_features : int, optional
        Number of output rows ``m`` to keep (default ``P*k``).
    wf : array, optional
        Precomputed ``weights_to_freq(w)``, to avoid recomputing it.

    Returns
    -------
    y : array, shape (..., m), float64
    """
    w = np.asarray(w)
    p, q, k = w.shape
    x = np.asarray(x, dtype=np.float64)
    if wf is None:
        wf = weights_to_freq(w)
    rows = x.reshape(-1, x.shape[-1])
    y = _bc_rows(wf, rows, p, q, k).reshape(x.shape[:-1] + (p * k,))
    return y if out_features is None else y[..., :out_features]


def _bc_rows(wf: np.ndarray, rows: np.ndarray, p: int, q: int, k: int) -> np.ndarray:
    """FFT of each input block, frequency-domain MAC over j, one inverse FFT per output block."""
    yf = bc_matmul_freq(wf, _blocks_freq(rows, q, k))  # (B, P, F)
    return np.fft.irfft(yf, n=k, axis=-1).reshape(rows.shape[0], p * k)


def bc_backward(w: np.ndarray, x: np.ndarray, dy: np.ndarray,
                wf: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of ``y = bc_matmul(w, x)`` by FFT correlation.

    Given ``dy = dL/dy`` (shape ``(..., m)``, ``m <= P*k``), returns ``(dw, dx)`` with
    ``dw[i, j, d] = sum_batch sum_r dy_i[r] x_j[(r - d) % k]`` (a circular cross-correlation,
    ``irfft(DY_i * conj(X_j))`` in the frequency domain, summed over the batch) and
    ``dx_j[s] = sum_i sum_r dy_i[r] w_ij[(r - s) % k]`` (``irfft(sum_i DY_i * conj(W_ij))``).
    No dense matrix is formed.
    """
    w = np.asarray(w)
    p, q, k = w.shape
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    if wf is None:
        wf = weights_to_freq(w)
    xf = _blocks_freq(x, q, k).reshape(-1, q, k // 2 + 1)  # (B, Q, F)
    dyf = _blocks_freq(np.asarray(dy, dtype=np.float64), p, k).reshape(-1, p, k // 2 + 1)
    # dW[i, j, f] = sum_b DY[b, i, f] * conj(X[b, j, f]): one (P x B) @ (B x Q) product per bin.
    dwf = np.matmul(dyf.transpose(2, 1, 0), np.conj(xf).transpose(2, 0, 1))  # (F, P, Q)
    dw = np.fft.irfft(dwf.transpose(1, 2, 0), n=k, axis=-1)
    # dX[b, j, f] = sum_i DY[b, i, f] * conj(W[i, j, f])
    dxf = np.matmul(dyf.transpose(2, 0, 1), np.conj(wf).transpose(2, 0, 1))  # (F, B, Q)
    dx = np.fft.irfft(dxf.transpose(1, 2, 0), n=k, axis=-1).reshape(x.shape[:-1] + (q * k,))
    return dw, dx[..., :n]


def _circulant_index(k: int) -> np.ndarray:
    r = np.arange(k)
    return (r[:, None] - r[None, :]) % k


def to_dense(w: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Dense ``m x n`` matrix of block-circulant weights ``w`` (default shape ``(P*k, Q*k)``)."""
    w = np.asarray(w)
    p, q, k = w.shape
    blocks = w[:, :, _circulant_index(k)]  # (P, Q, k, k): blocks[i, j, r, s] = w[i, j, (r-s)%k]
    dense = blocks.transpose(0, 2, 1, 3).reshape(p * k, q * k)
    if shape is not None:
        m, n = shape
        dense = dense[:m, :n]
    return dense


def project(dense: np.ndarray, k: int) -> np.ndarray:
    """Nearest block-circulant matrix (Frobenius norm) to ``dense``, as weights ``(P, Q, k)``.

    Each block is replaced by the average of its wrapped diagonals:
    ``w[i, j, d] = mean_r block[r, (r - d) % k]``.  This is the orthogonal projection onto the
    block-circulant subspace (the circulant basis matrices of a block are orthogonal with equal
    norms), so the residual is orthogonal to every block-circulant matrix.

    When ``m`` or ``n`` is not a multiple of ``k`` the matrix is zero padded to ``(P*k, Q*k)``
    and only the entries inside the ``m x n`` corner are averaged (a diagonal with no entry
    there gets 0).  This is the exact minimizer of ``||dense - to_dense(w, (m, n))||_F``: the
    padding positions are free, so they do not pull the averages towards zero.
    """
    k = check_block_size(k)
    dense = np.asarray(dense, dtype=np.float64)
    if dense.ndim != 2:
        raise ValueError(f"project expects a 2-D matrix, got shape {dense.shape}")
    m, n = dense.shape
    p, q = block_grid(m, n, k)
    padded = np.zeros((p * k, q * k))
    padded[:m, :n] = dense
    inside = np.zeros((p * k, q * k))
    inside[:m, :n] = 1.0
    r = np.arange(k)
    cols = (r[None, :] - r[:, None]) % k  # [d, r] -> s = (r - d) % k

    def diagonal_sums(a):
        blocks = a.reshape(p, k, q, k).transpose(0, 2, 1, 3)  # (P, Q, r, s)
        return blocks[:, :, r[None, :], cols].sum(axis=-1)  # (P, Q, d)

    return diagonal_sums(padded) / np.maximum(diagonal_sums(inside), 1.0)


def project_on_data(x: np.ndarray, y: np.ndarray, k: int, ridge: float = 0.1,
                    prior: np.ndarray | None = None) -> np.ndarray:
    """Block-circulant weights that best reproduce ``y`` from ``x`` (least squares, per bin).

    Minimizes ``||y - bc_matmul(w, x)||^2 + lam * ||w - prior||^2`` over weights ``w`` of shape
    ``(P, Q, k)``, where ``x`` is ``(N, n)`` and ``y`` is ``(N, m)``.  In the frequency domain the
    problem decouples: output block ``i`` at bin ``f`` is ``sum_j W_ij(f) X_j(f)``, so each of the
    ``k//2 + 1`` real-FFT bins is an independent ridge regression with ``Q`` complex unknowns per
    output block (Parseval makes the sum of the per-bin residuals the time-domain residual, with
    bins 1..k/2-1 counted twice).  ``lam`` is ``ridge`` times the mean diagonal of that bin's
    Gram matrix, so ``ridge`` is scale free: 0 is plain least squares, large values return
    ``prior`` (default zero).  When ``m`` is not a multiple of ``k`` the padding outputs are
    fitted to zero, so the fit is exact least squares only for ``k | m``.

    This is the data-aware projection used by ``circnn compress`` before fine-tuning: with
    ``x`` the layer's inputs on training data, ``y`` the dense layer's outputs and ``prior`` the
    Frobenius projection (:func:`project`) of the dense matrix.
    """
    k = check_block_size(k)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"project_on_data expects x (N, n) and y (N, m), got {x.shape} and "
                         f"{y.shape}")
    if not ridge >= 0:
        raise ValueError(f"ridge must be >= 0, not {ridge}")
    m, n = y.shape[1], x.shape[1]
    p, q = block_grid(m, n, k)
    xf = _blocks_freq(x, q, k).transpose(2, 0, 1)  # (F, N, Q)
    yf = _blocks_freq(y, p, k).transpose(2, 0, 1)  # (F, N, P)
    gram = np.matmul(np.conj(xf).transpose(0, 2, 1), xf)  # (F, Q, Q)
    rhs = np.matmul(np.conj(xf).transpose(0, 2, 1), yf)  # (F, Q, P)
    lam = ridge * np.real(np.trace(gram, axis1=1, axis2=2)) / q + 1e-12  # (F,)
    if prior is not None:
        prior = np.asarray(prior, dtype=np.float64)
        if prior.shape != (p, q, k):
            raise ValueError(f"prior has shape {prior.shape}, expected {(p, q, k)}")
        rhs = rhs + lam[:, None, None] * weights_to_freq(prior).transpose(2, 1, 0)
    eye = np.eye(q)[None]
    wf = np.linalg.solve(gram + lam[:, None, None] * eye, rhs)  # (F, Q, P)
    return np.fft.irfft(wf.transpose(2, 1, 0), n=k, axis=-1)


def parameter_count(m: int, n: int, k: int) -> int:
    """Stored weights of an ``m x n`` block-circulant matrix with block size ``k``."""
    p, q = block_grid(m, n, k)
    return p * q * k
