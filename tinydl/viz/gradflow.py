"""Gradient flow: the norm of each parameter's gradient, layer by layer, after ``backward()``.

The standard first look at vanishing or exploding gradients: in a deep stack of sigmoid
layers without careful initialisation the bars fall by orders of magnitude from the output
back to the input (the per-layer gradient statistics Glorot & Bengio 2010 study); with ReLU,
He initialisation or normalisation they stay much closer.
"""
import numpy as np

__all__ = ["grad_norms", "plot_grad_flow"]


def grad_norms(module):
    """``[(name, norm)]`` for each named parameter, in registration order (input side first).

    ``norm`` is the L2 norm of ``.grad`` over all its elements, sqrt(sum g^2), computed in
    float64; None for a parameter with no gradient (unused in the last backward, frozen, or
    backward not run yet).
    """
    if not hasattr(module, "named_parameters"):
        raise TypeError(f"grad_norms: expected a Module, got {type(module).__name__}")
    out = []
    for name, p in module.named_parameters():
        g = p.grad
        if g is None:
            out.append((name, None))
            continue
        data = np.asarray(g.data, dtype=np.float64)
        out.append((name, float(np.sqrt(np.sum(data * data)))))
    return out


def plot_grad_flow(module, ax=None, log=True):
    """Bar plot of the gradient norm of every named parameter of ``module``; returns the Figure.

    Call after ``loss.backward()``. Bars run from the first registered parameter (usually the
    input layer) to the last, weights and other parameters (biases, norm scales) in two
    colours; a parameter without a gradient is marked with a red cross on the axis.
    ``log``: logarithmic y axis (the default; gradient norms span decades). ``ax``: draw into
    an existing Axes.
    """
    import matplotlib.pyplot as plt
    norms = grad_norms(module)
    if not norms:
        raise ValueError(f"plot_grad_flow: {type(module).__name__} has no parameters")
    if all(n is None for _, n in norms):
        raise ValueError("plot_grad_flow: no parameter has a gradient; call loss.backward() first")
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(5.0, 0.45 * len(norms) + 2.0), 4.0))
    else:
        fig = ax.figure
    names = [name for name, _ in norms]
    x = np.arange(len(norms))
    positive = [n for _, n in norms if n]
    floor = min(positive) / 10 if positive else 1e-12
    heights = [n if n else 0.0 for _, n in norms]
    is_weight = [name.rsplit(".", 1)[-1] == "weight" for name in names]
    colors = ["tab:blue" if w else "tab:orange" for w in is_weight]
    ax.bar(x, heights, color=colors, width=0.7)
    missing = [i for i, (_, n) in enumerate(norms) if not n]
    if missing:
        ax.plot(x[missing], [floor if log else 0.0] * len(missing), "x", color="red", ms=8,
                mew=2, label="no gradient (or zero)", clip_on=False)
    if log:
        ax.set_yscale("log")
        ax.set_ylim(bottom=floor)
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=60, ha="right", fontsize=8)
    ax.set_xlim(-0.6, len(norms) - 0.4)
    ax.set_xlabel("parameter (input side -> output side)")
    ax.set_ylabel("gradient L2 norm")
    ax.set_title("Gradient flow")
    handles = [plt.Rectangle((0, 0), 1, 1, color="tab:blue"),
               plt.Rectangle((0, 0), 1, 1, color="tab:orange")]
    labels = ["weight", "bias / other"]
    if missing:
        handles.append(ax.lines[-1])
        labels.append("no gradient (or zero)")
    ax.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
