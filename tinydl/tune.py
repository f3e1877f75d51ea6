"""Random hyper-parameter search (Bergstra & Bengio 2012), deliberately small.

Random search beats grid search when only a few hyper-parameters matter, because every
trial tries a new value of each. This module draws configurations from a search space,
calls your training function on each, and returns the trials as a table. It has no
pruning, no Bayesian model and no parallelism: for those use Optuna
(https://optuna.org), whose ``trial.suggest_float(name, low, high, log=True)`` and
``trial.suggest_categorical`` are the two distributions here.

    space = {"lr": log_uniform(1e-4, 1e-1), "width": choice([8, 16]), "wd": uniform(0, 1e-3)}
    table = random_search(lambda lr, width, wd: train(lr, width, wd), space, n_trials=20, seed=0)
    table[0]   # the best trial: {"trial": 7, "score": 0.97, "lr": ..., "width": 16, ...}
"""
import math
import numbers

from tinydl.random import seeded


class log_uniform:
    """A float whose log is uniform on [log low, log high] (``suggest_float(..., log=True)``)."""

    def __init__(self, low, high):
        if not 0 < low < high:
            raise ValueError(f"log_uniform: need 0 < low < high, got low={low!r}, high={high!r}")
        self.low, self.high = float(low), float(high)

    def sample(self, rng):
        """One draw: exp(U(log low, log high))."""
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))

    def __repr__(self):
        return f"log_uniform({self.low:g}, {self.high:g})"


class uniform:
    """A float uniform on [low, high]."""

    def __init__(self, low, high):
        if not low < high:
            raise ValueError(f"uniform: need low < high, got low={low!r}, high={high!r}")
        self.low, self.high = float(low), float(high)

    def sample(self, rng):
        """One draw: U(low, high)."""
        return float(rng.uniform(self.low, self.high))

    def __repr__(self):
        return f"uniform({self.low:g}, {self.high:g})"


class choice:
    """One of ``options``, each equally likely (``suggest_categorical``)."""

    def __init__(self, options):
        self.options = list(options)
        if not self.options:
            raise ValueError("choice: needs at least one option")

    def sample(self, rng):
        """One draw: options[randint(len(options))]."""
        return self.options[int(rng.integers(len(self.options)))]

    def __repr__(self):
        return f"choice({self.options!r})"


def _sample(space, rng):
    config = {}
    for name, dist in space.items():
        if hasattr(dist, "sample"):
            config[name] = dist.sample(rng)
        elif isinstance(dist, list | tuple):
            config[name] = choice(dist).sample(rng)
        else:
            config[name] = dist  # a fixed value
    return config


def random_search(train_fn, space, n_trials, seed=None, mode="max"):
    """Call ``train_fn(**config)`` for ``n_trials`` random configurations; return the trials.

    ``space`` maps each keyword of ``train_fn`` to a distribution: ``log_uniform(low,
    high)``, ``uniform(low, high)``, ``choice(options)`` (a plain list or tuple means
    ``choice``), or a fixed value. ``train_fn`` returns the score to optimise (a number) or
    a dict with a ``'score'`` entry and any other figures to keep. Draws come from
    ``np.random.default_rng(seed)`` (tinydl's generator when ``seed`` is None, which
    ``tinydl.manual_seed`` fixes), so a seed fixes the configurations (the training inside
    is yours to seed). Returns a ``TrialTable``: a list of dicts ``{'trial', 'score', <each
    hyper-parameter>, <other returned figures>}`` sorted best first (``mode`` 'max' or
    'min'), with ``.best`` and a printable ``str()``. A trial whose score is NaN sorts last.
    """
    if not (isinstance(n_trials, numbers.Integral) and n_trials > 0):
        raise ValueError(f"random_search: n_trials must be a positive int, got {n_trials!r}")
    if mode not in ("max", "min"):
        raise ValueError(f"random_search: mode must be 'max' or 'min', got {mode!r}")
    if not isinstance(space, dict) or not space:
        raise ValueError("random_search: space must be a non-empty dict of name -> distribution")
    if {"trial", "score"} & set(space):  # the table's own columns: one would hide the other
        raise ValueError(f"random_search: a hyper-parameter cannot be named 'trial' or "
                         f"'score' (the table's columns), got {sorted(space)}")
    rng = seeded(seed)  # None: tinydl's generator, so manual_seed fixes the draws
    trials = []
    for t in range(int(n_trials)):
        config = _sample(space, rng)
        result = train_fn(**config)
        extra = dict(result) if isinstance(result, dict) else {"score": result}
        if "score" not in extra:
            raise ValueError(f"random_search: train_fn returned a dict without 'score': "
                             f"{sorted(extra)}")
        score = float(extra.pop("score"))
        clash = sorted(set(extra) & (set(config) | {"trial"}))
        if clash:  # its value would replace the sampled one in the table, silently
            raise ValueError(f"random_search: train_fn returned {clash}, which name "
                             f"hyper-parameters (or the trial column); return such figures "
                             f"under other names (e.g. 'final_{clash[0]}')")
        trials.append({"trial": t, "score": score, **config, **extra})
    sign = -1.0 if mode == "max" else 1.0
    trials.sort(key=lambda r: (math.isnan(r["score"]), sign * r["score"]
                               if not math.isnan(r["score"]) else 0.0, r["trial"]))
    return TrialTable(trials, list(space))


class TrialTable(list):
    """The trials of ``random_search``, best first; ``str()`` prints them as a table."""

    def __init__(self, trials, params):
        super().__init__(trials)
        self.params = params

    @property
    def best(self):
        """The best trial (a dict)."""
        return self[0]

    def __str__(self):
        columns = ["trial", "score"] + self.params
        columns += [k for k in (self[0] if self else {}) if k not in columns]

        def fmt(v):
            if isinstance(v, float):
                return f"{v:.4g}"
            return str(v)
        rows = [[fmt(r.get(c, "")) for c in columns] for r in self]
        widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(columns)]
        lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
        lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in rows]
        return "\n".join(lines)
