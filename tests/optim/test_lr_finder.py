"""The LR range test: sweep, smoothing, early stop, restoring the model and optimizer."""
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import tinydl  # noqa: E402
from tinydl import optim  # noqa: E402


class Linear:
    """y = x w + b from plain Tensors, with parameters() as an nn.Module would have."""

    def __init__(self):
        self.w = tinydl.Tensor(np.full((3, 1), 0.1), requires_grad=True)
        self.b = tinydl.Tensor(np.zeros(1), requires_grad=True)

    def parameters(self):
        return [self.w, self.b]


class LinearWithStateDict(Linear):
    def state_dict(self):
        return {"w": self.w.data, "b": self.b.data}

    def load_state_dict(self, state):
        self.w.data[...] = state["w"]
        self.b.data[...] = state["b"]


def make_batches(n_batches=3, size=16):
    rng = np.random.default_rng(0)
    true_w = np.array([[1.0], [-2.0], [0.5]])
    batches = []
    for _ in range(n_batches):
        x = rng.normal(size=(size, 3))
        batches.append((x, x @ true_w + 0.3 + 0.01 * rng.normal(size=(size, 1))))
    return batches


def mse(model, batch):
    x, y = batch
    return ((tinydl.Tensor(x) @ model.w + model.b - tinydl.Tensor(y)) ** 2).mean()


def recording(raw):
    """The mse loss, appending each raw value to ``raw`` (to recompute the smoothing)."""
    def loss_fn(model, batch):
        loss = mse(model, batch)
        raw.append(loss.item())
        return loss
    return loss_fn


def test_sweep_and_bias_corrected_smoothing():
    raw = []
    recording_loss = recording(raw)

    model = Linear()
    opt = optim.SGD(model.parameters(), lr=0.1)
    lrs, losses = optim.lr_finder(model, recording_loss, make_batches(), opt,
                                  start_lr=1e-4, end_lr=1e-1, num_iter=12, beta=0.9)
    assert len(lrs) == len(losses) == 12  # small lrs: no explosion; loader of 3 is cycled
    np.testing.assert_allclose(lrs, 1e-4 * 1000.0 ** (np.arange(12) / 12), rtol=1e-13)
    avg, expected = 0.0, []
    for n, value in enumerate(raw, start=1):
        avg = 0.9 * avg + 0.1 * value
        expected.append(avg / (1 - 0.9 ** n))
    np.testing.assert_allclose(losses, expected, rtol=1e-12)


def test_stops_when_smoothed_loss_passes_four_times_best():
    raw = []
    recording_loss = recording(raw)

    model = Linear()
    opt = optim.SGD(model.parameters(), lr=0.1)
    lrs, losses = optim.lr_finder(model, recording_loss, make_batches(), opt, start_lr=1e-3,
                                  end_lr=100.0, num_iter=100)
    assert 1 < len(losses) < 100
    # one more loss was computed (the one that tripped the stop) and is not recorded
    assert len(raw) == len(losses) + 1
    avg = 0.0
    for n, value in enumerate(raw, start=1):
        avg = 0.98 * avg + 0.02 * value
    smoothed_last = avg / (1 - 0.98 ** len(raw))
    assert smoothed_last > 4 * losses.min()
    assert np.all(losses <= 4 * np.minimum.accumulate(losses))


def test_a_negative_loss_does_not_stop_the_sweep_at_once():
    """smoothed > 4 * best always held once best < 0 (a log-likelihood, an ELBO): a constant
    loss of -1.001 stopped after 1 point."""
    model = Linear()
    opt = optim.SGD(model.parameters(), lr=0.1)
    lrs, losses = optim.lr_finder(model, lambda m, b: mse(m, b) * 0.0 - 1.001, make_batches(),
                                  opt, start_lr=1e-4, end_lr=1e-1, num_iter=20)
    assert len(losses) == 20
    np.testing.assert_allclose(losses, -1.001, rtol=1e-12)


@pytest.mark.parametrize("model_cls", [Linear, LinearWithStateDict])
def test_restores_weights_and_optimizer_state(model_cls):
    model = model_cls()
    opt = optim.Adam(model.parameters(), lr=0.01)
    batches = make_batches()
    for batch in batches:  # give the optimizer some state first
        opt.zero_grad()
        mse(model, batch).backward()
        opt.step()
    weights = [p.data.copy() for p in model.parameters()]
    before = opt.state_dict()
    optim.lr_finder(model, mse, batches, opt, start_lr=1e-5, end_lr=10.0, num_iter=30)
    for p, w in zip(model.parameters(), weights):
        assert np.array_equal(p.data, w)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for i, state in before["state"].items():
        for key, value in state.items():
            assert np.array_equal(after["state"][i][key], value), key
    # and training continues from the restored state: the next step is the one a twin that
    # never ran the range test takes
    twin = model_cls()
    twin_opt = optim.Adam(twin.parameters(), lr=0.01)
    for batch in batches + batches[:1]:
        twin_opt.zero_grad()
        mse(twin, batch).backward()
        twin_opt.step()
    opt.zero_grad()
    mse(model, batches[0]).backward()
    opt.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_suggestion_on_a_problem_with_known_good_learning_rates():
    # Full-batch least squares, loss mean((x w + b - y)^2): gradient descent on it is stable
    # exactly for lr < 2 / lambda_max of the Hessian H = 2 X^T X / n (X with a column of
    # ones), and converges fastest at 2 / (lambda_min + lambda_max). The range test must
    # suggest a rate below the stability limit and within two decades of it, and must stop
    # (the loss explodes) only at rates beyond the limit.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)) * np.array([0.5, 0.8, 1.0])
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3 + 0.1 * rng.normal(size=(64, 1))
    design = np.c_[x, np.ones(64)]
    eigenvalues = np.linalg.eigvalsh(2 * design.T @ design / 64)
    limit = 2 / eigenvalues.max()  # 0.88; the fastest rate is 0.71
    model = Linear()
    opt = optim.SGD(model.parameters(), lr=0.1)
    lrs, losses = optim.lr_finder(model, mse, [(x, y)], opt, start_lr=1e-4, end_lr=10.0,
                                  num_iter=100)
    suggested = optim.suggest_lr(lrs, losses)  # 0.16
    assert limit / 100 < suggested < limit, f"suggested {suggested:.3g}, stable below {limit:.3g}"
    assert len(lrs) < 100 and limit < lrs[-1] < 10.0, f"stopped at lr {lrs[-1]:.3g}"
    assert losses.min() < 0.5 * losses[0]  # the rates before the limit did train


def test_suggest_lr_finds_steepest_descent():
    lrs = np.logspace(-6, 0, 61)
    losses = 2.0 - np.tanh(2 * (np.log10(lrs) + 3))  # falls fastest at lr = 1e-3
    assert optim.suggest_lr(lrs, losses) == pytest.approx(1e-3, rel=1e-9)
    with pytest.raises(ValueError, match="at least 3"):
        optim.suggest_lr(lrs[:2], losses[:2])
    with pytest.raises(ValueError, match="shapes"):
        optim.suggest_lr(lrs, losses[:-1])


def test_suggest_lr_skips_the_noisy_start_and_the_divergence_tail_as_fastai():
    # A drop over the first points (one or two batches averaged) read as the steepest
    # descent and suggested start_lr itself; fastai drops the first tenth and the last 5.
    lrs = np.logspace(-7, 1, 100)
    losses = 2.0 - 0.5 * np.tanh(2 * (np.log10(lrs) + 1))  # falls fastest at lr = 0.1
    losses[:3] += [0.3, 0.15, 0.05]  # batch noise at the start: steeper there
    losses[-5:] -= [0.2, 0.4, 0.6, 0.8, 1.0]  # and a fall in the last points
    assert abs(np.log10(optim.suggest_lr(lrs, losses)) + 1) < 0.05  # the grid point by 0.1
    # short curves keep what they can: 4 points, no trim at the end
    assert optim.suggest_lr(lrs[[0, 40, 75, 99]], [3.0, 2.0, 1.0, 0.9]) in (lrs[40], lrs[75])
    with pytest.raises(ValueError, match="suggest_lr: losses must be finite"):
        optim.suggest_lr(lrs, np.where(np.arange(100) == 50, np.nan, losses))


def test_lr_finder_trains_in_training_mode_and_puts_the_mode_back():
    modes = []

    def loss_fn(model, batch):
        modes.append(model.training)
        x, y = batch
        return ((model(tinydl.Tensor(x)) - tinydl.Tensor(y)) ** 2).mean()

    model = tinydl.nn.Sequential(tinydl.nn.Linear(3, 1), tinydl.nn.Dropout(0.1)).double()
    model.eval()
    opt = optim.SGD(model.parameters(), lr=0.1)
    optim.lr_finder(model, loss_fn, make_batches(), opt, num_iter=5)
    assert modes and all(modes) and not model.training and not model[1].training


def test_plot_marks_the_suggestion(tmp_path):
    lrs = np.logspace(-6, 0, 61)
    losses = 2.0 - np.tanh(2 * (np.log10(lrs) + 3))
    ax = optim.plot_lr_finder(lrs, losses)
    marker = ax.lines[1]
    assert marker.get_xdata()[0] == pytest.approx(1e-3) and marker.get_color() == "red"
    assert ax.get_xscale() == "log"
    ax.figure.savefig(tmp_path / "lr.png")
    assert (tmp_path / "lr.png").stat().st_size > 0


def test_bad_arguments_raise():
    model = Linear()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="start_lr"):
        optim.lr_finder(model, mse, make_batches(), opt, start_lr=1.0, end_lr=0.1)
    with pytest.raises(ValueError, match="no batches"):
        optim.lr_finder(model, mse, [], opt)
    with pytest.raises(TypeError, match="parameters"):
        optim.lr_finder(object(), mse, make_batches(), opt)


def test_a_generator_that_runs_out_says_so():
    """It trained on the 3 batches, then said "the loader yielded no batches"."""
    model = Linear()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="ran out after 3 batches and cannot be started over"):
        optim.lr_finder(model, mse, (b for b in make_batches()), opt, num_iter=10)
    with pytest.raises(ValueError, match="the loader yielded no batches"):
        optim.lr_finder(model, mse, [], opt, num_iter=10)
