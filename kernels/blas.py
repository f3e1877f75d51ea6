"""BLAS's ?gemm called from jitted code: the products inside the chunk kernels of
``tinydl.kernels.conv`` and ``tinydl.kernels.winograd``, which then take the GIL once per
chunk of images instead of once per product.

The products run in SciPy's OpenBLAS (the BLAS that Numba's ``numba_xxgemm`` helper, behind
its ``np.dot``, calls through ``scipy.linalg.cython_blas``), a second library beside NumPy's:
``tinydl.threads.refresh_blas`` puts it under tinydl's thread policy (the ops do that before
their first chunk).
"""
import scipy.linalg.cython_blas  # noqa: F401 - the BLAS that numba_xxgemm calls
from numba import types
from numba.extending import overload


def _gemm_function(dtype):
    """Numba's own C helper for BLAS ?gemm (what ``np.dot`` calls), typed for ``dtype``."""
    ptr = types.CPointer(dtype)
    return types.ExternalFunction("numba_xxgemm", types.intc(
        types.char, types.char, types.char,  # kind, transa, transb
        types.intp, types.intp, types.intp,  # m, n, k
        ptr, ptr, types.intp, ptr, types.intp,  # alpha, a, lda, b, ldb
        ptr, ptr, types.intp))  # beta, c, ldc


def gemm(m, n, k, a, b, trans_b, c, coef, accumulate):
    """c (m, n) = a (m, k) @ b (k, n), or a @ b.T of b (n, k) when ``trans_b``, plus what c
    holds when ``accumulate``: row-major blocks at the start of the C-contiguous arrays a, b
    and c (the rows of a tile buffer, say), float32 or float64 alike; ``coef`` = (1, 0, 1)
    of their dtype, alpha and the two betas. Jitted code only (an ``overload``).

    It calls BLAS through ``numba_xxgemm``, as ``np.dot`` does, without np.dot's typing of
    views, reshapes and layouts: the Winograd chunk kernel's cold compile took 0.3-0.4 s
    less so, and its dU's products add into it (beta 1) instead of into a scratch product
    added after. Callers pass a 2-D a and c and a 1-D b (a flat buffer sliced at a block's
    start): Numba compiles one specialisation per signature.
    """
    raise TypeError("gemm runs in jitted code only (the chunk kernels of tinydl.kernels)")


@overload(gemm)
def _gemm_typed(m, n, k, a, b, trans_b, c, coef, accumulate):
    function = _gemm_function(c.dtype)
    # The character codes as constants: ord() in the jitted body compiled Numba's unicode
    # ord (about 0.1 s of the chunk kernel's cold compile).
    kind = ord("s" if c.dtype == types.float32 else "d")
    transposed, plain = ord("t"), ord("n")

    def call(m, n, k, a, b, trans_b, c, coef, accumulate):
        # Column-major BLAS sees each row-major block transposed: c^T = b^T @ a^T.
        function(kind, transposed if trans_b else plain, plain, n, m, k, coef.ctypes,
                 b.ctypes, k if trans_b else n, a.ctypes, k,
                 coef[2:].ctypes if accumulate else coef[1:].ctypes, c.ctypes, n)

    return call
