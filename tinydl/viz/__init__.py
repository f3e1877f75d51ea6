"""tinydl.viz: looking inside a model.

- ``draw_graph`` (graph.py): the autograd graph behind a tensor, as Graphviz DOT text, rendered
  with Graphviz when installed (the ``viz`` extra) or with matplotlib;
- ``plot_grad_flow``, ``grad_norms`` (gradflow.py): gradient norm per parameter after backward;
- ``loss_landscape``, ``plot_landscape``, ``linear_interpolation`` (landscape.py): filter-
  normalised loss surfaces (Li et al. 2018) and the 1-D path between two solutions
  (Goodfellow et al. 2015).
"""
from tinydl.viz.gradflow import grad_norms, plot_grad_flow
from tinydl.viz.graph import Graph, draw_graph, graphviz_available
from tinydl.viz.landscape import (Landscape, linear_interpolation, loss_landscape,
                                  normalize_direction, plot_landscape, random_directions)

__all__ = ["Graph", "draw_graph", "graphviz_available", "grad_norms", "plot_grad_flow",
           "Landscape", "loss_landscape", "linear_interpolation", "normalize_direction",
           "plot_landscape", "random_directions"]
