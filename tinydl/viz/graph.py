"""Drawing the autograd graph that made a tensor: DOT text always, SVG/PNG when possible.

    g = tinydl.viz.draw_graph(loss, params=dict(model.named_parameters()))
    print(g.dot)            # Graphviz DOT text, needs nothing installed
    g.save("graph.svg")     # Graphviz's dot when installed, else a matplotlib drawing

The graph is read from the tensors themselves (tinydl/autograd.py): a non-leaf's ``_ctx``
is its op, ``ctx.inputs`` the op's inputs. An input whose value the op does not keep is an
``_Edge`` there (shape, dtype and producing op, no array), which is all a drawing needs.
Draw before ``backward()`` (or pass ``retain_graph=True`` to it): backward frees the graph,
and a freed op is drawn as such, without its inputs.

Nodes are ops (labelled with the output's shape and dtype), parameters and other leaves that
require grad (named by ``params``), and constant tensors fed to an op (the input batch, the
targets); edges run from an op's inputs to the op, so data flows top to bottom, as in the
forward pass. The same idea as micrograd's ``draw_dot`` and torchviz's ``make_dot``.
"""
import os
import shutil
import subprocess

from tinydl.serialization import write_atomically
from tinydl.tensor import Tensor

__all__ = ["draw_graph", "Graph", "graphviz_available"]

# Fill colours by node kind (DOT and the matplotlib fallback use the same ones).
_COLORS = {"op": "#e8e8e8", "param": "#cfe5f7", "leaf": "#d9f2d0", "constant": "#ffffff",
           "root": "#f7d9a8"}


def graphviz_available():
    """True when Graphviz's ``dot`` program is on the PATH (``apt install graphviz``)."""
    return shutil.which("dot") is not None


class Graph:
    """The graph of ops behind a tensor.

    ``nodes``: list of dicts with ``id`` (``'n0'``...), ``kind`` ('op', 'param', 'leaf',
    'constant'), ``name`` (op class or parameter name), ``shape``, ``dtype``; inputs come
    before the ops that use them and the last node is the tensor's own op (or the tensor,
    if it is a leaf). ``edges``: ``(input id, op id)`` pairs, one per tensor argument (an
    input used twice by one op gives two edges). ``dot``: the Graphviz DOT text.
    """

    def __init__(self, nodes, edges):
        self.nodes = nodes
        self.edges = edges
        self.dot = _to_dot(nodes, edges)

    def __str__(self):
        return self.dot

    def __repr__(self):
        return f"<tinydl Graph: {len(self.nodes)} nodes, {len(self.edges)} edges>"

    def _repr_svg_(self):
        # Jupyter shows the graph inline when Graphviz is there.
        return _run_dot(self.dot, "svg").decode("utf-8") if graphviz_available() else None

    def save(self, path, engine="auto"):
        """Write the graph to ``path``; its suffix picks the format.

        ``.dot``/``.gv``: the DOT text. ``.svg``/``.png``/``.pdf``: rendered by Graphviz
        (``engine='graphviz'``) when its ``dot`` program is installed, else drawn with
        matplotlib (``engine='matplotlib'``); ``'auto'`` picks Graphviz when available.
        Written atomically. Returns the engine used ('dot', 'graphviz' or 'matplotlib').
        """
        path = os.fspath(path)
        fmt = os.path.splitext(path)[1].lower().lstrip(".")
        if fmt in ("dot", "gv"):
            data = self.dot.encode("utf-8")
            write_atomically(path, lambda handle: handle.write(data), "Graph.save")
            return "dot"
        if fmt not in ("svg", "png", "pdf"):
            raise ValueError(f"Graph.save: unknown format {fmt!r} in {path}; use .dot, .gv, "
                             ".svg, .png or .pdf")
        if engine not in ("auto", "graphviz", "matplotlib"):
            raise ValueError(f"Graph.save: engine must be 'auto', 'graphviz' or 'matplotlib', "
                             f"got {engine!r}")
        if engine == "graphviz" or (engine == "auto" and graphviz_available()):
            rendered = _run_dot(self.dot, fmt)
            write_atomically(path, lambda handle: handle.write(rendered), "Graph.save")
            return "graphviz"
        import io

        import matplotlib.pyplot as plt
        fig = self.figure()
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=120)
        plt.close(fig)
        write_atomically(path, lambda handle: handle.write(buffer.getvalue()), "Graph.save")
        return "matplotlib"

    def figure(self):
        """Draw the graph with matplotlib alone (a layered layout); returns the Figure."""
        return _draw_layered(self.nodes, self.edges)


def draw_graph(tensor, params=None, path=None, constants=True):
    """The autograd graph of ops that computed ``tensor``, as a ``Graph`` (DOT in ``.dot``).

    ``params``: names for leaves, as ``dict(model.named_parameters())``, a Module, or
    (name, tensor) pairs. ``constants``: also draw tensors that need no gradient fed to an
    op (0-d ones, such as the 2 in ``x * 2``, are left out either way). ``path``: also save
    the drawing there (see ``Graph.save``). Walks the graph without recursion.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph: expected a Tensor, got {type(tensor).__name__}")
    names = _param_names(params)
    nodes, edges = [], []
    ids = {}  # graph key -> node id

    def key_of(t):
        return ("op", id(t._ctx)) if t._ctx is not None else ("tensor", id(t))

    def describe(t):
        ctx = t._ctx
        if ctx is not None:
            name = ctx.fn.__name__ if ctx.fn is not None else "op"
            kind = "op"
        elif id(t) in names:
            name, kind = names[id(t)], "param"
        elif t.requires_grad:
            name, kind = "leaf", "leaf"
        else:
            name, kind = "constant", "constant"
        return {"kind": kind, "name": name, "shape": tuple(t.shape), "dtype": str(t.dtype),
                "freed": ctx is not None and ctx.released}

    def inputs_of(t):
        ctx = t._ctx
        if ctx is None or ctx.inputs is None:
            return []
        return [a for a in ctx.inputs if isinstance(a, Tensor) and
                (a._ctx is not None or a.requires_grad or (constants and len(a.shape) > 0))]

    # Iterative depth-first post-order (inputs in argument order), as the backward engine
    # sorts the graph: every node is listed after its inputs.
    stack = [(tensor, False)]
    seen = set()
    while stack:
        t, expanded = stack.pop()
        key = key_of(t)
        if expanded:
            node = describe(t)
            node["id"] = f"n{len(nodes)}"
            ids[key] = node["id"]
            nodes.append(node)
            for a in inputs_of(t):
                edges.append((ids[key_of(a)], node["id"]))
            continue
        if key in seen:
            continue
        seen.add(key)
        stack.append((t, True))
        for a in reversed(inputs_of(t)):
            if key_of(a) not in seen:
                stack.append((a, False))
    if nodes[-1]["kind"] == "op":
        nodes[-1]["kind"] = "root"
    graph = Graph(nodes, edges)
    if path is not None:
        graph.save(path)
    return graph


def _param_names(params):
    """id(tensor) -> name, from a dict, a Module (its named_parameters) or (name, t) pairs."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        params = params.named_parameters()
    items = params.items() if isinstance(params, dict) else params
    names = {}
    for name, t in items:
        if not isinstance(t, Tensor):
            raise TypeError(f"draw_graph: params[{name!r}] is a {type(t).__name__}, not a Tensor")
        names.setdefault(id(t), str(name))
    return names


def node_label(node):
    """A node's two-line label: its name, then ``shape dtype`` (or that backward freed it)."""
    shape = str(tuple(node["shape"]))
    second = "freed by backward" if node.get("freed") else f"{shape} {node['dtype']}"
    return f"{node['name']}\n{second}"


def _quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _to_dot(nodes, edges):
    lines = ["digraph tinydl {",
             '  graph [rankdir=TB, fontname="Helvetica"];',
             '  node [fontname="Helvetica", fontsize=10, style=filled];']
    for node in nodes:
        shape = "ellipse" if node["kind"] in ("op", "root") else "box"
        lines.append(f"  {node['id']} [label={_quote(node_label(node))}, shape={shape}, "
                     f"fillcolor=\"{_COLORS[node['kind']]}\"];")
    lines += [f"  {a} -> {b};" for a, b in edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _layers(nodes, edges):
    """Each node's layer: the longest path from it down to the output (output = layer 0).

    Measuring from the output puts every parameter right above the op that uses it, rather
    than all of them in the top row. Nodes are listed inputs first, so one backward sweep
    over them settles every layer.
    """
    consumers = {n["id"]: [] for n in nodes}
    for a, b in edges:
        consumers[a].append(b)
    layer = {}
    for node in reversed(nodes):
        layer[node["id"]] = max((layer[c] + 1 for c in consumers[node["id"]]), default=0)
    return layer


def _order_layers(nodes, edges, layer):
    """Rows of node ids, one per layer, ordered to shorten edges (barycentre heuristic).

    Starts from the listing order, then alternately sorts each row by the mean position of
    its neighbours (Sugiyama et al. 1981's barycentre method), four sweeps.
    """
    rows = {}
    for node in nodes:
        rows.setdefault(layer[node["id"]], []).append(node["id"])
    neighbours = {n["id"]: [] for n in nodes}
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    for sweep in range(4):
        position = {}
        for row in rows.values():
            for i, nid in enumerate(row):
                position[nid] = i - (len(row) - 1) / 2
        order = sorted(rows) if sweep % 2 == 0 else sorted(rows, reverse=True)
        for depth in order:
            row = rows[depth]

            def barycentre(nid, row=row):
                near = neighbours[nid]
                return sum(position[m] for m in near) / len(near) if near else position[nid]
            row.sort(key=barycentre)
            for i, nid in enumerate(row):
                position[nid] = i - (len(row) - 1) / 2
    return rows


def _draw_layered(nodes, edges):
    """The graph drawn with matplotlib: layers top (inputs) to bottom (output), boxes, arrows."""
    import matplotlib.pyplot as plt
    layer = _layers(nodes, edges)
    rows = _order_layers(nodes, edges, layer)
    depth = max(rows) + 1
    width = max(len(r) for r in rows.values())
    xy = {}
    for d, row in rows.items():
        for i, nid in enumerate(row):
            xy[nid] = ((i - (len(row) - 1) / 2) * 1.0, float(d))
    # Capped so a deep network stays under matplotlib's pixel limit (its boxes then overlap).
    row_inches = 0.75
    size = (min(60.0, max(4.0, 1.9 * width)), min(60.0, max(3.0, row_inches * depth)))
    fig, ax = plt.subplots(figsize=size)
    for a, b in edges:
        # From the bottom of the input's box to the top of the op's (boxes are ~0.36 in high).
        (xa, ya), (xb, yb) = xy[a], xy[b]
        gap = 0.19 * (depth + 0.2) / size[1]  # 0.19 in, in data units
        ax.annotate("", xy=(xb, yb + gap), xytext=(xa, ya - gap),
                    arrowprops=dict(arrowstyle="-|>", color="0.45", lw=0.8,
                                    shrinkA=0, shrinkB=0))
    for node in nodes:
        x, y = xy[node["id"]]
        style = "round,pad=0.3" if node["kind"] in ("op", "root") else "square,pad=0.3"
        ax.text(x, y, node_label(node), ha="center", va="center", fontsize=7,
                bbox=dict(boxstyle=style, facecolor=_COLORS[node["kind"]], edgecolor="0.3",
                          lw=0.6))
    ax.set_xlim(-width / 2 - 0.2, width / 2 + 0.2)
    ax.set_ylim(-0.6, depth - 0.4)
    ax.axis("off")
    fig.tight_layout()
    return fig


def _run_dot(dot, fmt):
    """Render DOT text with Graphviz: the ``graphviz`` package if installed, else ``dot``."""
    try:
        import graphviz
    except ImportError:
        graphviz = None
    if graphviz is not None:
        return graphviz.Source(dot).pipe(format=fmt)
    program = shutil.which("dot")
    if program is None:
        raise RuntimeError("draw_graph: Graphviz's dot program is not installed (apt install "
                           "graphviz); save as .dot, or use engine='matplotlib'")
    done = subprocess.run([program, f"-T{fmt}"], input=dot.encode("utf-8"),
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"draw_graph: dot -T{fmt} failed: "
                           f"{done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout
