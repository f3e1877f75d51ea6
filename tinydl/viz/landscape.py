"""Loss landscapes: the loss of a trained network along random directions in weight space.

``loss_landscape`` follows Li, Xu, Taylor, Studer and Goldstein, "Visualizing the Loss
Landscape of Neural Nets" (NeurIPS 2018): from the trained weights ``theta`` it evaluates

    f(alpha)        = L(theta + alpha d)                (one direction: a curve)
    f(alpha, beta)  = L(theta + alpha d1 + beta d2)     (two directions: a surface)

on a grid, where each ``d`` is a Gaussian direction *normalised filter by filter*: the filter
``d_ij`` (row ``j`` of the layer-``i`` weight, i.e. one output channel) is rescaled to the norm
of the weight's filter ``theta_ij``, ``d_ij <- d_ij / ||d_ij|| * ||theta_ij||``. A ReLU network
is unchanged when one layer's weights are multiplied by ``c`` and the next layer's divided by
``c``; raw Gaussian directions see the two nets as different (a step of fixed size is huge
for small weights and tiny for large ones), filter-normalised ones see the same surface.
As in the paper, 1-D parameters (biases and BatchNorm's scale and shift) get a zero direction.

``linear_interpolation`` is the 1-D plot of Goodfellow, Vinyals and Saxe, "Qualitatively
characterizing neural network optimization problems" (ICLR 2015):
``L((1 - alpha) theta_a + alpha theta_b)``.

``plot_landscape`` draws a 1-D curve, a 2-D contour or a 3-D surface with matplotlib.
"""
from typing import NamedTuple

import numpy as np

from tinydl.grad_mode import no_grad
from tinydl.nn.module import Module
from tinydl.nn.normalization import GroupNorm, LayerNorm, RMSNorm, _NormBase
from tinydl.random import seeded

NORMALIZATIONS = ("filter", "layer", None)
_EPS = 1e-10  # keeps an all-zero filter from dividing by zero (its direction stays zero)


class Landscape(NamedTuple):
    """What ``loss_landscape`` returns.

    ``coords``: a tuple of 1-D arrays, one per direction (``alpha`` and, for a surface, ``beta``);
    ``losses``: the loss at every grid point, shape ``(steps,)`` or ``(steps, steps)`` with
    ``losses[i, j] = L(theta + alpha[i] d1 + beta[j] d2)``;
    ``directions``: one ``{parameter name: array}`` per direction, the directions used.
    """
    coords: tuple
    losses: np.ndarray
    directions: list


def _check_model(model, caller):
    if not isinstance(model, Module):
        raise TypeError(f"{caller}: model must be a tinydl.nn.Module, got {type(model).__name__}")


def _normalized_parameter_names(model):
    """Names of parameters that belong to normalisation layers (BatchNorm, LayerNorm, ...)."""
    names = set()
    for prefix, module in model.named_modules():
        if isinstance(module, (_NormBase, LayerNorm, GroupNorm, RMSNorm)):
            for name, _ in module.named_parameters(prefix=prefix):  # adds the dot itself
                names.add(name)
    return names


def normalize_direction(direction, weight, normalization="filter"):
    """Rescale one direction array to the size of its weight array (Li et al. 2018, sec. 4).

    ``'filter'``: each filter ``direction[j]`` (slice along axis 0, one output channel or one
    output unit) gets the norm of ``weight[j]``; ``'layer'``: the whole array gets the norm of
    the whole weight; ``None``: unchanged. Computed in float64; same shape as ``direction``.
    """
    direction = np.asarray(direction, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    if direction.shape != weight.shape:
        raise ValueError(f"normalize_direction: direction shape {direction.shape} != "
                         f"weight shape {weight.shape}")
    if normalization is None:
        return direction
    if normalization == "layer":
        return direction * (np.linalg.norm(weight) / (np.linalg.norm(direction) + _EPS))
    if normalization == "filter":
        if direction.ndim == 0:
            return direction * (abs(weight) / (abs(direction) + _EPS))
        d_flat = direction.reshape(len(direction), -1)
        w_flat = weight.reshape(len(weight), -1)
        scale = np.linalg.norm(w_flat, axis=1) / (np.linalg.norm(d_flat, axis=1) + _EPS)
        return (d_flat * scale[:, None]).reshape(direction.shape)
    raise ValueError(f"normalize_direction: normalization must be one of {NORMALIZATIONS}, "
                     f"got {normalization!r}")


def random_directions(model, count=2, normalization="filter", seed=0):
    """``count`` random Gaussian directions in the weight space of ``model``.

    Each direction is a dict ``{parameter name: float64 array of the parameter's shape}``. The
    draws come from ``np.random.default_rng(seed)`` (tinydl's seeded generator for None) in
    ``named_parameters`` order, so two models with the same parameter shapes get the same raw
    directions. With ``normalization``
    ``'filter'`` or ``'layer'`` every direction is rescaled by ``normalize_direction`` and the
    1-D parameters (biases, BatchNorm scale and shift) and all normalisation-layer parameters
    get zero, as in Li et al.; with ``None`` the raw Gaussian draws are kept for every parameter.
    """
    _check_model(model, "random_directions")
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"random_directions: normalization must be one of {NORMALIZATIONS}, "
                         f"got {normalization!r}")
    if not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"random_directions: count must be a positive int, got {count!r}")
    rng = seeded(seed)  # None: tinydl's generator, which manual_seed fixes
    frozen = _normalized_parameter_names(model)
    directions = []
    for _ in range(count):
        direction = {}
        for name, param in model.named_parameters():
            draw = rng.standard_normal(param.shape)
            if normalization is not None and (param.ndim <= 1 or name in frozen):
                draw = np.zeros(param.shape)
            direction[name] = normalize_direction(draw, param.data, normalization)
        directions.append(direction)
    return directions


@no_grad()
def evaluate_loss(model, loss_fn, loader):
    """The mean of ``loss_fn(model(x), y)`` over the batches of ``loader``, weighted by batch size.

    ``loader`` yields ``(x, y)`` pairs (a ``DataLoader``, or a list such as ``[(X, y)]``); the
    model is run as it is (callers put it in eval mode). Returns a Python float.
    """
    total, count = 0.0, 0
    for x, y in loader:
        loss = loss_fn(model(x), y)
        n = len(x)
        total += float(loss.item()) * n
        count += n
    if count == 0:
        raise ValueError("evaluate_loss: the loader yielded no batches")
    return total / count


class _WeightsSwap:
    """Context manager: eval mode and the original weights saved on entry, both restored on exit.

    Inside, ``set(arrays)`` writes float64 arrays into the parameters (or buffers) by name, cast
    to each one's dtype, in place (optimizers holding the Parameters still see the same objects).
    """

    def __init__(self, model, include_buffers=False):
        self.model = model
        self.targets = dict(model.named_parameters())
        if include_buffers:
            self.targets.update(model.named_buffers())

    def __enter__(self):
        self.saved = {name: t.data.copy() for name, t in self.targets.items()}
        self.modes = [(m, m.training) for m in self.model.modules()]
        self.model.eval()
        return self

    def set(self, arrays):
        for name, value in arrays.items():
            target = self.targets[name].data
            target[...] = value.astype(target.dtype, copy=False)

    def __exit__(self, *exc):
        for name, value in self.saved.items():
            self.targets[name].data[...] = value
        for module, training in self.modes:
            object.__setattr__(module, "training", training)
        return False


def loss_landscape(model, loss_fn, loader, directions=2, steps=25, span=1.0,
                   normalization="filter", seed=0):
    """The loss of ``model`` on a grid around its weights, along 1 or 2 random directions.

    ``f(alpha, beta) = L(theta + alpha d1 + beta d2)`` for ``alpha, beta`` in
    ``np.linspace(-span, span, steps)``, with ``d1, d2`` from ``random_directions(model,
    directions, normalization, seed)`` (filter-normalised Gaussian directions, Li et al. 2018)
    and ``L`` the batch-size-weighted mean of ``loss_fn(model(x), y)`` over ``loader``. The
    model is evaluated in eval mode (BatchNorm uses its running statistics); its weights and
    train/eval modes are restored exactly afterwards. ``directions`` may also be a list of
    direction dicts (as ``Landscape.directions``) to reuse the same directions on another model.
    Returns a ``Landscape(coords, losses, directions)``; ``losses`` has shape ``(steps,)`` or
    ``(steps, steps)``. Cost: ``steps`` or ``steps**2`` passes over ``loader``.
    """
    _check_model(model, "loss_landscape")
    if isinstance(directions, (int, np.integer)):
        if directions not in (1, 2):
            raise ValueError(f"loss_landscape: directions must be 1 or 2, got {directions}")
        directions = random_directions(model, directions, normalization, seed)
    else:
        directions = list(directions)
        if len(directions) not in (1, 2):
            raise ValueError(f"loss_landscape: expected 1 or 2 direction dicts, got "
                             f"{len(directions)}")
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"loss_landscape: steps must be a positive int, got {steps!r}")
    params = dict(model.named_parameters())
    for d in directions:
        for name, param in params.items():
            if name not in d or np.shape(d[name]) != param.shape:
                raise ValueError(f"loss_landscape: direction entry {name!r} has shape "
                                 f"{np.shape(d.get(name))}, parameter has {param.shape}")
    axis = np.linspace(-span, span, steps)
    coords = tuple(axis.copy() for _ in directions)
    losses = np.empty((steps,) * len(directions))
    with _WeightsSwap(model) as swap:
        theta = {name: saved.astype(np.float64) for name, saved in swap.saved.items()}
        for index in np.ndindex(losses.shape):
            point = {}
            for name, w in theta.items():
                moved = w.copy()
                for d, c, i in zip(directions, coords, index):
                    moved += c[i] * d[name]
                point[name] = moved
            swap.set(point)
            losses[index] = evaluate_loss(model, loss_fn, loader)
    return Landscape(coords, losses, directions)


def linear_interpolation(model_a, model_b, loss_fn, loader, steps=25, start=-0.5, stop=1.5):
    """``L((1 - alpha) theta_a + alpha theta_b)`` along the segment between two solutions.

    Goodfellow et al. 2015. ``alpha`` runs over ``np.linspace(start, stop, steps)`` with 0 and 1
    always included, so both endpoints are evaluated exactly at the two models' own weights
    (``1 * theta_a + 0 * theta_b`` is ``theta_a`` bit for bit). Floating buffers (BatchNorm
    running statistics) are interpolated the same way. ``model_a`` is used for the evaluation
    (eval mode) and restored exactly afterwards; ``model_b`` is only read. Returns
    ``(alphas, losses)``, two 1-D arrays.
    """
    _check_model(model_a, "linear_interpolation")
    _check_model(model_b, "linear_interpolation")
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    if list(state_a) != list(state_b) or any(
            state_a[k].shape != state_b[k].shape for k in state_a):
        raise ValueError("linear_interpolation: the two models have different parameters "
                         f"({type(model_a).__name__} vs {type(model_b).__name__})")
    alphas = np.union1d(np.linspace(start, stop, steps), [0.0, 1.0])
    floating = [k for k, v in state_a.items() if np.issubdtype(v.dtype, np.floating)]
    losses = np.empty(len(alphas))
    with _WeightsSwap(model_a, include_buffers=True) as swap:
        end_a = {k: swap.saved[k].astype(np.float64) for k in floating}
        end_b = {k: np.asarray(state_b[k].data, dtype=np.float64) for k in floating}
        for i, alpha in enumerate(alphas):
            swap.set({k: (1.0 - alpha) * end_a[k] + alpha * end_b[k] for k in floating})
            losses[i] = evaluate_loss(model_a, loss_fn, loader)
    return alphas, losses


def plot_landscape(landscape, kind=None, ax=None, label=None, levels=20, log=False, **style):
    """Draw a ``Landscape`` (or an ``(alphas, losses)`` pair) with matplotlib; returns the axes.

    ``kind``: ``'curve'`` (1-D: loss against alpha), ``'contour'`` (2-D: filled contours with
    contour lines) or ``'surface'`` (2-D: a 3-D surface); by default ``'curve'`` for one
    direction and ``'contour'`` for two. ``log=True`` plots ``log10`` of the loss (contours and
    surfaces of a sharp minimum are otherwise one flat colour). ``levels`` (contour) is a count
    or a sequence of values; ``ax`` a matplotlib axes (a 3-D one for ``'surface'``; a new figure
    is made when omitted); ``style`` goes to the matplotlib call.
    """
    import matplotlib.pyplot as plt

    if isinstance(landscape, Landscape):
        coords, losses = landscape.coords, np.asarray(landscape.losses)
    else:
        alphas, losses = landscape
        coords, losses = (np.asarray(alphas),), np.asarray(losses)
    kind = kind or ("curve" if losses.ndim == 1 else "contour")
    expected = {"curve": 1, "contour": 2, "surface": 2}
    if kind not in expected:
        raise ValueError(f"plot_landscape: kind must be one of {sorted(expected)}, got {kind!r}")
    if losses.ndim != expected[kind]:
        raise ValueError(f"plot_landscape: kind {kind!r} needs a {expected[kind]}-D grid, got "
                         f"losses of shape {losses.shape}")
    values = np.log10(np.maximum(losses, 1e-12)) if log else losses
    zlabel = "log10 loss" if log else "loss"
    if ax is None:
        fig = plt.figure(figsize=(4.5, 3.6))
        ax = fig.add_subplot(projection="3d" if kind == "surface" else None)
    if kind == "curve":
        ax.plot(coords[0], values, label=label, **style)
        ax.set(xlabel="alpha (step along the direction)", ylabel=zlabel)
        return ax
    A, B = np.meshgrid(coords[0], coords[1], indexing="ij")
    if kind == "contour":
        filled = ax.contourf(A, B, values, levels=levels, cmap=style.pop("cmap", "viridis"),
                             **style)
        ax.contour(A, B, values, levels=filled.levels, colors="k", linewidths=0.4, alpha=0.5)
        ax.plot([0], [0], marker="*", color="w", markeredgecolor="k", markersize=10)
        ax.figure.colorbar(filled, ax=ax, label=zlabel)
        ax.set(xlabel="alpha (direction 1)", ylabel="beta (direction 2)", aspect="equal")
    else:
        ax.plot_surface(A, B, values, cmap=style.pop("cmap", "viridis"), linewidth=0,
                        antialiased=True, **style)
        ax.set(xlabel="alpha", ylabel="beta", zlabel=zlabel)
    if label:
        ax.set_title(label)
    return ax
