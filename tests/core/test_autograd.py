"""The backward engine: deep chains, graph release, cycles, grad(), grad modes, custom Functions."""
import gc
import weakref

import numpy as np
import pytest

import tinydl as td
from tinydl.autograd import Function, bump_version


def test_chain_of_100k_ops_backprops_without_recursion():
    x = td.Tensor(np.ones(4), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full(4, 1.00001 ** 100_000), rtol=1e-9)


def test_gradients_accumulate_into_leaves_over_backward_calls():
    x = td.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data + 3)


def test_diamond_graph_sums_both_paths():
    x = td.Tensor(np.array(1.5), requires_grad=True)
    a = x * x
    b = td.exp(x)
    (a * b + a).backward()
    expected = 2 * 1.5 * np.exp(1.5) + 1.5 ** 2 * np.exp(1.5) + 2 * 1.5
    np.testing.assert_allclose(x.grad.data, expected)


def test_second_backward_without_retain_graph_raises():
    x = td.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = td.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.data, 4 * np.exp(x.data))


def test_saved_arrays_are_freed_after_backward():
    x = td.Tensor(np.linspace(0.1, 1.0, 5), requires_grad=True)
    hidden = x.exp()            # its output array is saved for Exp's backward
    ref = weakref.ref(hidden.data)
    y = (hidden * 2).sum()
    del hidden
    gc.collect()
    assert ref() is not None    # still needed by the graph
    y.backward()
    gc.collect()
    assert ref() is None, "backward without retain_graph must release the graph's arrays"


def test_retain_graph_keeps_saved_arrays():
    x = td.Tensor(np.linspace(0.1, 1.0, 5), requires_grad=True)
    hidden = x.exp()
    ref = weakref.ref(hidden.data)
    y = (hidden * 2).sum()
    del hidden
    y.backward(retain_graph=True)
    gc.collect()
    assert ref() is not None


def test_graph_has_no_reference_cycles():
    gc.collect()
    gc.disable()
    try:
        x = td.Tensor(np.ones(3), requires_grad=True)
        y = ((x * 2).tanh() @ td.Tensor(np.ones(3))).exp()
        refs = [weakref.ref(t) for t in (y,)]
        node_ref = weakref.ref(y._ctx)
        del y
        # Reference counting alone (gc disabled) must free the whole graph.
        assert all(r() is None for r in refs)
        assert node_ref() is None
    finally:
        gc.enable()


def test_grad_returns_tuple_and_leaves_dot_grad_alone():
    x = td.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = td.Tensor(np.array([3.0, -1.0]), requires_grad=True)
    y = (x * w).sum()
    gx, gw = td.grad(y, [x, w])
    np.testing.assert_array_equal(gx.data, w.data)
    np.testing.assert_array_equal(gw.data, x.data)
    assert x.grad is None and w.grad is None


def test_grad_unused_input():
    x = td.Tensor(np.array([1.0]), requires_grad=True)
    z = td.Tensor(np.array([1.0]), requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="input 1"):
        td.grad(y, [x, z], retain_graph=True)
    assert td.grad(y, [x, z], allow_unused=True)[1] is None


def test_grad_of_non_leaf_input():
    x = td.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 3
    y = (h * h).sum()
    (gh,) = td.grad(y, h)
    np.testing.assert_allclose(gh.data, 2 * h.data)


def test_create_graph_gives_second_derivative():
    x = td.Tensor(np.array(0.7), requires_grad=True)
    y = td.sin(x) * x
    (dy,) = td.grad(y, x, create_graph=True)
    (d2y,) = td.grad(dy, x)
    np.testing.assert_allclose(d2y.data, 2 * np.cos(0.7) - 0.7 * np.sin(0.7))


def test_hessian_vector_product_of_mlp_matches_finite_differences():
    r = np.random.default_rng(1)
    X = td.Tensor(r.standard_normal((8, 3)))
    Y = td.Tensor(r.standard_normal((8, 1)))
    shapes = [(3, 5), (5,), (5, 1), (1,)]
    sizes = [int(np.prod(s)) for s in shapes]
    theta0 = r.standard_normal(sum(sizes)) * 0.5
    v = r.standard_normal(theta0.size)

    def loss(theta):
        parts, start = [], 0
        for s, n in zip(shapes, sizes):
            parts.append(theta[start:start + n].reshape(s))
            start += n
        w1, b1, w2, b2 = parts
        pred = td.tanh(X @ w1 + b1) @ w2 + b2
        return ((pred - Y) ** 2).mean()

    def gradient(theta_np, create_graph=False):
        theta = td.Tensor(theta_np, requires_grad=True)
        (g,) = td.grad(loss(theta), theta, create_graph=create_graph)
        return theta, g

    theta, g = gradient(theta0, create_graph=True)
    (hv,) = td.grad((g * td.Tensor(v)).sum(), theta)
    eps = 1e-5
    fd = (gradient(theta0 + eps * v)[1].data - gradient(theta0 - eps * v)[1].data) / (2 * eps)
    np.testing.assert_allclose(hv.data, fd, rtol=1e-5, atol=1e-8)


def test_no_grad_context_and_decorator():
    x = td.Tensor(np.ones(2), requires_grad=True)
    with td.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None

    @td.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    assert (x * 2).requires_grad
    with td.no_grad():
        with td.enable_grad():
            assert (x * 2).requires_grad


def test_grad_mode_is_per_thread():
    """As in torch: a no_grad block in one thread does not stop another thread's ops being
    recorded, and every new thread starts with recording on."""
    import threading

    x = td.Tensor(np.ones(2), requires_grad=True)
    inside, release, seen = threading.Event(), threading.Event(), {}

    def evaluate():  # holds no_grad open while the main thread computes
        with td.no_grad():
            seen["evaluator"] = (x * 2).requires_grad
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=evaluate)
    worker.start()
    assert inside.wait(10)
    seen["main"] = (x * 2).requires_grad
    release.set()
    worker.join()
    assert seen == {"evaluator": False, "main": True}
    with td.no_grad():
        fresh = threading.Thread(target=lambda: seen.update(fresh=td.is_grad_enabled()))
        fresh.start()
        fresh.join()
    assert seen["fresh"] is True


def test_detach_cuts_the_graph_and_shares_data():
    x = td.Tensor(np.ones(2), requires_grad=True)
    y = (x * 2).detach()
    assert not y.requires_grad and y.is_leaf
    z = (x * 2)
    assert np.shares_memory(z.detach().data, z.data)


def test_backward_from_non_scalar_needs_grad():
    x = td.Tensor(np.ones(3), requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"scalar outputs.*shape \(3,\)"):
        y.backward()
    y.backward(td.Tensor(np.array([1.0, 2.0, 3.0])))
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0, 6.0])


def test_backward_without_graph_says_so():
    with pytest.raises(RuntimeError, match="does not require grad"):
        td.Tensor([1.0]).sum().backward()


def test_float32_float64_mix_follows_numpy_promotion_and_casts_grads_back():
    a = td.Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    b = td.Tensor(np.ones(2, dtype=np.float64), requires_grad=True)
    y = a * b
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    assert (a * 2.0).dtype == np.float32  # Python scalars do not promote


def test_retain_grad_on_non_leaf():
    x = td.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.data, 2 * h.data)


def test_gradient_order_is_deterministic():
    def run():
        r = np.random.default_rng(3)
        x = td.Tensor(r.standard_normal(1000).astype(np.float32), requires_grad=True)
        terms = [(x * float(k)).tanh().sum() for k in range(30)]
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        total.backward()
        return x.grad.data.copy()

    np.testing.assert_array_equal(run(), run())


class Cube(Function):
    @staticmethod
    def forward(ctx, x, scale=1.0):
        ctx.scale = scale
        ctx.save_for_backward(x)
        return scale * x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g * 3 * ctx.scale * x * x,)


def test_custom_function_forward_backward_and_double_backward():
    x = td.Tensor(np.array([0.5, -1.2]), requires_grad=True)
    y = Cube.apply(x, scale=2.0)
    np.testing.assert_allclose(y.data, 2 * x.data ** 3)
    assert y.grad_fn is Cube
    assert td.gradcheck(lambda t: Cube.apply(t, scale=2.0), [x])
    assert td.gradgradcheck(lambda t: Cube.apply(t, scale=2.0), [x])


def test_custom_function_wrong_gradient_shape_is_reported():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return (g.sum(),)

    x = td.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Bad.backward returned a gradient of shape \(\)"):
        Bad.apply(x).sum().backward()


def test_in_place_assignment_into_graph_tensor_refused():
    x = td.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        x[0] = 2.0
    y = td.Tensor(np.ones(3))
    y[0] = 2.0
    assert y.data[0] == 2.0


# ---------------------------------------------------------------------------- declared retention
def test_an_input_its_consumer_does_not_retain_is_freed_after_forward():
    import gc
    import weakref
    x = td.Tensor(np.arange(4096.0), requires_grad=True)  # large enough to be worth freeing
    h = x * 2.0          # Multiply's output: its own op does not read it back
    y = h + 1.0          # Add reads no input value: it keeps an edge, not h
    freed = weakref.ref(h.data)
    del h
    gc.collect()
    assert freed() is None
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * (2 * np.arange(4096.0) + 1) * 2)


def test_a_value_an_op_reads_back_stays_alive_through_edges():
    x = td.Tensor(np.linspace(-1.0, 0.5, 4096), requires_grad=True)
    e = x.exp()          # exp's gradient reads its output
    y = (e + 1.0).sum()  # Add keeps no value, but e must survive for exp's backward
    del e
    y.backward()
    np.testing.assert_allclose(x.grad.data, np.exp(x.data))


def test_retain_grad_sees_the_gradient_summed_over_its_edges():
    x = td.Tensor(np.ones(4096), requires_grad=True)
    h = x * 3.0
    h.retain_grad()
    y = (h + 1.0).sum() + h.sum()
    y.backward()
    np.testing.assert_allclose(h.grad.data, np.full(4096, 2.0))
    np.testing.assert_allclose(x.grad.data, np.full(4096, 6.0))


def test_grad_of_an_intermediate_reached_through_an_edge():
    x = td.Tensor(np.ones(4096), requires_grad=True)
    h = x * 2.0
    y = (h + 1.0).sum()
    (gh,) = td.grad(y, [h])
    np.testing.assert_allclose(gh.data, np.ones(4096))


def test_a_backward_reading_an_input_it_did_not_retain_says_so():
    class Leaky(td.Function):
        retain_inputs = ()   # wrong: backward below reads x's value

        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * td.Tensor(ctx.inputs[0].data)

    x = td.Tensor(np.ones(4096), requires_grad=True)
    y = Leaky.apply(x * 1.0)
    with pytest.raises(RuntimeError, match="retain_inputs"):
        y.sum().backward()


def test_view_functions_share_the_version_counter_and_non_view_subclasses_do_not():
    class MyView(Function):
        """y = x[::-1], a view of x's array."""

        view = True

        @staticmethod
        def forward(ctx, x):
            return x[::-1]

        @staticmethod
        def backward(ctx, g):
            return (g[::-1],)

    class MyCopy(MyView):
        """The same values in a new array: not a view."""

        view = False

        @staticmethod
        def forward(ctx, x):
            return x[::-1].copy()

    x = td.Tensor(np.arange(3.0), requires_grad=True)
    y = x * 1.0
    v = MyView.apply(y)
    c = MyCopy.apply(y)
    assert np.shares_memory(v.data, y.data) and not np.shares_memory(c.data, y.data)
    assert v._vc is not None and v._vc is y._vc
    assert c._vc is None
    # A write into y is a write into v: the product, which reads v, refuses to backward.
    loss = (v * v).sum()
    y.data[0] = 5.0
    bump_version(y)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


def test_a_gradient_that_is_someone_elses_array_is_copied_before_accumulating():
    """A backward returning its saved tensors, a hook returning a tensor it holds, and the
    caller's grad_outputs seen through a view under create_graph: stored uncopied as .grad,
    the next backward added into the parameters, the held tensor and grad_outputs."""

    class Product(td.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return (x * w).sum()

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            return w, x  # g is 1

    x, w = td.tensor([1.0, 2.0, 3.0], requires_grad=True), td.tensor([0.5, -1.0, 2.0],
                                                                      requires_grad=True)
    for _ in range(2):
        Product.apply(x, w).backward()
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(w.numpy(), [0.5, -1.0, 2.0])
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, -2.0, 4.0])

    held = td.tensor([5.0, 5.0, 5.0])
    y = td.ones(3, requires_grad=True)
    y.register_hook(lambda g: held)
    for _ in range(2):
        (y * 2).sum().backward()
    np.testing.assert_array_equal(held.numpy(), [5.0, 5.0, 5.0])
    np.testing.assert_array_equal(y.grad.numpy(), [10.0, 10.0, 10.0])

    z = td.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    go = td.ones(3)
    z.reshape(3).backward(go, create_graph=True)
    (z * z).sum().backward()
    np.testing.assert_array_equal(go.numpy(), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(z.grad.numpy(), [[3.0, 5.0, 7.0]])


def test_a_backward_through_parameters_an_optimizer_has_stepped_raises():
    """optimizer.step() writes the parameters in place, as torch counts it: a retained graph
    that saved them refuses a second backward (it gave gradients for the old weights)."""
    w = td.tensor([1.0, 2.0], requires_grad=True)
    opt = td.optim.SGD([w], lr=1.0)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


@pytest.mark.parametrize("switch,inside", [(td.no_grad, False), (td.enable_grad, True),
                                           (lambda: td.inference_mode(), False),
                                           (lambda: td.set_grad_enabled(False), False)])
def test_grad_mode_decorators_hold_inside_generators(switch, inside):
    """The mode holds while the generator's body runs (it was restored as soon as the
    generator object existed), the caller's between two next() calls; send, throw and the
    return value pass through."""
    x = td.ones(2, requires_grad=True)

    @switch()
    def gen():
        received = yield (x * 2).requires_grad
        assert received == "hello"
        try:
            yield (x * 2).requires_grad
        except KeyError:
            yield td.is_grad_enabled()
        return "done"

    outer = not inside
    with td.set_grad_enabled(outer):
        g = gen()
        assert next(g) is inside and td.is_grad_enabled() is outer
        assert g.send("hello") is inside
        assert g.throw(KeyError()) is inside
        with pytest.raises(StopIteration) as stop:
            next(g)
        assert stop.value.value == "done" and td.is_grad_enabled() is outer


def test_requires_grad_off_on_a_computed_tensor_and_tuple_outputs_raise():
    x = td.ones(3, requires_grad=True)
    h = x * 2
    with pytest.raises(RuntimeError, match="only a leaf"):
        h.requires_grad_(False)
    assert x.detach().requires_grad_(False) is not None

    class Two(td.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError, match="one output"):
        Two.apply(x)


def test_module_zero_grad_without_none_zeroes_the_same_array():
    m = td.nn.Linear(2, 1)
    m(td.ones(1, 2)).sum().backward()
    g = m.weight.grad
    m.zero_grad(set_to_none=False)
    assert m.weight.grad is g and not g.numpy().any()


def test_a_leaf_grad_is_private_even_when_add_hands_its_array_onwards():
    """``h + P``: Add gives one array to both inputs. P's .grad must be its own, so a hook
    that writes into it during backward (DistributedDataParallel averages in place) leaves
    the gradient still flowing to h's producer alone."""
    emb = td.tensor([1.0, 2.0, 3.0], requires_grad=True)
    pos = td.zeros(3, requires_grad=True)

    def halve(p):
        p.grad.data *= 0.5

    pos.register_post_accumulate_grad_hook(halve)
    ((emb * 1.0 + pos) * td.tensor([2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(emb.grad.numpy(), [2.0, 3.0, 4.0])
    np.testing.assert_array_equal(pos.grad.numpy(), [1.0, 1.5, 2.0])


# ---------------------------------------------------------------- found by a differential sweep
@pytest.mark.parametrize("cast", [lambda x: x.long(), lambda x: x.int(), lambda x: x.bool(),
                                  lambda x: x.astype(np.int64), lambda x: x.to(np.int64)])
def test_an_integer_cast_has_no_gradient(cast):
    """The gradient passed straight through the cast: x.grad was 2x (or garbage for bool)."""
    x = td.Tensor(np.array([1.7, -2.3, 0.4]), requires_grad=True)
    q = cast(x)
    assert not q.requires_grad  # as torch
    (q.astype(np.float64) * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, q.data.astype(np.float64))


def test_a_reshape_to_the_same_shape_is_its_own_node():
    """reshape/view/broadcast_to to the same shape returned the input itself, so a hook (or
    retain_grad) on the result acted on every path through the input."""
    x = td.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 1
    v = y.reshape(2)
    assert v is not y
    v.register_hook(lambda g: g * 5)
    (y * v).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [6.0, 12.0])  # torch's: y + 5 y, times 1
    leaf = td.Tensor(np.ones(2), requires_grad=True)
    assert not leaf.view(2).is_leaf and not td.broadcast_to(leaf, (2,)).is_leaf
    with td.no_grad():  # nothing recorded: no node, but a tensor of its own (torch's view)
        alias = leaf.reshape(2)
        assert alias is not leaf and not alias.requires_grad
        assert alias.data is leaf.data


def test_a_copy_made_by_advanced_indexing_has_its_own_version_counter():
    """It shared its input's counter, so writing the copy raised a false in-place error."""
    x = td.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = (x * x).sum()
    with td.no_grad():
        c = x[[0, 1]]
        c.mul_(0)
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0, 6.0])
    v = x[:2]  # a real view still shares it: writing it must raise at backward
    z = (x * x).sum()
    with td.no_grad():
        v.mul_(2)
    with pytest.raises(RuntimeError, match="in-place|inplace|modified"):
        z.backward()


def test_needs_input_grad_is_readable_in_forward_as_torch():
    """ctx.inputs was set only after forward, so reading the flags there raised TypeError."""
    seen = []

    class Scale(Function):
        @staticmethod
        def forward(ctx, a, b, k):
            seen.append(ctx.needs_input_grad)
            return a * b * k

        @staticmethod
        def backward(ctx, g):
            a, b, k = ctx.inputs
            return g * b * k, g * a * k, None

    x = td.tensor(np.array([1.0, 2.0]), requires_grad=True)
    Scale.apply(x, td.tensor(np.array([3.0, 4.0])), 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [6.0, 8.0])
    with td.no_grad():  # torch gives the inputs' flags under no_grad too
        Scale.apply(x, x, 2.0)
    assert seen == [(True, False, False), (True, True, False)]


@pytest.mark.parametrize("switch,inside", [(td.no_grad, False), (td.enable_grad, True),
                                           (td.inference_mode, False)])
def test_grad_mode_switches_decorate_without_parentheses_as_torch(switch, inside):
    """``@td.no_grad`` and ``@td.enable_grad`` raised TypeError; ``@td.inference_mode`` was
    accepted and the decorated function then raised when called."""
    x = td.ones(2, requires_grad=True)

    @switch
    def f(t, scale=2.0):
        return (t * scale).requires_grad

    @switch
    def gen():
        yield (x * 2).requires_grad

    with td.set_grad_enabled(not inside):
        assert f(x, scale=3.0) is inside and f.__name__ == "f"
        assert list(gen()) == [inside]
        assert td.is_grad_enabled() is not inside
    with switch():  # still a context manager
        assert td.is_grad_enabled() is inside
    assert td.inference_mode(False)(lambda: td.is_grad_enabled())() is True


def test_root_gradient_of_another_dtype_is_cast_to_the_output_dtype():
    """As torch: x.backward(float32 gradient) on a float64 leaf left a float32 .grad."""
    x = td.tensor(np.array([1.0, 2.0]), requires_grad=True)
    x.backward(td.tensor([1.0, 2.0], dtype=np.float32))
    (x * 2).backward(td.tensor([1, 1]))
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])


class _Identity(Function):
    @staticmethod
    def forward(ctx, a):
        return a

    @staticmethod
    def backward(ctx, g):
        return g


class _Reverse(Function):
    @staticmethod
    def forward(ctx, a):
        return a[::-1]

    @staticmethod
    def backward(ctx, g):
        return g[::-1]


@pytest.mark.parametrize("op,expected", [(_Identity, [11.0, 12.0]), (_Reverse, [12.0, 11.0])])
def test_a_custom_function_returning_its_input_array_gives_a_new_tensor(op, expected):
    """The output shared the input's array: an in-place op on it rewrote the value (a * a)
    saved for backward, and w.grad came out wrong. It is copied now, as a non-view op's."""
    w = td.tensor(np.array([1.0, 2.0]), requires_grad=True)
    a = w * 1.0
    z = (a * a).sum()
    y = op.apply(a)
    y.add_(10.0)
    np.testing.assert_array_equal(y.data, expected)
    np.testing.assert_array_equal(a.data, [1.0, 2.0])
    z.backward(retain_graph=True)
    np.testing.assert_array_equal(w.grad.data, [2.0, 4.0])
    (y * td.tensor([1.0, 3.0])).sum().backward()  # the in-place op was recorded on y
    np.testing.assert_array_equal(w.grad.data, [3.0, 7.0] if op is _Identity else [5.0, 5.0])


# ------------------------------------------------ grad() runs only what leads to its inputs
def test_grad_runs_only_the_part_of_the_graph_that_leads_to_its_inputs():
    """torch's rule: grad(L, h) stops at h. Running on to the leaves fired x's hook, freed
    exp's saved values (a later backward through h raised) and checked versions of nodes it
    did not need."""
    x = td.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(g))
    h = x.exp()
    (gh,) = td.grad((h * h).sum(), h)
    np.testing.assert_allclose(gh.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-6)
    assert calls == []
    (h * 2).sum().backward()  # exp's node was not run, so not freed
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-6)
    assert len(calls) == 1
    w = td.tensor([3.0, 4.0], requires_grad=True)
    k = (x * w).exp()
    with td.no_grad():
        w += 1  # read by x * w's backward, which grad(k, x * w) does not need
    h = k._ctx.inputs[0]
    assert td.grad(k.sum(), h)[0].shape == (2,)


def test_grad_of_an_input_and_of_what_it_was_computed_from():
    x = td.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    y = (h * h).sum()
    gh, gx = td.grad(y, [h, x], retain_graph=True)
    assert gh.tolist() == [6.0, 12.0] and gx.tolist() == [18.0, 36.0]


# ------------------------------------------------------------ custom Function's arguments
class _Scale(Function):
    @staticmethod
    def forward(ctx, x, s=None):
        return x * s

    @staticmethod
    def backward(ctx, g):
        x, s = ctx.inputs
        return g * s, g * x


def test_a_tensor_given_by_keyword_to_apply_is_an_input_with_a_gradient():
    """apply(x, s=s): bound to forward's parameter as torch does; passed on as a keyword it
    got no gradient, silently (s.grad stayed None)."""
    x = td.tensor([1.0, 2.0], requires_grad=True)
    s = td.tensor([3.0, 5.0], requires_grad=True)
    _Scale.apply(x, s=s).sum().backward()
    assert x.grad.tolist() == [3.0, 5.0] and s.grad.tolist() == [1.0, 2.0]


def test_a_backward_returning_more_gradients_than_inputs_raises():
    class Extra(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, g * 99

    class ExtraNone(Extra):
        @staticmethod
        def backward(ctx, g):
            return g * 2, None  # trailing Nones are fine, as in torch

    x = td.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="returned 2 gradients for 1 inputs"):
        Extra.apply(x).sum().backward()
    ExtraNone.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


# ============================================= custom Functions: what their backward reads
_X = np.array([0.3, -1.2, 2.0])


class _ExpSavingOutput(td.Function):
    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


def test_a_saved_output_written_in_place_keeps_its_forward_values():
    """y = exp(x) saved by the Function, then y.mul_(2): backward read the doubled array
    (4 e^x; torch raises); the node keeps its own copy, so the gradient is 2 e^x."""
    x = td.tensor(_X, requires_grad=True)
    y = _ExpSavingOutput.apply(x)
    y.mul_(2)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(_X), rtol=1e-15)


def test_an_array_a_custom_backward_keeps_does_not_become_grad():
    """backward returned ctx.d (or a global tensor): stored as .grad uncopied, the second
    backward added into it (12 after three backwards of 3; the global tensor changed)."""

    class Kept(td.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.d = np.full(x.shape, 3.0)
            return 3 * x

        @staticmethod
        def backward(ctx, g):
            return ctx.d

    constant = td.tensor(np.ones(3))

    class Global(td.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return constant

    a = td.tensor(_X, requires_grad=True)
    y = Kept.apply(a).sum()
    for _ in range(3):
        y.backward(retain_graph=True)
    np.testing.assert_array_equal(a.grad.numpy(), [9.0, 9.0, 9.0])
    b = td.tensor(_X, requires_grad=True)
    z = Global.apply(b).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_array_equal(b.grad.numpy(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(constant.numpy(), [1.0, 1.0, 1.0])


def test_a_saved_tensor_that_is_not_an_input_is_version_checked():
    w = td.tensor(np.full(3, 2.0))

    class Scale(td.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(w)
            return x * w.data

        @staticmethod
        def backward(ctx, g):
            (saved,) = ctx.saved_tensors
            return g * saved

    x = td.tensor(_X, requires_grad=True)
    y = Scale.apply(x)
    with td.no_grad():
        w.mul_(5)  # the gradient came out 5x (torch raises)
    with pytest.raises(RuntimeError, match="saved tensor 0 .* of Scale"):
        y.sum().backward()


def test_a_gradient_for_an_input_that_is_not_a_tensor_raises():
    class Times(td.Function):
        @staticmethod
        def forward(ctx, k, x):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * 2, None  # swapped: x's gradient was dropped, silently

    x = td.tensor(_X, requires_grad=True)
    with pytest.raises(RuntimeError, match="Times.backward returned a gradient different from "
                                           "None at position 0, but the input there is not a "
                                           r"Tensor \(int\)"):
        Times.apply(2, x).sum().backward()


def test_a_custom_forward_runs_without_recording_as_torch():
    """tinydl ops inside a custom forward on a tensor that requires grad (h, made by an op)
    recorded a node and marked h's producer as used, so a later h.add_(1) was refused."""
    w = td.tensor(np.ones(3), requires_grad=True)
    h = w * 2
    seen = []

    class UsesH(td.Function):
        @staticmethod
        def forward(ctx, x):
            seen.append(td.is_grad_enabled())
            return x * (h * 1).data

        @staticmethod
        def backward(ctx, g):
            return g * h.detach()

    x = td.tensor(_X, requires_grad=True)
    UsesH.apply(x).sum().backward()
    assert seen == [False] and td.is_grad_enabled()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])
    h.add_(1)  # h's producer was marked consumed by the forward's h * 1 before


def test_a_classmethod_forward_still_works():
    class Square(td.Function):
        @classmethod
        def forward(cls, ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x

    x = td.tensor([1.0, 2.0, 3.0], requires_grad=True)
    Square.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])


def test_inputs_sharing_one_array_stay_apart_and_forward_may_not_write_them():
    """M.apply(x, x.detach()) saving both: saved_tensors matched by identity gave both as x,
    so the second derivative was 1 (b is a constant: torch gives none). And forward writing
    into its input changed a value another node saved, unseen by its version check (torch's
    write bumps the version, and that backward raises)."""

    class Mul(td.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return g * b, g * a

    x = td.tensor(_X, requires_grad=True)
    (g,) = td.grad(Mul.apply(x, x.detach()).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.numpy(), _X)
    assert not g.requires_grad  # b = x.detach() is a constant: no second derivative
    (g,) = td.grad(Mul.apply(x, x).sum(), x, create_graph=True)  # one tensor twice: both x
    np.testing.assert_array_equal(g.numpy(), 2 * _X)
    (gg,) = td.grad(g.sum(), x)
    np.testing.assert_array_equal(gg.numpy(), np.full_like(_X, 2.0))

    class Doubler(td.Function):
        @staticmethod
        def forward(ctx, x):
            x *= 2
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    b = td.tensor(_X, requires_grad=True).exp()  # exp saved its output b
    with pytest.raises(ValueError, match="read-only") as info:
        Doubler.apply(b)
    assert "Doubler.forward got read-only views" in "".join(info.value.__notes__)
    assert b.data.flags.writeable  # the tensor's own array is untouched
    np.testing.assert_array_equal(b.numpy(), np.exp(_X))


def test_backward_with_inputs_accumulates_into_those_only_as_torch():
    def run(make):
        a, b = make([1.0, 2.0]), make([3.0, 4.0])
        h = a * b
        y = (h * a + b).sum()
        y.backward(inputs=[a], retain_graph=True)
        seen = [a.grad.tolist(), b.grad]
        y.backward(inputs=[b, a], retain_graph=True)
        seen += [a.grad.tolist(), b.grad.tolist()]
        y.backward(inputs=[h])  # a non-leaf's .grad, as torch fills it
        return seen + [h.grad.tolist()]

    got = run(lambda v: td.tensor(v, requires_grad=True))
    assert got == [[6.0, 16.0], None, [12.0, 32.0], [2.0, 5.0], [1.0, 2.0]]
    torch = pytest.importorskip("torch")
    assert got == run(lambda v: torch.tensor(v, requires_grad=True))
    x = td.tensor([1.0, 2.0], requires_grad=True)
    shared = x + 0
    (shared * 2).sum().backward(inputs=x, gradient=td.tensor(3.0))  # torch's keyword name
    assert x.grad.tolist() == [6.0, 6.0]
    with pytest.raises(RuntimeError, match="inputs argument cannot be empty"):
        (x * 2).sum().backward(inputs=[])
    with pytest.raises(RuntimeError, match=r"inputs\[0\] is not a Tensor that requires grad"):
        (x * 2).sum().backward(inputs=[td.ones(2)])


def test_backward_with_inputs_fills_retained_non_leaves_on_the_way_as_torch():
    """h.retain_grad() then backward(inputs=[x]): h is on the path to x, and torch fills
    its .grad (tinydl left it None); a retained tensor off that path stays None."""
    def run(make, inputs):
        x, w = make([1.0, 2.0]), make([3.0, 4.0])
        h, k = x * 3.0, w * 2.0
        m = h * 2
        for t in (h, k, m):
            t.retain_grad()
        (h * h + k + m).sum().backward(inputs=inputs(x, h))
        return [None if t.grad is None else t.grad.tolist() for t in (h, k, m, x, w)]

    for inputs in (lambda x, h: [x], lambda x, h: [h]):
        got = run(lambda v: td.tensor(v, requires_grad=True), inputs)
        assert got[0] == [8.0, 14.0] and got[1] is None and got[2] == [1.0, 1.0]
        torch = pytest.importorskip("torch")
        assert got == run(lambda v: torch.tensor(v, requires_grad=True), inputs)


_W = np.arange(9.0).reshape(3, 3)


@pytest.mark.parametrize("op, make", [
    (lambda x, i: x[i], lambda: td.tensor([1, 0, 1])),
    (lambda x, i: x[:, i], lambda: td.tensor([1, 0, 1])),
    (lambda x, i: x.index_select(1, i), lambda: td.tensor([1, 0, 1])),
    (lambda x, i: td.zeros(2, 3).scatter_add(1, i[:2].reshape(2, 1).expand(2, 3), x),
     lambda: td.tensor([1, 0, 1])),
    (lambda x, i: td.nn.functional.embedding(i, x), lambda: td.tensor([1, 0, 1])),
    (lambda x, m: x.masked_fill(m, 0.0), lambda: td.tensor([[True, False, True]] * 2)),
    (lambda x, m: td.where(m, x, 3 * x), lambda: td.tensor([[True, False, True]] * 2)),
], ids=["getitem", "getitem_cols", "index_select", "scatter_add", "embedding", "masked_fill",
        "where"])
def test_an_index_or_mask_written_after_the_forward_does_not_move_the_gradient(op, make):
    """The op read the index, mask or condition tensor's array at backward: i.fill_(0) after
    the forward sent the gradient to where the new values pointed (torch raises)."""
    def grad_of(mutate):
        x = td.tensor([[1.5, -2.0, 0.5], [3.0, 0.25, -1.0]], requires_grad=True)
        index = make()
        y = op(x, index)
        mutate(index)
        weights = td.tensor(np.arange(y.size, dtype=np.float32).reshape(y.shape))
        (y * weights).sum().backward()
        return x.grad.numpy()

    untouched = grad_of(lambda index: None)
    written = grad_of(lambda index: index.fill_(True if index.dtype == np.bool_ else 0))
    np.testing.assert_array_equal(written, untouched)


def test_in_place_fills_refuse_what_the_dtype_cannot_hold():
    i8 = td.tensor(np.array([1, 2, 3], np.int8))
    for value in (300, -129, float("nan"), float("inf"), 1e10):
        with pytest.raises(ValueError, match="fill_: value .* cannot be converted to int8"):
            i8.fill_(value)  # wrapped to 44, 0...
    np.testing.assert_array_equal(i8.numpy(), [1, 2, 3])
    assert i8.fill_(2.7).tolist() == [2, 2, 2]  # truncation, as torch
    for fill in (lambda t: t.normal_(), lambda t: t.uniform_()):
        with pytest.raises(TypeError, match="samples need a floating-point tensor"):
            fill(td.tensor([1, 2]))  # truncated samples: [0, 0]


def test_copy_of_a_constant_into_a_recorded_tensor():
    # an internal AttributeError before; torch: the old value gets a zero gradient
    x = td.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.copy_(td.tensor([5.0, 6.0]))
    (h * h).sum().backward()
    assert h.tolist() == [5.0, 6.0] and x.grad.tolist() == [0.0, 0.0]


def test_a_no_op_reshape_is_a_tensor_of_its_own():
    x = td.zeros(2, 3)
    for y in (x.reshape(2, 3), x.squeeze(), td.broadcast_to(x, (2, 3)), x.view(2, 3)):
        y.requires_grad_()  # turned on x's own before: the same object came back
        assert not x.requires_grad and y.data is x.data


def test_torch_custom_function_helpers():
    """mark_non_differentiable, set_materialize_grads, once_differentiable and mark_dirty, as
    ported torch Functions call them (AttributeError / ImportError before)."""
    from tinydl.autograd import once_differentiable

    class ArgMaxOneHot(td.Function):
        @staticmethod
        def forward(ctx, x):
            out = (x == x.max(axis=-1, keepdims=True)).astype(x.dtype)
            ctx.mark_non_differentiable(out)
            ctx.set_materialize_grads(False)
            return out

        @staticmethod
        def backward(ctx, g):
            raise AssertionError("never runs")

    x = td.tensor([[1.0, 3.0, 2.0]], requires_grad=True)
    hot = ArgMaxOneHot.apply(x)
    assert hot.tolist() == [[0.0, 1.0, 0.0]] and not hot.requires_grad

    class Cube(td.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return td.tensor(3 * x.numpy() ** 2 * g.numpy())  # NumPy: no graph follows

    y = td.tensor([1.0, 2.0], requires_grad=True)
    Cube.apply(y).sum().backward()
    assert y.grad.tolist() == [3.0, 12.0]
    with pytest.raises(RuntimeError, match="differentiate twice .*once_differentiable"):
        td.grad(Cube.apply(y).sum(), y, create_graph=True)  # a silent constant otherwise

    class Doubling(td.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            return x

    with pytest.raises(RuntimeError, match="mark_dirty: tinydl's custom Functions may not"):
        Doubling.apply(td.tensor([1.0], requires_grad=True))


def test_grad_through_a_subgraph_an_earlier_backward_freed_raises_not_drops_it():
    """Two losses sharing a trunk: loss1.backward() freed h's node; grad(loss2, x) then
    returned 2x, leaving out the 3 e^x through h (torch raises)."""
    x = td.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x.exp()
    loss1, loss2 = (h * h).sum(), (h * 3).sum() + (x * x).sum()
    loss1.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        td.grad(loss2, x)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss2.backward(inputs=[x])
    y = (x * x).sum()
    td.grad(y, x)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        td.grad(y, x, allow_unused=True)  # was (None,)
    h = x.exp()   # with retain_graph the second one is right
    loss1, loss2 = (h * h).sum(), (h * 3).sum() + (x * x).sum()
    loss1.backward(retain_graph=True)
    np.testing.assert_allclose(td.grad(loss2, x)[0].data,
                               3 * np.exp([1.0, 2.0]) + 2 * np.array([1.0, 2.0]))


def test_a_retained_non_leaf_grad_is_replaced_not_added_into():
    """A .grad kept from the first backward changed when the second added into it in place
    (torch's retain_grad makes a new tensor; a leaf's .grad is added into in both)."""
    x = td.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h * 1).sum().backward(retain_graph=True)
    kept, kept_leaf = h.grad, x.grad
    (h * 1).sum().backward()
    np.testing.assert_array_equal(kept.data, [1.0, 1.0])
    np.testing.assert_array_equal(h.grad.data, [2.0, 2.0])
    assert x.grad is kept_leaf and np.array_equal(x.grad.data, [6.0, 6.0])


def test_grad_mode_decorators_cover_a_generators_close_and_take_keywords():
    seen = []

    @td.no_grad()
    def numbers():
        try:
            yield 1
        finally:
            seen.append(td.is_grad_enabled())

    generator = numbers()
    next(generator)
    generator.close()
    assert seen == [False]  # the finally block ran with grad enabled
    with td.inference_mode(mode=False):  # raised TypeError
        assert td.is_grad_enabled()


def test_clamp_in_place_with_a_bound_that_requires_grad_records_it_as_torch():
    """The bounds were captured by a closure rather than passed as operands: clamping a
    constant to a bound that requires grad gave no graph, and the bound no gradient."""
    w = td.tensor([0.5, 0.5, 3.0], requires_grad=True)
    b = td.tensor([0.0, 1.0, 2.0])
    b.clamp_(min=w)
    assert b.requires_grad
    (b * td.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(b.data, [0.5, 1.0, 3.0])
    np.testing.assert_array_equal(w.grad.data, [1.0, 0.0, 3.0])  # where the bound won
    torch = pytest.importorskip("torch")
    tw = torch.tensor([0.5, 0.5, 3.0], requires_grad=True)
    tb = torch.tensor([0.0, 1.0, 2.0]).clamp_(min=tw)
    (tb * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(w.grad.data, tw.grad.numpy())


def test_a_failed_in_place_op_leaves_the_graph_usable():
    """A refused write (a shape that does not fit, an operand of no use) after the node had
    been pointed at the old value left it pointing at a freed tensor: the next backward
    raised a TypeError from inside."""
    x = td.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    with pytest.raises(ValueError):
        y.add_(td.zeros(3))
    with pytest.raises(TypeError):
        y.mul_("2")
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.exp([1.0, 2.0]), rtol=1e-6)
    y2 = x * 2
    y2.add_(1.0)  # and a later in-place op on the same tensor still records
    y2.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.exp([1.0, 2.0]) + 2, rtol=1e-6)


@pytest.mark.parametrize("fill, message", [
    (lambda t: t.uniform_(2.0, 1.0), "uniform_: expects finite bounds"),
    (lambda t: t.uniform_(0.0, float("inf")), "uniform_: expects finite bounds"),
    (lambda t: t.uniform_(float("nan"), 1.0), "uniform_: expects finite bounds"),
    (lambda t: t.normal_(0.0, -1.0), "normal_: std must be >= 0"),
    (lambda t: t.normal_(0.0, float("nan")), "normal_: std must be >= 0"),
])
def test_random_fills_refuse_parameters_out_of_their_domain_naming_the_op(fill, message):
    """NumPy's own bare errors ("high - low < 0", "scale < 0") came out, and a NaN std filled
    the tensor with NaN silently; torch refuses all five."""
    t = td.zeros(3)
    with pytest.raises(ValueError, match=message):
        fill(t)
    np.testing.assert_array_equal(t.data, 0)
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        fill(torch.zeros(3))


_TIED = {  # (tinydl, torch) ops whose torch backward formula reads the value it gates by
    "relu": ("relu", "relu"), "relu6": ("relu6", "relu6"), "hardtanh": ("hardtanh", "hardtanh"),
    "threshold": (lambda F, x: F.threshold(x, 0.1, 2.0), lambda F, x: F.threshold(x, 0.1, 2.0)),
    "hardshrink": ("hardshrink", "hardshrink"), "softshrink": ("softshrink", "softshrink"),
    "leaky_relu": ("leaky_relu", "leaky_relu"),
    "rrelu_eval": (lambda F, x: F.rrelu(x, training=False),
                   lambda F, x: F.rrelu(x, training=False)),
    "abs": (lambda F, x: x.abs(), lambda F, x: x.abs()),
    "norm1": (lambda F, x: x.norm(1), lambda F, x: x.norm(1)),
    "max_pool2d": (lambda F, x: F.max_pool2d(x, 2), lambda F, x: F.max_pool2d(x, 2)),
    "max_pool1d": (lambda F, x: F.max_pool1d(x.flatten(2), 2),
                   lambda F, x: F.max_pool1d(x.flatten(2), 2)),
    "adaptive_max_pool2d": (lambda F, x: F.adaptive_max_pool2d(x, 3),
                            lambda F, x: F.adaptive_max_pool2d(x, 3)),
    "adaptive_max_pool1d": (lambda F, x: F.adaptive_max_pool1d(x.flatten(2), 5),
                            lambda F, x: F.adaptive_max_pool1d(x.flatten(2), 5)),
    "fractional_max_pool2d": (  # the same window draws for both
        lambda F, x: F.fractional_max_pool2d(x, 2, output_size=2, _random_samples=td.tensor(
            np.full((2, 1, 2), 0.3))),
        lambda F, x: F.fractional_max_pool2d(x, 2, output_size=2, _random_samples=__import__(
            "torch").full((2, 1, 2), 0.3, dtype=x.dtype))),
}


@pytest.mark.parametrize("name", list(_TIED))
def test_second_derivative_through_a_gate_is_zeros_not_unused_as_torch(name):
    # grad(grad(f(x).sum(), x, create_graph=True)[0].sum(), x): the gate is read off x (or
    # the output), so torch's gradient depends on x with derivative zero; tinydl's was a
    # constant and grad said x was not used
    import tinydl.nn.functional as F
    ours = _TIED[name][0]
    ours = getattr(F, ours) if isinstance(ours, str) else (lambda fn: lambda x: fn(F, x))(ours)
    data = np.random.default_rng(0).standard_normal((2, 1, 4, 4))
    x = td.tensor(data, requires_grad=True)
    (g,) = td.grad(ours(x).sum(), x, create_graph=True)
    assert g.requires_grad
    (h,) = td.grad(g.sum(), x)
    assert np.array_equal(h.data, np.zeros_like(data))
    try:
        import torch
        import torch.nn.functional as tF
    except ImportError:
        return
    theirs = _TIED[name][1]
    theirs = getattr(tF, theirs) if isinstance(theirs, str) else \
        (lambda fn: lambda x: fn(tF, x))(theirs)
    xt = torch.tensor(data, requires_grad=True)
    (gt,) = torch.autograd.grad(theirs(xt).sum(), xt, create_graph=True)
    np.testing.assert_allclose(g.data, gt.detach().numpy(), rtol=1e-12)
    assert gt.requires_grad and not torch.autograd.grad(gt.sum(), xt)[0].any()


def test_input_hessian_of_a_relu_cnn_is_zeros_also_through_unretained_inputs():
    # max pooling does not retain its input: a large one is an _Edge in the graph, which the
    # tie stands for by a tensor of its node
    import tinydl.nn as nn
    td.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(4 * 15 * 15, 1)).double()
    x = td.tensor(np.random.default_rng(1).standard_normal((8, 1, 32, 32)), requires_grad=True)
    (g,) = td.grad(net(x).sum(), x, create_graph=True)
    # an input-gradient penalty's gradient in the input
    (h,) = td.grad((g * g).sum(), x, retain_graph=True)
    assert h.shape == x.shape and not h.data.any()
    (h_w,) = td.grad((g * g).sum(), net[0].weight)  # the weights' part is not zero
    assert h_w.data.any()


def test_a_torch2_style_function_with_setup_context_runs_as_torchs():
    """forward(*args) without ctx and setup_context(ctx, inputs, output), torch 2's style:
    it raised "forward() takes 2 positional arguments but 3 were given"."""
    def make(base, lib):
        class Scale(base):
            @staticmethod
            def forward(x, k):
                return x * k

            @staticmethod
            def setup_context(ctx, inputs, output):
                x, k = inputs
                ctx.k = k
                ctx.save_for_backward(x, output)

            @staticmethod
            def backward(ctx, g):
                x, out = ctx.saved_tensors
                assert tuple(out.shape) == tuple(x.shape)
                return g * ctx.k * lib.cos(x) ** 0, None
        return Scale

    x0 = np.array([0.5, -1.5])
    x = td.tensor(x0, requires_grad=True)
    y = make(td.autograd.Function, td).apply(x, 3.0)
    y.sum().backward()
    assert y.tolist() == [1.5, -4.5] and x.grad.tolist() == [3.0, 3.0]
    assert td.gradcheck(lambda t: make(td.autograd.Function, td).apply(t, 3.0), [x])
    torch = pytest.importorskip("torch")
    t = torch.tensor(x0, requires_grad=True)
    make(torch.autograd.Function, torch).apply(t, 3.0).sum().backward()
    assert t.grad.tolist() == x.grad.tolist()


def test_setup_context_gets_defaults_and_keywords_and_a_subclass_override():
    """inputs holds every parameter of forward, defaults and keywords bound (torch binds
    them); a subclass overriding only setup_context has its own called (the base's was, and
    the gradient came out silently wrong)."""
    class Scale(td.autograd.Function):
        @staticmethod
        def forward(x, k=2.0):
            return x * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            _, ctx.k = inputs

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None

    class Hundred(Scale):
        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.k = 100.0

    for call, want in ((lambda x: Scale.apply(x), 2.0), (lambda x: Scale.apply(x, k=3.0), 3.0),
                       (lambda x: Scale.apply(x, 4.0), 4.0), (lambda x: Hundred.apply(x), 100.0)):
        x = td.tensor([1.0, 2.0], requires_grad=True)
        call(x).sum().backward()
        assert x.grad.tolist() == [want, want]

    class Product(td.autograd.Function):  # a Tensor by keyword: an input with a gradient
        @staticmethod
        def forward(x, k):
            return x * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(*inputs)

        @staticmethod
        def backward(ctx, g):
            x, k = ctx.saved_tensors
            return g * k, (g * x).sum()

    x, k = td.tensor([1.0, 2.0], requires_grad=True), td.tensor(3.0, requires_grad=True)
    Product.apply(x, k=k).sum().backward()  # ("multiple values for argument 'k'" before)
    assert x.grad.tolist() == [3.0, 3.0] and k.grad.item() == 3.0


def test_setup_context_resolves_through_inheritance_as_torch():
    """The setup_context a class resolves to runs (a mixin's too), the user's own decorators
    on forward are kept when a subclass overrides setup_context, and inputs and
    ctx.needs_input_grad hold every parameter of forward, defaults included; each case gave a
    different gradient, or raised, before."""
    torch = pytest.importorskip("torch")
    import functools

    def results(Function, make):
        def times10(fn):
            @functools.wraps(fn)
            def wrapped(*args, **kwargs):
                return fn(*args, **kwargs) * 10
            return wrapped

        class Base(Function):
            @staticmethod
            @times10
            def forward(x):
                return x * 2

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.k = 20.0

            @staticmethod
            def backward(ctx, g):
                return g * ctx.k

        class Override(Base):
            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.k = 21.0

        class Mixin:
            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.k = 5.0

        class Mixed(Mixin, Base):
            pass

        class FunctionMixin(Function):
            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.k = 11.0

        class MixedFunction(FunctionMixin, Base):
            pass

        class Default(Function):
            @staticmethod
            def forward(x, k=2.0):
                return x * k

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.k = inputs[1] * (1 + ctx.needs_input_grad[1])

            @staticmethod
            def backward(ctx, g):
                return g * ctx.k, None

        out = []
        for cls in (Base, Override, Mixed, MixedFunction, Default):
            x = make([1.0])
            y = cls.apply(x)
            y.sum().backward()
            out.append((float(y.detach().sum()), float(x.grad.sum())))
        return out

    ours = results(td.autograd.Function, lambda v: td.tensor(v, requires_grad=True))
    assert ours == results(torch.autograd.Function,
                           lambda v: torch.tensor(v, requires_grad=True, dtype=torch.float32))
    assert ours == [(20.0, 20.0), (20.0, 21.0), (20.0, 5.0), (20.0, 11.0), (2.0, 2.0)]
