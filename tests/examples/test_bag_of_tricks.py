"""The Bag of Tricks example in fast mode: every row trains and the table is printed."""
import json

import numpy as np

from tests.examples._load import load_example


def test_bag_of_tricks_fast_mode(tmp_path, capsys):
    bag = load_example("bag_of_tricks")
    summary = bag.main(["--fast", "--out", str(tmp_path)])
    names = [row["heuristic"] for row in summary["rows"]]
    assert names == ["plain"] + ["+ " + t for t in bag.TRICKS]
    for row in summary["rows"]:
        assert len(row["test_acc"]) == 1 and 0.0 <= row["test_acc"][0] <= 1.0
    # Even four short epochs on 192 digits learn something: above chance (10%).
    assert summary["rows"][0]["test_acc"][0] > 0.2, summary["rows"][0]
    # One seed: no sample sd, so the bar is not judged (a spread of 0 let any gain pass).
    full_minus_plain = summary["rows"][-1]["test_acc"][0] - summary["rows"][0]["test_acc"][0]
    assert np.isnan(summary["spread"]) and summary["beats_spread"] is None
    assert np.isclose(summary["margin"], full_minus_plain)
    out = capsys.readouterr().out
    assert "heuristic" in out and "+ EMA" in out and "process_time" in out
    assert "+-   n/a" in out and "needs two or more seeds" in out
    saved = json.loads((tmp_path / "bag_of_tricks.json").read_text())
    assert saved["rows"] == summary["rows"]


def test_without_drops_the_named_tricks_from_the_sequence(tmp_path):
    bag = load_example("bag_of_tricks")
    summary = bag.main(["--fast", "--epochs", "1", "--out", str(tmp_path),
                        "--without", "zero-gamma", "EMA", "mixup", "label smoothing"])
    names = [row["heuristic"] for row in summary["rows"]]
    assert names == ["plain", "+ augmentation", "+ warmup + cosine", "+ no bias decay"]


def test_margin_must_exceed_the_larger_standard_deviation_over_seeds():
    bag = load_example("bag_of_tricks")
    plain = [0.95, 0.96, 0.97]                               # mean 0.96, sd 0.01
    clear = bag.compare_plain_full([("plain", plain), ("+ EMA", [0.98, 0.98, 0.98])])
    assert np.isclose(clear["margin"], 0.02) and np.isclose(clear["spread"], 0.01)
    assert clear["holds"]
    # The full row's own spread counts too: same mean gain, sd 0.03 > margin 0.02.
    noisy = bag.compare_plain_full([("plain", plain), ("+ EMA", [0.95, 0.98, 1.01])])
    assert np.isclose(noisy["spread"], 0.03) and not noisy["holds"]
    worse = bag.compare_plain_full([("plain", plain), ("+ EMA", [0.94, 0.94, 0.94])])
    assert worse["margin"] < 0 and not worse["holds"]
    # One seed has no sample sd: the bar cannot be judged.
    one = bag.compare_plain_full([("plain", [0.9]), ("+ EMA", [0.91])])
    assert np.isnan(one["spread"]) and one["holds"] is None


def test_ensemble_digits_fast_mode(tmp_path, capsys):
    ens = load_example("ensemble_digits")
    summary = ens.main(["--fast", "--out", str(tmp_path)])
    group = summary["groups"][0]
    assert len(group["single"]) == 3
    # Three members trained on the quickstart recipe, even briefly, are far above chance.
    assert 0.5 < group["ensemble"] <= 1.0, group
    assert "ensemble of 3" in capsys.readouterr().out


def test_parallel_jobs_give_the_same_table_as_one_process():
    bag = load_example("bag_of_tricks")
    data = bag.load_data(n_train=64, n_test=40)
    kwargs = dict(data=data, epochs=1, seeds=[0, 1], width=4, batch_size=32,
                  tricks_in_order=["augmentation"], log=lambda line: None)
    serial, serial_cpu = bag.run_table(jobs=1, **kwargs)
    parallel, parallel_cpu = bag.run_table(jobs=2, **kwargs)
    assert [name for name, _ in serial] == ["plain", "+ augmentation"]
    assert parallel == serial
    assert serial_cpu > 0 and parallel_cpu > 0
