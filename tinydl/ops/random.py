"""Random sampling by torch's names: ``normal``, ``bernoulli``, ``poisson``, ``binomial``,
``multinomial``, and the in-place fills behind the Tensor methods ``bernoulli_``,
``exponential_``, ``geometric_``, ``log_normal_``, ``cauchy_`` and ``random_``.

Every draw comes from tinydl's one seeded generator (``tinydl/random.py``), so
``tinydl.manual_seed`` makes each of them reproducible, as it does ``randn``, ``rand``,
``randint``, ``randperm`` and the ``_like`` factories (``tinydl/factories.py``), ``normal_``,
``uniform_`` and dropout.

Gradients follow torch's rules: a sample is not differentiated. ``normal``, ``bernoulli``
and ``poisson`` of parameters that require grad give a result that requires grad, with a
zero gradient for each parameter (torch does not reparametrize: for a pathwise gradient write
``mean + std * tinydl.randn_like(mean)``); ``bernoulli(input, p)`` and ``binomial`` give one
whose backward raises, as torch has no derivative for them. The in-place fills follow the
in-place rules of ``normal_``: a leaf that requires grad refuses outside ``no_grad``, a
recorded tensor's old value gets a zero gradient.

A parameter outside its distribution's domain (a negative std, a probability above 1, NaN)
raises ``DistributionError`` (a ValueError as NumPy's, a RuntimeError as torch's) naming the op
and the value; a dtype the sampler does not take raises ``DtypeError``.
"""
import math
import numbers
import warnings

import numpy as np

from tinydl.autograd import Function
from tinydl.ops._util import DtypeError, ShapeError
from tinydl.random import below, get_generator
from tinydl.tensor import Tensor


class DistributionError(ValueError, RuntimeError):
    """A distribution parameter outside its domain (std < 0, p > 1, NaN): a ValueError, as
    NumPy's samplers raise, and a RuntimeError, as torch's, so either habit's ``except``
    catches it."""


class Sample(Function):
    """Samples drawn (in ``forward``'s caller) with the inputs as a distribution's parameters.

    Sampling is not differentiated: backward gives each parameter a zero gradient (torch's
    rule for normal, bernoulli and poisson) or, with ``derivative=False``, raises (torch has
    no derivative for binomial or bernoulli with a float p). Backward reads only the inputs'
    shapes and dtypes.
    """

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, *params, sample, op, derivative):
        ctx.op = op
        ctx.derivative = derivative
        return sample

    @staticmethod
    def backward(ctx, g):
        if not ctx.derivative:
            raise RuntimeError(f"{ctx.op}: the derivative of this sample with respect to its "
                               "input is not implemented (torch has none either); detach the "
                               "input or compute the sample from tensors that do not require "
                               "grad")
        return tuple(Tensor._wrap(np.zeros(p.shape, p.dtype)) for p in ctx.inputs)


def _sampled(sample, params, op, derivative=True):
    """``sample`` as the output of a ``Sample`` node over the Tensor ``params``."""
    return Sample.apply(*[p for p in params if isinstance(p, Tensor)], sample=sample, op=op,
                        derivative=derivative)


# ----------------------------------------------------------------------------- checks
def _input(x, op, name="input"):
    """``x`` as a Tensor: a Tensor, or a NumPy array wrapped (torch takes tensors only)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._wrap(x)
    raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")


def _floating(x, op, name="input"):
    if x.dtype.kind != "f":
        raise DtypeError(f"{op}: {name} must be a floating-point tensor, got dtype {x.dtype} "
                         "(cast it first, e.g. x.float())")


def _number(value, op, name):
    """A real Python number from ``value`` (a NumPy scalar too)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {value!r}")
    return float(value)


def _probability(p, op, name="p"):
    """A probability as a float in [0, 1]."""
    p = _number(p, op, name)
    if not 0.0 <= p <= 1.0:
        raise DistributionError(f"{op}: {name} must be in [0, 1], got {p}")
    return p


def _probabilities(values, op, what):
    """Refuse an array of probabilities with an entry outside [0, 1] (or NaN)."""
    bad = ~((values >= 0) & (values <= 1))
    if bad.any():
        raise DistributionError(f"{op}: {what} must be in [0, 1], got {values[bad].flat[0]} "
                                f"(at index {np.argwhere(bad)[0].tolist()})")


def _positive(value, op, name):
    value = _number(value, op, name)
    if not value > 0:
        raise DistributionError(f"{op}: {name} must be > 0, got {value}")
    return value


def _broadcast(op, **shapes):
    try:
        return np.broadcast_shapes(*shapes.values())
    except ValueError:
        described = " and ".join(f"{name} of shape {shape}" for name, shape in shapes.items())
        raise ShapeError(f"{op}: {described} cannot be broadcast together") from None


def _size(size, op):
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size,)
    if not isinstance(size, (tuple, list)) or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0
            for n in size):
        raise ValueError(f"{op}: size must be a tuple of non-negative integers, got {size!r}")
    return tuple(int(n) for n in size)


# ----------------------------------------------------------------------------- samplers
def normal(mean, std=1.0, size=None, *, dtype=None, requires_grad=False):
    """Samples of N(mean, std^2), torch's ``normal`` in its forms:

    * ``normal(mean_tensor, std_tensor)``, ``normal(mean_tensor, std=1.0)``,
      ``normal(mean, std_tensor)``: one sample per element of the broadcast shape of mean and
      std, in the dtype of the mean tensor (of std where only std is one);
    * ``normal(mean, std, size, dtype=None, requires_grad=False)`` with numbers: ``size``
      samples, float32 by default.

    std must be >= 0 (0 gives the mean). As in torch, the result of tensor parameters that
    require grad requires grad with a zero gradient (no reparametrization).
    """
    op = "normal"
    if not isinstance(mean, (Tensor, np.ndarray)) and not isinstance(std, (Tensor, np.ndarray)):
        mean, std = _number(mean, op, "mean"), _number(std, op, "std")
        if size is None:
            raise TypeError("normal: with a number for both mean and std, size is required "
                            "(normal(mean, std, size)); pass a tensor mean or std otherwise")
        dtype = np.dtype(dtype or np.float32)
        if dtype.kind != "f":
            raise DtypeError(f"normal: dtype must be floating point, got {dtype}")
        _check_std(std, op)
        values = mean + std * get_generator().standard_normal(_size(size, op))
        return Tensor._wrap(values.astype(dtype)).requires_grad_(requires_grad)
    if size is not None or dtype is not None or requires_grad:
        raise TypeError("normal: size=, dtype= and requires_grad= go with a number for both "
                        "mean and std; a tensor mean or std gives samples of its own shape "
                        "and dtype")
    params = []
    for name, value in (("mean", mean), ("std", std)):
        if isinstance(value, (Tensor, np.ndarray)):
            value = _input(value, op, name)
            _floating(value, op, name)
        else:
            value = _number(value, op, name)
        params.append(value)
    mean, std = params
    out_dtype = (mean if isinstance(mean, Tensor) else std).dtype
    shape = _broadcast(op, mean=np.shape(mean), std=np.shape(std))
    m, s = (p.data if isinstance(p, Tensor) else p for p in params)
    _check_std(s, op)
    values = m + s * get_generator().standard_normal(shape)
    return _sampled(np.asarray(values).astype(out_dtype), params, op)


def _check_std(std, op):
    std = np.asarray(std, dtype=np.float64)
    bad = ~(std >= 0)
    if bad.any():
        raise DistributionError(f"{op}: std must be >= 0, got {std[bad].flat[0]}")


def bernoulli(input, p=None):  # noqa: A002 (torch's name)
    """1 with probability ``input`` (each entry in [0, 1]), else 0, in ``input``'s dtype; with
    ``p`` (a number), probability ``p`` for every entry of a tensor of ``input``'s shape and
    dtype (torch's ``bernoulli(input, p)``).

    As in torch, ``bernoulli(probs)`` of probabilities that require grad requires grad, with a
    zero gradient; ``bernoulli(input, p)``'s backward raises.
    """
    x = _input(input, "bernoulli")
    if p is not None:
        sample = get_generator().random(x.shape) < _probability(p, "bernoulli")
        return _sampled(sample.astype(x.dtype), [x], "bernoulli", derivative=False)
    _floating(x, "bernoulli", "input (the probabilities)")
    _probabilities(x.data, "bernoulli", "probabilities")
    sample = get_generator().random(x.shape) < x.data
    return _sampled(sample.astype(x.dtype), [x], "bernoulli")


def poisson(input):  # noqa: A002 (torch's name)
    """One sample of Poisson(rate) per entry of ``input`` (rates >= 0), in its dtype.

    A rate too large for a 64-bit count (beyond ~9.2e18, or inf) raises, where torch returns
    -9.2e18. As in torch, rates that require grad give a zero gradient.
    """
    x = _input(input, "poisson")
    _floating(x, "poisson", "input (the rates)")
    rates = x.data.astype(np.float64)
    bad = ~((rates >= 0) & (rates <= _POISSON_MAX))
    if bad.any():
        raise DistributionError(f"poisson: rates must be in [0, {_POISSON_MAX:.3g}] (a count "
                                f"must fit int64), got {rates[bad].flat[0]}")
    counts = np.asarray(get_generator().poisson(rates))  # (a Python int for 0-d rates)
    return _sampled(counts.astype(x.dtype), [x], "poisson")


# NumPy's largest Poisson rate: the mean plus ten standard deviations stays below 2^63.
_POISSON_MAX = float(np.iinfo(np.int64).max - 10 * math.sqrt(np.iinfo(np.int64).max))


def binomial(count, prob):
    """One sample of Binomial(count, prob) per entry of the broadcast of ``count`` (whole
    numbers >= 0) and ``prob`` (in [0, 1]), two floating tensors of one dtype, which the
    result has. torch takes fractional and negative counts and returns odd values for them;
    tinydl refuses them. As in torch, the sample has no derivative (its backward raises).
    """
    op = "binomial"
    count, prob = _input(count, op, "count"), _input(prob, op, "prob")
    _floating(count, op, "count")
    _floating(prob, op, "prob")
    if count.dtype != prob.dtype:
        raise DtypeError(f"binomial: count and prob must have one dtype, got {count.dtype} and "
                         f"{prob.dtype}")
    shape = _broadcast(op, count=count.shape, prob=prob.shape)
    n = count.data.astype(np.float64)
    bad = ~((n >= 0) & (n < 2.0 ** 63) & (n == np.floor(n)))
    if bad.any():
        raise DistributionError(f"binomial: count must hold whole numbers >= 0, got "
                                f"{n[bad].flat[0]}")
    _probabilities(prob.data, op, "prob")
    values = get_generator().binomial(np.broadcast_to(n.astype(np.int64), shape),
                                      np.broadcast_to(prob.data.astype(np.float64), shape))
    return _sampled(np.asarray(values).astype(count.dtype), [count, prob], op,
                    derivative=False)


def multinomial(input, num_samples, replacement=False):  # noqa: A002 (torch's name)
    """``num_samples`` category indices per row of ``input`` (a 1-D vector of weights, or a
    2-D batch of rows), each index ``i`` drawn with probability ``w_i / sum(w)``; int64 of
    shape ``(num_samples,)`` or ``(rows, num_samples)``.

    Weights need not sum to 1 but must be finite and >= 0 with a positive sum per row. Without
    replacement an index is drawn at most once per row (so ``num_samples`` must not exceed the
    number of categories; once the positive weights are used up, zero-weight categories
    follow, as torch's do). Sampling without replacement is the exponential race (Efraimidis &
    Spirakis): the categories sorted by ``E_i / w_i``, ``E_i ~ Exp(1)``, arrive in the order of
    successive draws proportional to the remaining weights.
    """
    op = "multinomial"
    x = _input(input, op)
    _floating(x, op)
    if x.ndim not in (1, 2):
        raise ShapeError(f"multinomial: input must be 1-D or 2-D (weights, or rows of "
                         f"weights), got shape {x.shape}")
    if isinstance(num_samples, (bool, np.bool_)) or not isinstance(num_samples,
                                                                  (int, np.integer)):
        raise TypeError(f"multinomial: num_samples must be an int, got {num_samples!r}")
    if num_samples <= 0:
        raise DistributionError(f"multinomial: num_samples must be positive, got {num_samples}")
    n = x.shape[-1]
    if not replacement and num_samples > n:
        raise DistributionError(f"multinomial: cannot draw {num_samples} samples without "
                                f"replacement from {n} categories; pass replacement=True")
    w = x.data.astype(np.float64).reshape(-1, n)
    if not (np.isfinite(w) & (w >= 0)).all():
        raise DistributionError("multinomial: weights must be finite and >= 0 (no inf, NaN or "
                                "negative entry)")
    if len(w) and not (w.sum(axis=1) > 0).all():
        raise DistributionError("multinomial: each row of weights must have a positive sum")
    rng = get_generator()
    if replacement:
        cdf = np.cumsum(w, axis=1)
        u = rng.random((len(w), num_samples)) * cdf[:, -1:]
        # A draw rounded up to the total would land past the last category: the last one
        # with weight takes it.
        last = n - 1 - np.argmax(w[:, ::-1] > 0, axis=1)
        index = np.stack([np.minimum(np.searchsorted(cdf[r], u[r], side="right"), last[r])
                          for r in range(len(w))]) if len(w) else u.astype(np.int64)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):  # zero weights: key inf (last)
            keys = rng.standard_exponential(w.shape) / w
        index = np.argsort(keys, axis=1, kind="stable")[:, :num_samples]
    return Tensor._wrap(index.astype(np.int64).reshape(x.shape[:-1] + (num_samples,)))


# ----------------------------------------------------------------------------- in-place fills
# Each checks its parameters, draws, and writes with Tensor._fill_with (the in-place rules of
# normal_ and uniform_). The Tensor methods of the same names call these.
def bernoulli_(t, p=0.5):
    """Fill ``t`` (of any dtype) with 1 with probability ``p`` (a number, or a tensor of
    probabilities broadcast to ``t``'s shape), else 0, in place."""
    if isinstance(p, (Tensor, np.ndarray)):
        p = np.asarray(p.data if isinstance(p, Tensor) else p)
        if p.dtype.kind != "f":
            raise DtypeError(f"bernoulli_: a tensor p must be floating point, got {p.dtype}")
        try:
            p = np.broadcast_to(p, t.shape)
        except ValueError:
            raise ShapeError(f"bernoulli_: p of shape {p.shape} cannot be broadcast to the "
                             f"tensor's shape {t.shape}") from None
        _probabilities(p, "bernoulli_", "p")
    else:
        p = _probability(p, "bernoulli_")
    return t._fill_with("bernoulli_", get_generator().random(t.shape) < p)


def exponential_(t, lambd=1.0):
    """Fill floating ``t`` with samples of Exp(lambd) (density ``lambd e^(-lambd x)``, mean
    ``1/lambd``; lambd > 0, inf gives zeros), in place."""
    t._check_floating("exponential_")
    lambd = _positive(lambd, "exponential_", "lambd")
    return t._fill_with("exponential_", get_generator().standard_exponential(t.shape) / lambd)


def geometric_(t, p):
    """Fill ``t`` with samples of Geometric(p): the number of Bernoulli(p) trials up to and
    including the first success (1, 2, ...; mean ``1/p``), in place; ``0 < p < 1``. An integer
    tensor holds counts beyond its largest value as that value (torch wraps them around)."""
    p = _number(p, "geometric_", "p")
    if not 0.0 < p < 1.0:
        raise DistributionError(f"geometric_: p must be in (0, 1), got {p}")
    if t.dtype.kind == "b":
        raise DtypeError("geometric_: a bool tensor cannot hold trial counts (torch refuses)")
    values = get_generator().geometric(p, t.shape)
    if t.dtype.kind in "iu":
        values = np.minimum(values, np.iinfo(t.dtype).max)
    return t._fill_with("geometric_", values)


def log_normal_(t, mean=1.0, std=2.0):
    """Fill floating ``t`` with ``exp(N(mean, std^2))`` samples (std > 0), in place; ``mean``
    and ``std`` are those of the underlying normal, as in torch."""
    t._check_floating("log_normal_")
    mean = _number(mean, "log_normal_", "mean")
    std = _positive(std, "log_normal_", "std")
    return t._fill_with("log_normal_", get_generator().lognormal(mean, std, t.shape))


def cauchy_(t, median=0.0, sigma=1.0):
    """Fill floating ``t`` with Cauchy samples, density ``1 / (pi sigma (1 + ((x - median) /
    sigma)^2))`` (sigma > 0), in place."""
    t._check_floating("cauchy_")
    median = _number(median, "cauchy_", "median")
    sigma = _positive(sigma, "cauchy_", "sigma")
    values = median + sigma * get_generator().standard_cauchy(t.shape)
    return t._fill_with("cauchy_", values)


def random_(t, *args, to=None):
    """Fill ``t`` with integers uniform on ``[from, to - 1]``, in place (torch's
    ``random_(from, to)``, ``random_(to)``, ``random_()``; ``from`` cannot be a Python keyword,
    so it is positional only).

    Without ``to`` the range ends at the dtype's largest value, for a floating dtype at
    ``2^mantissa`` (``2^24`` for float32), the last integer from which every smaller one is
    exact; ``random_()`` starts at 0. A bound the dtype cannot hold raises; a floating range
    beyond ``+-2^mantissa`` warns, as in torch (not every integer there is representable).
    """
    if len(args) > 2:
        raise TypeError(f"random_: takes at most 2 positional arguments (from, to), got "
                        f"{len(args)}")
    if len(args) == 2 and to is not None:
        raise TypeError("random_: to given twice (positionally and as to=)")
    if len(args) == 1 and to is None:
        low, high = 0, args[0]
    else:
        low = args[0] if args else 0
        high = args[1] if len(args) == 2 else to
    values = draw_integers("random_", t.shape, t.dtype, low, high, stacklevel=4)
    return t._fill_with("random_", values)


def draw_integers(op, shape, dtype, low, high, stacklevel=3):
    """Integers uniform on ``[low, high - 1]`` of ``shape``, as ``dtype`` holds them (torch's
    range rules of ``random_`` and ``randint_like``; ``high=None``: up to the dtype's top).
    ``stacklevel`` points the warning of a float range past exactness at the user's call."""
    dtype = np.dtype(dtype)
    for name, value in (("from", low), ("to", high)):
        if value is not None and (isinstance(value, (bool, np.bool_))
                                  or not isinstance(value, (int, np.integer))):
            raise TypeError(f"{op}: {name} must be an int, got {value!r}")
    lowest, highest, exact = _integer_range(dtype)
    low = int(low)
    high = exact + 1 if high is None else int(high)
    if low >= high:
        raise DistributionError(f"{op}: expects from < to, got from={low} >= to={high}")
    if low < lowest:
        raise DistributionError(f"{op}: from={low} is out of bounds for {dtype} "
                                f"([{lowest}, {highest}])")
    if high - 1 > highest:
        raise DistributionError(f"{op}: to - 1 = {high - 1} is out of bounds for {dtype} "
                                f"([{lowest}, {highest}])")
    if dtype.kind == "f" and (low < -exact or high - 1 > exact):
        warnings.warn(f"{op}: the range [{low}, {high - 1}] goes beyond +-{exact} = "
                      f"+-2^{exact.bit_length() - 1}, where {dtype} holds every integer; "
                      "the values drawn there are rounded", UserWarning, stacklevel=stacklevel)
    draw_dtype = dtype if dtype.kind in "iub" else np.int64
    values = get_generator().integers(low, high - 1, shape, dtype=draw_dtype, endpoint=True)
    return below(values, high, dtype)


def _integer_range(dtype):
    """``(lowest, highest, exact)``: the integer bounds ``dtype`` holds, and the largest
    integer up to which it holds every integer: ``highest``, or for a floating dtype
    ``2^(mantissa + 1)`` (the top of ``random_()`` on it)."""
    if dtype.kind == "b":
        return 0, 1, 1
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return int(info.min), int(info.max), int(info.max)
    if dtype.kind != "f":
        raise DtypeError(f"random_: integers cannot be drawn into dtype {dtype}")
    exact = 2 ** (np.finfo(dtype).nmant + 1)
    top = min(int(np.finfo(dtype).max), int(np.iinfo(np.int64).max))  # (drawn as int64)
    return -top, top, exact
