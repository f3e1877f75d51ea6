"""Module backward hooks: ``register_full_backward_hook`` and ``register_full_backward_pre_hook``.

torch's semantics: a pre-hook ``hook(module, grad_output)`` runs when the gradients of the
module's outputs are known and may replace them; a hook ``hook(module, grad_input,
grad_output)`` runs when the gradients of its positional inputs are known and may replace
those. The gradients of one call must reach a hook together, so a call whose module has such
hooks packs its positional inputs that require grad into one flat tensor (one graph node, whose
backward sees all their gradients at once) and hands the forward slices of it; its outputs are
packed the same way. The module therefore computes on copies of its inputs, views of the pack:
an in-place op recorded on one raises, as torch's hooked inputs do. Only top-level tensors
count (an output tuple's tensors, not those in a nested tuple), as in torch.

An output the loss does not use gets None in ``grad_output``, and nothing flows back from it
(each output's slice notes when its gradient arrives: ``_Part``), as in torch; an input the
module does not use gets zeros in ``grad_input``, as in torch. The hooks that run are those
registered when the module was called (torch's snapshot).

Where it differs from torch: the inputs (and the outputs) that require grad must share one
dtype (a NotImplementedError says so; torch hooks mixed dtypes); a hook may return a bare
tensor for a one-entry tuple, and a replacement of another dtype is cast (torch raises).
"""
import math

import numpy as np

from tinydl.autograd import Function, is_grad_enabled
from tinydl.tensor import Tensor


class _Pack(Function):
    """Tensors flattened into one 1-D array. Backward splits the gradient into one per tensor,
    hands them to ``on_grad`` and sends on the gradients it returns (None: none)."""

    retain_inputs = ()
    retain_output = False
    hook_pack = True  # (Tensor's in-place error names the hooks for views of this)

    @staticmethod
    def forward(ctx, on_grad, *arrays):
        ctx.on_grad = on_grad
        ctx.shapes = [a.shape for a in arrays]
        return np.concatenate([a.reshape(-1) for a in arrays])

    @staticmethod
    def backward(ctx, g):
        grads = _split(g, ctx.shapes)
        return (None,) + tuple(ctx.on_grad(grads))


def _split(packed, shapes):
    """``packed`` (a 1-D Tensor) cut into tensors of ``shapes``, in order (differentiable)."""
    parts, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        parts.append(packed[start:start + size].reshape(shape))
        start += size
    return parts


class _Part(Function):
    """One output's slice of the outputs' pack (a view of it). Its backward adds ``index`` to
    the set ``arrived``: the pack's backward then knows which outputs got a gradient."""

    view = True
    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, packed, start, shape, arrived, index):
        size = math.prod(shape)
        ctx.start, ctx.stop, ctx.length = start, start + size, packed.shape[0]
        ctx.arrived, ctx.index = arrived, index
        return packed[start:start + size].reshape(shape)

    @staticmethod
    def backward(ctx, g):
        ctx.arrived.add(ctx.index)
        flat = g.reshape(-1)
        if g.requires_grad:  # create_graph: the placement recorded, differentiable again
            from tinydl.ops.shape import concatenate
            zeros = [Tensor._wrap(np.zeros(n, g.dtype)) for n in
                     (ctx.start, ctx.length - ctx.stop)]
            full = concatenate([zeros[0], flat, zeros[1]])
        else:
            full = np.zeros(ctx.length, g.dtype)
            full[ctx.start:ctx.stop] = flat.data
            full = Tensor._wrap(full)
        return full, None, None, None, None


def _one_dtype(tensors, module, what):
    """Refuse ``tensors`` of several dtypes: one pack holds one dtype."""
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        raise NotImplementedError(
            f"{type(module).__name__}: full backward hooks need the {what} that require grad "
            f"to share one dtype, got {sorted(str(d) for d in dtypes)}; cast them first")


def _checked(result, expected, module, kind):
    """A hook's replacement gradients: a tuple (or list) as long as ``expected``, each None or
    a tensor of the shape of the gradient it replaces."""
    if not isinstance(result, (tuple, list)):
        result = (result,)
    if len(result) != len(expected):
        raise RuntimeError(f"{type(module).__name__}: a full backward {kind} returned "
                           f"{len(result)} gradients, expected {len(expected)}")
    checked = []
    for new, old in zip(result, expected):
        if new is not None:
            if not isinstance(new, Tensor):
                new = Tensor._wrap(np.asarray(new))
            if old is not None and new.shape != old.shape:
                raise RuntimeError(f"{type(module).__name__}: a full backward {kind} returned "
                                   f"a gradient of shape {new.shape} for one of shape "
                                   f"{old.shape}")
            if not is_grad_enabled() and old is not None and new.data is not old.data:
                new = Tensor._wrap(np.array(new.data))  # the hook may keep it: not a .grad's
        checked.append(new)
    return tuple(checked)


class HookedCall:
    """One call of a module with full backward hooks: its inputs and outputs packed, the
    gradients of its outputs kept until those of its inputs arrive."""

    def __init__(self, module, args):
        self.module = module
        self.pre_hooks = list(module._backward_pre_hooks.values())  # as of the call (torch's)
        self.hooks = list(module._backward_hooks.values())
        self.n_args = len(args)
        self.grad_output = None
        self.arrived = set()  # the outputs whose gradient arrived in this pass
        self.positions = [i for i, a in enumerate(args)
                          if isinstance(a, Tensor) and a.requires_grad]
        # torch hands the hook zeros for the other tensor arguments (once any requires grad)
        self.constants = [(i, a.shape, a.dtype) for i, a in enumerate(args)
                          if isinstance(a, Tensor) and not a.requires_grad]

    def inputs(self, args):
        """``args`` with the tensors that require grad replaced by slices of their pack."""
        if not self.positions:
            return args
        tensors = [args[i] for i in self.positions]
        _one_dtype(tensors, self.module, "inputs")
        slices = _split(_Pack.apply(self._input_grads, *tensors), [t.shape for t in tensors])
        args = list(args)
        for i, s in zip(self.positions, slices):
            args[i] = s
        return tuple(args)

    def outputs(self, out):
        """``out`` (a tensor or a tuple) with its tensors that require grad packed; any
        other output (a list, a dict) passes as it is, and the hooks do not run (torch's)."""
        single = isinstance(out, Tensor)
        if not single and not isinstance(out, tuple):
            return out
        values = (out,) if single else out
        self.output_positions = [i for i, v in enumerate(values)
                                 if isinstance(v, Tensor) and v.requires_grad]
        if not self.output_positions:
            return out
        self.n_outputs = len(values)
        tensors = [values[i] for i in self.output_positions]
        _one_dtype(tensors, self.module, "outputs")
        packed = _Pack.apply(self._output_grads, *tensors)
        values, start = list(values), 0
        for i, t in zip(self.output_positions, tensors):
            values[i] = _Part.apply(packed, start, t.shape, self.arrived, i)
            start += math.prod(t.shape)
        if single:
            return values[0]
        return type(out)(*values) if hasattr(out, "_fields") else tuple(values)  # namedtuple

    def _output_grads(self, grads):
        module = self.module
        grad_output = [None] * self.n_outputs
        for i, g in zip(self.output_positions, grads):
            if i in self.arrived:  # (an unused output's share of the pack's gradient is 0)
                grad_output[i] = g
        self.arrived.clear()
        grad_output = tuple(grad_output)
        for hook in self.pre_hooks:
            result = hook(module, grad_output)
            if result is not None:
                grad_output = _checked(result, grad_output, module, "pre-hook")
        self.grad_output = grad_output
        if not self.positions:  # no input requires grad: the hooks run now, as torch's
            grad_input = (None,) * self.n_args
            for hook in self.hooks:
                result = hook(module, grad_input, grad_output)
                if result is not None and any(r is not None for r in (
                        result if isinstance(result, (tuple, list)) else (result,))):
                    raise RuntimeError(
                        f"{type(module).__name__}: a full backward hook of a module none of "
                        "whose inputs requires grad must return None (or only Nones)")
            self.grad_output = None
        return [grad_output[i] for i in self.output_positions]

    def _input_grads(self, grads):
        if self.grad_output is None:
            # Gradients that did not come through this call's outputs in this pass (a
            # second-order pass through the inputs' node, or a backward from a tensor made of
            # the inputs beside the module's outputs): the hooks do not run, as torch's.
            return grads
        module = self.module
        grad_input = [None] * self.n_args
        for i, g in zip(self.positions, grads):
            grad_input[i] = g
        for i, shape, dtype in self.constants:
            grad_input[i] = Tensor._wrap(np.zeros(shape, dtype))
        grad_input = tuple(grad_input)
        for hook in self.hooks:
            result = hook(module, grad_input, self.grad_output)
            if result is not None:
                grad_input = _checked(result, grad_input, module, "hook")
        self.grad_output = None  # used: a later pass runs the hooks only after new ones
        return [grad_input[i] for i in self.positions]
