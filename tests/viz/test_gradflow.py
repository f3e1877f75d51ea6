"""tinydl.viz.plot_grad_flow / grad_norms: the norms, the vanishing-gradient picture of a deep
sigmoid stack, and the marks for parameters without a gradient."""
import numpy as np
import pytest

import tinydl as td
from tinydl import nn
from tinydl.viz import grad_norms, plot_grad_flow


def _sigmoid_stack(depth=6, width=16):
    td.manual_seed(0)
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.Sigmoid()]
    return nn.Sequential(*layers, nn.Linear(width, 1))


def test_grad_norms_are_l2_norms_in_registration_order():
    model = _sigmoid_stack(depth=2)
    model(td.randn(8, 16)).pow(2).mean().backward()
    norms = grad_norms(model)
    assert [n for n, _ in norms] == [n for n, _ in model.named_parameters()]
    for (name, norm), (_, p) in zip(norms, model.named_parameters()):
        expected = np.sqrt(np.sum(p.grad.numpy().astype(np.float64) ** 2))
        assert norm == pytest.approx(expected, rel=1e-12), name


def test_deep_sigmoid_stack_shows_vanishing_gradients():
    model = _sigmoid_stack(depth=6)
    model(td.randn(32, 16)).pow(2).mean().backward()
    weights = [norm for name, norm in grad_norms(model) if name.endswith("weight")]
    # Each sigmoid scales the gradient by at most 1/4: the norms grow towards the output.
    assert all(a < b for a, b in zip(weights, weights[1:])), weights
    assert weights[-1] / weights[0] > 1e3, weights


def test_plot_has_one_bar_per_parameter_and_marks_missing_gradients():
    model = _sigmoid_stack(depth=2)
    with pytest.raises(ValueError, match="backward"):
        plot_grad_flow(model)
    model(td.randn(8, 16)).pow(2).mean().backward()
    model[0].bias.grad = None
    fig = plot_grad_flow(model)
    ax = fig.axes[0]
    names = [name for name, _ in model.named_parameters()]
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    bars = [p for p in ax.patches if p.get_width() < 1]  # the legend's patches are not in ax
    assert len(bars) == len(names)
    heights = [b.get_height() for b in bars]
    for (name, norm), h in zip(grad_norms(model), heights):
        assert h == pytest.approx(norm or 0.0), name
    crosses = [line for line in ax.lines if line.get_marker() == "x"]
    assert len(crosses) == 1 and list(crosses[0].get_xdata()) == [1]
    assert ax.get_yscale() == "log"
    import matplotlib.pyplot as plt
    plt.close(fig)
