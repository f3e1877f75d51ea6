"""Batch-level mixing: mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019).

Both mix a whole batch with a shuffled copy of itself and return soft targets (N, C) that
``tinydl.nn.functional.cross_entropy`` takes directly. Also importable from
``tinydl.data.transforms``.
"""
import math
import numbers

import numpy as np

from tinydl.data._random import resolve_generator
from tinydl.tensor import Tensor


def _soft_targets(y, num_classes, where):
    t = y.data if isinstance(y, Tensor) else np.asarray(y)
    if np.issubdtype(t.dtype, np.floating):
        if t.ndim != 2:
            raise ValueError(f"{where}: soft targets must be (N, C), got shape {t.shape}")
        if num_classes is not None and t.shape[1] != num_classes:
            raise ValueError(f"{where}: soft targets of shape {t.shape} have {t.shape[1]} "
                             f"classes, but num_classes={num_classes}")
        return t.astype(np.float32)
    if t.dtype.kind not in "iu":
        # A bool array would index np.eye as a mask (rows picked, not looked up): refused,
        # as torch's one_hot refuses it.
        raise TypeError(f"{where}: targets must be integer class indices or float soft "
                        f"targets, got dtype {t.dtype}")
    if num_classes is None:
        raise ValueError(f"{where}: class-index targets need num_classes (the logits' width)")
    if t.ndim != 1 or t.size and (t.min() < 0 or t.max() >= num_classes):
        raise ValueError(f"{where}: targets must be class indices in [0, {num_classes}) of "
                         f"shape (N,), got shape {t.shape}")
    return np.eye(num_classes, dtype=np.float32)[t]


def _draw(x, y, alpha, num_classes, seed, where, images=False, blends=False):
    """The checked inputs ``a`` and one-hot/soft targets ``q`` of a mixing op, and its draws:
    ``(a, q, rng, lam, perm)`` with lam ~ Beta(alpha, alpha) and perm a random permutation."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"{where}: alpha must be a positive number, got {alpha!r}")
    if not alpha > 0:
        raise ValueError(f"{where}: alpha must be positive, got {alpha!r}")
    a = x.data if isinstance(x, Tensor) else np.asarray(x)
    if a.ndim < 2:
        raise ValueError(f"{where}: expected a batch (N, ...), got shape {a.shape}")
    if blends and not np.issubdtype(a.dtype, np.floating):
        # lam x + (1 - lam) x[perm] cast back to uint8 would wrap or truncate, silently.
        raise TypeError(f"{where}: expected floating point inputs, got dtype {a.dtype} "
                        "(convert images with ToTensor or .astype(np.float32) / 255 first)")
    if images and a.ndim != 4:
        raise ValueError(f"{where}: expected images (N, C, H, W), got shape {a.shape}")
    q = _soft_targets(y, num_classes, where)
    if len(q) != len(a):
        raise ValueError(f"{where}: {len(a)} inputs but {len(q)} targets")
    rng = resolve_generator(seed, where)
    lam = float(rng.beta(alpha, alpha))
    return a, q, rng, lam, rng.permutation(len(a))


def mixup(x, y, alpha=1.0, num_classes=None, seed=None):
    """mixup (Zhang et al. 2018): convex combinations of a batch with a shuffled copy of itself.

    lam ~ Beta(alpha, alpha), perm a random permutation of the batch;
    ``x' = lam x + (1 - lam) x[perm]``, ``y' = lam onehot(y) + (1 - lam) onehot(y[perm])``.
    ``x`` (N, ...) floats; ``y`` class indices (N,) with ``num_classes``, or soft targets (N,
    C). Returns ``(x', y')`` as Tensors; y' (N, C) float32 goes straight into
    ``F.cross_entropy(logits, y')`` (label smoothing applies on top). Draws from tinydl's
    generator, or a local one with ``seed``.
    """
    a, q, _, lam, perm = _draw(x, y, alpha, num_classes, seed, "mixup", blends=True)
    mixed = (lam * a + (1.0 - lam) * a[perm]).astype(a.dtype, copy=False)
    return Tensor(mixed), Tensor(lam * q + (1.0 - lam) * q[perm])


def cutmix(x, y, alpha=1.0, num_classes=None, seed=None):
    """CutMix (Yun et al. 2019): paste a random box from a shuffled copy of the batch.

    lam ~ Beta(alpha, alpha); the box has sides (H sqrt(1 - lam), W sqrt(1 - lam)) around a
    uniform centre, clipped to the image; inside it ``x'`` takes ``x[perm]``. The targets
    mix by the pasted area: lam' = 1 - box area / (H W), ``y' = lam' onehot(y) + (1 - lam')
    onehot(y[perm])``. ``x`` (N, C, H, W); ``y`` as in ``mixup``. Returns ``(x', y')`` Tensors.
    """
    a, q, rng, lam, perm = _draw(x, y, alpha, num_classes, seed, "cutmix", images=True)
    h, w = a.shape[2:]
    cut = math.sqrt(1.0 - lam)
    ch, cw = int(h * cut), int(w * cut)
    cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
    top, bottom = np.clip([cy - ch // 2, cy + ch // 2], 0, h)
    left, right = np.clip([cx - cw // 2, cx + cw // 2], 0, w)
    mixed = a.copy()
    mixed[:, :, top:bottom, left:right] = a[perm][:, :, top:bottom, left:right]
    lam = 1.0 - (bottom - top) * (right - left) / (h * w)
    return Tensor(mixed), Tensor((lam * q + (1.0 - lam) * q[perm]).astype(np.float32))
