"""Convolution as a matrix: Toeplitz (1-D) and doubly block-Toeplitz (2-D) matrices.

A teaching view of convolution (as in the course notes). A *true* convolution of a signal x
(length n) with a kernel h (length k) is linear in x, so it is a matrix product
``y = T @ x``. In 'full' mode T has n + k - 1 rows and ``T[i, j] = h[i - j]`` (0 outside the
kernel): constant along every diagonal, a Toeplitz matrix. In 2-D the matrix is made of
blocks: block (r, c) is the 1-D Toeplitz matrix of kernel row ``r - c``, and the blocks are
themselves arranged as a Toeplitz matrix, so it is *doubly block-Toeplitz*:

    T2 = sum_m  kron(S_m, T1(h[m]))     with S_m the (Ho, H) shift matrix with ones on diagonal -m

'valid' mode keeps the rows whose window lies entirely inside the input (when the kernel
is larger than the input, the roles swap, as in ``scipy.signal.convolve``). Deep learning
layers compute cross-correlation, i.e. convolution with the flipped kernel.

These matrices are for understanding and testing, not speed: T2 has (Ho*Wo) x (H*W) entries.
"""
import numpy as np

__all__ = ["toeplitz_1d", "doubly_block_toeplitz"]


def _check_mode(mode, caller):
    if mode not in ("full", "valid"):
        raise ValueError(f"{caller}: mode must be 'full' or 'valid', got {mode!r}")


def _valid_range(n, k):
    """Rows of the 'full' output that form the 'valid' output, for sizes n and k."""
    return slice(min(n, k) - 1, max(n, k))


def toeplitz_1d(kernel, n, mode="full"):
    """The matrix T with ``T @ x == scipy.signal.convolve(x, kernel, mode)`` for x of length n.

    kernel (k,), n >= 1 -> T of shape (n + k - 1, n) ('full') or (|n - k| + 1, n) ('valid');
    ``T[i, j] = kernel[i - j]`` in 'full' mode.
    """
    _check_mode(mode, "toeplitz_1d")
    h = np.asarray(kernel)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"toeplitz_1d: n must be an int (the input's length), got {n!r}")
    if h.ndim != 1 or h.size == 0 or int(n) < 1:
        raise ValueError(f"toeplitz_1d: need a non-empty 1-D kernel and n >= 1, got kernel shape "
                         f"{h.shape} and n={n}")
    k = h.size
    offsets = np.arange(n + k - 1)[:, None] - np.arange(n)[None, :]
    inside = (offsets >= 0) & (offsets < k)
    full = np.where(inside, h[np.clip(offsets, 0, k - 1)], 0).astype(np.result_type(h, np.float64))
    return full if mode == "full" else full[_valid_range(n, k)]


def doubly_block_toeplitz(kernel, input_shape, mode="full"):
    """The matrix T2 with ``T2 @ x.ravel() == scipy.signal.convolve2d(x, kernel, mode).ravel()``.

    kernel (kh, kw), x of ``input_shape`` (H, W) -> T2 of shape (Ho*Wo, H*W) with
    (Ho, Wo) = (H + kh - 1, W + kw - 1) in 'full' mode. Built block-row by kernel row as
    ``sum_m kron(S_m, toeplitz_1d(kernel[m], W))`` (see the module docstring).
    """
    _check_mode(mode, "doubly_block_toeplitz")
    h = np.asarray(kernel)
    if h.ndim != 2 or h.size == 0:
        raise ValueError(f"doubly_block_toeplitz: need a non-empty 2-D kernel, got shape {h.shape}")
    if len(input_shape) != 2:
        raise ValueError(f"doubly_block_toeplitz: input_shape must be (H, W), got {input_shape!r}")
    height, width = (int(s) for s in input_shape)
    if height < 1 or width < 1:
        raise ValueError(f"doubly_block_toeplitz: bad input shape {input_shape}")
    if mode == "valid" and not ((height >= h.shape[0] and width >= h.shape[1])
                                or (height <= h.shape[0] and width <= h.shape[1])):
        raise ValueError("doubly_block_toeplitz: 'valid' mode needs the input at least as large "
                         "as the kernel in every dimension, or the other way round (as scipy)")
    kh, kw = h.shape
    out_h, out_w = height + kh - 1, width + kw - 1
    full = sum(np.kron(np.eye(out_h, height, k=-m), toeplitz_1d(h[m], width)) for m in range(kh))
    if mode == "full":
        return full
    rows = np.arange(out_h)[_valid_range(height, kh)]
    cols = np.arange(out_w)[_valid_range(width, kw)]
    keep = (rows[:, None] * out_w + cols[None, :]).ravel()
    return full[keep]
