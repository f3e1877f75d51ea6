"""Reverse-mode automatic differentiation: ``Function`` and its ``ctx``, the backward engine,
``grad()``, the grad-mode flag (its switches, ``no_grad`` and friends, are in
``tinydl/grad_mode.py`` and re-exported here) and the in-place version counters.

How a graph is built. ``Op.apply(*args)`` runs ``Op.forward(ctx, *arrays)`` on plain NumPy
arrays and wraps the result in a Tensor. When grad mode is on and some input requires a
gradient, the output remembers ``ctx``; ``ctx`` remembers the op and its inputs. That is the
whole graph: Tensor -> ctx -> input Tensors -> their ctx ... There are no back-pointers from a
ctx to its output (only a weak reference), so the graph has no reference cycles and is freed
by reference counting alone.

How backward runs. ``_run_backward`` sorts the graph topologically with an explicit stack (no
recursion, so a chain of 100,000 ops is fine), then visits nodes from the output towards the
leaves in a deterministic order, calling each op's ``backward`` with the summed gradient of
its output. ``backward`` is written with tinydl ops (the needle/HIPS-autograd idea), so when
``create_graph=True`` the gradient computation itself is recorded and can be differentiated
again. Unless ``retain_graph=True``, every visited ctx drops its inputs and saved arrays
afterwards.

What a node keeps. Each op declares the input values its backward reads (``retain_inputs``)
and whether it reads its output (``retain_output``). An input it does not read is kept as an
``_Edge``: the node that made it, its shape and dtype, no array; gradients are summed per
node, so a tensor and the edges standing for it share one sum.

In-place writes. A tensor's version counter counts the in-place writes to its array, and a
process-wide count of in-place writes (the one other piece of global state, beside the grad
mode flag) lets backward check each node with one comparison when nothing was written.

This module is longer than 500 lines because the Function/ctx protocol, the backward
engine and ``grad()`` share their bookkeeping (retention, version checks, hooks); apart,
a reader would follow one backward pass across files.
"""
import functools
import inspect
import threading
import weakref

import numpy as np

from tinydl import threads
from tinydl.tensor import Tensor


class _GradMode(threading.local):
    """Whether ops are recorded, per thread as in torch: a ``no_grad`` block in one thread
    (an evaluation, a data-loading thread) leaves the ops another thread runs recorded.
    The class attribute is each new thread's start: recording on."""

    enabled = True


_grad_mode = _GradMode()

# How many in-place writes have happened in this process. Each node remembers the count at
# its forward and each tensor's version counter the count at its last write, so backward can
# tell "changed since" with one comparison per node when nothing was written in place.
_inplace_epoch = 0

# The active ``tinydl.profiler.profile``, or None. Backward asks it to time each node; the
# forward side needs no check here, because the profiler swaps ``Function.apply`` itself.
_profiler = None


def version_counter(t):
    """``t``'s version counter ``[version, epoch of the last write]``, created on first use."""
    vc = t._vc
    if vc is None:
        vc = t._vc = [0, 0]
    return vc


def bump_version(t):
    """Record an in-place write to ``t``'s array (and so to every tensor that views it)."""
    global _inplace_epoch
    _inplace_epoch += 1
    vc = version_counter(t)
    vc[0] += 1
    vc[1] = _inplace_epoch


def is_grad_enabled():
    """Return True when operations are being recorded for differentiation (in this thread)."""
    return _grad_mode.enabled


def _set_grad_mode(mode):
    previous = _grad_mode.enabled
    _grad_mode.enabled = bool(mode)
    return previous


class RemovableHandle:
    """Returned by every ``register_*hook``; ``remove()`` unregisters the hook (from ``hooks``
    and from the dicts of per-hook options in ``extra``), also as a context manager."""

    _next_id = 0

    def __init__(self, hooks, extra=()):
        self._hooks = hooks
        self._extra = extra
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self):
        self._hooks.pop(self.id, None)
        for options in self._extra:
            options.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _run_hooks(hooks, g, t):
    """Pass ``g`` through ``hook(grad)`` in registration order; a non-None result replaces it."""
    for hook in list(hooks.values()):
        result = hook(g)
        if result is None:
            continue
        if not isinstance(result, Tensor):
            result = Tensor._wrap(np.asarray(result, dtype=g.dtype))
        if result.shape != g.shape:
            raise RuntimeError(f"register_hook: a hook on a tensor of shape {t.shape} returned a "
                               f"gradient of shape {result.shape}; it must keep the shape")
        if result.dtype != g.dtype:
            # Upstream ops and .grad would take the other dtype (an int64 gradient truncated).
            raise RuntimeError(f"register_hook: hook {getattr(hook, '__name__', hook)!r} changed "
                               f"the gradient's dtype from {g.dtype} to {result.dtype} (tensor "
                               f"of shape {t.shape}); it must keep the dtype, as in torch")
        g = result
    return g


class Context:
    """What a ``Function`` keeps between its forward and its backward.

    ``ctx.inputs`` holds the positional arguments of ``apply`` (Tensors stay Tensors; set
    before ``forward`` runs, so ``ctx.needs_input_grad`` can be read there, as in torch),
    ``ctx.output`` the output Tensor, ``ctx.saved_tensors`` whatever ``save_for_backward`` was
    given. Ops may set any other attribute in ``forward`` (shapes, axes, masks).
    ``ctx.records`` is already set when ``forward`` runs: True when the graph will keep this
    node (grad mode is on and an input requires grad), so a forward can tell whether what it
    would save for ``backward`` is ever used.
    """

    inputs = None
    fn = None
    _saved = None
    _out = None
    released = False
    records = False
    retains_grad = False  # set when the output calls retain_grad()
    consumed = False  # set when a recorded op takes the output as an input
    epoch = 0
    hooks = None  # the output's gradient hooks (Tensor.register_hook on a non-leaf)

    def save_for_backward(self, *values):
        """Keep arrays or Tensors for ``backward``; they come back through ``saved_tensors``."""
        self._saved = values

    def mark_non_differentiable(self, *outputs):
        """torch's: the output gets no gradient (an index, a count): it does not require grad
        and backward never runs for it. (A tinydl Function has one output.)"""
        self._non_differentiable = True

    def set_materialize_grads(self, value):
        """torch's switch for undefined output gradients: a tinydl Function has one output, whose
        gradient backward always gets, so there is nothing to materialise."""
        if not isinstance(value, bool):
            raise TypeError(f"set_materialize_grads: expected a bool, got {type(value).__name__}")

    def mark_dirty(self, *inputs):
        raise RuntimeError(
            "mark_dirty: tinydl's custom Functions may not write into their inputs (forward "
            "gets read-only views of them, so that values other nodes saved stay as they "
            "were); return a new array instead")

    @property
    def saved_tensors(self):
        """The saved values as Tensors, connected to the graph where possible.

        An array that is the data of an input or of the output comes back as that Tensor (so
        a backward written with tinydl ops stays differentiable); any other array comes back
        as a constant Tensor.
        """
        if self.released:
            raise RuntimeError(_RELEASED_MESSAGE)
        if self._saved is None:
            return ()
        out = self.output
        saved_inputs = self.__dict__.get("_saved_inputs")
        result = []
        for k, value in enumerate(self._saved):
            if isinstance(value, Tensor) or value is None:
                result.append(value)
                continue
            match = None
            if saved_inputs is not None:  # a custom Function's (_run_custom_forward)
                position = saved_inputs[k]
                if position is not None and type(self.inputs[position]) is not _Edge:
                    match = self.inputs[position]
            else:
                for inp in self.inputs:
                    if isinstance(inp, Tensor) and type(inp) is not _Edge and inp.data is value:
                        match = inp
                        break
            if match is None and out is not None and out.data is value:
                match = out
            result.append(match if match is not None else Tensor._wrap(np.asarray(value)))
        return tuple(result)

    @property
    def output(self):
        """The Tensor this op produced (alive for as long as the graph that uses it)."""
        return self._out() if self._out is not None else None

    @property
    def needs_input_grad(self):
        """One bool per positional input: does it need a gradient?"""
        return tuple(isinstance(a, Tensor) and a.requires_grad and not _promoted_later(a, self)
                     for a in self.inputs)

    def release(self):
        """Drop inputs and saved values; a second backward through this node then fails."""
        fn = self.fn
        self.__dict__.clear()
        self.fn = fn
        self.released = True


_RELEASED_MESSAGE = (
    "backward: trying to backward through the graph a second time (or to use saved values "
    "after they were freed). Pass retain_graph=True to the first backward() or grad() call "
    "if you need to backward through the graph again.")


class Function:
    """Base class of every differentiable op, built-in or custom (as ``torch.autograd.Function``).

    Subclass with two static methods:

    * ``forward(ctx, *args, **kwargs)`` receives NumPy arrays where ``apply`` got Tensors
      (other arguments unchanged) and returns one ndarray; it runs with gradient recording
      off, as torch's. A Function defined outside tinydl gets read-only views there: a write
      into an input would change values other nodes saved for backward (tinydl has no
      ``mark_dirty``), so it raises;
    * ``backward(ctx, grad)`` receives the gradient of the output as a Tensor and returns one
      gradient per positional input (a Tensor, ``None`` for inputs that get no gradient, or an
      ndarray, which is treated as a constant). Write it with tinydl ops so that
      ``create_graph=True`` can differentiate it again.

    torch 2's style works too: ``forward(*args)`` without ``ctx`` beside
    ``setup_context(ctx, inputs, output)``, which gets the values forward got (arrays for
    Tensor inputs) and its output, and saves what backward needs.

    torch's helpers work as ported code calls them: ``ctx.mark_non_differentiable(out)`` (the
    output gets no gradient), ``ctx.set_materialize_grads(False)`` (nothing to do: the one
    output's gradient is always given) and ``@once_differentiable`` on ``backward``
    (``tinydl.autograd.once_differentiable``: a second derivative raises rather than come out
    constant); ``ctx.mark_dirty`` raises (forward may not write its inputs).

    Call it as ``MyOp.apply(*args, **kwargs)``. A custom Function given a Tensor by keyword
    (``apply(x, s=t)``) binds it to forward's parameter, as torch does: it is then an input
    like the positional ones, and backward returns its gradient in that parameter's place.
    ``backward`` may return extra trailing ``None``s, but not extra gradients.

    Each op declares what its ``backward`` reads (Chainer's ``retain_inputs`` /
    ``retain_outputs``), so a reader sees a node's memory beside its formula:

    * ``retain_inputs``: ``True`` (every input's value, the default) or a tuple of the
      positional indices whose values backward reads, ``()`` for none. An input not retained
      stays a graph edge, but backward may read only its ``shape``, ``dtype``, ``ndim`` and
      ``requires_grad``.
    * ``retain_output``: whether backward reads ``ctx.output``'s value (default True).
    * ``view``: True for ops whose output may share its array with the first input (reshape,
      transpose...): the two then share a version counter. The output of a Function defined
      outside tinydl that is not a view is copied where it shares an input's memory
      (``_apply_custom``).

    A retained value that is overwritten in place before backward makes backward raise
    (torch's version counter); nothing else is refused.
    """

    retain_inputs = True
    retain_output = True
    view = False
    _custom = False  # defined outside tinydl (set by __init_subclass__)
    _setup_style = False  # a custom Function in torch 2's style (setup_context)

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A view op's output shares its first input's version counter; a custom Function's
        # output must not alias its inputs (_apply_custom). Only those pay for it: they get an
        # apply that adds it, the hot path of tinydl's own ops stays lean.
        if "apply" not in cls.__dict__:
            inherited = getattr(cls.apply, "__func__", None)
            if cls.view:
                wanted = _apply_view
            elif cls.__module__.partition(".")[0] != "tinydl":
                wanted = _apply_custom
                cls._custom = True
                cls._setup_style = _defines_setup_context(cls)
                if cls._setup_style:
                    # torch 2's style: the forward found through the inheritance order (its
                    # tinydl wrappers taken off), wrapped for this class, so that the
                    # setup_context called is the one this class resolves to (a subclass's
                    # or a mixin's override), as in torch
                    forward = _user_forward(cls)
                    if forward is not None:
                        cls.forward = _without_grad(_with_setup_context(cls, forward))
                elif "forward" in cls.__dict__:
                    cls.forward = _without_grad(cls.__dict__["forward"])
            else:
                wanted = None
            if wanted is not None and inherited is not wanted:
                cls.apply = classmethod(wanted)
            elif wanted is None and inherited in (_apply_view, _apply_custom):
                cls.apply = classmethod(Function.__dict__["apply"].__func__)

    @classmethod
    def apply(cls, *args, **kwargs):
        # This runs once per op: every attribute lookup here shows in bench_overhead.
        ctx = Context()
        ctx.inputs = args  # already in forward, for ctx.needs_input_grad (as torch)
        arrays = []
        records = large_non_leaf = False
        if _grad_mode.enabled:
            for a in args:
                if isinstance(a, Tensor):
                    data = a.data
                    arrays.append(data)
                    if a._requires_grad:
                        records = True
                        producer = a._ctx
                        if producer is not None:
                            producer.consumed = True  # see Tensor._inplace
                            # only such an input can become an _Edge (see _drop_unretained)
                            if data.nbytes >= _EDGE_MIN_BYTES:
                                large_non_leaf = True
                else:
                    arrays.append(a)
            if records:
                ctx.records = True
        else:
            for a in args:
                arrays.append(a.data if isinstance(a, Tensor) else a)
        data = cls.forward(ctx, *arrays, **kwargs)
        if type(data) is not np.ndarray:
            if isinstance(data, (tuple, list)):
                # np.asarray would stack the outputs into one tensor, silently.
                raise TypeError(f"{cls.__name__}.forward returned a {type(data).__name__}: a "
                                "tinydl Function has one output (an array); compute several "
                                "outputs with one Function each")
            data = np.asarray(data)
        # Tensor._wrap, inlined (one Python call less per op).
        out = object.__new__(Tensor)
        out._data = data
        out._grad = None
        out._retains_grad = False
        out._vc = None
        out._hooks = None
        if records and data.dtype.kind in "fc":  # an integer or bool result has no gradient
            out._requires_grad = True
            out._ctx = ctx
            ctx.fn = cls
            if large_non_leaf and cls.retain_inputs is not True:
                ctx.inputs = _drop_unretained(args, cls.retain_inputs)
            ctx._out = weakref.ref(out)
            if _inplace_epoch:  # Context.epoch is 0 until some in-place op has run
                ctx.epoch = _inplace_epoch
        else:
            out._requires_grad = False
            out._ctx = None
        return out


def _apply_view(cls, *args, **kwargs):
    """``Function.apply`` for ops declared ``view = True``: the output shares the version
    counter of the first input, whose array it may share."""
    out = Function.apply.__func__(cls, *args, **kwargs)
    # Only a real view shares the counter: a copy (advanced indexing, a reshape that had to
    # copy) is written without touching what the input's consumers saved.
    base = args[0]
    if isinstance(base, Tensor) and np.may_share_memory(out.data, base.data):
        out._vc = version_counter(base)
        out._base = base  # an in-place op on out must not be recorded (Tensor._inplace)
        if not base._requires_grad and _grad_mode.enabled:
            track_view(base, out)
    return out


def _defines_setup_context(cls):
    """Whether a custom Function defines torch 2's ``setup_context`` (itself, a custom base
    or a mixin)."""
    return any("setup_context" in k.__dict__ for k in cls.__mro__ if k is not Function)


def _user_forward(cls):
    """The forward ``cls`` resolves to, as the user wrote it (a staticmethod's function, the
    user's own decorators kept, tinydl's wrappers taken off); None for Function's stub."""
    for k in cls.__mro__:
        if "forward" in k.__dict__:
            forward = k.__dict__["forward"]
            break
    if k is Function:
        return None
    if isinstance(forward, classmethod):
        raise TypeError(f"{cls.__name__}: tinydl takes a staticmethod forward beside "
                        "setup_context (torch also accepts a classmethod)")
    function = forward.__func__ if isinstance(forward, staticmethod) else forward
    return inspect.unwrap(function, stop=lambda f: not getattr(f, "_tinydl_wrapper", False))


def _with_setup_context(cls, function):
    """torch 2's style of custom Function: ``forward(*args)`` without ``ctx``, then
    ``setup_context(ctx, inputs, output)`` saves what backward needs. Run as one forward
    taking ``ctx``: ``inputs`` are the values forward got (arrays for Tensor inputs, as
    tinydl's forward gets them; read-only views), ``output`` what it returned; apply binds
    every parameter of forward, defaults and keywords included, positionally first
    (``_apply_custom``), so ``inputs`` and ``ctx.needs_input_grad`` have one entry each, as
    in torch. (Passed to forward as ``ctx``, they raised "takes 2 positional arguments but 3
    were given".)"""
    @functools.wraps(function)
    def run(ctx, *args, **kwargs):
        out = function(*args, **kwargs)
        cls.setup_context(ctx, args, out)
        return out
    run._tinydl_wrapper = True
    return staticmethod(run)


def _without_grad(forward):
    """A custom Function's ``forward`` as tinydl runs it (``_run_custom_forward``): with
    gradient recording off, as torch runs it, and on read-only views of its Tensor inputs."""
    kind = type(forward) if isinstance(forward, (staticmethod, classmethod)) else staticmethod
    function = forward.__func__ if isinstance(forward, (staticmethod, classmethod)) else forward
    if kind is classmethod:  # stays one
        def run(cls, ctx, *args, **kwargs):
            return _run_custom_forward(function, (cls, ctx), args, kwargs)
    else:
        def run(ctx, *args, **kwargs):
            return _run_custom_forward(function, (ctx,), args, kwargs)
    run = functools.wraps(function)(run)
    run._tinydl_wrapper = True  # (_user_forward unwraps these, and only these)
    return kind(run)


def _run_custom_forward(function, leading, args, kwargs):
    """Call a custom ``forward`` with gradient recording off (tinydl ops it applies to tensors
    that require grad, a closure's weights, record nothing and mark nothing as used by the
    graph), giving it one new read-only view of each Tensor input's array.

    Read-only: a write into an input would change values that other nodes saved for their
    backward without their version check seeing it (torch's in-place write bumps the version
    and its backward raises), so it raises at once, with a note naming the Function. One view
    per input: two inputs sharing one array (``M.apply(x, x.detach())``) stay two arrays, and
    ``saved_tensors`` tells them apart (``ctx._saved_inputs``). The Tensors themselves are
    untouched (another thread may be reading them)."""
    ctx = leading[-1]
    inputs = ctx.inputs if isinstance(ctx, Context) else None
    views = {}
    if inputs is not None:
        args = list(args)
        for i, (inp, array) in enumerate(zip(inputs, args)):
            if isinstance(inp, Tensor) and isinstance(array, np.ndarray):
                view = array.view()
                view.flags.writeable = False
                args[i] = view
                views[id(view)] = i
    with no_grad():
        try:
            out = function(*leading, *args, **kwargs)
        except ValueError as err:
            if "read-only" in str(err) and inputs is not None:
                err.add_note(
                    f"(tinydl: {function.__qualname__} got read-only views of its Tensor inputs: "
                    "a write into one would change values the graph saved for backward, "
                    "unseen. Compute a new array (x = x * 2, or x = x.copy() first); tinydl has "
                    "no ctx.mark_dirty.)")
            raise
    if views and ctx._saved:  # which input each saved view is, for saved_tensors (the views
        # are alive in args, so no other saved object can have one's id)
        ctx._saved_inputs = [views.get(id(value)) for value in ctx._saved]
    return out


def _apply_custom(cls, *args, **kwargs):
    """``Function.apply`` for Functions defined outside tinydl: an output whose array shares
    memory with an input (``forward`` returned its argument, or a NumPy view of it) is copied.

    Left shared, an in-place op on the output would silently change the input, and with it
    the values saved for backward (wrong gradients). A copy makes the output a new tensor, as
    every non-view op's is, so in-place ops on it record normally and gradients stay right;
    torch instead makes it a view and refuses those in-place ops. A Function meant to return
    a view of its first input declares ``view = True``.
    """
    if cls._setup_style:  # every parameter positional: inputs as torch's setup_context gets
        args, kwargs = _bind_keywords(cls, args, kwargs)
    else:
        for value in kwargs.values():
            if isinstance(value, Tensor):
                args, kwargs = _bind_keywords(cls, args, kwargs)
                break
    out = Function.apply.__func__(cls, *args, **kwargs)
    if out._ctx is not None and out._ctx.__dict__.get("_non_differentiable"):
        out._ctx = None  # (ctx.mark_non_differentiable in forward)
        out._requires_grad = False
    data = out.data
    for a in args:
        array = a.data if isinstance(a, Tensor) else a
        if isinstance(array, np.ndarray) and np.may_share_memory(data, array):
            out.data = data.copy()
            break
    return out


def once_differentiable(backward):
    """torch's decorator for a custom Function's ``backward`` written on values that no graph
    follows (NumPy arrays): asked for a second derivative (``create_graph=True``) it raises,
    where the result would otherwise be silently constant. (torch raises when the second
    backward runs; tinydl as soon as the first one is asked to record.)"""

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        if is_grad_enabled():
            fn = getattr(ctx, "fn", None)
            name = fn.__name__ if fn is not None else "this Function"
            raise RuntimeError(
                f"trying to differentiate twice a function that was marked with "
                f"@once_differentiable ({name}.backward); backward with create_graph=True "
                "(or autograd.grad(..., create_graph=True)) needs a backward written in "
                "tinydl ops")
        return backward(ctx, *grads)

    return wrapper


_FORWARD_SIGNATURES = weakref.WeakKeyDictionary()  # custom Function class -> its forward's


def _bind_keywords(cls, args, kwargs):
    """``apply(x, s=t)`` with a Tensor t: bound to ``forward``'s parameters as torch does, so t
    is an input like a positional one (an array in forward, a gradient from backward, the
    entry for its parameter). Passed on as a keyword it would get no gradient, silently."""
    signature = _FORWARD_SIGNATURES.get(cls)
    if signature is None:  # (the user's forward: the wrappers keep it)
        signature = _FORWARD_SIGNATURES[cls] = inspect.signature(cls.forward)
    takes_ctx = not cls._setup_style  # torch 2's style: forward(*args), no ctx
    try:
        # None stands for ctx
        bound = signature.bind(*((None,) if takes_ctx else ()), *args, **kwargs)
    except TypeError as err:
        raise TypeError(f"{cls.__name__}.apply: {err}") from None
    bound.apply_defaults()
    for name, value in bound.kwargs.items():
        if isinstance(value, Tensor):
            raise TypeError(f"{cls.__name__}.apply: the Tensor given as {name}= fills a "
                            "keyword-only parameter of forward, which gets no gradient; make "
                            "it a positional parameter")
    return bound.args[1:] if takes_ctx else bound.args, bound.kwargs


class _Edge(Tensor):
    """A non-leaf input whose value its consumer does not retain: the graph edge, no array.

    It keeps the input's shape and dtype (what a backward that retains nothing may read) and
    the node that made it, so gradients still flow; the array itself can be freed as soon as
    nothing else holds it.
    """

    __slots__ = ("_shape", "_dtype")

    @property
    def data(self):
        raise RuntimeError(f"backward read the value of an input of shape {self._shape} that its "
                           "op does not retain: list that input in the Function's retain_inputs")

    @property
    def shape(self):
        return self._shape

    @property
    def ndim(self):
        return len(self._shape)

    @property
    def dtype(self):
        return self._dtype

    def __repr__(self):
        return f"<graph edge of shape {self._shape}, dtype {self._dtype}>"


# Arrays smaller than this are kept even where their consumer does not read them: freeing
# them saves nothing that matters, and building the edge would cost small ops time.
_EDGE_MIN_BYTES = 1 << 14


def _drop_unretained(args, keep):
    """``args`` with each non-leaf Tensor whose value backward does not read replaced by an
    ``_Edge``. A Tensor whose own op reads it back as ``ctx.output`` stays: its value is kept
    for that op anyway, and this keeps it alive for it."""
    out = args
    for i, a in enumerate(args):
        if type(a) is not Tensor:  # not a tensor, a Parameter (a leaf), or already an edge
            continue
        producer = a._ctx
        if (producer is None or producer.fn.retain_output or i in keep or a._retains_grad
                or a.data.nbytes < _EDGE_MIN_BYTES):
            continue
        edge = object.__new__(_Edge)
        edge._shape = a.data.shape
        edge._dtype = a.data.dtype
        edge._ctx = producer
        edge._requires_grad = True
        edge._grad = None
        edge._retains_grad = False
        edge._vc = None
        edge._hooks = None
        if out is args:
            out = list(args)
        out[i] = edge
    return out if out is args else tuple(out)


def _promoted_later(inp, ctx):
    """Whether ``inp`` was a constant when ``ctx``'s op used it and was made to require grad
    since: by a recorded in-place op (``s = b + w; w.add_(x)``: its producer is newer than
    ``ctx``; a tensor that required grad when used cannot get a new producer, the in-place op
    refuses) or, a leaf, by ``requires_grad_()`` (``s = b * w; w.requires_grad_()``:
    ``note_requires_grad``). As in torch, ``ctx`` sends it no gradient: x's would otherwise
    reach s's graph, and w would get a gradient torch does not give."""
    producer = inp._ctx
    if producer is not None:
        return producer.epoch > ctx.epoch
    return bool(_constant_spans) and _was_constant(inp, ctx)


# Leaves whose requires_grad was switched by requires_grad_() (or the property), for as long
# as they live: id -> the epoch spans [start, end) in which the leaf did not require grad and
# was then switched on; and id -> the epoch at which a leaf was switched off, until it is
# switched on again. An op recorded in such a span used the leaf as a constant.
_constant_spans = {}
_off_since = {}


def note_requires_grad(t, on):
    """Record that leaf ``t`` begins (``on``) or stops requiring grad now, and bump the epoch
    so that ops recorded from now on are newer. Switching on closes a span in which ops used
    it as a constant (``_was_constant``): from its creation, or from being switched off."""
    global _inplace_epoch
    _inplace_epoch += 1
    key = id(t)
    if key not in _constant_spans and key not in _off_since:
        weakref.finalize(t, _forget_switches, key)
    if not on:
        _off_since[key] = _inplace_epoch
        return
    spans = _constant_spans.setdefault(key, [])
    spans.append((_off_since.pop(key, 0), _inplace_epoch))
    if len(spans) > _SPANS_KEPT:  # a GAN switches D off and on every step: keep the recent
        del spans[0]  # ones (a graph recorded that many switches ago is long gone)


_SPANS_KEPT = 16


def _forget_switches(key):
    _constant_spans.pop(key, None)
    _off_since.pop(key, None)


def _was_constant(leaf, ctx):
    """Whether ``leaf`` did not require grad when ``ctx``'s op was recorded, though it does now
    (``x.requires_grad_()`` after the op used x: torch records no edge to it)."""
    spans = _constant_spans.get(id(leaf))
    return spans is not None and any(start <= ctx.epoch < end for start, end in spans)


def track_view(base, view):
    """Note ``view``, a live view of the array of ``base``, a tensor that does not require
    grad, on their shared version counter: a recorded in-place op that later makes ``base``
    require grad refuses while such a view lives (the view would get no gradient; torch
    rebases it). Called in grad mode only: views taken under no_grad (and inside backward)
    are not followed, so that inference and backward do not pay for it."""
    vc = version_counter(base)
    if len(vc) == 2:
        vc.append(weakref.WeakSet())
    vc[2].add(view)


def live_views(t):
    """The live views that ``track_view`` noted on ``t``'s version counter, ``t`` excluded."""
    vc = t._vc
    return [v for v in vc[2] if v is not t] if vc is not None and len(vc) > 2 else []


def _key(t):
    """What gradients are summed under: the node that made a non-leaf (so a tensor and the
    edges standing for it share one sum), the tensor itself for a leaf."""
    ctx = t._ctx
    return id(ctx) if ctx is not None else id(t)


def _check_versions(ctx, out):
    """Refuse to run ``ctx``'s backward when a value it reads was written in place since."""
    fn = ctx.fn
    candidates = []
    kept = fn.retain_inputs
    read = fn.__dict__.get("inputs_read")
    if read is not None:  # which inputs this node's backward reads depends on the node
        kept = read(ctx)
    candidates += [(f"input {i}", t) for i, t in enumerate(ctx.inputs)
                   if isinstance(t, Tensor) and (kept is True or i in kept)]
    if fn.retain_output and out is not None:
        candidates.append(("its output", out))
    saved = ctx.__dict__.get("_saved")
    if saved:  # a custom Function may save tensors that are not its inputs (a closure's W)
        candidates += [(f"saved tensor {i}", t) for i, t in enumerate(saved)
                       if isinstance(t, Tensor)]
    for what, t in candidates:
        vc = t._vc
        if vc is not None and vc[1] > ctx.epoch:
            raise RuntimeError(
                f"backward: one of the values needed for gradient computation has been modified "
                f"by an in-place operation: {what} (shape {t.shape}) of {fn.__name__} is at "
                f"version {vc[0]}, written after this op's forward. Compute the update out of "
                "place (e.g. y = y + 1 instead of y += 1), or do it after backward()")


def _topological_order(roots):
    """Nodes reachable from ``roots`` through tensors that require grad, outputs first.

    Iterative depth-first post-order; inputs are visited in argument order, so the order
    (and with it the floating-point summation order of gradients) is deterministic.
    """
    order = []
    visited = set()
    stack = [(r, _key(r), False) for r in reversed(roots)]
    while stack:
        t, key, expanded = stack.pop()
        if expanded:
            order.append((t, key))
            continue
        if key in visited:
            continue
        visited.add(key)
        stack.append((t, key, True))
        ctx = t._ctx
        if ctx is not None and ctx.inputs is not None:
            for inp in reversed(ctx.inputs):
                if isinstance(inp, Tensor) and inp._requires_grad:
                    inp_ctx = inp._ctx
                    if (inp_ctx.epoch > ctx.epoch if inp_ctx is not None
                            else _constant_spans and _was_constant(inp, ctx)):
                        continue  # a constant when ctx used it (_promoted_later)
                    inp_key = id(inp_ctx) if inp_ctx is not None else id(inp)
                    if inp_key not in visited:
                        stack.append((inp, inp_key, False))
    order.reverse()
    return order


def _run_backward(roots, root_grads, retain_graph, create_graph, capture=None,
                  fill_retained=False):
    """Propagate ``root_grads`` from ``roots`` to the leaves.

    With ``capture`` (a list of Tensors) the gradients of those tensors are returned and no
    ``.grad`` is touched (this is ``grad()``), except, with ``fill_retained``, those of
    non-leaves that called ``retain_grad()`` on the way (``backward(inputs=)``, as torch);
    without it, gradients are accumulated into the ``.grad`` of leaves (and of non-leaves
    that called ``retain_grad()``).
    """
    threads.adapt(step=True)  # the BLAS pool follows the machine's load (see tinydl.threads)
    order = _topological_order(roots)
    # Arrays already stored as some tensor's .grad in this pass, or owned by the caller: a
    # leaf meeting one of them again gets its own copy (torch's AccumulateGrad).
    handed = {id(g.data) for g in root_grads}
    grads = {}
    for r, g in zip(roots, root_grads):
        key = _key(r)
        grads[key] = g if key not in grads else grads[key] + g
    captured = {} if capture is not None else None
    capture_ids = {_key(t) for t in capture} if capture is not None else None
    # grad(): only nodes on a path to the inputs run (torch's rule), so hooks elsewhere do not
    # fire and the rest of the graph keeps its saved values for a later backward.
    needed, feeding = _leading_to(order, capture_ids) if capture is not None else (None, None)
    previous = _set_grad_mode(create_graph)
    try:
        for t, key in order:
            g = grads.pop(key, None)
            if g is None:
                continue
            ctx = t._ctx
            hooks = ctx.hooks if ctx is not None else t._hooks and t._hooks[0]
            if hooks:
                g = _run_hooks(hooks, g, t)
                # A hook may keep the gradient it was given, or return a tensor it holds:
                # that array must not become a .grad that later backwards add into.
                handed.add(id(g.data))
            if capture_ids is not None:
                if key in capture_ids:
                    captured[key] = g
                elif fill_retained and ctx is not None and ctx.retains_grad:
                    out = ctx.output
                    if out is not None and out._retains_grad:
                        _accumulate_grad(out, g, create_graph, handed, grads)
            elif ctx is None:
                _accumulate_grad(t, g, create_graph, handed, grads)
                _post_accumulate_hooks(t)
            elif ctx.retains_grad:
                out = ctx.output  # t may be an edge standing for it
                if out is not None and out._retains_grad:
                    _accumulate_grad(out, g, create_graph, handed, grads)
            if ctx is None:
                continue
            if ctx.released:
                # Before the grad()/inputs= skip below: a freed node keeps no inputs, so
                # whether it leads to the inputs asked for cannot be told, and skipping it
                # silently dropped the gradient through it (torch raises).
                raise RuntimeError(_RELEASED_MESSAGE)
            if feeding is not None and key not in feeding:
                continue
            if ctx.epoch != _inplace_epoch:
                _check_versions(ctx, ctx.output)
            if _profiler is None:
                input_grads = ctx.fn.backward(ctx, g)
            else:
                input_grads = _profiler._time_backward(ctx, g)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            inputs = ctx.inputs
            if len(input_grads) != len(inputs) and (
                    len(input_grads) < len(inputs)
                    or any(ig is not None for ig in input_grads[len(inputs):])):
                # (extra Nones are fine, as in torch; an extra gradient would be dropped)
                raise RuntimeError(
                    f"{ctx.fn.__name__}.backward returned {len(input_grads)} gradients for "
                    f"{len(inputs)} inputs")
            custom = ctx.fn._custom
            for position, (inp, ig) in enumerate(zip(inputs, input_grads)):
                if ig is None:
                    continue
                if not isinstance(inp, Tensor):
                    if custom:  # a gradient in the wrong position would be dropped (torch's error)
                        raise RuntimeError(
                            f"{ctx.fn.__name__}.backward returned a gradient different from "
                            f"None at position {position}, but the input there is not a Tensor "
                            f"({type(inp).__name__})")
                    continue
                if not inp._requires_grad:
                    continue
                if not isinstance(ig, Tensor):
                    ig = Tensor._wrap(np.asarray(ig))
                    if custom:  # an array backward keeps (ctx.d, a global): not .grad's own
                        handed.add(id(ig.data))
                elif custom or (ig.data.base is None and _holds_array(ctx, ig.data)):
                    # A backward that returns an input or a saved tensor (``return w, x``
                    # for x * w), or any array a custom backward may keep (a closure's
                    # tensor): stored as a .grad uncopied, the next backward would add into it.
                    handed.add(id(ig.data))
                if ig.shape != inp.shape:
                    raise RuntimeError(
                        f"{ctx.fn.__name__}.backward returned a gradient of shape {ig.shape} "
                        f"for an input of shape {inp.shape}")
                if ig.dtype != inp.dtype:
                    ig = ig.astype(inp.dtype)
                inp_ctx = inp._ctx
                if (inp_ctx.epoch > ctx.epoch if inp_ctx is not None
                        else _constant_spans and _was_constant(inp, ctx)):
                    continue  # a constant when ctx used it (_promoted_later)
                key = id(inp_ctx) if inp_ctx is not None else id(inp)
                if needed is not None and key not in needed:
                    continue
                prev = grads.get(key)
                grads[key] = ig if prev is None else prev + ig
            if not retain_graph:
                ctx.release()
    finally:
        _set_grad_mode(previous)
    return captured


def _leading_to(order, targets):
    """``(needed, feeding)``: the keys of the nodes in ``order`` (outputs first) from which
    some target is reached through inputs that require grad, the targets included; and of
    those whose own backward must run for it (an input of theirs is needed)."""
    needed, feeding = set(), set()
    for t, key in reversed(order):  # inputs before the nodes that consume them
        ctx = t._ctx
        if ctx is not None and ctx.released:
            # freed by an earlier backward: its inputs are gone, so it may lead to a target;
            # counted as needed, it raises when its gradient arrives (_run_backward)
            needed.add(key)
            feeding.add(key)
        elif ctx is not None and any(isinstance(inp, Tensor) and inp._requires_grad
                                   and not _promoted_later(inp, ctx)
                                   and _key(inp) in needed for inp in ctx.inputs or ()):
            feeding.add(key)
            needed.add(key)
        elif key in targets:
            needed.add(key)
    return needed, feeding


def _holds_array(ctx, array):
    """Whether ``array`` is the data of one of ctx's inputs or saved tensors."""
    for value in ctx.inputs:
        if isinstance(value, Tensor) and type(value) is not _Edge and value.data is array:
            return True
    for value in ctx._saved or ():
        if value is array or isinstance(value, Tensor) and value.data is array:
            return True
    return False


def _flowing(pending, data):
    """Whether ``data`` is also the gradient still on its way to another node (``h + P``:
    Add hands one array to both, and h's producer reads it after P's .grad is stored)."""
    for other in pending.values():
        if other.data is data:
            return True
    return False


def _fresh(data, handed, pending):
    """Whether a gradient array may become a .grad uncopied: it owns its memory, is writable,
    was not handed to another tensor or owned by the caller (``handed``), and is not also on
    its way to another node (``_flowing``). A .grad must be private: a later backward adds
    into it, and hooks (DistributedDataParallel's averaging) may write into it while backward
    still reads the gradient it came from. Under create_graph the same rule keeps a view of
    the caller's grad_outputs from becoming a .grad."""
    return (data.base is None and data.flags.writeable and id(data) not in handed
            and not _flowing(pending, data))


def _accumulate_grad(t, g, create_graph, handed, pending):
    """Add ``g`` into ``t.grad``, keeping every leaf's gradient a private, writable array.

    The first gradient is stored without a copy when its array is fresh (``_fresh``);
    otherwise, e.g. ``a + b`` passing one gradient to both, or a broadcast view from ``sum``,
    it is copied. Later gradients are added in place into a leaf's ``.grad``; a non-leaf's
    retained ``.grad`` is replaced by the sum (torch's retain_grad: a tensor kept from the
    last step stays as it was).
    """
    # Writes the slot behind .grad: g has t's shape and dtype (backward casts each gradient to
    # its input's dtype, _check_roots and _run_hooks check the others), so the checks of the
    # .grad setter would only cost time.
    if create_graph:
        if t._grad is None:
            t._grad = g if _fresh(g.data, handed, pending) else g.copy()
            handed.add(id(t._grad.data))
        else:
            t._grad = t._grad + g
        return
    if t._grad is None:
        data = g.data
        if not _fresh(data, handed, pending):
            data = data.copy()
        handed.add(id(data))
        t._grad = Tensor._wrap(data)
        return
    held = t._grad.data
    if t._ctx is not None:  # a non-leaf's retained .grad: a new tensor, as torch's
        t._grad = Tensor._wrap(held + g.data)
        return
    if held.flags.writeable and held.shape == g.shape and np.can_cast(g.dtype, held.dtype,
                                                                      "same_kind"):
        np.add(held, g.data, out=held, casting="same_kind")
    else:
        t._grad = Tensor._wrap(held + g.data)


def _post_accumulate_hooks(t):
    """Run leaf ``t``'s post-accumulate-grad hooks, now that its ``.grad`` holds the sum."""
    hooks = t._hooks
    if hooks is not None and hooks[1]:
        for hook in list(hooks[1].values()):
            hook(t)


def _check_roots(outputs, grad_outputs, caller):
    roots, root_grads = [], []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Tensor):
            raise TypeError(f"{caller}: output {i} is a {type(out).__name__}, not a Tensor")
        if not out.requires_grad:
            raise RuntimeError(
                f"{caller}: output {i} does not require grad and has no graph (was it computed "
                "under no_grad, or from tensors without requires_grad=True?)")
        if g is None:
            if out.size != 1:
                raise RuntimeError(
                    f"{caller}: grad can be implicitly created only for scalar outputs, but "
                    f"output {i} has shape {out.shape}; pass a gradient of that shape")
            g = Tensor._wrap(np.ones(out.shape, dtype=out.dtype))
        else:
            if not isinstance(g, Tensor):
                g = Tensor._wrap(np.asarray(g, dtype=out.dtype))
            if g.shape != out.shape:
                raise RuntimeError(
                    f"{caller}: gradient of shape {g.shape} given for output {i} of shape "
                    f"{out.shape}")
            if g.dtype != out.dtype:  # as torch: a gradient has its tensor's dtype
                g = g.astype(out.dtype)
        roots.append(out)
        root_grads.append(g)
    return roots, root_grads


def backward(tensor, grad=None, retain_graph=False, create_graph=False, inputs=None):
    """Accumulate d tensor / d leaf into every leaf's ``.grad`` (``Tensor.backward``).

    ``inputs`` (torch's argument): only these tensors' ``.grad`` is accumulated into (a
    non-leaf's too, as torch), and only the part of the graph leading to them runs; the
    other leaves' ``.grad`` stay as they are. A non-leaf that called ``retain_grad()`` on
    that part gets its ``.grad`` too, as in torch.
    """
    roots, root_grads = _check_roots([tensor], [grad], "backward")
    if inputs is None:
        _run_backward(roots, root_grads, retain_graph or create_graph, create_graph)
        return
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not inputs:
        raise RuntimeError("backward: the inputs argument cannot be empty (leave it out to "
                           "accumulate into every leaf)")
    for i, inp in enumerate(inputs):
        if not isinstance(inp, Tensor) or not inp.requires_grad:
            raise RuntimeError(f"backward: inputs[{i}] is not a Tensor that requires grad")
    captured = _run_backward(roots, root_grads, retain_graph or create_graph, create_graph,
                             capture=inputs, fill_retained=True)
    # Every captured array is copied before it becomes a .grad (a later backward adds into
    # a .grad, and one array may have gone to two inputs, or be held by a hook).
    handed = {id(g.data) for g in captured.values()} | {id(g.data) for g in root_grads}
    done = set()
    for inp in inputs:
        key = _key(inp)
        g = captured.get(key)
        if g is None or id(inp) in done:  # not reached: its .grad stays as it is (torch)
            continue
        done.add(id(inp))
        _accumulate_grad(inp, g, create_graph, handed, {})
        if inp._ctx is None:  # (a leaf's: a non-leaf has no post-accumulate hooks)
            _post_accumulate_hooks(inp)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple (``torch.autograd.grad``).

    ``.grad`` attributes are left alone. ``retain_graph`` defaults to ``create_graph``. An input
    that the outputs do not depend on raises, unless ``allow_unused=True`` (then its entry is None).
    """
    single_out = isinstance(outputs, Tensor)
    outputs = [outputs] if single_out else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, inp in enumerate(inputs):
        if not isinstance(inp, Tensor) or not inp.requires_grad:
            raise RuntimeError(f"grad: input {i} is not a Tensor that requires grad")
    if retain_graph is None:
        retain_graph = create_graph
    roots, root_grads = _check_roots(outputs, grad_outputs, "grad")
    captured = _run_backward(roots, root_grads, retain_graph, create_graph, capture=inputs)
    result = []
    for i, inp in enumerate(inputs):
        g = captured.get(_key(inp))
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {inp.shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it")
        if g is not None and not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)


from tinydl.grad_mode import (enable_grad, inference_mode, no_grad,  # noqa: E402,F401
                              set_grad_enabled)


class _ZeroDependence(Function):
    """``g`` as it is, depending on ``anchors`` with derivative zero (``depends_on``)."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, g, *anchors):
        return g

    @staticmethod
    def backward(ctx, grad):
        return (grad,) + tuple(Tensor._wrap(np.zeros(a.shape, a.dtype)) for a in ctx.inputs[1:])


def depends_on(grad, *anchors):
    """``grad``, recorded as depending on ``anchors`` with derivative zero, while a gradient
    is being differentiated (``create_graph``); otherwise ``grad`` itself, at once.

    A gate read off a value (ReLU's ``y > 0``, max pooling's winners, ``sign(x)`` for abs)
    is a constant array, so the gradient it makes did not depend on that value, and a second
    ``grad`` in x (the Hessian of a ReLU network in its input, a penalty's gradient in the
    input) said x was not used. torch's backward formulas take the value as an input
    (``threshold_backward(g, y, 0)``), so its gradient depends on it, with derivative zero,
    and the second derivative is zeros. The ops whose torch formula reads the value tie it
    here: ReLU, hardtanh (ReLU6), threshold, the shrinks, leaky ReLU, PReLU, abs, the 1-norm
    and max pooling 1-3d (adaptive and fractional too, through ``gradient_tied_to``); not
    clamp, max or the rounding ops, whose torch gradients are constants too. An anchor that
    its op did not retain (an ``_Edge``) is stood for by a tensor of its node, without its
    values.
    """
    if not _grad_mode.enabled:
        return grad
    live = []
    for a in anchors:
        if isinstance(a, Tensor) and a._requires_grad:
            if type(a) is _Edge:
                stand = Tensor._wrap(np.broadcast_to(np.zeros((), a._dtype), a._shape), True)
                stand._ctx = a._ctx
                a = stand
            live.append(a)
    if not live:
        return grad
    return _ZeroDependence.apply(grad if isinstance(grad, Tensor) else Tensor._wrap(grad),
                                 *live)


class _GradientTiedTo(Function):
    """``x`` itself (a view); the gradient it passes back is tied to ``anchor``."""

    retain_inputs = ()
    retain_output = False
    view = True

    @staticmethod
    def forward(ctx, x, anchor):
        return x

    @staticmethod
    def backward(ctx, grad):
        return depends_on(grad, ctx.inputs[1]), None


def gradient_tied_to(out, anchor):
    """``out``, whose gradient on its way back is tied to ``anchor`` (``depends_on``): for an
    op built from others (adaptive max pooling: a gather at the winners) whose torch backward
    reads ``anchor``. The identity, one node, only while recording; nothing otherwise."""
    if not (_grad_mode.enabled and isinstance(anchor, Tensor) and anchor._requires_grad):
        return out
    return _GradientTiedTo.apply(out, anchor)
