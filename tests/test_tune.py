"""tinydl.tune.random_search: distributions, seeding, sorting and the table."""
import math

import numpy as np
import pytest

from tinydl.tune import choice, log_uniform, random_search, uniform


def test_log_uniform_is_uniform_in_log_space():
    rng = np.random.default_rng(0)
    d = log_uniform(1e-4, 1e-1)
    logs = np.log10([d.sample(rng) for _ in range(4000)])
    assert logs.min() >= -4 and logs.max() <= -1
    # a quarter of the log-range holds about a quarter of the draws
    frac = np.mean(logs < -3.25)
    assert abs(frac - 0.25) < 0.03, frac


def test_search_finds_the_optimum_region_sorted_and_seeded():
    calls = []

    def train_fn(lr, width, momentum):
        calls.append((lr, width, momentum))
        return -(math.log10(lr) + 2) ** 2 + (width == 16) * 0.1

    space = {"lr": log_uniform(1e-4, 1.0), "width": choice([8, 16]), "momentum": 0.9}
    table = random_search(train_fn, space, n_trials=30, seed=3)
    assert len(table) == 30 == len(calls)
    scores = [t["score"] for t in table]
    assert scores == sorted(scores, reverse=True)
    assert table.best is table[0] and abs(math.log10(table.best["lr"]) + 2) < 0.5
    assert all(t["momentum"] == 0.9 for t in table)
    again = random_search(train_fn, space, n_trials=30, seed=3)
    assert [t["lr"] for t in again] == [t["lr"] for t in table]
    text = str(table)
    assert text.splitlines()[0].split() == ["trial", "score", "lr", "width", "momentum"]
    assert len(text.splitlines()) == 31


def test_dict_results_min_mode_and_nan_last():
    def train_fn(x, tag):
        return {"score": float("nan") if x > 0.9 else x, "tag_seen": tag}
    table = random_search(train_fn, {"x": uniform(0, 1), "tag": ("a", "b")}, 40, seed=0,
                          mode="min")
    finite = [t["score"] for t in table if not math.isnan(t["score"])]
    assert finite == sorted(finite)
    assert math.isnan(table[-1]["score"])
    assert all(t["tag_seen"] == t["tag"] for t in table)


def test_bad_arguments():
    with pytest.raises(ValueError, match="log_uniform"):
        log_uniform(0, 1)
    with pytest.raises(ValueError, match="n_trials"):
        random_search(lambda: 0, {"a": 1}, 0)
    with pytest.raises(ValueError, match="score"):
        random_search(lambda a: {"loss": 1}, {"a": choice([1])}, 1)


def test_returned_figures_cannot_replace_the_sampled_configuration():
    """A train_fn returning its final (scheduled) lr under 'lr' replaced the sampled lr in
    the table, which then reported a configuration never trained."""
    space = {"lr": log_uniform(1e-4, 1e-1)}
    with pytest.raises(ValueError, match=r"random_search: train_fn returned \['lr'\], which "
                                         r"name hyper-parameters .*'final_lr'"):
        random_search(lambda lr: {"score": 1.0, "lr": 123}, space, n_trials=2, seed=0)
    with pytest.raises(ValueError, match=r"train_fn returned \['trial'\]"):
        random_search(lambda lr: {"score": 1.0, "trial": 5}, space, n_trials=1, seed=0)
    with pytest.raises(ValueError, match="a hyper-parameter cannot be named 'trial' or 'score'"):
        random_search(lambda score: score, {"score": uniform(0, 1)}, n_trials=1, seed=0)
    table = random_search(lambda lr: {"score": -lr, "final_lr": lr / 10}, space, n_trials=3,
                          seed=0)
    assert all(row["final_lr"] == pytest.approx(row["lr"] / 10) for row in table)
