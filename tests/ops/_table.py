"""One op test table: a row declares an op, the factory runs every check that applies to it.

After Chainer's ``FunctionTestCase`` and MyGrad's op-test factory. A row (``OpCase``) names the
op, its inputs (``Arg``: shape, sampler, whether it is differentiable), a NumPy/SciPy reference
and, where torch has the op, the torch call (``SAME`` when ``fn`` runs on torch tensors as
written, as operators do); flags say which checks apply. Each module
``tests/ops/test_<family>.py`` lists the rows of one family of ``tinydl/ops/`` (or of
``nn.functional``) and subclasses ``OpTable``::

    class TestElementwise(OpTable):
        cases = CASES

and the class gets one test per check, parametrized over the rows it applies to (``[name]``
in the test id):

==========================  =================================================================
``test_forward[name-f64]``  forward against the reference (float64: rtol 1e-12); the output
``test_forward[name-f32]``  dtype follows the input (float32 in -> float32 out, float64 ->
                            float64) and backward gives gradients of each input's dtype and
                            shape; float32 compares at rtol 1e-5 with the reference computed
                            in float64 on the float32-rounded inputs
``test_torch[name]``        forward and gradient against torch in float64 (rows with
                            ``torch=``; skipped where torch is not installed)
``test_gradcheck[name]``    ``tinydl.gradcheck`` in float64 (central differences)
``test_gradgradcheck``      ``tinydl.gradgradcheck``: second derivatives, through the graph
                            that ``create_graph=True`` builds
``test_non_contiguous``     every input as a transposed, gapped, negatively strided view: the
                            same output and gradient as contiguous inputs, the views left
                            untouched, and gradcheck on the views
``test_zero_d``             the op on 0-d inputs (rows that define it): forward against the
                            reference, output dtype, gradient shapes, gradcheck
``test_empty``              the op on inputs with a zero-length axis, or giving such outputs
                            (rows that declare those shapes): forward against the reference,
                            gradients of the inputs' shapes
==========================  =================================================================

A new op is one row in its family's module plus its reference formula (in
``tests/_reference.py`` when it is more than a NumPy one-liner). A failing test names the row,
the check and, from ``gradcheck``, the input and element. ``test_table.py`` checks that each
check fails on a deliberately broken op.
"""
import contextlib
import dataclasses
import warnings
import zlib
from typing import Any, Callable

import numpy as np
import pytest

import tinydl as td

try:
    import torch
except ImportError:  # torch is an optional oracle
    torch = None


# ----------------------------------------------------------------------------- samplers
# Each takes (rng, shape) and returns a float64 (or integer / boolean) array.
def normal(rng, shape):
    """Standard normal: for ops smooth everywhere."""
    return rng.standard_normal(shape)


def positive(rng, shape):
    """Uniform on [0.5, 2]: the domain of log, sqrt, bases of powers, divisors."""
    return rng.uniform(0.5, 2.0, shape)


def off_zero(rng, shape):
    """|x| in [0.1, 2] with a random sign: central differences never straddle the kink at 0
    (relu, abs, leaky_relu, elu)."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 2.0, shape)


def uniform(low, high):
    """Uniform on [low, high]."""
    def sample(rng, shape):
        return rng.uniform(low, high, shape)
    return sample


def near(points, spread):
    """One of ``points`` plus uniform noise of half-width ``spread``: keeps samples on both
    sides of a kink (clip bounds, smooth_l1's beta) without touching it."""
    def sample(rng, shape):
        return rng.choice(points, shape) + rng.uniform(-spread, spread, shape)
    return sample


def integers(low, high):
    """int64 uniform on [low, high) (class targets, embedding indices)."""
    def sample(rng, shape):
        return rng.integers(low, high, shape, dtype=np.int64)
    return sample


def fixed(values):
    """Always ``values`` (broadcast to the shape): targets that must hit a given class."""
    def sample(rng, shape):
        return np.broadcast_to(np.asarray(values), shape).copy()
    return sample


def booleans(rng, shape):
    """A random boolean mask (conditions of ``where``)."""
    return rng.random(shape) < 0.5


# ----------------------------------------------------------------------------- rows
SAME = "same expression"  # ``torch=SAME``: the row's ``fn`` runs as written on torch tensors


@dataclasses.dataclass(frozen=True)
class Arg:
    """One input of an op: its shape, how to draw it, and whether gradients flow into it.

    ``grad=False`` inputs (integer targets, boolean masks, constant float targets) are passed
    as Tensors that do not require grad; float ones are cast to the dtype under test.
    """
    shape: tuple
    sample: Callable = normal
    grad: bool = True


@dataclasses.dataclass
class OpCase:
    """One row of the table: ``fn(*Tensors)`` against ``ref(*arrays)`` (and ``torch``).

    ``fn``, ``ref`` and ``torch`` return one result or a tuple/list of results. ``args`` holds
    ``Arg`` s (a bare shape tuple means ``Arg(shape)``). ``zero_d`` and ``empty`` give the
    input shapes of the 0-d and zero-size checks (``zero_d=True``: every input 0-d; ``None`` or
    ``False``: the op does not define that case). ``exact`` rows (shape and index ops) must
    match the reference bit for bit. ``grad=False`` rows have no gradient at all;
    ``gradcheck=False`` rows have one that deliberately is not the derivative (embedding's
    ``padding_idx`` row gets none, as in torch), so only its shape, dtype and agreement with
    torch are checked. ``out_dtype`` fixes the output dtype when it does not follow the input
    (``astype``). ``context`` is entered around every check: the place for switches such as a
    convolution's route (see tests/ops/test_conv.py). ``xfail`` maps a check's test name to
    the known bug that makes it fail (strict: the test fails once the bug is fixed, so the
    entry is removed with the fix).
    """
    name: str
    fn: Callable
    ref: Callable
    args: tuple
    torch: Callable | None = None
    grad: bool = True
    gradcheck: bool = True
    gradgrad: bool = True
    non_contiguous: bool = True
    zero_d: Any = None
    empty: tuple | None = None
    exact: bool = False
    rtol: float = 1e-12
    atol: float = 1e-12
    rtol32: float = 1e-5
    atol32: float = 1e-6
    out_dtype: Any = None
    context: Callable = contextlib.nullcontext
    xfail: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        self.args = tuple(a if isinstance(a, Arg) else Arg(tuple(a)) for a in self.args)
        if self.zero_d is True:
            self.zero_d = ((),) * len(self.args)
        elif self.zero_d is False:
            self.zero_d = None
        if not (self.grad and self.gradcheck):
            self.gradcheck = self.gradgrad = False
        if self.torch is SAME:
            self.torch = self.fn

    def __repr__(self):
        return f"OpCase({self.name})"


# ----------------------------------------------------------------------------- helpers
def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def draw(case, shapes=None):
    """The row's input arrays, float ones in float64; the same every run (seeded by name)."""
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    shapes = [a.shape for a in case.args] if shapes is None else shapes
    return [np.asarray(arg.sample(rng, tuple(s))) for arg, s in zip(case.args, shapes)]


def _is_float(a):
    return np.asarray(a).dtype.kind == "f"


def _cast(arrays, dtype):
    return [a.astype(dtype) if _is_float(a) else a for a in arrays]


def tensors(case, arrays):
    """Tensors on ``arrays`` (sharing memory, as ``from_numpy``: a view keeps its strides, and
    an op that writes to its input is seen), ``requires_grad`` where the row's ``Arg`` says so."""
    out = []
    for arg, a in zip(case.args, arrays):
        t = td.from_numpy(np.asarray(a))
        t.requires_grad = arg.grad and _is_float(a)
        out.append(t)
    return out


def reference(case, arrays):
    """The reference on float64 copies of the (possibly float32-rounded) inputs.

    NumPy's warnings on empty inputs (the mean of nothing is NaN) are the expected answer.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _as_tuple(case.ref(*[a.astype(np.float64) if _is_float(a) else a
                                    for a in arrays]))


def _weights(outs):
    """Fixed random output weights v: backward of sum(v * out) checks the whole Jacobian."""
    rng = np.random.default_rng(1)
    return [rng.standard_normal(np.shape(o)) for o in outs]


def gradients(outs, inputs):
    """Gradients of sum_k sum(v_k * out_k) with respect to the inputs that require grad."""
    targets = [t for t in inputs if t.requires_grad]
    total = None
    for o, v in zip(outs, _weights(outs)):
        if o.requires_grad:
            term = (o * td.Tensor(v.astype(o.dtype))).sum()
            total = term if total is None else total + term
    if total is None:
        return targets, [None] * len(targets)
    return targets, list(td.grad(total, targets, allow_unused=True))


def compare(case, got, expected, dtype, what):
    """Shapes equal, then values: bit for bit for exact rows, else within the row's tolerance."""
    assert got.shape == np.shape(expected), (
        f"{case.name}: {what} has shape {got.shape}, expected {np.shape(expected)}")
    if case.exact:
        np.testing.assert_array_equal(got, expected, err_msg=f"{case.name}: {what}")
    elif dtype == np.float32:
        np.testing.assert_allclose(got, expected, rtol=case.rtol32, atol=case.atol32,
                                   err_msg=f"{case.name}: {what} (float32)")
    else:
        np.testing.assert_allclose(got, expected, rtol=case.rtol, atol=case.atol,
                                   err_msg=f"{case.name}: {what} (float64)")


def non_contiguous(a):
    """The values of ``a`` in a view that is transposed, has a gap after every element and
    runs backwards along its first axis (neither C- nor F-contiguous)."""
    a = np.asarray(a)
    if a.ndim == 0:
        return a
    buffer = np.zeros(a.shape[::-1] + (2,), a.dtype)
    view = buffer[..., 0].T[::-1]
    view[...] = a
    return view


def _check_forward_and_gradient_shapes(case, arrays, dtype):
    """Forward against the reference, output dtype, and gradients of the inputs' dtypes and
    shapes; returns the outputs."""
    inputs = tensors(case, arrays)
    outs = _as_tuple(case.fn(*inputs))
    refs = reference(case, arrays)
    assert len(outs) == len(refs), f"{case.name}: {len(outs)} outputs, reference {len(refs)}"
    for k, (out, ref) in enumerate(zip(outs, refs)):
        want = np.dtype(case.out_dtype or dtype)
        assert out.dtype == want, (
            f"{case.name}: output {k} is {out.dtype} for {np.dtype(dtype)} inputs, expected {want}")
        compare(case, out.data, ref, dtype, f"forward output {k}")
    if case.grad:
        targets, grads = gradients(outs, inputs)
        for i, (t, g) in enumerate(zip(targets, grads)):
            assert g is not None, f"{case.name}: no gradient reached input {i}"
            assert g.shape == t.shape and g.dtype == t.dtype, (
                f"{case.name}: gradient of input {i} is {g.dtype} {g.shape}, the input "
                f"{t.dtype} {t.shape}")
    return outs


# ----------------------------------------------------------------------------- the checks
def check_forward(case, dtype):
    with case.context():
        _check_forward_and_gradient_shapes(case, _cast(draw(case), dtype), dtype)


def check_torch(case):
    def as_torch(arg, a):
        t = torch.from_numpy(np.array(a))
        return t.requires_grad_() if arg.grad and _is_float(a) else t

    with case.context():
        arrays = draw(case)
        inputs = tensors(case, arrays)
        outs = _as_tuple(case.fn(*inputs))
        torch_inputs = [as_torch(arg, a) for arg, a in zip(case.args, arrays)]
        torch_outs = _as_tuple(case.torch(*torch_inputs))
        rtol, atol = max(case.rtol, 1e-10), max(case.atol, 1e-12)
        assert len(outs) == len(torch_outs), f"{case.name}: {len(outs)} outputs vs torch's"
        for k, (o, t) in enumerate(zip(outs, torch_outs)):
            assert o.shape == tuple(t.shape), f"{case.name}: output {k} shape vs torch's"
            np.testing.assert_allclose(o.data, t.detach().numpy(), rtol=rtol, atol=atol,
                                       err_msg=f"{case.name}: forward output {k} vs torch")
        if not case.grad:
            return
        _, grads = gradients(outs, inputs)
        torch_targets = [t for t in torch_inputs if t.requires_grad]
        total = sum((o * torch.from_numpy(v)).sum()
                    for o, v in zip(torch_outs, _weights(outs)) if o.requires_grad)
        torch_grads = torch.autograd.grad(total, torch_targets, allow_unused=True)
        for i, (g, tg) in enumerate(zip(grads, torch_grads)):
            tg = np.zeros(g.shape) if tg is None else tg.numpy()
            np.testing.assert_allclose(g.data, tg, rtol=rtol, atol=atol,
                                       err_msg=f"{case.name}: gradient of input {i} vs torch")


def check_gradcheck(case):
    with case.context():
        assert td.gradcheck(case.fn, tensors(case, draw(case)))


def check_gradgradcheck(case):
    with case.context():
        assert td.gradgradcheck(case.fn, tensors(case, draw(case)))


def check_non_contiguous(case):
    with case.context():
        arrays = draw(case)
        views = [non_contiguous(a) for a in arrays]
        assert any(not v.flags.c_contiguous for v in views), f"{case.name}: nothing to check"
        kept = [v.copy() for v in views]
        plain_inputs, view_inputs = tensors(case, arrays), tensors(case, views)
        plain = _as_tuple(case.fn(*plain_inputs))
        strided = _as_tuple(case.fn(*view_inputs))
        for k, (p, s) in enumerate(zip(plain, strided)):
            np.testing.assert_allclose(s.data, p.data, rtol=1e-12, atol=1e-12,
                                       err_msg=f"{case.name}: output {k}, strided inputs")
        if case.grad:
            _, plain_grads = gradients(plain, plain_inputs)
            _, view_grads = gradients(strided, view_inputs)
            for i, (p, s) in enumerate(zip(plain_grads, view_grads)):
                np.testing.assert_allclose(s.data, p.data, rtol=1e-12, atol=1e-12,
                                           err_msg=f"{case.name}: gradient {i}, strided inputs")
        for i, (v, k) in enumerate(zip(views, kept)):
            np.testing.assert_array_equal(v, k, err_msg=f"{case.name}: input {i} was written to")
        if case.gradcheck:
            assert td.gradcheck(case.fn, tensors(case, views))


def drawn_arrays(min_dims=2, max_dims=3):
    """Hypothesis strategy: float64 arrays of 2 to 3 axes of length 1 to 4, values in [-3, 3]."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
    return hnp.arrays(np.float64, hnp.array_shapes(min_dims=min_dims, max_dims=max_dims,
                                                   max_side=4), elements=st.floats(-3, 3))


def first_and_second_derivatives(fn, x, v, w, lib):
    """d/dx sum(v fn(x)) and d/dx sum(w * that gradient), in tinydl (``lib='td'``) or torch:
    for comparing second derivatives with torch where a row's gradgradcheck cannot (at zeros
    of prod and cumprod, say)."""
    if lib == "torch":
        t = torch.from_numpy(x.copy()).requires_grad_()
        (g,) = torch.autograd.grad((fn(t) * torch.from_numpy(v)).sum(), t, create_graph=True)
        (gg,) = torch.autograd.grad((g * torch.from_numpy(w)).sum(), t)
        return g.detach().numpy(), gg.numpy()
    t = td.Tensor(x.copy(), requires_grad=True)
    (g,) = td.grad((fn(t) * td.Tensor(v)).sum(), [t], create_graph=True)
    (gg,) = td.grad((g * td.Tensor(w)).sum(), [t])
    return g.data, gg.data


def check_drawn_view(case, array, gradcheck=True):
    """A one-input row on a transposed, negatively strided view of ``array`` (of any shape the
    op accepts, drawn by hypothesis): forward against the reference, then gradcheck."""
    view = np.swapaxes(array, 0, -1)[::-1]
    x = td.from_numpy(view)
    compare(case, case.fn(x).data, case.ref(view), np.float64, "forward on a drawn view")
    if gradcheck and case.gradcheck:
        x = td.from_numpy(view)
        x.requires_grad = True
        assert td.gradcheck(case.fn, [x])


def check_zero_d(case):
    with case.context():
        arrays = draw(case, case.zero_d)
        _check_forward_and_gradient_shapes(case, arrays, np.float64)
        if case.gradcheck:
            assert td.gradcheck(case.fn, tensors(case, arrays))


def check_empty(case):
    with case.context():
        arrays = draw(case, case.empty)
        outs = _check_forward_and_gradient_shapes(case, arrays, np.float64)
        assert any(a.size == 0 for a in [*arrays, *outs]), f"{case.name}: nothing is empty"


# ----------------------------------------------------------------------------- the factory
_DTYPES = [pytest.param(np.float64, id="f64"), pytest.param(np.float32, id="f32")]
_NO_TORCH = pytest.mark.skipif(torch is None, reason="torch (the optional oracle) not installed")

# test name -> (the rows it runs on, the check, marks)
_CHECKS = {
    "test_forward": (lambda c: True, check_forward, []),
    "test_torch": (lambda c: c.torch is not None, check_torch, [_NO_TORCH]),
    "test_gradcheck": (lambda c: c.gradcheck, check_gradcheck, []),
    "test_gradgradcheck": (lambda c: c.gradgrad, check_gradgradcheck, []),
    "test_non_contiguous": (lambda c: c.non_contiguous and any(a.shape for a in c.args),
                            check_non_contiguous, []),
    "test_zero_d": (lambda c: c.zero_d is not None, check_zero_d, []),
    "test_empty": (lambda c: c.empty is not None, check_empty, []),
}


def _test(check, rows, marks):
    """A test method running ``check`` on each of ``rows`` (and each dtype, for the forward)."""
    if check is check_forward:
        def test(self, case, dtype):
            check(case, dtype)
    else:
        def test(self, case):
            check(case)
    name = test.__name__ = _name_of(check)
    params = [pytest.param(c, id=c.name, marks=[pytest.mark.xfail(reason=c.xfail[name],
                                                                  strict=True)]
                           if name in c.xfail else []) for c in rows]
    test = pytest.mark.parametrize("case", params)(test)
    if check is check_forward:
        test = pytest.mark.parametrize("dtype", _DTYPES)(test)
    return _apply(marks, test)


def _name_of(check):
    return next(name for name, (_, c, _) in _CHECKS.items() if c is check)


def _apply(marks, fn):
    for mark in marks:
        fn = mark(fn)
    return fn


class OpTable:
    """Base of a table's test class: set ``cases``, and the subclass gets one test per check
    that applies to at least one row, parametrized over those rows."""

    cases: list = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        names = [c.name for c in cls.cases]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        assert not duplicates, f"{cls.__name__}: rows named twice: {duplicates}"
        for test_name, (applies, check, marks) in _CHECKS.items():
            rows = [c for c in cls.cases if applies(c)]
            if rows:
                setattr(cls, test_name, _test(check, rows, marks))


def rows_by_name(cases):
    """``{name: row}``, for tests outside the table that reuse a row's op and sampler."""
    return {c.name: c for c in cases}
