"""Reference formulas the tests compare tinydl against, in plain NumPy/SciPy.

Each is written from the formula (and torch's documented conventions: reductions, clamps,
class weights), not from tinydl's code, so that the two agree only when both are right.
Shapes follow torch: class scores ``(N, C, *)`` with the class axis 1, targets ``(N, *)``.
"""
import numpy as np
from scipy import special


# ----------------------------------------------------------------------------- activations
def gelu_tanh(x):
    """GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    """x sigmoid(x)."""
    return x * special.expit(x)


# ----------------------------------------------------------------------------- losses
def reduce(loss, reduction, denominator=None):
    """'none': as is; 'sum': the sum; 'mean': the sum over ``denominator`` (the count)."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / (loss.size if denominator is None else denominator)


def nll_loss(logp, target, weight=None, ignore_index=-100, reduction="mean"):
    """-w[y] logp[y] per target; 'mean' divides by the summed weights of the kept targets."""
    n_classes = logp.shape[1]
    w = np.ones(n_classes) if weight is None else weight
    kept = target != ignore_index
    t = np.where(kept, target, 0)
    picked = np.take_along_axis(logp, t[:, None], axis=1)[:, 0]
    w_t = w[t] * kept
    return reduce(-w_t * picked, reduction, w_t.sum())


def cross_entropy(logits, target, reduction="mean", label_smoothing=0.0, ignore_index=-100,
                  weight=None):
    """Softmax cross-entropy of class indices, torch's convention for label smoothing:
    (1 - eps) nll + eps / C * sum_c -w_c logp_c, both terms over the kept targets' weights."""
    logp = special.log_softmax(logits, axis=1)
    n_classes = logits.shape[1]
    w = np.ones(n_classes) if weight is None else weight
    kept = target != ignore_index
    t = np.where(kept, target, 0)
    w_t = w[t] * kept
    nll = -w_t * np.take_along_axis(logp, t[:, None], axis=1)[:, 0]
    w_c = w.reshape((1, n_classes) + (1,) * (logits.ndim - 2))
    smooth = -(w_c * logp).sum(axis=1) * kept / n_classes
    loss = (1 - label_smoothing) * nll + label_smoothing * smooth
    return reduce(loss, reduction, w_t.sum())


def cross_entropy_probabilities(logits, probs, reduction="mean"):
    """-sum_c p_c log softmax(x)_c per sample, for probability targets; 'mean' over samples."""
    loss = -(probs * special.log_softmax(logits, axis=1)).sum(axis=1)
    return reduce(loss, reduction)


def binary_cross_entropy(p, y, weight=None, reduction="mean"):
    """-w (y log p + (1 - y) log(1 - p)), each log clamped at -100 as torch does."""
    loss = -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log1p(-p), -100))
    return reduce(loss if weight is None else weight * loss, reduction)


def binary_cross_entropy_with_logits(x, y, weight=None, reduction="mean", pos_weight=None):
    """-w (pos_weight y log sigmoid(x) + (1 - y) log sigmoid(-x))."""
    pw = 1.0 if pos_weight is None else pos_weight
    loss = -(pw * y * special.log_expit(x) + (1 - y) * special.log_expit(-x))
    return reduce(loss if weight is None else weight * loss, reduction)


def smooth_l1(x, y, beta=1.0, reduction="mean"):
    """0.5 d^2 / beta where |d| < beta, else |d| - beta / 2, for d = x - y."""
    d = np.abs(x - y)
    return reduce(np.where(d < beta, 0.5 * d ** 2 / beta, d - beta / 2), reduction)


def huber(x, y, delta=1.0, reduction="mean"):
    """0.5 d^2 where |d| < delta, else delta (|d| - delta / 2)."""
    d = np.abs(x - y)
    return reduce(np.where(d < delta, 0.5 * d ** 2, delta * (d - delta / 2)), reduction)


def kl_div(log_q, p, reduction="mean"):
    """torch's kl_div: p (log p - log q) pointwise, the input holding log-probabilities."""
    return reduce(special.xlogy(p, p) - p * log_q, reduction)


def hinge(f, y, margin=1.0, reduction="mean"):
    """max(0, margin - y f) for labels y in {-1, +1}."""
    return reduce(np.maximum(0, margin - y * f), reduction)


# ----------------------------------------------------------------------------- normalisation
def normalize(x, axes, eps=1e-5):
    """(x - mean) / sqrt(var + eps) over ``axes``, with the biased variance."""
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def _channel(v, ndim):
    """A per-channel vector (C,) shaped to broadcast over (N, C, *)."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def layer_norm(x, normalized_ndim, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing ``normalized_ndim`` axes, then scale and shift elementwise."""
    out = normalize(x, tuple(range(x.ndim - normalized_ndim, x.ndim)), eps)
    out = out if weight is None else out * weight
    return out if bias is None else out + bias


def batch_norm_training(x, weight, bias, eps=1e-5):
    """Batch statistics per channel (axis 1) over the batch and every other axis."""
    axes = (0,) + tuple(range(2, x.ndim))
    return normalize(x, axes, eps) * _channel(weight, x.ndim) + _channel(bias, x.ndim)


def instance_norm(x, weight, bias, eps=1e-5):
    """Statistics per sample and channel over the spatial axes."""
    out = normalize(x, tuple(range(2, x.ndim)), eps)
    return out * _channel(weight, x.ndim) + _channel(bias, x.ndim)


def group_norm(x, num_groups, weight, bias, eps=1e-5):
    """Statistics per sample over each group of C / num_groups consecutive channels."""
    n = x.shape[0]
    grouped = x.reshape(n, num_groups, -1)
    out = normalize(grouped, (2,), eps).reshape(x.shape)
    return out * _channel(weight, x.ndim) + _channel(bias, x.ndim)


# ----------------------------------------------------------------------------- movement
def pad_cropping(x, width, mode="constant", value=0.0):
    """``np.pad`` that also takes negative widths, which crop, in torch's ``F.pad`` order:
    'constant', 'reflect', 'symmetric' and 'edge' pad by the positive widths, then crop by
    the negative ones (the borders mirror the uncropped edges); 'wrap' crops first, then
    wraps what is left. ``width`` holds one (before, after) pair per axis."""
    width = np.asarray(width)
    grow, cut = np.maximum(width, 0), np.maximum(-width, 0)

    def crop(a):
        return a[tuple(slice(lo, a.shape[i] - hi) for i, (lo, hi) in enumerate(cut))]

    kw = {"constant_values": value} if mode == "constant" else {}
    if mode == "wrap":
        return np.pad(crop(x), grow, mode="wrap")
    return crop(np.pad(x, grow, mode=mode, **kw))


def torch_pad_widths(width):
    """Per-axis (before, after) pairs as torch's flat ``pad``: from the last axis, dropping
    leading axes that are not padded."""
    pairs = [tuple(p) for p in width]
    while pairs and pairs[0] == (0, 0):
        pairs.pop(0)
    return tuple(w for pair in reversed(pairs) for w in pair)


def chunk(x, chunks, axis=0):
    """torch's chunk: pieces of ceil(n / chunks) along ``axis``, the last one smaller; an empty
    axis gives ``chunks`` empty pieces."""
    n = x.shape[axis]
    if n == 0:
        return [x] * chunks
    step = -(-n // chunks)
    return np.split(x, list(range(step, n, step)), axis=axis)


# ----------------------------------------------------------------------------- gather, scatter
def _destination(position, axis, index):
    """Where the entry of ``index`` at ``position`` points: its own position, ``index[position]``
    along ``axis``."""
    target = list(position)
    target[axis] = index[position]
    return tuple(target)


def gather(x, axis, index):
    """torch.gather, one element at a time: out[p] = x[p with index[p] along axis]."""
    out = np.empty(index.shape, dtype=x.dtype)
    for p in np.ndindex(*index.shape):
        out[p] = x[_destination(p, axis, index)]
    return out


def scatter_reduce(x, axis, index, src, reduce="sum", include_self=True):
    """torch.scatter_reduce, one position at a time: the values written to a position (and x's
    own, with include_self) combined by sum, prod, mean, amax or amin; unwritten positions keep
    x. ``reduce='none'`` is plain scatter (the last write wins)."""
    written = {}
    for p in np.ndindex(*index.shape):
        written.setdefault(_destination(p, axis, index), []).append(src[p])
    out = np.array(x, copy=True)
    combine = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "amax": np.max, "amin": np.min,
               "none": lambda values: values[-1]}[reduce]
    for target, values in written.items():
        values = ([x[target]] if include_self and reduce != "none" else []) + values
        out[target] = combine(values)
    return out


def index_add(x, axis, index, source, alpha=1):
    """torch.index_add: x with alpha * source's j-th slice along axis added at slice index[j]."""
    out = np.array(x, copy=True)
    for j, i in enumerate(np.atleast_1d(index)):
        at = (slice(None),) * axis + (i,)
        out[at] += alpha * np.take(source, j, axis=axis)
    return out


# ----------------------------------------------------------------------------- scans
def logcumsumexp(x, axis):
    """log cumsum exp(x) along ``axis``, shifted by the slice's max (a finite max assumed)."""
    m = np.max(x, axis=axis, keepdims=True) if x.shape[axis] else 0.0
    return np.log(np.cumsum(np.exp(x - m), axis=axis)) + m


def running_extremum(x, axis, kind="max"):
    """torch.cummax / torch.cummin, one step at a time as torch's kernel states it: the running
    value moves to x_i when x_i is NaN or (the running value is not NaN and) x_i >= it (<= for
    'min'); the index moves with it, so ties take the later index."""
    better = np.greater_equal if kind == "max" else np.less_equal
    x = np.moveaxis(np.asarray(x), axis, -1)
    values, indices = np.empty_like(x), np.zeros(x.shape, dtype=np.int64)
    for row in np.ndindex(*x.shape[:-1]):
        best, at = None, 0
        for i, v in enumerate(x[row]):
            if best is None or np.isnan(v) or (not np.isnan(best) and better(v, best)):
                best, at = v, i
            values[row + (i,)], indices[row + (i,)] = best, at
    return np.moveaxis(values, -1, axis), np.moveaxis(indices, -1, axis)


def product_of_others(x):
    """prod_{j != i} x_j for every element of a 1-D x (the gradient of prod), by deleting x_i."""
    return np.array([np.prod(np.delete(x, i)) for i in range(x.size)])


# ----------------------------------------------------------------------------- more activations
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def hardsigmoid(x):
    """0 for x <= -3, 1 for x >= 3, x / 6 + 1/2 between."""
    return np.clip(x / 6 + 0.5, 0, 1)


def hardswish(x):
    """x hardsigmoid(x)."""
    return x * hardsigmoid(x)


def selu(x):
    """scale (x if x > 0 else alpha (e^x - 1)), Klambauer et al.'s constants."""
    return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x))


def celu(x, alpha=1.0):
    """x if x > 0 else alpha (e^(x / alpha) - 1)."""
    return np.where(x > 0, x, alpha * np.expm1(x / alpha))


def mish(x):
    """x tanh(log(1 + e^x))."""
    return x * np.tanh(np.logaddexp(0, x))


def glu(x, axis=-1):
    """a sigmoid(b) for the halves a, b of x along ``axis``."""
    a, b = np.split(x, 2, axis=axis)
    return a * special.expit(b)


def prelu(x, weight):
    """x if x > 0 else w x, one slope per channel (axis 1) or one for all."""
    if x.ndim >= 2:
        w = weight.reshape((1, -1) + (1,) * (x.ndim - 2))
    else:
        w = weight.reshape(x.ndim * (1,))
    return np.where(x > 0, x, w * x)


# ----------------------------------------------------------------------------- linear algebra
def einsum_loops(subscripts, *arrays):
    """Einstein summation from its definition, for explicit subscripts without '...':
    out[output labels] = sum over every other label of the product of the operands' entries,
    a label repeated in one operand reading its diagonal, lengths 1 broadcasting. One Python
    loop over every combination of label values: for small inputs only."""
    import itertools
    inputs, output = subscripts.replace(" ", "").split("->")
    terms = inputs.split(",")
    sizes = {}
    for term, a in zip(terms, arrays):
        for label, n in zip(term, np.shape(a)):
            sizes[label] = max(sizes.get(label, 1), n) if n else 0
    labels = sorted(sizes)
    out = np.zeros(tuple(sizes[c] for c in output),
                   dtype=np.result_type(*arrays) if arrays else np.float64)
    for values in itertools.product(*(range(sizes[c]) for c in labels)):
        at = dict(zip(labels, values))
        product = 1.0
        for term, a in zip(terms, arrays):
            a = np.asarray(a)
            product = product * a[tuple(at[c] if a.shape[i] > 1 else 0
                                        for i, c in enumerate(term))]
        out[tuple(at[c] for c in output)] += product
    return out


def cofactors(a):
    """The cofactor matrix C_ij = (-1)^(i+j) det(A without row i and column j), the gradient
    of det A (defined for singular A too), from the minors; batched over leading axes."""
    a = np.asarray(a, dtype=np.float64)
    n = a.shape[-1]
    out = np.empty_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, axis=-2), j, axis=-1)
            out[..., i, j] = (-1) ** (i + j) * (np.linalg.det(minor) if n > 1 else 1.0)
    return out
