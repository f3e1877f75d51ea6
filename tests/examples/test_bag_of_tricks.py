"""The Bag of Tricks example in fast mode: every row trains and the table is printed."""
import json

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
    out = capsys.readouterr().out
    assert "heuristic" in out and "+ EMA" in out and "process_time" in out
    saved = json.loads((tmp_path / "bag_of_tricks.json").read_text())
    assert saved["rows"] == summary["rows"]


def test_ensemble_digits_fast_mode(tmp_path, capsys):
    ens = load_example("ensemble_digits")
    summary = ens.main(["--fast", "--out", str(tmp_path)])
    group = summary["groups"][0]
    assert len(group["single"]) == 3
    assert 0.0 <= group["ensemble"] <= 1.0
    assert "ensemble of 3" in capsys.readouterr().out
