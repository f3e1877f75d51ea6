"""tinydl.viz.landscape: filter-normalised loss landscapes (Li et al. 2018) and the linear
interpolation between two solutions (Goodfellow et al. 2015)."""
import numpy as np
import pytest

import tinydl as td
from tinydl import nn
from tinydl.nn import functional as F
from tinydl.viz import (linear_interpolation, loss_landscape, plot_landscape,
                        random_directions)


def relu_net(seed):
    td.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 12), nn.ReLU(),
                         nn.Linear(12, 3))


def classification_data(seed=1, n=64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5)).astype(np.float32)
    y = rng.integers(0, 3, n)
    return [(td.Tensor(X[:40]), td.Tensor(y[:40])), (td.Tensor(X[40:]), td.Tensor(y[40:]))]


def test_quadratic_model_grid_matches_closed_form():
    # Linear regression without bias: L(w) = mean((X w - y)^2) is a convex quadratic, so
    # L(w + a d1 + b d2) = mean((r + a X d1 + b X d2)^2) with r = X w - y, in closed form.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4))
    y = rng.standard_normal((50, 1))
    model = nn.Linear(4, 1, bias=False, dtype=np.float64)
    model.weight.data[...] = rng.standard_normal((1, 4))
    w0 = model.weight.data.copy()
    loader = [(td.Tensor(X[:30]), td.Tensor(y[:30])), (td.Tensor(X[30:]), td.Tensor(y[30:]))]
    land = loss_landscape(model, F.mse_loss, loader, directions=2, steps=7, span=0.8, seed=3)
    d1, d2 = (d["weight"] for d in land.directions)
    a, b = land.coords
    r, u, v = X @ w0.T - y, X @ d1.T, X @ d2.T
    closed = np.mean((r[None, None] + a[:, None, None, None] * u[None, None]
                      + b[None, :, None, None] * v[None, None]) ** 2, axis=(2, 3))
    assert land.losses.shape == (7, 7)
    np.testing.assert_allclose(land.losses, closed, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(model.weight.data, w0)   # weights restored exactly
    # The grid's centre is the unperturbed loss.
    assert land.losses[3, 3] == pytest.approx(float(np.mean(r ** 2)), rel=1e-12)


def test_filter_normalisation_gives_each_filter_the_weight_filter_norm():
    td.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 6, 3), nn.BatchNorm2d(6), nn.ReLU(), nn.Flatten(),
                          nn.Linear(6 * 4 * 4, 5))
    (direction,) = random_directions(model, 1, normalization="filter", seed=7)
    params = dict(model.named_parameters())
    assert set(direction) == set(params)
    for name, param in params.items():
        d = direction[name]
        if param.ndim <= 1:        # biases and BatchNorm scale/shift stay put (the paper's choice)
            np.testing.assert_array_equal(d, 0, err_msg=name)
            continue
        w_norms = np.linalg.norm(param.data.reshape(len(param.data), -1), axis=1)
        d_norms = np.linalg.norm(d.reshape(len(d), -1), axis=1)
        np.testing.assert_allclose(d_norms, w_norms, rtol=1e-7, err_msg=name)
        assert not np.allclose(d / np.linalg.norm(d), param.data / np.linalg.norm(param.data))
    (layer_dir,) = random_directions(model, 1, normalization="layer", seed=7)
    assert np.linalg.norm(layer_dir["0.weight"]) == pytest.approx(
        np.linalg.norm(params["0.weight"].data), rel=1e-7)
    assert np.count_nonzero(random_directions(model, 1, normalization=None)[0]["1.weight"]) == 6


def test_scale_invariance_filter_normalised_but_not_raw():
    # Multiply the first layer by 7 and divide the second by 7: the same ReLU network.
    loader = classification_data()
    surfaces = {}
    for normalization in ("filter", None):
        for scaled in (False, True):
            model = relu_net(seed=4)
            if scaled:
                with td.no_grad():
                    model[0].weight.data[...] *= 7
                    model[0].bias.data[...] *= 7
                    model[2].weight.data[...] /= 7
            land = loss_landscape(model, F.cross_entropy, loader, directions=2, steps=5,
                                  span=1.0, normalization=normalization, seed=11)
            surfaces[normalization, scaled] = land.losses
    base = surfaces["filter", False]
    assert base.dtype == np.float64 and np.ptp(base) > 0.1, "the surface should not be flat"
    filt = np.max(np.abs(surfaces["filter", True] - base) / np.abs(base))
    raw = np.max(np.abs(surfaces[None, True] - surfaces[None, False]) / np.abs(surfaces[None, False]))
    assert filt <= 1e-6, f"filter-normalised surface changed by {filt:.2e} (relative)"
    assert raw > 1e3 * max(filt, 1e-7), f"raw directions changed it by only {raw:.2e}"
    assert raw > 0.1


def test_interpolation_reproduces_both_endpoint_losses_exactly():
    loader = classification_data()
    model_a, model_b = relu_net(seed=1), relu_net(seed=2)
    model_a.train()
    before = {k: v.data.copy() for k, v in model_a.state_dict().items()}
    alphas, losses = linear_interpolation(model_a, model_b, F.cross_entropy, loader, steps=9)
    assert model_a.training, "the train/eval mode is restored"
    for key, value in model_a.state_dict().items():
        np.testing.assert_array_equal(value.data, before[key], err_msg=key)

    def direct(model):
        model.eval()
        with td.no_grad():
            total = sum(F.cross_entropy(model(x), y).item() * len(x) for x, y in loader)
        return total / sum(len(x) for x, _ in loader)

    assert losses[alphas == 0.0][0] == direct(model_a)
    assert losses[alphas == 1.0][0] == direct(model_b)
    assert alphas[0] == -0.5 and alphas[-1] == 1.5
    assert losses[alphas == 0.5][0] != losses[alphas == 0.0][0]


def test_batchnorm_model_restored_and_plots(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    td.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    loader = classification_data()
    model.train()
    model(loader[0][0])            # give the running statistics something to hold
    state = {k: v.data.copy() for k, v in model.state_dict().items()}
    curve = loss_landscape(model, F.cross_entropy, loader, directions=1, steps=9)
    grid = loss_landscape(model, F.cross_entropy, loader, directions=2, steps=4)
    assert curve.losses.shape == (9,) and grid.losses.shape == (4, 4)
    assert model.training
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.data, state[key], err_msg=key)
    fig = plt.figure(figsize=(9, 3))
    plot_landscape(curve, ax=fig.add_subplot(1, 3, 1))
    plot_landscape(grid, ax=fig.add_subplot(1, 3, 2))
    plot_landscape(grid, kind="surface", ax=fig.add_subplot(1, 3, 3, projection="3d"))
    fig.savefig(tmp_path / "landscape.png")
    plt.close(fig)
    assert (tmp_path / "landscape.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="plot_landscape"):
        plot_landscape(curve, kind="contour")
    with pytest.raises(ValueError, match="loss_landscape: directions"):
        loss_landscape(model, F.cross_entropy, loader, directions=3)


def test_every_normalisation_layer_gets_a_zero_direction():
    """LayerNorm's (2, 4, 4) scale is not 1-d: its direction was drawn, because the names of
    normalisation parameters were built with a doubled dot ('1..weight') and matched none."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.LayerNorm((2, 4, 4)),
                          nn.Sequential(nn.GroupNorm(1, 2), nn.BatchNorm2d(2)))
    (direction,) = random_directions(model, 1, seed=0)
    assert np.count_nonzero(direction["0.weight"]) == 18
    for name in ("1.weight", "1.bias", "2.0.weight", "2.1.weight"):
        assert not np.any(direction[name]), name
