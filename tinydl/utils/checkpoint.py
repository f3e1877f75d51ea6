"""Activation checkpointing, as ``torch.utils.checkpoint``: ``checkpoint(function, *args)``
keeps none of ``function``'s intermediate values for backward and computes them again when
backward reaches the block; ``checkpoint_sequential`` does it for runs of a ``Sequential``.
Memory falls from every layer's activations to the blocks' outputs plus one block's
activations; the price is a second forward pass.

How it is built, on the existing engine. ``checkpoint`` runs ``function`` once with recording
on, on stand-ins of the tensor arguments (detached leaves), then walks the graph that run
built to find what the block differentiates: the arguments, and the leaves ``function`` reads
by closure (a module's parameters). It keeps the outputs' values and lets that graph go. One
``Checkpoint`` node stands for the whole block, with the arguments and those leaves as its
inputs, so ``backward()`` and ``tinydl.grad`` both reach them. Its backward sets tinydl's
generator back to the state the forward began with (dropout draws the same mask), runs
``function`` again, and returns the gradients of that fresh graph (``tinydl.grad``).

Differences from torch (whose non-reentrant checkpoint hooks into every saved tensor):

* a tensor computed outside the block that requires grad must come in as an argument, not by
  closure (the walk stops at what the block recorded; such a tensor raises, naming its shape);
* a second derivative through the block (``create_graph=True``) raises;
* ``use_reentrant`` is accepted, and both values give the non-reentrant behaviour: keyword
  arguments are passed on, and parameters get gradients even when no argument requires grad;
* an argument that requires grad reaches ``function`` as a copy: an in-place write to it
  inside the block does not reach the caller's tensor, and an output that is the argument
  (or a view of it) is a new tensor, not an alias of it (in torch the write goes through,
  after which its backward raises). Gradients are those of the un-checkpointed run;
* an in-place write into an argument that does not require grad (the input batch, say, by
  ``Dropout(inplace=True)``) raises at once: the recomputation would write it again and
  differentiate the doubly written values (torch raises in backward).

As in torch, side effects of ``function`` run twice (a BatchNorm's running statistics are
updated by the recomputation too), and the recomputation must produce outputs of the same
shapes and dtypes (``determinism_check="default"`` checks it; ``"none"`` does not).
"""
import contextlib

import numpy as np

from tinydl import autograd as _autograd
from tinydl.autograd import Function, enable_grad, grad, is_grad_enabled
from tinydl.ops import astype, copy, getitem, reshape
from tinydl.random import get_generator
from tinydl.tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


def checkpoint(function, *args, use_reentrant=False, preserve_rng_state=True,
               determinism_check="default", **kwargs):
    """``function(*args, **kwargs)``, with its intermediate values recomputed in backward
    instead of kept (torch's ``torch.utils.checkpoint.checkpoint``).

    The outputs may be a Tensor or tuples, lists and dicts of them (other values pass
    through); the Tensor arguments (positional or keyword) and the parameters ``function``
    reads get their gradients as without checkpointing. With ``preserve_rng_state`` (default)
    the recomputation draws the same random numbers as the forward. Under ``no_grad`` it is
    a plain call.
    """
    if use_reentrant not in (None, True, False):
        raise TypeError(f"checkpoint: use_reentrant must be a bool, got {use_reentrant!r}")
    if determinism_check not in ("default", "none"):
        raise ValueError(f"checkpoint: determinism_check must be 'default' or 'none', got "
                         f"{determinism_check!r}")
    unsupported = sorted({"context_fn", "debug", "early_stop"} & set(kwargs))
    if unsupported:  # torch's options; passed on, function would fail on a strange keyword
        raise TypeError(f"checkpoint: tinydl does not support torch's {unsupported} options")
    if not is_grad_enabled():
        return function(*args, **kwargs)
    tensors = _tensors(args, kwargs)
    rng_state = get_generator().bit_generator.state if preserve_rng_state else None
    start = _new_epoch()
    leaves, stand_ins = _stand_ins(tensors)
    run_args, run_kwargs = _substituted(args, kwargs, stand_ins)
    versions = [t._version for t in tensors]
    out = function(*run_args, **run_kwargs)
    flat = list(_leaves(out))
    diff = [i for i, o in enumerate(flat) if isinstance(o, Tensor) and o.requires_grad]
    if not diff:
        return out  # nothing in the block is differentiated: no node, nothing to recompute
    _check_unwritten(tensors, versions)
    params = _closure_leaves([flat[i] for i in diff], leaves, start)
    block = _Block(function, args, kwargs, len(tensors), rng_state, determinism_check,
                   [(flat[i].shape, flat[i].dtype) for i in diff], diff, len(flat))
    values = [flat[i].data for i in diff]
    if len(values) == 1:
        packed = values[0]
        if any(np.may_share_memory(packed, t.data) for t in tensors + params):
            packed = packed.copy()  # (a parameter returned as it is: the node's own array)
    else:
        packed = np.concatenate([v.ravel() for v in values]).astype(np.result_type(*values))
    node = Checkpoint.apply(*tensors, *params, block=block, packed=packed)
    pieces = iter(block.unpacked(node))
    for i in diff:
        flat[i] = next(pieces)
    return _rebuilt(out, iter(flat))  # (the first run's graph goes with out and flat's old)


class _Block:
    """What ``Checkpoint``'s backward needs to run the block again."""

    def __init__(self, function, args, kwargs, n_tensors, rng_state, determinism_check,
                 metas, diff, n_flat):
        self.function = function
        # The Tensor arguments come back from the node's inputs (held here, they would
        # outlive it): the call keeps a slot for each.
        self.args, self.kwargs = _substituted(args, kwargs, [_SLOT] * n_tensors)
        self.n_tensors = n_tensors
        self.rng_state = rng_state
        self.determinism_check = determinism_check
        self.metas = metas  # (shape, dtype) of each differentiable output
        self.diff = diff  # their positions among the flattened outputs
        self.n_flat = n_flat

    def call(self, tensors):
        args, kwargs = _substituted(self.args, self.kwargs, tensors)
        return self.function(*args, **kwargs)

    def unpacked(self, packed):
        """The differentiable outputs from the node's one output (their values, one after
        the other, when there are several)."""
        if len(self.metas) == 1:
            return [packed]
        pieces, offset = [], 0
        for shape, dtype in self.metas:
            size = int(np.prod(shape, dtype=np.int64))
            piece = reshape(getitem(packed, slice(offset, offset + size)), shape)
            pieces.append(piece if piece.dtype == dtype else astype(piece, dtype))
            offset += size
        return pieces

    def gradients(self, g):
        """The gradient of each differentiable output, from that of the node's output."""
        if len(self.metas) == 1:
            return [g]
        out, offset = [], 0
        for shape, dtype in self.metas:
            size = int(np.prod(shape, dtype=np.int64))
            out.append(Tensor._wrap(g.data[offset:offset + size].reshape(shape).astype(dtype)))
            offset += size
        return out


class Checkpoint(Function):
    """The node standing for a checkpointed block: inputs are the block's Tensor arguments
    and the leaves it reads by closure, the output its differentiable outputs' values
    (``_Block.unpacked`` splits them). Backward runs the block again and differentiates it.
    The inputs' values are retained (the recomputation reads them); an in-place change to one
    before backward raises there, as for any op."""

    retain_output = False

    @staticmethod
    def forward(ctx, *arrays, block, packed):
        ctx.block = block
        return packed

    @staticmethod
    def backward(ctx, g):
        block = ctx.block
        if is_grad_enabled():
            raise RuntimeError(
                "checkpoint: a second derivative through a checkpointed block "
                "(create_graph=True) is not supported in tinydl; call the function without "
                "checkpoint where you need it")
        tensors = ctx.inputs[:block.n_tensors]
        params = ctx.inputs[block.n_tensors:]
        with enable_grad(), _generator_state(block.rng_state):
            leaves, stand_ins = _stand_ins(tensors)
            flat = list(_leaves(block.call(stand_ins)))
        outputs = _recomputed(flat, block)
        targets = [t for t in leaves + list(params) if t.requires_grad]
        found = grad(outputs, targets, grad_outputs=block.gradients(g), allow_unused=True)
        by_id = dict(zip(map(id, targets), found))
        return tuple(by_id.get(id(t)) for t in leaves + list(params))


def _recomputed(flat, block):
    """The differentiable outputs of the recomputation, checked against the forward's."""
    outputs = [flat[i] if i < len(flat) else None for i in block.diff]
    for k, (out, (shape, dtype)) in enumerate(zip(outputs, block.metas)):
        if not (isinstance(out, Tensor) and out.requires_grad):
            raise RuntimeError(
                f"checkpoint: output {block.diff[k]} of the recomputed block is not a Tensor "
                "that requires grad, though the forward's was; the block must compute the "
                "same on its second run")
        if block.determinism_check == "default" and (len(flat) != block.n_flat
                                                      or (out.shape, out.dtype) != (shape,
                                                                                    dtype)):
            raise RuntimeError(
                f"checkpoint: the recomputed block gave output {block.diff[k]} of shape "
                f"{out.shape} and dtype {out.dtype} ({len(flat)} outputs) where the forward "
                f"gave {shape} and {dtype} ({block.n_flat} outputs); the block must compute "
                "the same on its second run (a random draw outside tinydl's generator? a "
                "module switched between train and eval?). determinism_check='none' skips "
                "this check")
    return outputs


# ----------------------------------------------------------------------------- helpers
def _check_unwritten(tensors, versions):
    """Raise if the block wrote in place into a Tensor argument that does not require grad
    (those that do reach it as copies): backward would run the block again on the written
    values, write them a second time, and give wrong gradients (torch raises in backward)."""
    for t, version in zip(tensors, versions):
        if t._version != version:
            raise RuntimeError(
                f"checkpoint: the function wrote in place into its argument of shape "
                f"{t.shape} (an op such as mul_ or Dropout(inplace=True)); backward runs the "
                "function again on the written values, so its gradients would be wrong. "
                "Write out of place, or clone the argument first inside the function "
                "(x = x.clone())")


def _tensors(args, kwargs):
    return [a for a in args if isinstance(a, Tensor)] + [
        v for v in kwargs.values() if isinstance(v, Tensor)]


_SLOT = object()  # where a Tensor argument goes in a _Block's call


def _substituted(args, kwargs, tensors):
    """``args`` and ``kwargs`` with their Tensors (or slots), in order, replaced by
    ``tensors``."""
    it = iter(tensors)

    def put(a):
        return next(it) if isinstance(a, Tensor) or a is _SLOT else a

    new_args = tuple(put(a) for a in args)
    return new_args, {k: put(v) for k, v in kwargs.items()}


def _stand_ins(tensors):
    """``(leaves, stand_ins)``: a detached leaf per Tensor argument (requiring grad where the
    argument does), and what the block runs on: a copy of each leaf that requires grad (so
    an in-place op in the block, ``relu_``, is recorded instead of refused on a leaf), the
    argument itself otherwise."""
    leaves = [t.detach().requires_grad_(t.requires_grad) for t in tensors]
    return leaves, [copy(t) if t.requires_grad else t for t in leaves]


def _new_epoch():
    """Begin a new epoch of the engine's count of in-place writes and return it: every node
    recorded from now on has ``ctx.epoch`` at least this, every node recorded before a smaller
    one. (Bumping the version of a fresh scratch tensor is a write nobody else sees.) That is
    how the walk tells the block's nodes from those of tensors it reads by closure."""
    _autograd.bump_version(Tensor._wrap(np.empty(0)))
    return _autograd._inplace_epoch


def _closure_leaves(outputs, leaves, start):
    """The leaves that require grad reached from ``outputs`` through the block's nodes,
    other than ``leaves`` (the arguments' stand-ins): the parameters the block reads."""
    own = {id(t) for t in leaves}
    found, seen = [], set()
    stack = list(reversed(outputs))
    while stack:
        t = stack.pop()
        ctx = t._ctx
        key = id(ctx) if ctx is not None else id(t)
        if key in seen:
            continue
        seen.add(key)
        if ctx is None:
            if key not in own:
                found.append(t)
            continue
        if ctx.epoch < start:
            raise RuntimeError(
                f"checkpoint: the function reads a tensor of shape {t.shape} that requires "
                "grad and was computed outside it (by closure, or inside a container "
                "argument); tinydl can only follow such a tensor as a direct argument: pass "
                "it to checkpoint(function, ..., that_tensor)")
        for inp in reversed(ctx.inputs or ()):
            if isinstance(inp, Tensor) and inp.requires_grad:
                stack.append(inp)
    return found


def _leaves(obj):
    """The values in a nest of tuples, lists and dicts, depth first."""
    if isinstance(obj, (tuple, list)):
        for item in obj:
            yield from _leaves(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _leaves(item)
    else:
        yield obj


def _rebuilt(obj, values):
    """``obj``'s nest with its values taken, in ``_leaves`` order, from ``values``."""
    if isinstance(obj, (tuple, list)):
        items = [_rebuilt(item, values) for item in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else type(obj)(items)
    if isinstance(obj, dict):
        return type(obj)((k, _rebuilt(v, values)) for k, v in obj.items())
    return next(values)


@contextlib.contextmanager
def _generator_state(state):
    """Run with tinydl's generator at ``state`` (None: as it is), then put back the state it
    had, so the recomputation neither changes nor is changed by the draws made since."""
    if state is None:
        yield
        return
    generator = get_generator()
    now = generator.bit_generator.state
    generator.bit_generator.state = state
    try:
        yield
    finally:
        generator.bit_generator.state = now


def checkpoint_sequential(functions, segments, input, use_reentrant=False,  # noqa: A002
                          **kwargs):
    """Run ``functions`` (a ``Sequential`` or a list of callables) on ``input`` in
    ``segments`` runs of ``len // segments`` each, checkpointing all but the last run (its
    values are needed at once by backward anyway), as torch's ``checkpoint_sequential``.
    ``kwargs`` (``preserve_rng_state``...) go to ``checkpoint``."""
    if hasattr(functions, "children"):
        functions = list(functions.children())
    functions = list(functions)
    if not isinstance(segments, int) or not 1 <= segments <= max(len(functions), 1):
        raise ValueError(f"checkpoint_sequential: segments must be an int in [1, "
                         f"{len(functions)}] (the number of functions), got {segments!r}")
    size = len(functions) // segments
    end = 0
    for start in range(0, size * (segments - 1), size):
        end = start + size
        input = checkpoint(_run(functions[start:end]), input, use_reentrant=use_reentrant,
                           **kwargs)
    return _run(functions[end:])(input)


def _run(functions):
    def run(x):
        for f in functions:
            x = f(x)
        return x
    return run
