"""tinydl.viz.draw_graph: node and edge counts on known graphs, names in the DOT of an MLP's
loss, graph edges whose values were dropped (``_Edge``), freed graphs, and every way to save."""
import os
import stat
import sys

import numpy as np
import pytest

import tinydl as td
from tinydl import nn
from tinydl.autograd import _Edge
from tinydl.profiler import profile
from tinydl.viz import Graph, draw_graph


def _names(graph):
    return [n["name"] for n in graph.nodes]


def _edges_by_name(graph):
    name = {n["id"]: n["name"] for n in graph.nodes}
    return sorted((name[a], name[b]) for a, b in graph.edges)


def test_square_has_two_edges_from_one_leaf():
    x = td.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    g = draw_graph((x * x).sum())
    assert _names(g) == ["leaf", "Multiply", "Sum"]
    assert _edges_by_name(g) == [("Multiply", "Sum"), ("leaf", "Multiply"), ("leaf", "Multiply")]
    assert g.dot.count("->") == 3 and g.dot.count("[label=") == 3
    assert [n["kind"] for n in g.nodes] == ["leaf", "op", "root"]


def test_diamond_shares_one_node_and_drops_scalar_constants():
    x = td.Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    a = x.exp()
    out = (a + a.sin()) * 2.0     # the 0-d constant 2.0 is not drawn
    g = draw_graph(out)
    assert _names(g) == ["leaf", "Exp", "Sin", "Add", "Multiply"]
    assert _edges_by_name(g) == [("Add", "Multiply"), ("Exp", "Add"), ("Exp", "Sin"),
                                 ("Sin", "Add"), ("leaf", "Exp")]
    assert all(n["shape"] == (2, 3) and n["dtype"] == "float32" for n in g.nodes)


def test_constants_are_drawn_unless_asked_not_to():
    w = td.Tensor(np.ones((3, 2), np.float32), requires_grad=True)
    x = td.Tensor(np.ones((4, 3), np.float32))
    assert _names(draw_graph(x @ w)) == ["constant", "leaf", "MatMul"]
    assert _names(draw_graph(x @ w, constants=False)) == ["leaf", "MatMul"]


def test_inputs_kept_only_as_edges_are_drawn_with_their_shape():
    # A 64x64 float32 product (16 KiB) fed to Add, which reads no input values: the graph
    # keeps only an _Edge for it (tinydl/autograd.py, _drop_unretained).
    x = td.Tensor(np.ones((64, 64), np.float32), requires_grad=True)
    h = x * td.Tensor(np.full((64, 64), 2.0, np.float32))
    out = h + td.Tensor(np.ones((1, 64), np.float32))
    del h
    assert type(out._ctx.inputs[0]) is _Edge, "the test needs an _Edge input"
    g = draw_graph(out)
    multiply = next(n for n in g.nodes if n["name"] == "Multiply")
    assert multiply["shape"] == (64, 64) and multiply["dtype"] == "float32"
    assert len(g.nodes) == 5 and len(g.edges) == 4


def test_mlp_loss_names_every_op_and_parameter():
    td.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x, y = td.randn(5, 4), td.randint(0, 3, (5,))
    with profile() as prof:  # an independent list of the ops that ran
        loss = nn.functional.cross_entropy(model(x), y)
    g = draw_graph(loss, params=dict(model.named_parameters()))
    for name, p in model.named_parameters():
        assert f'label="{name}\\n{tuple(p.shape)} float32"' in g.dot, name
    ran = {s.name: s.calls for s in prof.stats()}
    drawn = {}
    for n in g.nodes:
        if n["kind"] in ("op", "root"):
            drawn[n["name"]] = drawn.get(n["name"], 0) + 1
    assert drawn == ran, (drawn, ran)
    for op in ran:
        assert f'label="{op}\\n' in g.dot, op
    assert len(g.nodes) == 9 and len(g.edges) == 8  # input, 4 params, 4 ops; 3 + 1 + 3 + 1
    # A Module works as params too.
    assert draw_graph(loss, params=model).dot == g.dot
    with pytest.raises(TypeError, match="draw_graph"):
        draw_graph(loss, params={"w": np.ones(3)})


def test_a_graph_freed_by_backward_says_so():
    x = td.Tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    g = draw_graph(y)
    assert _names(g) == ["Sum"] and g.nodes[0]["freed"]
    assert "freed by backward" in g.dot
    leaf = draw_graph(x)
    assert _names(leaf) == ["leaf"] and leaf.edges == []


def test_save_dot_and_matplotlib_png(tmp_path):
    x = td.Tensor(np.ones(3, np.float32), requires_grad=True)
    g = draw_graph(x.tanh().sum())
    assert g.save(tmp_path / "g.dot") == "dot"
    assert (tmp_path / "g.dot").read_text() == g.dot == str(g)
    assert g.save(tmp_path / "g.png", engine="matplotlib") == "matplotlib"
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
    assert isinstance(g, Graph) and "3 nodes" in repr(g)
    with pytest.raises(ValueError, match="unknown format"):
        g.save(tmp_path / "g.jpg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot", "g.png"]


def test_save_svg_runs_graphviz_dot_on_the_text(tmp_path, monkeypatch):
    # A stand-in for Graphviz's dot: it echoes the DOT it was given inside an <svg>.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "dot"
    fake.write_text(f"#!{sys.executable}\nimport sys\nassert sys.argv[1] == '-Tsvg'\n"
                    "sys.stdout.write('<svg>' + sys.stdin.read() + '</svg>')\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.setitem(sys.modules, "graphviz", None)  # the subprocess route, not the package
    x = td.Tensor(np.ones(3, np.float32), requires_grad=True)
    g = draw_graph(x.tanh().sum(), path=tmp_path / "g.svg")
    assert (tmp_path / "g.svg").read_text() == "<svg>" + g.dot + "</svg>"
    assert g._repr_svg_() == "<svg>" + g.dot + "</svg>"
