"""LBFGS: torch.optim.LBFGS's iterates on Rosenbrock and on a multi-parameter problem,
with and without the strong-Wolfe line search; checkpoints; errors.

Both sides evaluate the same loss and gradient (tinydl's, handed to torch), so only the
optimizers differ. They agree to ~1e-13, not bit for bit: torch's ``add_(x, alpha=a)`` is a
fused multiply-add, and Rosenbrock's curved valley amplifies those last-bit differences over
dozens of iterations (without a line search and far from the minimum, up to 1e-4 after 99
iterations), so the runs below are the well-conditioned ones, compared to 1e-11. The counts
of loss evaluations and iterations must match exactly: every branch was taken alike.
"""
import numpy as np
import pytest

import tinydl
from tinydl import optim
from tinydl.optim.testfns import peaks, rosenbrock
from tests.optim._reference import as_numpy

STEPS = 12


def surface_loss_grad(fn, point):
    """(loss, gradient) of the ``testfns`` surface ``fn`` at ``point``, as NumPy, for torch."""
    x = tinydl.Tensor(np.array(point, dtype=np.float64), requires_grad=True)
    loss = fn(x)
    loss.backward()
    return loss.item(), x.grad.data.copy()


def surface_run(x0, steps, kw, dtype=np.float64, torch=None, fn=rosenbrock):
    """tinydl's LBFGS (torch's when ``torch`` is given) on ``fn`` from ``x0``: (points
    after each step, the losses step() returned, func_evals, n_iter)."""
    if torch is None:
        p = tinydl.Tensor(np.array(x0, dtype=dtype), requires_grad=True)
        opt = optim.LBFGS([p], **kw)

        def closure():
            opt.zero_grad()
            loss = fn(p)
            loss.backward()
            return loss
    else:
        p = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([p], **kw)

        def closure():
            loss, grad = surface_loss_grad(fn, p.detach().numpy())
            p.grad = torch.from_numpy(grad)
            return torch.tensor(loss, dtype=torch.float64)
    points, losses = [], []
    for _ in range(steps):
        losses.append(float(opt.step(closure)))
        points.append(np.array(p.detach().numpy() if torch else p.data))
    return np.array(points), np.array(losses), opt.state[p]["func_evals"], opt.state[p]["n_iter"]


ROSENBROCK = [
    ((2.0, 2.0), dict()),
    ((2.0, 2.0), dict(max_iter=3, history_size=2)),
    ((-1.2, 1.0), dict(line_search_fn="strong_wolfe")),
    ((-1.5, 2.0), dict(line_search_fn="strong_wolfe")),
    ((0.5, -0.5), dict(line_search_fn="strong_wolfe", max_iter=4, history_size=3, lr=0.5)),
    ((0.0, 0.0), dict(line_search_fn="strong_wolfe", max_iter=5, tolerance_change=1e-12)),
    # a large tolerance_change ends the outer loop at once, but not torch's line search
    ((0.3, 0.4), dict(line_search_fn="strong_wolfe", lr=3.0, tolerance_change=2.0)),
]


@pytest.mark.parametrize("x0, kw", ROSENBROCK, ids=[f"{x0}-{kw}" for x0, kw in ROSENBROCK])
def test_rosenbrock_matches_torch(x0, kw):
    torch = pytest.importorskip("torch")
    ours = surface_run(x0, STEPS, kw)
    theirs = surface_run(x0, STEPS, kw, torch=torch)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-11, atol=1e-13,
                               err_msg=f"LBFGS{kw} from {x0}: points")
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-9, atol=1e-12,
                               err_msg=f"LBFGS{kw} from {x0}: losses")
    assert ours[2:] == theirs[2:], f"LBFGS{kw} from {x0}: (func_evals, n_iter)"
    if kw.get("tolerance_change", 0) < 1:
        assert np.abs(ours[0][-1] - 1).max() < 0.01  # it reached the minimum (1, 1)


def test_peaks_line_search_that_must_leave_a_bracket_end_matches_torch():
    """A run whose zoom phase twice lands too near a bracket end (t is then moved 10% in)."""
    torch = pytest.importorskip("torch")
    kw = dict(lr=3.0, line_search_fn="strong_wolfe")
    ours = surface_run((-0.8, -0.5), 8, kw, fn=peaks)
    theirs = surface_run((-0.8, -0.5), 8, kw, torch=torch, fn=peaks)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-11, atol=1e-13)
    assert ours[2:] == theirs[2:]


def test_float32_points_stay_float32_and_reach_the_minimum():
    points, _, _, _ = surface_run((-1.2, 1.0), STEPS, dict(line_search_fn="strong_wolfe"),
                                     np.float32)
    assert points.dtype == np.float32
    np.testing.assert_allclose(points[-1], [1.0, 1.0], atol=1e-3)


# --- several parameters, one flat vector ---------------------------------------------------

SHAPES = [(3, 2), (2,), ()]


def logistic_loss_grad(arrays):
    """L2-regularised logistic loss of a linear model (W, b, a scale s) on fixed data."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(20, 3))
    y = rng.integers(0, 2, size=(20, 2)).astype(np.float64)
    w, b, s = arrays
    z = s * (x @ w) + b
    prob = 1 / (1 + np.exp(-z))
    loss = np.mean(np.logaddexp(0, z) - y * z) + 0.05 * (np.sum(w * w) + s * s)
    dz = (prob - y) / z.size
    grads = [s * x.T @ dz + 0.1 * w, dz.sum(axis=0), np.sum((x @ w) * dz) + 0.1 * s]
    return float(loss), grads


def logistic_closure(params, torch=None):
    """The closure that sets the gradients of ``params`` (tinydl's, or torch's)."""
    wrap = tinydl.Tensor if torch is None else torch.from_numpy

    def closure():
        loss, grads = logistic_loss_grad([p.detach().numpy() if torch else p.data
                                          for p in params])
        for p, g in zip(params, grads):
            p.grad = wrap(np.asarray(g, dtype=np.float64))
        return loss
    return closure


def logistic_run(kw, steps, torch=None, start=None):
    """(parameter arrays after ``steps`` steps, the optimizer) from ``start`` (or 0.3s)."""
    arrays = start or [np.full(shape, 0.3) for shape in SHAPES]
    if torch is None:
        params = [tinydl.Tensor(a.copy(), requires_grad=True) for a in arrays]
        opt = optim.LBFGS(params, **kw)
    else:
        params = [torch.tensor(a, requires_grad=True) for a in arrays]
        opt = torch.optim.LBFGS(params, **kw)
    closure = logistic_closure(params, torch)
    for _ in range(steps):
        opt.step(closure)
    return [(p.detach().numpy() if torch else p.data).copy() for p in params], opt


@pytest.mark.parametrize("kw", [dict(max_iter=4), dict(line_search_fn="strong_wolfe",
                                                       history_size=4)], ids=str)
def test_several_parameters_match_torch(kw):
    torch = pytest.importorskip("torch")
    ours, opt = logistic_run(kw, 5)
    theirs, torch_opt = logistic_run(kw, 5, torch)
    for a, b, shape in zip(ours, theirs, SHAPES):
        assert a.shape == shape
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-14, err_msg=f"LBFGS{kw}")
    ours_state = opt.state[opt.param_groups[0]["params"][0]]
    theirs_state = torch_opt.state[torch_opt.param_groups[0]["params"][0]]
    assert sorted(ours_state) == sorted(theirs_state)
    assert ours_state["func_evals"] == theirs_state["func_evals"]
    np.testing.assert_allclose(ours_state["d"], theirs_state["d"].numpy(), rtol=1e-9, atol=1e-13)


# --- checkpoints --------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [dict(max_iter=3), dict(max_iter=3, history_size=2,
                                                       line_search_fn="strong_wolfe")], ids=str)
def test_state_dict_round_trip_continues_bit_for_bit(kw, tmp_path):
    straight, _ = logistic_run(kw, 6)
    middle, opt = logistic_run(kw, 3)
    tinydl.save(opt.state_dict(), tmp_path / "lbfgs.npz")
    _, resumed = logistic_run(kw, 0, start=middle)
    resumed.load_state_dict(tinydl.load(tmp_path / "lbfgs.npz"))
    params = resumed.param_groups[0]["params"]
    closure = logistic_closure(params)
    for _ in range(3):
        resumed.step(closure)
    for a, p in zip(straight, params):
        np.testing.assert_array_equal(a, p.data)


def test_torch_state_dict_loads_and_continues_as_torch():
    torch = pytest.importorskip("torch")
    kw = dict(max_iter=3, line_search_fn="strong_wolfe")
    middle, torch_opt = logistic_run(kw, 3, torch)
    _, opt = logistic_run(kw, 0, start=middle)
    opt.load_state_dict(as_numpy(torch_opt.state_dict()))
    params = opt.param_groups[0]["params"]
    torch_params = torch_opt.param_groups[0]["params"]
    ours_closure = logistic_closure(params)
    torch_closure = logistic_closure(torch_params, torch)
    for _ in range(3):
        opt.step(ours_closure)
        torch_opt.step(torch_closure)
    for p, q in zip(params, torch_params):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-11, atol=1e-14)


def test_load_state_dict_names_a_wrong_size():
    _, opt = logistic_run(dict(max_iter=2), 1)
    sd = opt.state_dict()
    sd["state"][0]["d"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"state 'd' has shape \(3,\), but the parameters "
                                         r"hold 9 numbers"):
        optim.LBFGS([tinydl.Tensor(np.zeros(s), requires_grad=True) for s in SHAPES]
                    ).load_state_dict(sd)


# --- behaviour at the edges and errors ----------------------------------------------------

def test_returns_the_first_loss_and_stops_at_an_optimum():
    p = tinydl.Tensor(np.array([1.0, 1.0]), requires_grad=True)
    opt = optim.LBFGS([p])
    calls = []

    def closure():
        opt.zero_grad()
        loss = rosenbrock(p)
        loss.backward()
        calls.append(loss.item())
        return loss

    assert opt.step(closure).item() == 0.0
    assert calls == [0.0] and np.array_equal(p.data, [1.0, 1.0])
    assert opt.state[p] == {"func_evals": 1, "n_iter": 0}
    p.data[:] = [0.0, 0.0]
    assert opt.step(closure).item() == 1.0 and len(calls) > 2


def test_step_without_a_closure_explains():
    opt = optim.LBFGS([tinydl.Tensor(np.zeros(2), requires_grad=True)])
    with pytest.raises(TypeError, match=r"LBFGS.step\(\) needs a closure .*optimizer.step\("
                                        r"closure\)"):
        opt.step()


def test_one_parameter_group_only():
    a, b = (tinydl.Tensor(np.zeros(2), requires_grad=True) for _ in range(2))
    with pytest.raises(ValueError, match="LBFGS doesn't support per-parameter options"):
        optim.LBFGS([{"params": [a]}, {"params": [b], "lr": 0.1}])
    opt = optim.LBFGS([a])
    with pytest.raises(ValueError, match="parameter groups"):
        opt.add_param_group({"params": [b]})


@pytest.mark.parametrize("kw, match", [
    (dict(lr=-1.0), "invalid lr"),
    (dict(line_search_fn="wolfe"), "line_search_fn must be None or 'strong_wolfe'"),
    (dict(max_iter=0), "max_iter must be an int >= 1"),
    (dict(history_size=2.5), "history_size must be an int >= 1"),
    (dict(max_eval=0), "max_eval must be >= 1"),
    (dict(tolerance_grad=-1.0), "invalid tolerance_grad"),
])
def test_bad_hyperparameters_raise(kw, match):
    with pytest.raises(ValueError, match=match):
        optim.LBFGS([tinydl.Tensor(np.zeros(2), requires_grad=True)], **kw)


def test_torch_flags_are_refused_as_torch_refuses_them():
    """torch's LBFGS takes no maximize/foreach/...: a TypeError, as there."""
    with pytest.raises(TypeError, match="maximize"):
        optim.LBFGS([tinydl.Tensor(np.zeros(2), requires_grad=True)], maximize=True)


def test_defaults_as_torch():
    opt = optim.LBFGS([tinydl.Tensor(np.zeros(2), requires_grad=True)], max_iter=8)
    group = opt.param_groups[0]
    assert (group["lr"], group["max_eval"], group["tolerance_grad"], group["tolerance_change"],
            group["history_size"], group["line_search_fn"]) == (1, 10, 1e-7, 1e-9, 100, None)
