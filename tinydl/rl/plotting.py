"""Learning curves of the training loops as PNG (matplotlib, imported only when plotting)."""
import numpy as np

__all__ = ["plot_learning_curve"]


def plot_learning_curve(history, title, path, solved=None):
    """Save a PNG of training-episode returns (and their 20-episode moving mean) against
    environment steps, with the greedy evaluations of ``history['evaluations']`` as points
    (mean +- std) and ``solved`` as a dotted line. ``history`` is what ``train_dqn``,
    ``train_a2c`` or ``train_ddpg`` return. Needs matplotlib (imported here, not at import)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.asarray(history["episode_steps"])
    returns = np.asarray(history["episode_returns"])
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.plot(steps, returns, color="0.75", lw=0.8, label="training episode (exploring)")
    if len(returns) >= 20:
        mean = np.convolve(returns, np.ones(20) / 20, mode="valid")
        ax.plot(steps[19:], mean, label="moving mean of 20")
    if history["evaluations"]:
        e_steps, e_mean, e_std = np.asarray(history["evaluations"]).T
        ax.errorbar(e_steps, e_mean, yerr=e_std, fmt="o", color="C3",
                    label="greedy evaluation")
    if solved is not None:
        ax.axhline(solved, color="k", ls=":", lw=1)
    ax.set(title=title, xlabel="environment steps", ylabel="episode return")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
