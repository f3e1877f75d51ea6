"""The profiling example in fast mode: tables, trace, graph and gradient-flow files."""
import json

from tests.examples._load import load_example


def test_profile_model_fast_mode(tmp_path, capsys):
    example = load_example("profile_model")
    share = example.main(["--fast", "--out", str(tmp_path)])
    assert 0.0 < share <= 1.0
    table = (tmp_path / "profile_table.txt").read_text()
    for name in ("Conv2d", "Linear", "SoftmaxCrossEntropy", "0 (Conv2d)", "9 (Linear)"):
        assert name in table, name
    trace = json.loads((tmp_path / "profile_trace.json").read_text())
    assert any(e["ph"] == "X" and e["name"] == "Conv2d" for e in trace["traceEvents"])
    dot = (tmp_path / "profile_graph.dot").read_text()
    assert dot.startswith("digraph") and '"9.weight\\n(10, 128) float32"' in dot
    for name in ("profile_graph.png", "profile_grad_flow.png"):
        assert (tmp_path / name).stat().st_size > 1000, name
    assert "per layer" in capsys.readouterr().out
