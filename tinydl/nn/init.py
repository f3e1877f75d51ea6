"""Parameter initialisers with ``torch.nn.init``'s names, arguments, fan and gain rules.

Every function fills a Tensor (or an ndarray) in place, keeps its dtype, and returns it.
Filling a Tensor bumps its version counter, so a backward that saved the old values raises.
Random draws come from tinydl's one seeded generator (``tinydl.random.get_generator()``)
unless a ``generator`` is passed; as in torch, they refuse integer and bool tensors (the
values would be truncated), while ``constant_``, ``ones_``, ``zeros_``, ``eye_`` and ``dirac_``
fill any dtype.

Fans (torch's ``_calculate_fan_in_and_fan_out``): for a weight of shape (out, in, *k),
``fan_in = in * prod(k)`` and ``fan_out = out * prod(k)``; fewer than 2 dimensions raise.
"""
import math

import numpy as np

# scipy.special is imported inside the functions that use it: importing it takes about 0.2 s,
# half of ``import tinydl``.

from tinydl.autograd import bump_version
from tinydl.random import get_generator, uniform
from tinydl.tensor import Tensor

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
    "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
    "kaiming_normal_", "orthogonal_", "sparse_",
]

_UNIT_GAIN = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid", "identity"}


def _array(tensor, caller):
    if isinstance(tensor, Tensor):
        return tensor.data
    if isinstance(tensor, np.ndarray):
        return tensor
    raise TypeError(f"{caller}: expected a Tensor or an ndarray, got {type(tensor).__name__}")


def _float_array(tensor, caller):
    """The array of ``tensor``, which random values are about to fill: a float or complex one."""
    arr = _array(tensor, caller)
    if arr.dtype.kind in "biu":
        raise TypeError(f"{caller}: random values need a floating-point tensor, got dtype "
                        f"{arr.dtype} (they would be truncated); cast it first, e.g. t.float()")
    return arr


def _fill(tensor, values):
    """Write ``values`` into ``tensor``'s array and, for a Tensor, bump its version counter
    (as torch's in-place fill does): a graph that saved the old values must not reuse them."""
    _array(tensor, "init")[...] = values
    if isinstance(tensor, Tensor):
        bump_version(tensor)
    return tensor


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (torch's table).

    linear/conv/sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu: sqrt(2 / (1 + slope^2))
    with slope ``param`` (default 0.01); selu: 3/4.
    """
    if nonlinearity in _UNIT_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1.0 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    shape = _array(tensor, "init").shape
    if len(shape) < 2:
        raise ValueError(f"init: fan in and fan out need a tensor of 2 or more dimensions, "
                         f"got shape {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _generator(generator, caller):
    """tinydl's seeded generator for None, else ``generator`` (a ``np.random.Generator``):
    ``generator or get_generator()`` took 0 for None, silently."""
    if generator is None:
        return get_generator()
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"{caller}: generator must be None or a np.random.Generator, got "
                        f"{generator!r}")
    return generator


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with U(a, b); the bounds must be finite with a <= b."""
    return _uniform(tensor, a, b, generator, "uniform_")


def _uniform(tensor, a, b, generator, caller):
    """``uniform_``, with errors naming ``caller`` (the xavier and kaiming rules use it)."""
    arr = _float_array(tensor, caller)
    if not (math.isfinite(a) and math.isfinite(b) and a <= b):
        raise ValueError(f"{caller}: expects finite bounds a <= b for U(a, b), got a={a}, b={b}")
    return _fill(tensor, uniform(_generator(generator, caller), a, b, arr.shape, arr.dtype,
                                 caller))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with N(mean, std^2); std must be >= 0."""
    return _normal(tensor, mean, std, generator, "normal_")


def _normal(tensor, mean, std, generator, caller):
    """``normal_``, with errors naming ``caller`` (the xavier and kaiming rules use it)."""
    shape = _float_array(tensor, caller).shape
    _check_std(std, caller)
    rng = _generator(generator, caller)
    return _fill(tensor, rng.normal(mean, std, size=shape))


def _check_std(std, caller):
    if not std >= 0:  # also refuses NaN
        raise ValueError(f"{caller}: expects std >= 0, got std={std}")


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std^2) truncated to the absolute bounds [a, b] (inverse-CDF method).

    Draw p ~ U(Phi(alpha), Phi(beta)) for the standardised bounds alpha, beta, map it through
    the inverse normal CDF, scale by std, shift by mean and clamp to [a, b]: torch's method
    (its erfinv(2p - 1) sqrt(2) is the same map). Where both bounds lie in one tail (alpha
    > 0, through the survival function 1 - Phi, or beta < 0) the same point is computed in
    logs (``_tail_quantile``), which keep their digits where Phi rounds to 1 or underflows:
    bounds [10, 11] filled every element with 11 (Phi(10) is 1 in float64). A negative std
    gives the same distribution as its absolute value (torch accepts it too); a == b fills
    with a.
    """
    shape = _float_array(tensor, "trunc_normal_").shape
    if not a <= b:
        raise ValueError(f"trunc_normal_: expects the bounds a <= b, got a={a}, b={b}")
    std = abs(std)
    if not std > 0:
        raise ValueError(f"trunc_normal_: expects a nonzero std, got std={std}")

    from scipy import special
    alpha, beta = (a - mean) / std, (b - mean) / std
    r = _generator(generator, "trunc_normal_").uniform(0.0, 1.0, size=shape)
    if alpha > 0:  # p = 1 - q with q = Q(alpha) - r (Q(alpha) - Q(beta)), Q = 1 - Phi
        z = -_tail_quantile(-alpha, -beta, r)
    elif beta < 0:  # p = Phi(beta) - (1 - r) (Phi(beta) - Phi(alpha)): the same point
        z = _tail_quantile(beta, alpha, 1.0 - r)
    else:
        p_low, p_high = special.ndtr(alpha), special.ndtr(beta)
        z = special.ndtri(p_low + (p_high - p_low) * r)
    return _fill(tensor, np.clip(z * std + mean, a, b))


def _tail_quantile(near, far, t):
    """The x with Phi(x) = Phi(near) - t (Phi(near) - Phi(far)), for bounds far <= near < 0
    in the lower tail, computed in logs (scipy's ``log_ndtr`` and its inverse ``ndtri_exp``):
    Phi(-40) underflows to 0, where the bounds [40, 41] filled every element with 41."""
    from scipy import special
    log_near, log_far = special.log_ndtr(near), special.log_ndtr(far)
    with np.errstate(invalid="ignore"):  # (far = -inf: expm1(-inf) = -1 is fine)
        share = -np.expm1(log_far - log_near)  # 1 - Phi(far) / Phi(near)
    return special.ndtri_exp(log_near + np.log1p(-t * share))


def constant_(tensor, val):
    """Fill with the constant ``val``."""
    return _fill(tensor, val)


def ones_(tensor):
    """Fill with 1."""
    return _fill(tensor, 1)


def zeros_(tensor):
    """Fill with 0."""
    return _fill(tensor, 0)


def eye_(tensor):
    """Fill a 2-D tensor with the identity (ones on the main diagonal of a rectangle)."""
    arr = _array(tensor, "eye_")
    if arr.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {arr.shape}")
    return _fill(tensor, np.eye(*arr.shape))


def dirac_(tensor, groups=1):
    """Fill a 3-, 4- or 5-D conv weight with the Dirac delta (identity convolution) per group.

    Within each group, out channel d gets a 1 at input channel d in the kernel centre.
    """
    shape = _array(tensor, "dirac_").shape
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"dirac_: only 3-, 4- or 5-D tensors are supported, got shape {shape}")
    if shape[0] % groups != 0:
        raise ValueError(f"dirac_: dim 0 ({shape[0]}) must be divisible by groups ({groups})")
    per_group = shape[0] // groups
    n_diag = min(per_group, shape[1])
    values = np.zeros(shape)
    out_idx = (np.arange(groups)[:, None] * per_group + np.arange(n_diag)[None, :]).ravel()
    in_idx = np.tile(np.arange(n_diag), groups)
    centre = tuple(s // 2 for s in shape[2:])
    values[(out_idx, in_idx) + centre] = 1
    return _fill(tensor, values)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot & Bengio (2010): U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).

    gain >= 0, as in torch.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    _check_gain(gain, "xavier_uniform_")
    if fan_in + fan_out == 0:  # a (0, 0) weight: nothing to fill (a bare ZeroDivisionError)
        return tensor
    bound = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return _uniform(tensor, -bound, bound, generator, "xavier_uniform_")


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot & Bengio (2010): N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).

    gain >= 0, as in torch.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    _check_gain(gain, "xavier_normal_")
    if fan_in + fan_out == 0:  # a (0, 0) weight: nothing to fill (a bare ZeroDivisionError)
        return tensor
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _normal(tensor, 0.0, std, generator, "xavier_normal_")


def _check_gain(gain, caller):
    # torch refuses a negative gain here: its bound (or std) would be negative.
    if not gain >= 0:
        raise ValueError(f"{caller}: expects gain >= 0, got gain={gain}")


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He et al. (2015): U(-b, b) with b = sqrt(3) * gain / sqrt(fan), gain from ``nonlinearity``.

    ``a`` is the leaky_relu slope; layers use a = sqrt(5), i.e. b = 1/sqrt(fan_in).
    """
    if _array(tensor, "kaiming_uniform_").size == 0:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _uniform(tensor, -bound, bound, generator, "kaiming_uniform_")


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He et al. (2015): N(0, std^2) with std = gain / sqrt(fan)."""
    if _array(tensor, "kaiming_normal_").size == 0:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _normal(tensor, 0.0, std, generator, "kaiming_normal_")


def orthogonal_(tensor, gain=1.0, generator=None):
    """Saxe et al. (2013): a (semi-)orthogonal matrix, the tensor viewed as (rows, numel/rows).

    Draw N(0, 1) of that shape (transposed if rows < cols), take the reduced QR, fix the
    signs by sign(diag R) so the result is uniformly distributed, transpose back, times gain.
    """
    arr = _float_array(tensor, "orthogonal_")
    if arr.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, "
                         f"got shape {arr.shape}")
    if arr.size == 0:
        return tensor
    rows = arr.shape[0]
    cols = arr.size // rows
    rng = _generator(generator, "orthogonal_")
    flat = rng.standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(arr.shape))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Martens (2010): N(0, std^2) with ceil(sparsity * rows) random rows zeroed in every column."""
    arr = _float_array(tensor, "sparse_")
    if arr.ndim != 2:
        raise ValueError(f"sparse_: only 2-D tensors are supported, got shape {arr.shape}")
    _check_std(std, "sparse_")
    rows, cols = arr.shape
    n_zeros = int(math.ceil(sparsity * rows))
    rng = _generator(generator, "sparse_")
    values = rng.normal(0.0, std, size=(rows, cols))
    # An independent random permutation of the rows per column: argsort of uniform keys.
    zero_rows = np.argsort(rng.random((rows, cols)), axis=0)[:n_zeros]
    values[zero_rows, np.arange(cols)[None, :]] = 0
    return _fill(tensor, values)
