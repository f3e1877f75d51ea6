"""Gradient checks against central differences in float64.

``gradcheck(fn, inputs)`` compares the gradient autograd computes with
(f(x + eps e_i) - f(x - eps e_i)) / (2 eps) for every element x_i of every input that
requires grad. Each output is reduced to one scalar with fixed random weights v (the
"fast mode" of torch.autograd.gradcheck): a wrong Jacobian J gives a wrong v^T J for almost
every v, and one backward pass per output then serves all elements. Each output is checked
on its own, as torch checks each (output, input) pair: summed into one scalar, a 5% error in
the gradient of a small output passed beside a larger output (50% beside one 10^4 times
larger). Inputs with more than ``max_elements`` elements are checked on a random subset of
elements plus random directions.

``gradgradcheck`` applies the same check to the gradient itself, built with
``create_graph=True``: it verifies second derivatives.
"""
import numpy as np

from tinydl import autograd
from tinydl.tensor import Tensor


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with finite differences (names input, element, values)."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(fn, inputs):
    outs = _as_tuple(fn(*inputs))
    if not outs:
        raise ValueError("gradcheck: fn returned no output to check")
    for k, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: fn must return Tensors, output {k} is "
                            f"{type(o).__name__}")
    return outs


def _weights(outs, rng):
    return [rng.standard_normal(o.shape) for o in outs]


def _projected(outs, weights):
    """``sum(v_k * output_k)`` for each output k: one scalar Tensor per output."""
    return [(o * Tensor._wrap(w.astype(o.dtype))).sum() for o, w in zip(outs, weights)]


def _check_inputs(inputs, caller):
    diff = []
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad:
            if t.dtype != np.float64:
                raise ValueError(f"{caller}: input {i} has dtype {t.dtype}; finite differences "
                                 "need float64 inputs (use dtype=np.float64)")
            diff.append(i)
    if not diff:
        raise ValueError(f"{caller}: no input requires grad, nothing to check")
    return diff


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, max_elements=1000):
    """Check the autograd gradient of ``fn`` at ``inputs`` against central differences.

    ``fn(*inputs)`` returns a Tensor or a tuple of Tensors; every input that requires grad
    must be float64. Each output is first reduced to one scalar, ``sum(v * output)`` with
    fixed random weights v (seeded by ``seed``), so every entry of its Jacobian counts; the
    values compared are the derivatives of those scalars (v-weighted), output by output.
    Returns True, or raises ``GradcheckError`` naming the output, the input index, the
    element and both values. Passes when ``|analytic - numeric| <= atol + rtol * |numeric|``
    everywhere, for every output.
    """
    inputs = _as_tuple(inputs)
    diff = _check_inputs(inputs, "gradcheck")
    rng = np.random.default_rng(seed)
    targets = [inputs[i] for i in diff]
    with autograd.enable_grad():
        outs = _outputs(fn, inputs)
        weights = _weights(outs, rng)
        scalars = _projected(outs, weights)
        # analytic[k][m]: d scalar_k / d targets[m], one backward pass per output
        analytic = [autograd.grad(scalar, targets, allow_unused=True,
                                  retain_graph=k < len(scalars) - 1)
                    if scalar.requires_grad else (None,) * len(targets)
                    for k, scalar in enumerate(scalars)]
    analytic = [[np.zeros(t.shape) if g is None else np.asarray(g.data, dtype=np.float64)
                 for g, t in zip(per_output, targets)] for per_output in analytic]

    def value():
        with autograd.no_grad():
            return np.array([float(s.data) for s in _projected(_outputs(fn, inputs), weights)])

    for m, (i, x) in enumerate(zip(diff, targets)):
        a = np.stack([per_output[m].reshape(-1) for per_output in analytic])  # (outputs, n)
        saved = x.data
        # Perturb a contiguous copy in place (reshape of a strided array would copy, and the
        # perturbation would never reach fn); the caller's array is put back afterwards.
        x.data = np.array(saved, order="C")
        try:
            _check_input(i, x, a, value, eps, atol, rtol, rng, max_elements)
        finally:
            x.data = saved
    return True


def _first_miss(analytic, numeric, atol, rtol):
    """The first output whose analytic and numeric derivatives disagree, or None."""
    bad = ~(np.abs(analytic - numeric) <= atol + rtol * np.abs(numeric))
    return int(np.argmax(bad)) if bad.any() else None


def _check_input(i, x, a, value, eps, atol, rtol, rng, max_elements):
    """Central differences for every element (or a sample and random directions) of one
    input; ``a`` (outputs, elements) holds the analytic derivatives of each output's scalar."""
    flat = x.data.reshape(-1)
    outputs = len(a)
    if flat.size <= max_elements:
        elements = range(flat.size)
    else:
        elements = np.sort(rng.choice(flat.size, size=max_elements // 4, replace=False))
    for j in elements:
        original = flat[j]
        flat[j] = original + eps
        plus = value()
        flat[j] = original - eps
        minus = value()
        flat[j] = original
        numeric = (plus - minus) / (2 * eps)
        k = _first_miss(a[:, j], numeric, atol, rtol)
        if k is not None:
            element = np.unravel_index(j, x.shape) if x.ndim else ()
            which = f"output {k}, " if outputs > 1 else ""
            raise GradcheckError(
                f"gradcheck: {which}input {i}, element {tuple(int(e) for e in element)}: "
                f"analytic gradient {a[k, j]:.10g} but numeric {numeric[k]:.10g} "
                f"(atol={atol}, rtol={rtol}; both of sum(v * output) with random weights v, "
                "so they are scaled by v)")
    if flat.size > max_elements:
        original = flat.copy()
        for d in range(4):
            direction = rng.standard_normal(flat.size)
            direction /= np.linalg.norm(direction)
            flat[:] = original + eps * direction
            plus = value()
            flat[:] = original - eps * direction
            minus = value()
            flat[:] = original
            numeric = (plus - minus) / (2 * eps)
            directional = a @ direction
            k = _first_miss(directional, numeric, atol, rtol)
            if k is not None:
                which = f"output {k}, " if outputs > 1 else ""
                raise GradcheckError(
                    f"gradcheck: {which}input {i}, random direction {d}: analytic directional "
                    f"derivative {directional[k]:.10g} but numeric {numeric[k]:.10g} "
                    f"(atol={atol}, rtol={rtol})")


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0,
                  max_elements=1000):
    """Check second derivatives: ``gradcheck`` of x, v -> d(sum(fn(x) * v))/dx.

    The gradient is built with ``create_graph=True``; the weights v (``grad_outputs``, random
    float64 when not given) are checked as inputs too, as in torch.
    """
    inputs = _as_tuple(inputs)
    diff = _check_inputs(inputs, "gradgradcheck")
    rng = np.random.default_rng(seed + 1)
    with autograd.enable_grad():
        outs = _outputs(fn, inputs)
    if grad_outputs is None:
        grad_outputs = [Tensor(rng.standard_normal(o.shape), requires_grad=True) for o in outs]
    grad_outputs = list(_as_tuple(grad_outputs))
    n = len(inputs)

    def first_derivative(*args):
        xs, vs = args[:n], args[n:]
        # gradcheck evaluates this under no_grad for its finite differences, but the inner
        # gradient always needs a graph.
        with autograd.enable_grad():
            outs = _outputs(fn, xs)
            scalar = None
            for o, v in zip(outs, vs):
                term = (o * v).sum()
                scalar = term if scalar is None else scalar + term
            grads = autograd.grad(scalar, [xs[i] for i in diff], create_graph=True,
                                  allow_unused=True)
        # An input the first derivative does not reach counts as a zero gradient (as torch):
        # x * 0 keeps it in the graph, so every output depends on the inputs.
        return tuple(g if g is not None else xs[i] * 0.0 for i, g in zip(diff, grads))

    return gradcheck(first_derivative, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, seed=seed, max_elements=max_elements)
