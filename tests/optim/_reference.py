"""Shared fixtures for the optimizer tests: a deterministic gradient field and runners.

The gradient at step t is a fixed nonlinear function of the current parameters,
``g = 0.5 p + sin(3 p) + 0.1 t cos(p) + offset``, computed in NumPy for both tinydl and
the torch oracle, so that both follow the same dynamics and only the update rules differ.
"""
import contextlib

import numpy as np

import tinydl

SHAPES = [(3, 4), (5,)]


def initial_params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype(dtype) for s in SHAPES]


def grad_field(arrays, t):
    """The synthetic gradient for each parameter array at step ``t`` (0-based)."""
    return [0.5 * a + np.sin(3 * a) + 0.1 * t * np.cos(a) + 0.05 * (i + 1)
            for i, a in enumerate(arrays)]


def tinydl_trajectory(make_optimizer, steps, dtype=np.float64, make_scheduler=None):
    """Parameter arrays after each of ``steps`` steps: list over steps of lists of arrays."""
    params = [tinydl.Tensor(a, requires_grad=True) for a in initial_params(dtype)]
    optimizer = make_optimizer(params)
    scheduler = make_scheduler(optimizer) if make_scheduler else None
    path = []
    for t in range(steps):
        for p, g in zip(params, grad_field([p.data for p in params], t)):
            p.grad = tinydl.Tensor(g.astype(dtype))
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        path.append([p.data.copy() for p in params])
    return path


@contextlib.contextmanager
def torch_float64(torch):
    """torch keeps some optimizer scalars (NAdam's mu_product) in the default dtype."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def torch_trajectory(torch, make_optimizer, steps, make_scheduler=None):
    """The same run with torch.optim (float64, single-tensor code path)."""
    with torch_float64(torch):
        params = [torch.tensor(a, requires_grad=True) for a in initial_params(np.float64)]
        optimizer = make_optimizer(params)
        scheduler = make_scheduler(optimizer) if make_scheduler else None
        path = []
        for t in range(steps):
            for p, g in zip(params, grad_field([p.detach().numpy() for p in params], t)):
                p.grad = torch.tensor(g)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            path.append([p.detach().numpy().copy() for p in params])
    return path


def assert_paths_close(ours, theirs, rtol=1e-6, atol=1e-12, what=""):
    for t, (a_step, b_step) in enumerate(zip(ours, theirs)):
        for i, (a, b) in enumerate(zip(a_step, b_step)):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol,
                                       err_msg=f"{what}: step {t + 1}, parameter {i}")
    assert len(ours) == len(theirs)


def assert_matches_torch(name, kw, steps, **tolerance):
    """``optim.<name>(**kw)`` follows torch's optimizer of that name (single-tensor code path,
    ``foreach=False``) over ``steps`` steps of the shared gradient field."""
    import pytest

    torch = pytest.importorskip("torch")
    from tinydl import optim

    ours = tinydl_trajectory(lambda ps: getattr(optim, name)(ps, **kw), steps)
    theirs = torch_trajectory(
        torch, lambda ps: getattr(torch.optim, name)(ps, foreach=False, **kw), steps)
    assert_paths_close(ours, theirs, what=f"{name}{kw}", **tolerance)


def one_param_run(cls, theta, grads, **kw):
    """theta after feeding the scalar gradients ``grads`` one step at a time."""
    p = tinydl.Tensor(np.array([theta], dtype=np.float64), requires_grad=True)
    opt = cls([p], **kw)
    for g in grads:
        p.grad = tinydl.Tensor(np.array([g], dtype=np.float64))
        opt.step()
    return p.data[0]


def as_numpy(value):
    """A torch state dict with every tensor turned into a NumPy array (same structure)."""
    if hasattr(value, "detach"):
        return value.detach().numpy().copy()
    if isinstance(value, dict):
        return {k: as_numpy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(as_numpy(v) for v in value)
    return value
