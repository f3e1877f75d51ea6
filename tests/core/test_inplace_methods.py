"""torch's in-place methods beyond add_/mul_/clamp_ (``x.exp_()``, ``x.gt_(y)``,
``x.scatter_(...)``, ``x.unsqueeze_(0)``, ``x.detach_()``...) and torch's small Tensor
conveniences (``type()``, ``stride()``, ``new_tensor``, ``view_as``, ``byte()``...).

Each in-place method is its out-of-place op written in by the in-place machinery of
``add_``, so the table below checks every one of them the same ways: the result is the
out-of-place result (and torch's in-place result, dtype included, or an error where torch
raises one), the tensor's own array is written; a leaf that requires grad is refused outside
``no_grad()``; the version is bumped (backward refuses a node that saved the old value);
a write through a view reaches the viewed array; in a graph, values and gradients are
torch's.
"""
import numpy as np
import pytest

import tinydl as td

torch = pytest.importorskip("torch")

X = (3, 4)
_IDX = np.array([[0, 2], [3, 1], [1, 0]])  # scatter along axis 1, no repeats in a row
_IX = np.array([0, 3])                      # index_add_ along axis 1


def _operand(token, lib, dtype, rng, requires_grad):
    """The operand a spec's token stands for, in ``lib`` (drawn from ``rng``, so that tinydl
    and torch get the same values)."""
    floating = dtype if np.dtype(dtype).kind == "f" else np.float32
    if token == "F":    # a float row, broadcast against x
        a, grad = rng.uniform(1.1, 2.0, (1, 4)).astype(floating), requires_grad
    elif token == "I":  # an int64 row
        a, grad = rng.integers(1, 4, (1, 4)), False
    elif token == "M":  # a mask
        a, grad = rng.random(X) < 0.5, False
    elif token == "V":  # a 0-d fill value
        a, grad = np.array(0.25, floating), requires_grad
    elif token == "SRC":  # scatter's source, in x's dtype (as torch requires)
        a = rng.uniform(-2.0, 2.0, (3, 2)).astype(dtype) if np.dtype(dtype).kind == "f" \
            else rng.integers(0, 2, (3, 2)).astype(dtype)
        grad = requires_grad and np.dtype(dtype).kind == "f"
    elif token in ("IDX", "IX"):
        a, grad = (_IDX if token == "IDX" else _IX), False
    else:
        return token
    if lib is td:
        return td.Tensor(a.copy(), requires_grad=grad)
    return torch.tensor(a.copy(), requires_grad=grad)


def _x(spec, dtype, rng):
    low, high = spec["domain"]
    if np.dtype(dtype).kind == "f":
        return rng.uniform(low, high, X).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return rng.random(X) < 0.5
    return rng.integers(max(1, int(low)), max(5, int(high) + 3), X).astype(dtype)


def _call(spec, x, lib, dtype, seed, requires_grad=False):
    """Run the spec's in-place method on ``x``; returns (its result, the operands)."""
    rng = np.random.default_rng(seed)
    args = [_operand(a, lib, dtype, rng, requires_grad) for a in spec["args"]]
    kwargs = {k: _operand(v, lib, dtype, rng, requires_grad)
              for k, v in spec.get("kwargs", {}).items()}
    return getattr(x, spec["name"])(*args, **kwargs), args + list(kwargs.values())


def spec(name, out_of_place, *args, grad=True, case=None, kwargs=None, domain=(0.2, 0.9),
         dtype=np.float64):
    """An in-place method ``name``, the out-of-place method it writes in, its arguments
    (tokens: see _operand), ``grad=False`` for a method without a gradient (or without one in
    torch); ``case`` names a second spec of one method; ``dtype``: of x in the checks that
    take one dtype."""
    return dict(name=name, out=out_of_place, args=args, kwargs=kwargs or {}, grad=grad,
                domain=domain, dtype=dtype, id=name if case is None else f"{name}{case}")


SPECS = [
    spec("exp_", "exp"), spec("exp2_", "exp2"), spec("expm1_", "expm1"), spec("log_", "log"),
    spec("log2_", "log2"), spec("log10_", "log10"), spec("log1p_", "log1p"),
    spec("sqrt_", "sqrt"), spec("rsqrt_", "rsqrt"), spec("square_", "square"),
    spec("abs_", "abs"), spec("absolute_", "abs"), spec("neg_", "neg"),
    spec("negative_", "neg"), spec("reciprocal_", "reciprocal"), spec("sign_", "sign"),
    spec("sigmoid_", "sigmoid"), spec("tanh_", "tanh"), spec("relu_", "relu"),
    spec("sin_", "sin"), spec("cos_", "cos"), spec("tan_", "tan"), spec("asin_", "asin"),
    spec("arcsin_", "asin"), spec("acos_", "acos"), spec("arccos_", "acos"),
    spec("atan_", "atan"), spec("arctan_", "atan"), spec("sinh_", "sinh"),
    spec("cosh_", "cosh"), spec("asinh_", "asinh"), spec("arcsinh_", "asinh"),
    spec("acosh_", "acosh", domain=(1.2, 2.0)), spec("arccosh_", "acosh", domain=(1.2, 2.0)),
    spec("atanh_", "atanh"), spec("arctanh_", "atanh"),
    spec("floor_", "floor", domain=(-2.7, 2.7)), spec("ceil_", "ceil", domain=(-2.7, 2.7)),
    spec("round_", "round", domain=(-2.7, 2.7)), spec("trunc_", "trunc", domain=(-2.7, 2.7)),
    spec("fix_", "trunc", domain=(-2.7, 2.7)), spec("frac_", "frac", domain=(-2.7, 2.7)),
    spec("round_", "round", kwargs={"decimals": 1}, domain=(-2.7, 2.7), case="decimals"),
    spec("atan2_", "atan2", "F"), spec("arctan2_", "atan2", "F"), spec("hypot_", "hypot", "F"),
    spec("copysign_", "copysign", "F", domain=(-1.0, 1.0)), spec("fmod_", "fmod", "F"),
    spec("fmod_", "fmod", "I", case="int"), spec("remainder_", "remainder", "F"),
    spec("remainder_", "remainder", "I", case="int"),
    spec("floor_divide_", "floor_divide", "I", grad=False),  # (torch has no gradient)
    spec("divide_", "div", "F"), spec("true_divide_", "div", "F"),
    spec("divide_", "div", "I", kwargs={"rounding_mode": "floor"}, case="floor"),
    spec("multiply_", "mul", "F"), spec("subtract_", "sub", "F", kwargs={"alpha": 2}),
    spec("lerp_", "lerp", "F", 0.3),
    spec("lerp_", "lerp", "F", kwargs={"weight": "F"}, case="tensor_weight"),
    spec("clamp_min_", "clamp_min", 0.5), spec("clamp_min_", "clamp_min", "F", case="tensor"),
    spec("clamp_max_", "clamp_max", 2), spec("clamp_max_", "clamp_max", "F", case="tensor"),
    spec("cumsum_", "cumsum", 1), spec("cumprod_", "cumprod", kwargs={"dim": 0}),
    spec("tril_", "tril"), spec("triu_", "triu", 1),
    spec("masked_fill_", "masked_fill", "M", 0.5),
    spec("masked_fill_", "masked_fill", "M", "V", case="tensor"),
    spec("index_add_", "index_add", 1, "IX", "SRC", kwargs={"alpha": 2}),
    spec("scatter_", "scatter", 1, "IDX", "SRC"),
    spec("scatter_", "scatter", 1, "IDX", kwargs={"value": 2}, case="value"),
    spec("scatter_add_", "scatter_add", 1, "IDX", "SRC"),
    spec("scatter_reduce_", "scatter_reduce", 1, "IDX", "SRC", "amax"),
    # no gradient: bool results written as 0 and 1, integer ones
    spec("logical_and_", "logical_and", "I", grad=False),
    spec("logical_or_", "logical_or", "I", grad=False),
    spec("logical_xor_", "logical_xor", "I", grad=False),
    spec("logical_not_", "logical_not", grad=False),
    spec("bitwise_and_", "bitwise_and", "I", grad=False, dtype=np.int64),
    spec("bitwise_or_", "bitwise_or", "I", grad=False, dtype=np.int64),
    spec("bitwise_xor_", "bitwise_xor", "I", grad=False, dtype=np.int64),
    spec("bitwise_not_", "bitwise_not", grad=False, dtype=np.int64),
    spec("bitwise_left_shift_", "bitwise_left_shift", "I", grad=False, dtype=np.int64),
    spec("bitwise_right_shift_", "bitwise_right_shift", "I", grad=False, dtype=np.int64),
    spec("eq_", "eq", "I", grad=False), spec("ne_", "ne", "I", grad=False),
    spec("not_equal_", "ne", "I", grad=False), spec("gt_", "gt", "F", grad=False),
    spec("greater_", "gt", "F", grad=False), spec("ge_", "ge", "F", grad=False),
    spec("greater_equal_", "ge", "F", grad=False), spec("lt_", "lt", "F", grad=False),
    spec("less_", "lt", "F", grad=False), spec("le_", "le", "F", grad=False),
    spec("less_equal_", "le", "F", grad=False), spec("gt_", "gt", 0.5, grad=False, case="scalar"),
]
BY_ID = {s["id"]: s for s in SPECS}
GRAD_IDS = [s["id"] for s in SPECS if s["grad"]]
FLOAT_IDS = [s["id"] for s in SPECS if s["dtype"] == np.float64]

# Where torch refuses and tinydl computes what its out-of-place op gives (NumPy's rules):
# abs, floor, ceil, round and trunc of a bool tensor are that tensor; an integer tensor
# rounded to decimals is rounded as NumPy does (its row in tests/ops/test_rounding.py).
TINYDL_ONLY = {(name, "bool") for name in ("abs_", "absolute_", "floor_", "ceil_", "round_",
                                           "trunc_", "fix_", "round_decimals")} | {
    ("round_decimals", "i64"), ("round_decimals", "u8")}
DTYPES = {"f32": np.float32, "f64": np.float64, "i64": np.int64, "u8": np.uint8,
          "bool": np.bool_}


# The in-place methods of this family (each in the table above).
FAMILY = """exp_ exp2_ expm1_ log_ log2_ log10_ log1p_ sqrt_ rsqrt_ square_ abs_ absolute_ neg_
negative_ reciprocal_ sign_ sigmoid_ tanh_ relu_ sin_ cos_ tan_ asin_ arcsin_ acos_ arccos_
atan_ arctan_ sinh_ cosh_ asinh_ arcsinh_ acosh_ arccosh_ atanh_ arctanh_ floor_ ceil_ round_
trunc_ fix_ frac_ atan2_ arctan2_ hypot_ copysign_ fmod_ remainder_ floor_divide_ divide_
true_divide_ multiply_ subtract_ lerp_ clamp_min_ clamp_max_ cumsum_ cumprod_ tril_ triu_
masked_fill_ index_add_ scatter_ scatter_add_ scatter_reduce_ logical_and_ logical_or_
logical_xor_ logical_not_ bitwise_and_ bitwise_or_ bitwise_xor_ bitwise_not_
bitwise_left_shift_ bitwise_right_shift_ eq_ ne_ not_equal_ gt_ greater_ ge_ greater_equal_
lt_ less_ le_ less_equal_""".split()


def test_every_in_place_method_of_the_family_is_in_the_table():
    assert set(FAMILY) == {s["name"] for s in SPECS}
    for name in FAMILY:  # each made from its out-of-place op, named as called
        method = getattr(td.Tensor, name)
        assert method.__code__.co_name == "in_place" and method.__name__ == name


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # log(0) of a bool tensor, say
@pytest.mark.parametrize("spec_id", sorted(BY_ID))
def test_result_is_the_out_of_place_result_and_torchs(spec_id):
    spec = BY_ID[spec_id]
    for dname, dtype in DTYPES.items():
        seed = sum(map(ord, spec_id + dname))
        x0 = _x(spec, dtype, np.random.default_rng(seed))
        try:
            expected, _ = _call(spec, torch.from_numpy(x0.copy()), torch, dtype, seed)
            expected = expected.numpy()
        except (RuntimeError, TypeError, NotImplementedError) as err:
            expected = err
        x = td.Tensor(x0.copy())
        array = x.data
        if isinstance(expected, Exception) and (spec_id, dname) not in TINYDL_ONLY:
            with pytest.raises((RuntimeError, TypeError, ValueError)):
                _call(spec, x, td, dtype, seed)
            np.testing.assert_array_equal(x.data, x0, err_msg=f"{spec_id} {dname}: written")
            continue
        out, operands = _call(spec, x, td, dtype, seed)
        assert out is x and x.data is array and x.dtype == dtype, (spec_id, dname)
        rng = np.random.default_rng(seed)  # the same operands again, for the out-of-place op
        args = [_operand(a, td, dtype, rng, False) for a in spec["args"]]
        kwargs = {k: _operand(v, td, dtype, rng, False) for k, v in spec["kwargs"].items()}
        plain = getattr(td.Tensor(x0.copy()), spec["out"])(*args, **kwargs).data
        np.testing.assert_array_equal(x.data, plain.astype(dtype), err_msg=f"{spec_id} {dname}")
        if not isinstance(expected, Exception):
            assert expected.dtype == x.dtype
            np.testing.assert_allclose(x.data.astype(np.float64),
                                       expected.astype(np.float64), rtol=1e-6, atol=1e-6,
                                       err_msg=f"{spec_id} {dname} vs torch")


@pytest.mark.parametrize("spec_id", FLOAT_IDS)
def test_a_leaf_that_requires_grad_is_refused_outside_no_grad(spec_id):
    spec = BY_ID[spec_id]
    x0 = _x(spec, np.float64, np.random.default_rng(0))
    w = td.Tensor(x0.copy(), requires_grad=True)
    with pytest.raises(RuntimeError, match=spec["name"] + ": a leaf tensor that requires grad"
                                                          r".*no_grad"):
        _call(spec, w, td, np.float64, 1)
    np.testing.assert_array_equal(w.data, x0)
    with td.no_grad():
        _call(spec, w, td, np.float64, 1)  # the SGD-by-hand habit
    assert w.requires_grad and w.is_leaf and w._version == 1


@pytest.mark.parametrize("spec_id", sorted(BY_ID))
def test_the_version_is_bumped_and_a_saved_value_overwritten_makes_backward_raise(spec_id):
    spec = BY_ID[spec_id]
    x0 = _x(spec, spec["dtype"], np.random.default_rng(0))
    c = td.Tensor(x0)
    alias = c.view(X)
    _call(spec, c, td, spec["dtype"], 1)
    assert c._version == alias._version == 1
    if spec["dtype"] == np.float64:  # (integer tensors are never saved for a gradient)
        x = td.Tensor(x0.copy(), requires_grad=True)
        h = x * 1.0
        s = h.sin()  # keeps h for its gradient
        with td.no_grad():
            _call(spec, h, td, np.float64, 1)
        with pytest.raises(RuntimeError, match="modified by an in-place operation.*Sin"):
            s.sum().backward()


def test_a_product_reads_an_operand_only_for_the_other_ones_gradient():
    """``y = h * 3`` needs 3, not h, for its gradient: writing h in place afterwards leaves
    y's backward working, as in torch (it raised). Where the other operand needs its
    gradient the value is read, and the write still makes backward raise."""
    x = td.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    h = x * 2.0
    y = h * 3.0
    z = h * x  # x's gradient reads h
    with td.no_grad():
        h.add_(1.0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [6.0, 6.0, 6.0])
    with pytest.raises(RuntimeError, match="modified by an in-place operation.*Multiply"):
        z.sum().backward()
    w = td.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    c = td.Tensor(np.array([5.0, 6.0]))
    q = c * w
    with td.no_grad():
        c.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        q.sum().backward()


@pytest.mark.parametrize("spec_id", sorted(BY_ID))
def test_a_write_through_a_view_reaches_the_viewed_array(spec_id):
    spec = BY_ID[spec_id]
    dtype = spec["dtype"]
    x0 = _x(spec, dtype, np.random.default_rng(0))
    base = td.Tensor(np.repeat(x0, 2, axis=0))
    view = base[::2]  # (3, 4), every other row: a strided view
    assert np.shares_memory(view.data, base.data)
    _call(spec, view, td, dtype, 1)
    expected = np.repeat(x0, 2, axis=0)
    rng = np.random.default_rng(1)
    args = [_operand(a, td, dtype, rng, False) for a in spec["args"]]
    kwargs = {k: _operand(v, td, dtype, rng, False) for k, v in spec["kwargs"].items()}
    expected[::2] = getattr(td.Tensor(x0), spec["out"])(*args, **kwargs).data
    np.testing.assert_array_equal(base.data, expected)
    assert base._version == view._version == 1


@pytest.mark.parametrize("spec_id", GRAD_IDS)
def test_in_a_graph_values_and_gradients_are_torchs(spec_id):
    """torch's out-of-place op is the reference (torch has no gradient for some in-place
    ones: asinh_, acosh_, atanh_)."""
    spec = BY_ID[spec_id]
    x0 = _x(spec, np.float64, np.random.default_rng(2))
    weights = np.random.default_rng(3).standard_normal(X)
    results = {}
    for lib in (td, torch):
        x = td.Tensor(x0.copy(), requires_grad=True) if lib is td else torch.tensor(
            x0.copy(), requires_grad=True)
        h = x * 1.0  # a tensor in the graph, not a leaf
        if lib is td:
            h, operands = _call(spec, h, td, np.float64, 4, requires_grad=True)
        else:
            h, operands = _call(dict(spec, name=spec["out"]), h, torch, np.float64, 4,
                                requires_grad=True)
        w = td.Tensor(weights) if lib is td else torch.from_numpy(weights)
        leaves = [x] + [o for o in operands if getattr(o, "requires_grad", False)]
        grads = lib.autograd.grad((h * w).sum(), leaves) if lib is torch else td.grad(
            (h * w).sum(), leaves)
        results[lib] = [h.detach().numpy()] + [g.numpy() for g in grads]
    assert len(results[td]) == len(results[torch])
    for k, (got, expected) in enumerate(zip(results[td], results[torch])):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12,
                                   err_msg=f"{spec_id}: {'value' if k == 0 else 'gradient'}")


def test_bool_results_written_into_a_graph_give_a_zero_gradient():
    x = td.tensor([1.0, -2.0, 3.0], requires_grad=True)
    h = x * 1.0
    h.gt_(0.0)
    np.testing.assert_array_equal(h.data, [1.0, 0.0, 1.0])
    (h * 5.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0])


def test_results_that_do_not_fit_the_tensor_raise_as_torch():
    with pytest.raises(RuntimeError, match="sqrt_: result type float32 can't be cast to the "
                                           "desired output type int64"):
        td.tensor([4]).sqrt_()
    with pytest.raises(RuntimeError, match=r"eq_: the result has shape \(2, 2\)"):
        td.zeros(2).eq_(td.zeros((2, 2)))
    with pytest.raises(RuntimeError, match="bitwise_and_: result type int64 can't be cast to "
                                           "the desired output type bool"):
        td.tensor([True]).bitwise_and_(td.tensor([3]))
    with pytest.raises(TypeError, match="bitwise_or_|bitwise_or: needs integer"):
        td.tensor([1.0]).bitwise_or_(1)


# ----------------------------------------------------------------------------- shape in place
SHAPE_OPS = [("unsqueeze_", (0,)), ("unsqueeze_", (-1,)), ("squeeze_", ()), ("squeeze_", (1,)),
             ("transpose_", (0, 2)), ("swapaxes_", (2, 0)), ("swapdims_", (-1, 1))]


@pytest.mark.parametrize("name, args", SHAPE_OPS)
def test_shape_changes_in_place_match_torch(name, args):
    x0 = np.arange(6.0).reshape(2, 1, 3)
    x, tx = td.Tensor(x0.copy()), torch.from_numpy(x0.copy())
    array = x.data
    assert getattr(x, name)(*args) is x
    getattr(tx, name)(*args)
    assert x.shape == tuple(tx.shape) and x.stride() == tx.stride()
    np.testing.assert_array_equal(x.data, tx.numpy())
    assert np.shares_memory(x.data, array) and x._version == tx._version == 1


@pytest.mark.parametrize("name, args", SHAPE_OPS + [("t_", ())])
def test_shape_changes_in_a_graph_give_torchs_gradients(name, args):
    x0 = np.random.default_rng(0).standard_normal((2, 1, 3) if name != "t_" else (2, 3))
    results = []
    for lib in (td, torch):
        x = td.Tensor(x0.copy(), requires_grad=True) if lib is td else torch.tensor(
            x0.copy(), requires_grad=True)
        h = x.exp()  # (exp keeps its output: tinydl gives it a private copy, torch raises)
        h = h * 2.0
        getattr(h, name)(*args)
        weights = np.arange(float(h.numel())).reshape(tuple(h.shape))
        w = td.Tensor(weights) if lib is td else torch.from_numpy(weights)
        (h * w).sum().backward()
        results.append((tuple(h.shape), x.grad.numpy()))
    assert results[0][0] == results[1][0]
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)


def test_shape_changes_in_place_follow_the_in_place_rules():
    w = td.ones((1, 3), requires_grad=True)
    with pytest.raises(RuntimeError, match="squeeze_: a leaf tensor that requires grad"):
        w.squeeze_(0)
    with td.no_grad():
        w.squeeze_(0)
    assert w.shape == (3,) and w.requires_grad
    x = td.ones(3, requires_grad=True)
    h = x * 2.0
    used = h * 3.0
    with pytest.raises(RuntimeError, match="unsqueeze_: this tensor was already used by other "
                                           "recorded ops"):
        h.unsqueeze_(0)
    assert h.shape == (3,)
    used.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [6.0, 6.0, 6.0])
    # a constant that a recorded op kept, reshaped afterwards: backward refuses
    c = td.tensor([1.0, 2.0, 3.0])
    y = (x * c).sum()
    c.unsqueeze_(0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation.*Multiply"):
        y.backward()
    with pytest.raises(ValueError, match="t: expects a tensor of at most 2 dimensions"):
        td.zeros((2, 3, 4)).t_()
    v = td.tensor([1.0, 2.0])
    v.t_()  # a vector stays itself (the version still moves, as torch's)
    assert v.shape == (2,) and v._version == 1


def test_shape_changes_under_no_grad_keep_the_graph_right():
    """torch raises at backward here (the gradient's shape no longer fits); tinydl records the
    reshape, so the gradient is the one of the reshaped value."""
    x = td.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    h = x @ td.tensor([[1.0], [2.0]])
    with td.no_grad():
        h.squeeze_(1)
    (h * td.tensor([1.0, 10.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[1.0, 2.0], [10.0, 20.0]])


def test_shape_change_of_a_view_leaves_the_viewed_tensor_alone():
    base = td.zeros((2, 3))
    v = base[0]
    v.unsqueeze_(0)
    assert v.shape == (1, 3) and base.shape == (2, 3)
    v.add_(1.0)  # still the same memory
    np.testing.assert_array_equal(base.data, [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    assert base._version == v._version == 2


def test_detach_in_place_as_torch():
    x = td.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    array = h.data
    assert h.detach_() is h
    assert not h.requires_grad and h.is_leaf and h.grad_fn is None and h.data is array
    h.add_(1.0)  # now an ordinary constant
    w = td.tensor([1.0], requires_grad=True)
    w.detach_()
    assert not w.requires_grad
    with pytest.raises(RuntimeError, match="detach_: a view cannot be detached in place"):
        (x * 2.0)[0].detach_()
    g = x * 2.0
    used = g * 3.0
    with pytest.raises(RuntimeError, match="detach_: this tensor was already used"):
        g.detach_()
    used.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [6.0, 6.0])


# ----------------------------------------------------------------------------- conveniences
def test_type_names_and_casts_as_torch():
    for dtype in ("float32", "float64", "float16", "int64", "int32", "int16", "int8",
                  "uint8", "bool"):
        x = td.zeros(2, dtype=dtype)
        t = torch.zeros(2, dtype=getattr(torch, dtype))
        assert x.type() == t.type() and x.element_size() == t.element_size(), dtype
    x = td.tensor([1.5, -2.0])
    assert x.type(np.float32) is x and x.type("torch.FloatTensor") is x
    for dtype in (torch.int64, "torch.DoubleTensor", torch.DoubleTensor, np.int32, "int16"):
        got = x.type(dtype)
        expected = torch.tensor([1.5, -2.0]).type(
            torch.int16 if dtype == "int16" else torch.int32 if dtype is np.int32 else dtype)
        assert got.dtype == np.dtype(str(expected.dtype).replace("torch.", ""))
        np.testing.assert_array_equal(got.data, expected.numpy())
    with pytest.raises(ValueError, match="CPU only"):
        x.type("torch.cuda.FloatTensor")
    with pytest.raises(TypeError, match="unknown tensor type 'torch.BFloat16Tensor'"):
        x.type("torch.BFloat16Tensor")


def test_byte_char_short_as_torch():
    values = np.array([300, -1, 70000, 5])
    for name in ("byte", "char", "short"):
        got = getattr(td.Tensor(values), name)()
        expected = getattr(torch.from_numpy(values), name)()
        assert got.dtype == np.dtype(str(expected.dtype).replace("torch.", ""))
        np.testing.assert_array_equal(got.data, expected.numpy())
    x = td.tensor([1.5, 2.0], requires_grad=True)
    assert x.short().dtype == np.int16 and not x.short().requires_grad


@pytest.mark.parametrize("make", [
    lambda m: m, lambda m: m.transpose(0, 2), lambda m: m[:, ::2], lambda m: m[:, 1],
    lambda m: m[0, :, None], lambda m: m[..., :1].expand(2, 3, 5), lambda m: m[0, 0, 0]])
def test_strides_and_contiguity_as_torch(make):
    """(Along an axis of length 1 the stride says nothing; NumPy's and torch's may differ.)"""
    a = np.arange(24.0).reshape(2, 3, 4)
    x, t = make(td.Tensor(a)), make(torch.from_numpy(a))
    assert x.is_contiguous() == t.is_contiguous()
    for dim in range(-x.ndim, x.ndim):
        if x.shape[dim] != 1:
            assert x.stride(dim) == t.stride(dim) == x.stride()[dim]
    assert x.nelement() == t.nelement() and x.ndimension() == t.ndimension()
    with pytest.raises(IndexError):
        x.stride(x.ndim)


def test_new_tensors_and_shapes_of_another():
    x = td.tensor([1, 2])
    y = x.new_tensor([1.5, 2.5])
    assert y.dtype == np.int64 and y.data.tolist() == [1, 2]  # torch's: x's dtype
    z = td.tensor([1.0]).new_tensor(x, dtype=np.float64, requires_grad=True)
    assert z.dtype == np.float64 and z.requires_grad and not np.shares_memory(z.data, x.data)
    e = td.tensor([1.0], dtype=np.float64).new_empty(2, 3)
    assert e.shape == (2, 3) and e.dtype == np.float64
    assert td.tensor([1]).new_empty((2,), dtype=np.float32, requires_grad=True).requires_grad
    m = td.arange(6.0)
    assert m.view_as(td.zeros((2, 3))).shape == (2, 3)
    assert np.shares_memory(m.view_as(td.zeros((3, 2))).data, m.data)
    assert m.reshape(2, 3).t().reshape_as(m).shape == (6,)
    with pytest.raises(RuntimeError, match="view: shape"):
        m.reshape(2, 3).t().view_as(m)
    assert td.ones((3, 1)).expand_as(td.zeros((2, 3, 4))).shape == (2, 3, 4)
    with pytest.raises(ValueError):
        td.ones((3, 2)).expand_as(td.zeros((3, 4)))
