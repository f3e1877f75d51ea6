"""Greedy NMS at IoU 0.5: the Numba kernel vs its vectorised NumPy twin vs the same greedy
algorithm written in torch ops.

N = 1,000 / 5,000 / 20,000 boxes, on two sets: uniform random boxes (few overlaps, most
boxes kept, O(N^2) IoU work) and clustered detector-like boxes (jittered around N/50
objects, most boxes suppressed). All three go through the same stable descending sort.
Goals: Numba at least 10x faster than NumPy at N = 5,000 on both sets (ratio <= 0.1), and
faster than the torch-ops loop at every N (ratio <= 1). Without torch, the torch rows
compare against the NumPy twin instead.
"""
import numpy as np

import tinydl
from benchmarks._harness import median_time, row, try_torch
from tinydl.vision import nms

IOU = 0.5


def uniform_boxes(n, rng):
    """Boxes of side 10..100 anywhere in a 1000 x 1000 image, uniform scores."""
    xy = rng.uniform(0, 1000, (n, 2))
    wh = rng.uniform(10, 100, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1), rng.uniform(size=n).astype(np.float32)


def clustered_boxes(n, rng):
    """A detector's raw output: N/50 objects, each seen by ~50 jittered boxes."""
    n_objects = max(n // 50, 1)
    centres = rng.uniform(0, 1000, (n_objects, 2))
    sizes = rng.uniform(20, 200, (n_objects, 2))
    owner = rng.integers(0, n_objects, n)
    xy = centres[owner] + rng.normal(0, 0.1, (n, 2)) * sizes[owner]
    wh = sizes[owner] * np.exp(rng.normal(0, 0.1, (n, 2)))
    return np.concatenate([xy, xy + wh], axis=1), rng.uniform(size=n).astype(np.float32)


def _numba_switch(value):
    """The Numba kernel ("1") or its NumPy twin ("0") inside a ``with`` block."""
    return tinydl.backends.flags(numba=value == "1")


def torch_greedy_nms(torch, boxes, scores, iou_threshold):
    """The NumPy twin's algorithm in torch ops: one pass per kept box over the survivors."""
    order = torch.argsort(scores, descending=True, stable=True)
    b = boxes[order]
    x1, y1, x2, y2 = b.unbind(1)
    area = (x2 - x1) * (y2 - y1)
    alive = torch.arange(len(order))
    keep = []
    while alive.numel():
        i = alive[0]
        keep.append(i)
        rest = alive[1:]
        w = (torch.minimum(x2[i], x2[rest]) - torch.maximum(x1[i], x1[rest])).clamp(min=0)
        h = (torch.minimum(y2[i], y2[rest]) - torch.maximum(y1[i], y1[rest])).clamp(min=0)
        inter = w * h
        iou = inter / (area[i] + area[rest] - inter)
        alive = rest[~(iou > iou_threshold)]
    return order[torch.stack(keep)] if keep else order[:0]


def run(quick=False):
    torch = try_torch()
    sizes = (1000, 5000) if quick else (1000, 5000, 20000)
    rng = np.random.default_rng(0)
    rows = []
    for set_name, make in (("uniform", uniform_boxes), ("clustered", clustered_boxes)):
        for n in sizes:
            boxes, scores = make(n, rng)
            repeat = 3 if quick or n >= 20000 else 7
            with _numba_switch("1"):
                kept = nms(boxes, scores, IOU)
                numba_s = median_time(lambda: nms(boxes, scores, IOU), repeat=repeat)
            with _numba_switch("0"):
                assert np.array_equal(nms(boxes, scores, IOU), kept)
                numpy_s = median_time(lambda: nms(boxes, scores, IOU), repeat=repeat)
            note = f"{len(kept)} of {n} kept"
            rows.append(row(f"nms {set_name} N={n}: numba vs vectorised numpy", numba_s, numpy_s, "numpy",
                            goal=0.1 if n == 5000 else None, note=note))
            if torch is not None:
                tb, ts = torch.from_numpy(boxes), torch.from_numpy(scores)
                threads = torch.get_num_threads()
                # Thousands of tiny ops in sequence: torch is fastest on one thread (and the
                # loop is slow enough that the large sizes are timed once).
                torch.set_num_threads(1)
                try:
                    assert np.array_equal(torch_greedy_nms(torch, tb, ts, IOU).numpy(), kept)
                    torch_s = median_time(lambda: torch_greedy_nms(torch, tb, ts, IOU),
                                          repeat=1 if n >= 20000 else 3, warmup=0)
                finally:
                    torch.set_num_threads(threads)
                rows.append(row(f"nms {set_name} N={n}: numba vs torch-ops greedy", numba_s, torch_s, "torch",
                                goal=1.0, note="torch on 1 thread"))
            else:
                rows.append(row(f"nms {set_name} N={n}: numba vs numpy (torch missing)", numba_s, numpy_s,
                                "numpy", goal=1.0))
    return rows
