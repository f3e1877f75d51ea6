"""Muon (Jordan et al. 2024, "MomentUm Orthogonalized by Newton-Schulz"), torch.optim.Muon's rule.

For 2-d parameters (the weight matrices of hidden layers) only. Momentum SGD whose update
is replaced by (approximately) the nearest semi-orthogonal matrix: for ``B = U S V^T`` the
step is about ``U V^T``, every singular value pushed towards 1, so that no direction of the
update dominates. The orthogonalisation is a quintic Newton-Schulz iteration::

    m <- lerp(m, g, 1 - mu)                   (m = mu m + (1 - mu) g)
    B = lerp(g, m, mu) if nesterov else m
    X = B / max(||B||_F, eps)                 (transposed first when B has more rows than columns)
    repeat ns_steps times:  A = X X^T ;  X <- a X + (b A + c A A) X
    theta <- theta * (1 - lr * wd)            (decoupled weight decay, with the unadjusted lr)
    theta <- theta - lr' X                    (X transposed back)

with ``(a, b, c) = ns_coefficients`` (default (3.4445, -4.7750, 2.0315): the polynomial's
slope at 0 is made large, so that after 5 steps singular values not tiny beside ||B||_F land in
roughly [0.7, 1.2] rather than exactly at 1). ``adjust_lr_fn`` scales lr for a parameter
of shape (A, B): None or ``'original'`` ``lr' = lr sqrt(max(1, A / B))`` (Keller Jordan's),
``'match_rms_adamw'`` ``lr' = 0.2 lr sqrt(max(A, B))`` (Moonshot's, Liu et al. 2025: reuse
AdamW's lr and wd).

torch runs the Newton-Schulz iteration in bfloat16; NumPy has no bfloat16, so tinydl runs it
in the parameter's dtype (float32 or float64), a more accurate orthogonalisation that differs
from torch's by bfloat16 round-off (about 1e-2 relative per element of the update).
"""
import math

import numpy as np

from tinydl.optim.optimizer import Optimizer, _check_non_negative, _lerp_

_ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


def zeropower_via_newtonschulz(matrix, ns_coefficients=(3.4445, -4.7750, 2.0315), ns_steps=5,
                               eps=1e-7):
    """The quintic Newton-Schulz approximation of the orthogonal factor ``U V^T`` of a 2-d
    array ``matrix = U S V^T`` (its "zeroth power"), in the array's dtype; same shape.

    The iteration works on the wide orientation (rows <= columns), so its Gram matrix
    ``X X^T`` is the smaller one; normalising by the Frobenius norm first bounds the
    spectral norm by 1, inside the polynomial's basin.
    """
    a, b, c = (float(x) for x in ns_coefficients)
    tall = matrix.shape[0] > matrix.shape[1]
    x = matrix.T if tall else matrix
    x = x / max(np.linalg.norm(x), eps)
    for _ in range(ns_steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return x.T if tall else x


def _adjusted_lr(lr, adjust_lr_fn, shape):
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, rows / cols))
    return lr * 0.2 * math.sqrt(max(rows, cols))


class Muon(Optimizer):
    """Muon(params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
    ns_coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7, ns_steps=5, adjust_lr_fn=None).

    Every parameter must be 2-d (ValueError otherwise, as torch): optimise biases, norms and
    embeddings with another optimizer (e.g. AdamW) alongside. State per parameter:
    ``momentum_buffer`` (m). Like torch's Muon it takes no ``maximize``.
    """

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7, ns_steps=5,
                 adjust_lr_fn=None):
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=tuple(ns_coefficients), eps=eps, ns_steps=ns_steps,
                        adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)

    def _check_group(self, group):
        lr = group["lr"]
        if getattr(lr, "size", 1) != 1:
            raise ValueError(f"Muon: a Tensor lr must have 1 element, got shape {lr.shape}")
        _check_non_negative("Muon", lr=lr, momentum=group["momentum"],
                            weight_decay=group["weight_decay"])
        if group["adjust_lr_fn"] not in _ADJUST_LR_FNS:
            raise ValueError(f"Muon: adjust_lr_fn {group['adjust_lr_fn']!r} is not supported "
                             "(None, 'original' or 'match_rms_adamw')")
        # torch checks these two at the first step; here they are refused where they enter.
        if len(group["ns_coefficients"]) != 3:
            raise ValueError("Muon: ns_coefficients must be three numbers (a, b, c), got "
                             f"{group['ns_coefficients']!r}")
        if not 0 <= group["ns_steps"] < 100:
            raise ValueError(f"Muon: ns_steps must be in [0, 100), got {group['ns_steps']!r}")
        for p in group["params"]:
            if p.ndim != 2:
                raise ValueError("Muon only supports 2-d parameters (use e.g. AdamW for the "
                                 f"others), got a parameter of shape {tuple(p.shape)}")

    def _init_state(self, param, group):
        return {"momentum_buffer": np.zeros_like(param)}

    def _update(self, param, grad, state, group):
        lr, mu = float(group["lr"]), float(group["momentum"])
        buf = _lerp_(state["momentum_buffer"], grad, 1 - mu)
        update = _lerp_(grad.copy(), buf, mu) if group["nesterov"] else buf
        update = zeropower_via_newtonschulz(update, group["ns_coefficients"],
                                            int(group["ns_steps"]), float(group["eps"]))
        param *= 1 - lr * float(group["weight_decay"])
        param -= _adjusted_lr(lr, group["adjust_lr_fn"], param.shape) * update
