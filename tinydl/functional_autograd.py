"""``torch.autograd.functional``: ``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``vhp`` and ``hvp``
of a function of tensors, built on ``tinydl.grad`` (reverse mode; second derivatives through
``create_graph=True``).

Reached as ``tinydl.autograd_functional`` and, as torch spells it, ``tinydl.autograd.functional``
(``import tinydl.autograd.functional`` works too: ``tinydl.autograd`` is a module, not a
package, so this module registers itself under that name when tinydl is imported).

The conventions are torch's:

* ``inputs`` is a Tensor or a tuple of Tensors and ``func`` is called as ``func(*inputs)``;
  it returns a Tensor or a tuple of Tensors. Results mirror both: ``jacobian`` of one Tensor
  output with respect to one Tensor input is one Tensor of shape ``out.shape + x.shape``; a
  tuple on one side gives a tuple over it, on both sides a tuple (over outputs) of tuples
  (over inputs), ``J[i][j] = d out_i / d x_j``.
* ``func`` runs on stand-ins of the inputs: leaves that require grad, detached from the
  inputs; with ``create_graph=True``, for an input that requires grad, a differentiable copy
  of it, so the results can be differentiated again with respect to the inputs. Without
  ``create_graph`` the results are detached.
* ``strict=False``: an output that does not depend on an input gives zeros (in the input's
  dtype, as gradients are); ``strict=True`` raises there instead.
* ``vectorize=True`` and ``strategy="forward-mode"`` are accepted (and checked as torch checks
  them), but tinydl has neither ``vmap`` nor forward-mode AD: every Jacobian is computed in
  reverse mode, one backward pass per output element. The values are the same.
* ``jvp`` and ``hvp`` use the double-backward trick: ``u -> J^T u`` is linear in ``u``, so its
  vector-Jacobian product with ``v`` taken with respect to ``u`` is ``J v``.
* The second-order functions differentiate the gradient of a one-element ``func``:
  ``hessian = jacobian(grad f)``, ``vhp(v) = v^T H``, ``hvp(v) = H v`` (equal to ``vhp`` for
  twice continuously differentiable f, whose Hessian is symmetric).
"""
import sys

import numpy as np

from tinydl import autograd as _autograd
from tinydl.autograd import enable_grad, grad
from tinydl.ops import copy, reshape, stack
from tinydl.ops._util import DtypeError, ShapeError
from tinydl.tensor import Tensor

__all__ = ["jacobian", "hessian", "vjp", "jvp", "vhp", "hvp"]


# ----------------------------------------------------------------------------- helpers
def _as_tuple(value, what, fn):
    """``(was_a_tuple, tuple_of_tensors)`` from a Tensor or a tuple of Tensors."""
    if isinstance(value, Tensor):
        return False, (value,)
    if isinstance(value, tuple):
        for i, v in enumerate(value):
            if not isinstance(v, Tensor):
                raise TypeError(f"{fn}: the {what} must be a Tensor or a tuple of Tensors, but "
                                f"the value at index {i} is a {type(v).__name__}")
        return True, value
    raise TypeError(f"{fn}: the {what} must be a Tensor or a tuple of Tensors, got a "
                    f"{type(value).__name__}")


def _stand_ins(inputs, create_graph, fn):
    """What ``func`` runs on: a detached leaf that requires grad per input, or with
    ``create_graph`` a copy in the graph of an input that requires grad (so higher derivatives
    reach it)."""
    out = []
    for i, x in enumerate(inputs):
        if x.dtype.kind != "f":
            raise DtypeError(f"{fn}: input {i} has dtype {x.dtype}; only floating-point inputs "
                             "can be differentiated")
        out.append(copy(x) if create_graph and x.requires_grad
                   else x.detach().requires_grad_(True))
    return tuple(out)


def _outputs(func, xs, fn, strict):
    """``func(*xs)`` as ``(was_a_tuple, outputs)``; with ``strict``, each must require grad."""
    was_tuple, outputs = _as_tuple(func(*xs), "outputs of the user-provided function", fn)
    if strict:
        for i, out in enumerate(outputs):
            if not out.requires_grad:
                raise RuntimeError(
                    f"{fn}: output {i} of the user-provided function does not require "
                    "gradients. With strict=True the outputs must be computed in a "
                    "differentiable manner from the inputs")
    return was_tuple, outputs


def _vector_jacobian(outputs, inputs, vs, create_graph):
    """``sum_i vs[i] . d outputs[i] / d inputs[j]`` for each input j, None where no output
    depends on it; outputs that do not require grad contribute nothing."""
    pairs = [(o, v) for o, v in zip(outputs, vs) if o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return grad([o for o, _ in pairs], list(inputs), grad_outputs=[v for _, v in pairs],
                retain_graph=True, create_graph=create_graph, allow_unused=True)


def _filled(g, like, strict, message):
    """``g``, or zeros shaped as ``like`` where it is None (``strict``: raise ``message``)."""
    if g is not None:
        return g
    if strict:
        raise RuntimeError(message)
    return Tensor._wrap(np.zeros(like.shape, like.dtype))


def _check_v(vs, refs, what, fn):
    """``vs`` must match ``refs`` (the outputs for vjp, the inputs for jvp) in number and
    shapes."""
    if len(vs) != len(refs):
        raise ShapeError(f"{fn}: v is a tuple of invalid length: should be {len(refs)} (one "
                         f"per {what}) but got {len(vs)}")
    for i, (v, ref) in enumerate(zip(vs, refs)):
        if v.shape != ref.shape:
            raise ShapeError(f"{fn}: v has invalid size at index {i}: should be {ref.shape} "
                             f"(the {what}'s shape) but got {v.shape}")


def _single_element_v(v, refs, what, fn):
    """``v`` as a tuple; a None ``v`` stands for 1 when ``refs`` is one one-element tensor."""
    if v is not None:
        return _as_tuple(v, "v", fn)[1]
    if len(refs) != 1 or refs[0].size != 1:
        raise RuntimeError(f"{fn}: the vector v can only be None if the {what} is a single "
                           "Tensor with a single element")
    return (Tensor._wrap(np.ones(refs[0].shape, refs[0].dtype)),)


def _result(tensors, was_tuple, create_graph):
    """A tuple or its one Tensor, detached unless ``create_graph``."""
    if not create_graph:
        tensors = tuple(t.detach() for t in tensors)
    return tuple(tensors) if was_tuple else tensors[0]


def _check_strategy(strategy, vectorize, strict, fn, name="strategy"):
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f"{fn}: {name} must be 'reverse-mode' or 'forward-mode', got "
                         f"{strategy!r}")
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError(f"{fn}: {name}='forward-mode' is only supported with "
                                  "vectorize=True (as in torch)")
    if strict and vectorize:
        raise RuntimeError(f"{fn}: strict=True and vectorize=True are not supported together "
                           "(as in torch); set one of them to False")


# ----------------------------------------------------------------------------- first order
def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian ``J[i][j] = d func(*inputs)[i] / d inputs[j]``, each of shape
    ``out_i.shape + x_j.shape`` (torch's ``autograd.functional.jacobian``; see the module
    docstring for the structure, ``strict`` and ``create_graph``). One backward pass per
    output element, seeded with that element's unit vector."""
    fn = "jacobian"
    _check_strategy(strategy, vectorize, strict, fn)
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn)
        xs = _stand_ins(inputs, create_graph, fn)
        outputs_tuple, outputs = _outputs(func, xs, fn, strict)
        jac = []
        for i, out in enumerate(outputs):
            if not out.requires_grad:  # (strict raised in _outputs) no path: zeros
                jac.append(tuple(_stacked([], out, x) for x in xs))
                continue
            rows = [[] for _ in xs]  # rows[j][k] = d out.flat[k] / d x_j
            for k in range(out.size):
                seed = np.zeros(out.size, out.dtype)
                seed[k] = 1
                seed = Tensor._wrap(seed.reshape(out.shape))
                gs = _vector_jacobian((out,), xs, (seed,), create_graph)
                for j, (g, x) in enumerate(zip(gs, xs)):
                    rows[j].append(_filled(g, x, strict, (
                        f"{fn}: output {i} of the user-provided function is independent of "
                        f"input {j}. This is not allowed in strict mode")))
            jac.append(tuple(_stacked(r, out, x) for r, x in zip(rows, xs)))
    return _nested(jac, outputs_tuple, inputs_tuple, create_graph)


def _stacked(rows, out, x):
    """The rows ``d out.flat[k] / d x`` as one tensor of shape ``out.shape + x.shape`` (zeros
    where there are none)."""
    if not rows:
        return Tensor._wrap(np.zeros(out.shape + x.shape, x.dtype))
    return reshape(stack(rows), out.shape + x.shape)


def _nested(jac, outputs_tuple, inputs_tuple, create_graph):
    """``jac[i][j]`` shaped as torch returns it: tuples where the outputs or inputs were."""
    rows = tuple(_result(row, inputs_tuple, create_graph) for row in jac)
    return rows if outputs_tuple else rows[0]


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), v^T J)``: the vector-Jacobian product, one entry per input
    (torch's ``autograd.functional.vjp``). ``v`` has the outputs' shapes; it may be None
    only when ``func`` returns one one-element Tensor."""
    return _vjp(func, inputs, v, create_graph, strict, "vjp")


def _vjp(func, inputs, v, create_graph, strict, fn):
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn)
        xs = _stand_ins(inputs, create_graph, fn)
        outputs_tuple, outputs = _outputs(func, xs, fn, strict)
        vs = _single_element_v(v, outputs, "output of the user-provided function", fn)
        _check_v(vs, outputs, "output", fn)
        gs = _vector_jacobian(outputs, xs, vs, create_graph)
        result = [_filled(g, x, strict, f"{fn}: the output of the user-provided function is "
                          f"independent of input {j}. This is not allowed in strict mode")
                  for j, (g, x) in enumerate(zip(gs, xs))]
    return (_result(outputs, outputs_tuple, create_graph),
            _result(result, inputs_tuple, create_graph))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), J v)``: the Jacobian-vector product, one entry per output (torch's
    ``autograd.functional.jvp``). ``v`` has the inputs' shapes; it may be None only for one
    one-element input. Computed by the double-backward trick (module docstring)."""
    return _jvp(func, inputs, v, create_graph, strict, "jvp")


def _jvp(func, inputs, v, create_graph, strict, fn):
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn)
        xs = _stand_ins(inputs, create_graph, fn)
        vs = _single_element_v(v, inputs, "input to the user-provided function", fn)
        _check_v(vs, inputs, "input", fn)
        outputs_tuple, outputs = _outputs(func, xs, fn, strict)
        # u -> J^T u, recorded, for a u of each output that can have a gradient.
        us = [Tensor._wrap(np.zeros(o.shape, o.dtype)).requires_grad_(o.requires_grad)
              for o in outputs]
        gs = _vector_jacobian(outputs, xs, us, create_graph=True)
        pairs = []
        for j, g in enumerate(gs):
            if g is None:
                if strict:
                    raise RuntimeError(f"{fn}: the output of the user-provided function is "
                                       f"independent of input {j}. This is not allowed in "
                                       "strict mode")
            elif g.requires_grad:
                pairs.append((g, vs[j]))
        targets = [u for u in us if u.requires_grad]
        jv = dict(zip(map(id, targets), _vector_jacobian(
            [g for g, _ in pairs], targets, [w for _, w in pairs], create_graph)))
        result = [_filled(jv.get(id(u)), o, strict, (
            f"{fn}: output {i} of the user-provided function does not depend on the inputs "
            "along v (the double-backward trick found no path from it to them). This is not "
            "allowed in strict mode")) for i, (u, o) in enumerate(zip(us, outputs))]
    return (_result(outputs, outputs_tuple, create_graph),
            _result(result, outputs_tuple, create_graph))


# ----------------------------------------------------------------------------- second order
def _gradient_function(func, fn, strict, value):
    """``x -> d func(x) / d x`` for a ``func`` returning one one-element Tensor, recorded so it
    can be differentiated again; ``func``'s output is left in ``value[0]``."""
    def gradient(*xs):
        out = func(*xs)
        if not isinstance(out, Tensor):
            raise RuntimeError(f"{fn}: the function should return a single Tensor, got a "
                               f"{type(out).__name__}")
        if out.size != 1:
            raise RuntimeError(f"{fn}: the Tensor returned by the function should contain a "
                               f"single element, got shape {out.shape}")
        if strict and not out.requires_grad:
            raise RuntimeError(f"{fn}: output 0 of the user-provided function does not "
                               "require gradients. With strict=True the outputs must be "
                               "computed in a differentiable manner from the inputs")
        value[:] = [out]
        gs = _vector_jacobian((out,), xs, (Tensor._wrap(np.ones(out.shape, out.dtype)),),
                              create_graph=True)
        result = []
        for j, (g, x) in enumerate(zip(gs, xs)):
            g = _filled(g, x, strict, f"{fn}: the output of the user-provided function is "
                        f"independent of input {j}. This is not allowed in strict mode")
            if strict and not g.requires_grad:
                raise RuntimeError(
                    f"{fn}: while computing the Hessian, found that the gradient of the "
                    f"function with respect to input {j} is independent of the inputs. This "
                    "is not allowed in strict mode (the function must be twice "
                    "differentiable with a gradient that varies, which a linear function's "
                    "does not)")
            result.append(g)
        return tuple(result)

    return gradient


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian ``H[i][j] = d^2 func / d x_i d x_j`` of a ``func`` returning one
    one-element Tensor, each of shape ``x_i.shape + x_j.shape`` (torch's
    ``autograd.functional.hessian``): the Jacobian of its gradient."""
    fn = "hessian"
    _check_strategy(outer_jacobian_strategy, vectorize, strict, fn, "outer_jacobian_strategy")
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn)
    gradient = _gradient_function(func, fn, strict, [])
    jac = jacobian(gradient, inputs, create_graph, strict, vectorize, outer_jacobian_strategy)
    return _nested(jac, inputs_tuple, inputs_tuple, True)  # (already detached by jacobian)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), v^T H)`` for a ``func`` returning one one-element Tensor (torch's
    ``autograd.functional.vhp``): the vector-Jacobian product of its gradient. ``v`` has the
    inputs' shapes; it may be None only for one one-element input."""
    return _second_order(_vjp, func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), H v)`` for a ``func`` returning one one-element Tensor (torch's
    ``autograd.functional.hvp``): the Jacobian-vector product of its gradient, by the
    double-backward trick. Equal to ``vhp`` where the Hessian is symmetric."""
    return _second_order(_jvp, func, inputs, v, create_graph, strict, "hvp")


def _second_order(product, func, inputs, v, create_graph, strict, fn):
    inputs_tuple, checked = _as_tuple(inputs, "inputs", fn)
    if v is None:
        _single_element_v(v, checked, "input to the user-provided function", fn)
    value = []
    _, result = product(_gradient_function(func, fn, strict, value), inputs, v, create_graph,
                        strict, fn)
    if isinstance(result, tuple) and not inputs_tuple:  # jvp's follows the gradient's tuple
        result = result[0]
    return _result(value, False, create_graph), result


# torch's spelling, tinydl.autograd.functional (see the module docstring).
_autograd.functional = sys.modules[__name__]
sys.modules.setdefault("tinydl.autograd.functional", sys.modules[__name__])
