"""Greedy non-maximum suppression on boxes already sorted by descending score.

Both functions take the four coordinates as separate contiguous float64 arrays in score
order and return the kept positions (int64, ascending, i.e. by descending score); a box
is suppressed by a kept one when their IoU is ``> iou_threshold``. ``tinydl.vision.nms``
validates, sorts and picks one of them. The NumPy twin comes first: it is the one to read.
"""
import numba
import numpy as np


def nms_numpy(x1, y1, x2, y2, iou_threshold):
    """Vectorised NumPy NMS: one pass per kept box, IoU against every box still alive."""
    area = (x2 - x1) * (y2 - y1)
    alive = np.arange(x1.shape[0])
    keep = []
    while alive.size:
        i = alive[0]
        keep.append(i)
        rest = alive[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        # Two zero-area boxes give 0/0 = NaN, and NaN > threshold is False: the box is kept,
        # as an IoU of 0 would be.
        with np.errstate(invalid="ignore"):
            iou = inter / (area[i] + area[rest] - inter)
        alive = rest[~(iou > iou_threshold)]
    return np.asarray(keep, dtype=np.int64)


def nms_kernel(x1, y1, x2, y2, iou_threshold):
    """Numba NMS (``_nms_sweep``), same arguments and result as ``nms_numpy``.

    The work arrays are made here, in NumPy, rather than inside the compiled function:
    Numba's typing of ``np.arange``, ``np.zeros`` and ``.copy()`` took about two of the
    three seconds its first (cold) compile cost.
    """
    n = x1.shape[0]
    x1, y1, x2, y2 = (np.array(c, dtype=np.float64) for c in (x1, y1, x2, y2))
    area = (x2 - x1) * (y2 - y1)
    position = np.arange(n, dtype=np.int64)
    suppressed = np.zeros(n, dtype=np.uint8)
    keep = np.empty(n, dtype=np.int64)
    n_keep = _nms_sweep(x1, y1, x2, y2, area, position, suppressed, keep, float(iou_threshold))
    return keep[:n_keep]


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True)
def _nms_sweep(x1, y1, x2, y2, area, position, suppressed, keep, iou_threshold):
    """The sweep of ``nms_kernel``, on its own copies of the sorted boxes; returns how many
    of ``keep`` it filled.

    A suppressed mask over the sorted boxes. Suppressed boxes are skipped as
    candidates; each kept box sweeps the contiguous tail after it in a branch-free loop (the
    IoU test is or-ed into the mask), so that loop compiles to SIMD code. When more than a
    quarter of the tail is dead it is compacted, as the NumPy twin does on every pass, so
    clustered boxes cost O(alive) rather than O(N) per kept box."""
    n = x1.shape[0]
    n_keep = 0
    end = n
    for i in range(n):
        if i >= end:
            break
        if suppressed[i]:
            continue
        keep[n_keep] = position[i]
        n_keep += 1
        bx1, by1, bx2, by2, barea = x1[i], y1[i], x2[i], y2[i], area[i]
        # Slicing the tail first (rather than indexing x1[j] for j > i) lets LLVM see plain
        # contiguous arrays without wraparound checks.
        tx1, ty1, tx2, ty2 = x1[i + 1:end], y1[i + 1:end], x2[i + 1:end], y2[i + 1:end]
        tarea, tsuppressed = area[i + 1:end], suppressed[i + 1:end]
        dead = 0
        for j in range(tx1.shape[0]):
            # max(0, min(bx2, tx2) - max(bx1, tx1)) spelt out as Python's min and max
            # compute it (see tinydl.kernels.conv on why)
            w = (tx2[j] if tx2[j] < bx2 else bx2) - (tx1[j] if tx1[j] > bx1 else bx1)
            w = w if w > 0.0 else 0.0
            h = (ty2[j] if ty2[j] < by2 else by2) - (ty1[j] if ty1[j] > by1 else by1)
            h = h if h > 0.0 else 0.0
            inter = w * h
            # 0/0 (two zero-area boxes) is NaN under error_model="numpy"; NaN > t is False.
            iou = inter / (barea + tarea[j] - inter)
            flag = tsuppressed[j] | (iou > iou_threshold)
            tsuppressed[j] = flag
            dead += flag
        if 4 * dead > tx1.shape[0] and tx1.shape[0] > 32:
            # Branch-free stream compaction: always copy, advance only past survivors.
            m = i + 1
            for j in range(i + 1, end):
                flag = suppressed[j]
                x1[m], y1[m], x2[m], y2[m] = x1[j], y1[j], x2[j], y2[j]
                area[m], position[m], suppressed[m] = area[j], position[j], 0
                m += 1 - flag
            end = m
    return n_keep
