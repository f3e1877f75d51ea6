"""One pass of the linear SVM's dual coordinate descent (Hsieh et al. 2008, Algorithm 3):
the Numba kernel and its plain Python/NumPy twin, which is the reference the tests compare
against and what runs when ``tinydl.backends.numba`` is off.

The pass is sequential by nature: each coordinate step reads the w the previous step
wrote, so it cannot be vectorised across samples. In Python each step is a handful of
interpreter operations around two length-d NumPy calls (a dot product and an axpy), a few
microseconds whatever d is; compiled, a step is 2d multiply-adds. ``dual_cd_python`` (the
passes) and ``dual_cd_sweep_python`` (one pass) are the twin; ``dual_cd_kernel`` is all of
it compiled, drawing the same random orders from the same np.random.Generator. The driver
is ``tinydl.ml.svm.dual_coordinate_descent``.

Two things make the compiled step fast: the row two steps ahead in the pass's order is
prefetched while this step runs (``_prefetch``): a pass over all n rows visits them in
random order, each step reading an 808-byte row of an 8 MB array, and waiting for those
reads was most of such a pass (measured 4-5 ms per full pass before, 1.4 ms after); and the
dot product runs in SIMD lanes (``_dot``), which matters once shrinking leaves a few hundred
active rows that stay in cache. ``benchmarks/bench_svc.py`` (10,000 x 100 float64 plus the
intercept column, one thread, CPU seconds through the driver, median of three alternating
rounds, three runs at load average 6-8), kernel against the Python twin:

    C = 1, 1000 passes         28-51 ms against 2.0-3.6 s: 70-72x (the kernel before: 32-43x)
    C = 0.01, 829 passes       18-27 ms against 0.8-1.2 s: 44-47x (before: 20-24x)

Arguments (alpha, w and keep are updated in place):
    rows (n, d) float64   y_i x_i, C-contiguous
    q_diag (n,)           x_i.x_i + diag, the curvature of coordinate i
    alpha (n,)            the dual variables, 0 <= a_i <= upper
    w (d,)                sum_i a_i y_i x_i, kept in step with alpha
    order (m,) int64      the active coordinates, in this pass's order
    keep (m,) bool        out: False where the coordinate was shrunk away
    diag, upper           (0, C) for the hinge loss, (1/(2C), inf) for the squared hinge
    shrink_above/below    last pass's max/min projected gradient (+-inf: no shrinking)
    tol, max_iter         stop when max PG - min PG <= tol over all n, or after max_iter
                          passes
The sweep returns (max PG, min PG) over the coordinates it did not shrink.
"""
import math

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic


def dual_cd_sweep_python(rows, q_diag, alpha, w, order, keep, diag, upper, shrink_above,
                         shrink_below):
    """One pass in Python (the reference): for each i in ``order``, g = y_i w.x_i - 1 +
    diag a_i, the projected gradient pg (g clipped at the bound a_i sits on), and
    a_i <- clip(a_i - g / q_ii, 0, upper) with w updated to match; a coordinate at a bound
    whose g points further out than last pass's extreme pg is shrunk (keep False)."""
    pg_max, pg_min = -math.inf, math.inf
    for position, i in enumerate(order):
        a = alpha[i]
        g = rows[i] @ w - 1.0 + diag * a
        if a == 0.0:
            if g > shrink_above:
                keep[position] = False
                continue
            pg = min(g, 0.0)
        elif a == upper:
            if g < shrink_below:
                keep[position] = False
                continue
            pg = max(g, 0.0)
        else:
            pg = g
        pg_max, pg_min = max(pg_max, pg), min(pg_min, pg)
        if pg != 0.0:
            # q_diag is 0 only for an all-zero row under the hinge loss: the dual is then
            # linear in a_i with slope -1, minimised at the upper bound.
            step = a - g / q_diag[i] if q_diag[i] > 0.0 else upper
            alpha[i] = min(max(step, 0.0), upper)
            w += (alpha[i] - a) * rows[i]
    return pg_max, pg_min


_LCG_A, _LCG_C, _MASK = 6364136223846793005, 1442695040888963407, (1 << 64) - 1


def shuffle_python(order, count, state):
    """Shuffle ``order[:count]`` in place (Fisher-Yates, last position first) and return the
    new generator state. The generator is Knuth's 64-bit LCG (MMIX constants); position i
    swaps with j = (high 32 bits of the state) * (i + 1) >> 32, a draw in [0, i] (biased by
    under 2^-32, which does not matter for a visiting order). ``shuffle_kernel`` is the same
    in Numba: both must draw the same orders for the twin to be a reference."""
    for i in range(count - 1, 0, -1):
        state = (state * _LCG_A + _LCG_C) & _MASK
        j = ((state >> 32) * (i + 1)) >> 32
        order[i], order[j] = order[j], order[i]
    return state


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True)
def shuffle_kernel(order, count, seed):
    """``shuffle_python`` compiled; uint64 arithmetic wraps modulo 2^64 as the mask does.
    ``seed`` must be a uint64 (np.uint64): Numba types a Python int as int64, and int64
    mixed with uint64 is float64."""
    a, c, shift = numba.uint64(_LCG_A), numba.uint64(_LCG_C), numba.uint64(32)
    state = seed
    for i in range(count - 1, 0, -1):
        state = state * a + c
        j = ((state >> shift) * numba.uint64(i + 1)) >> shift
        swap = order[i]
        order[i] = order[j]
        order[j] = swap
    return state


def dual_cd_python(rows, q_diag, alpha, w, diag, upper, tol, max_iter, seed):
    """The passes of the solver in Python (the reference). Each pass shuffles the active
    coordinates (``shuffle_python``, from the 64-bit ``seed``), sweeps them (``dual_cd_sweep_python``) and drops the
    shrunk ones; when a pass meets the tolerance (max PG - min PG <= tol) on a shrunk set,
    every coordinate comes back and the shrinking thresholds reset; the solver stops when a
    pass over all n meets it. Returns (passes, converged, max PG - min PG of the last pass).
    """
    n = rows.shape[0]
    active = np.arange(n, dtype=np.int64)
    shrink_above, shrink_below = math.inf, -math.inf
    passes, spread, state = 0, math.inf, seed
    for passes in range(1, max_iter + 1):
        keep = np.ones(active.size, dtype=bool)
        state = shuffle_python(active, active.size, state)
        pg_max, pg_min = dual_cd_sweep_python(rows, q_diag, alpha, w, active, keep, diag,
                                              upper, shrink_above, shrink_below)
        active = active[keep]
        spread = pg_max - pg_min
        if spread <= tol:
            if active.size == n:
                return passes, True, spread
            active = np.arange(n, dtype=np.int64)
            shrink_above, shrink_below = math.inf, -math.inf
            continue
        shrink_above = pg_max if pg_max > 0 else math.inf
        shrink_below = pg_min if pg_min < 0 else -math.inf
    return passes, False, spread


@intrinsic
def _prefetch(typingctx, array, index):
    """``_prefetch(array, index)`` in compiled code: ask the CPU to start loading the cache
    line of ``array[index]`` (1-D array, index in bounds) without waiting for it (LLVM's
    ``llvm.prefetch``: a read, into all cache levels). It changes no value, only when the
    line arrives; Numba has no prefetch of its own."""
    if not (isinstance(array, types.Array) and array.ndim == 1
            and isinstance(index, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        address = cgutils.get_item_pointer(context, builder, array_type, view, [args[1]],
                                           wraparound=False)
        byte_pointer = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        # The name without its pointer-type suffix: LLVM completes it when it reads the IR
        # (".p0" with opaque pointers, ".p0i8" with the typed ones of older LLVMs).
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer] + [int32] * 3),
            "llvm.prefetch")
        # (address, 0 = read, 3 = keep in every cache level, 1 = data cache)
        builder.call(function, [builder.bitcast(address, byte_pointer), int32(0), int32(3),
                                int32(1)])
        return context.get_dummy_value()

    return types.void(array, index), codegen


@numba.njit(cache=True, error_model="numpy", fastmath={"reassoc"}, no_cfunc_wrapper=True,
             no_cpython_wrapper=True)
def _dot(x, y):
    """x.y for two 1-D float64 arrays of one length. ``reassoc`` (and no other fast-math
    flag: infinities and NaN keep their meaning) lets LLVM split the sum over SIMD lanes;
    a strictly left-to-right sum is one chain of dependent adds, a quarter or less of the
    core's throughput. The order of the partial sums is fixed by the compiled code, so a
    machine gives the same result every run; it is a different round-off from the twin's
    BLAS dot (which has its own order), far below the 1e-8 the two must agree to."""
    total = 0.0
    for k in range(x.shape[0]):
        total += x[k] * y[k]
    return total


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True)
def dual_cd_kernel(rows, q_diag, alpha, w, diag, upper, tol, max_iter, seed, active):
    """``dual_cd_python`` compiled, passes and all: the same steps in the same orders (the
    same shuffles from the same ``seed``, a uint64). The dot product is ``_dot`` (SIMD
    partial sums; the twin's BLAS dot sums in its own order, a round-off difference), and
    the row two steps ahead in the order is prefetched. Shrunk coordinates are
    compacted out of ``active`` (int64 (n,), scratch) in place, keeping the pass's order,
    as the twin's ``active[keep]`` does. Keeping the passes inside matters once shrinking
    leaves a few dozen active coordinates: a Python round trip per pass then cost more than
    the pass."""
    n = rows.shape[0]
    n_features = w.shape[0]
    for t in range(n):
        active[t] = t
    m = n
    shrink_above, shrink_below = math.inf, -math.inf
    passes, spread, state = 0, math.inf, seed
    for passes in range(1, max_iter + 1):
        state = shuffle_kernel(active, m, state)
        pg_max, pg_min = -math.inf, math.inf
        kept = 0
        for position in range(m):
            i = active[position]
            row = rows[i]
            a = alpha[i]
            if position + 2 < m:
                # The order is random, so the hardware cannot guess the next rows; two
                # steps ahead gives the loads time to arrive (measured: 1, 3, 4 or 6 ahead
                # did no better).
                ahead = rows[active[position + 2]]
                for k in range(0, n_features, 8):  # 8 float64 = one 64-byte cache line
                    _prefetch(ahead, k)
                _prefetch(ahead, n_features - 1)
            g = _dot(row, w) - 1.0 + diag * a
            if a == 0.0:
                if g > shrink_above:
                    continue
                pg = 0.0 if 0.0 < g else g  # min(g, 0.0); see tinydl.kernels.conv
            elif a == upper:
                if g < shrink_below:
                    continue
                pg = 0.0 if 0.0 > g else g  # max(g, 0.0)
            else:
                pg = g
            active[kept] = i
            kept += 1
            pg_max = pg if pg > pg_max else pg_max
            pg_min = pg if pg < pg_min else pg_min
            if pg != 0.0:
                step = a - g / q_diag[i] if q_diag[i] > 0.0 else upper
                new = 0.0 if 0.0 > step else step  # min(max(step, 0.0), upper)
                new = upper if upper < new else new
                alpha[i] = new
                delta = new - a
                for k in range(n_features):
                    w[k] += delta * row[k]
        spread = pg_max - pg_min
        if spread <= tol:
            if kept == n:
                return passes, True, spread
            for t in range(n):
                active[t] = t
            m = n
            shrink_above, shrink_below = math.inf, -math.inf
            continue
        m = kept
        shrink_above = pg_max if pg_max > 0 else math.inf
        shrink_below = pg_min if pg_min < 0 else -math.inf
    return passes, False, spread


def precompile():
    """Compile ``dual_cd_kernel`` for the argument types the driver passes."""
    rows = np.ones((2, 3))
    dual_cd_kernel(rows, np.full(2, 3.0), np.zeros(2), np.zeros(3), 0.0, 1.0, 1e-4, 2,
                   np.uint64(1), np.empty(2, dtype=np.int64))
