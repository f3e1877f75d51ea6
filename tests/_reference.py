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


# ----------------------------------------------------------------------------- margin losses
def hinge_embedding(x, y, margin=1.0, reduction="mean"):
    """torch's rule: the margin term max(0, margin - x) where y != 1, plus x where y != -1
    (so x for y = 1, the margin term for y = -1, both for any other label)."""
    return reduce(np.where(y != 1, np.maximum(0, margin - x), 0) + np.where(y != -1, x, 0),
                  reduction)


def multilabel_soft_margin(x, y, weight=None, reduction="mean"):
    """-w (y log sigmoid(x) + (1 - y) log sigmoid(-x)), averaged over the last axis."""
    loss = -(y * special.log_expit(x) + (1 - y) * special.log_expit(-x))
    loss = loss if weight is None else loss * weight
    return reduce(loss.mean(axis=-1), reduction)


def multi_margin(x, y, p=1, margin=1.0, weight=None, reduction="mean"):
    """Per sample n with class y_n: sum over the other classes i of
    w[y_n] max(0, margin - x[n, y_n] + x[n, i])^p, over C; one sample at a time."""
    rows, labels = np.atleast_2d(x), np.atleast_1d(y)
    n_classes = rows.shape[1]
    loss = np.zeros(len(labels))
    for n, c in enumerate(labels):
        for i in range(n_classes):
            if i != c:
                term = max(0.0, margin - rows[n, c] + rows[n, i]) ** p
                loss[n] += term * (1.0 if weight is None else weight[c])
    return reduce((loss / n_classes).reshape(np.shape(y)), reduction)


def multilabel_margin(x, y, reduction="mean"):
    """Per sample: the targets are y's entries up to the first -1; sum over those j (a repeat
    counts again) and over the classes i that are no target of max(0, 1 - (x[y_j] - x[i])),
    over C."""
    rows, lists = np.atleast_2d(x), np.atleast_2d(y)
    n_classes = rows.shape[1]
    loss = np.zeros(len(rows))
    for n, (scores, entries) in enumerate(zip(rows, lists)):
        targets = []
        for c in entries:
            if c == -1:
                break
            targets.append(c)
        for j in targets:
            for i in set(range(n_classes)) - set(targets):
                loss[n] += max(0.0, 1 - (scores[j] - scores[i]))
    return reduce((loss / n_classes).reshape(np.shape(x)[:-1]), reduction)


def cosine_embedding(x1, x2, y, margin=0.0, reduction="mean"):
    """1 - cos where y = 1, max(0, cos - margin) where y = -1, 0 otherwise; torch's cosine
    x1.x2 / sqrt((|x1|^2 + 1e-12) (|x2|^2 + 1e-12)) along the last axis."""
    cos = (x1 * x2).sum(-1) / np.sqrt(((x1 ** 2).sum(-1) + 1e-12) * ((x2 ** 2).sum(-1) + 1e-12))
    loss = np.where(y == 1, 1 - cos, 0) + np.where(y == -1, np.maximum(0, cos - margin), 0)
    return reduce(loss, reduction)


def triplet_margin(a, pos, neg, margin=1.0, p=2, eps=1e-6, swap=False, reduction="mean",
                   distance=None):
    """max(0, margin + d(a, p) - d(a, n)), d(a, n) -> min(d(a, n), d(p, n)) with swap; the
    default d is torch's pairwise distance (sum |x1 - x2 + eps|^p)^(1/p) over the last axis."""
    if distance is None:
        def distance(u, v):
            return (np.abs(u - v + eps) ** p).sum(-1) ** (1 / p)
    d_neg = distance(a, neg)
    if swap:
        d_neg = np.minimum(d_neg, distance(pos, neg))
    return reduce(np.maximum(0, margin + distance(a, pos) - d_neg), reduction)


# ----------------------------------------------------------------------------- likelihood losses
def poisson_nll(x, y, log_input=True, full=False, eps=1e-8, reduction="mean"):
    """exp(x) - y x (log-rate x) or x - y log(x + eps) (rate x); with ``full`` plus
    log(y!) ~ y log y - y + log(2 pi y) / 2 where y > 1."""
    loss = np.exp(x) - y * x if log_input else x - y * np.log(x + eps)
    if full:
        big = np.where(y > 1, y, 2)  # (any value > 1 where the term is skipped)
        stirling = big * np.log(big) - big + 0.5 * np.log(2 * np.pi * big)
        loss = loss + np.where(y > 1, stirling, 0)
    return reduce(loss, reduction)


def gaussian_nll(x, y, var, full=False, eps=1e-6, reduction="mean"):
    """(log v + (x - y)^2 / v) / 2 (+ log(2 pi) / 2), v = max(var, eps); a var of the input's
    shape without its last axis is one variance per vector."""
    v = np.maximum(np.asarray(var, dtype=np.float64), eps)
    if v.ndim == np.ndim(x) - 1 and v.shape == np.shape(x)[:-1]:
        v = v[..., None]
    loss = 0.5 * (np.log(v) + (x - y) ** 2 / v) + (0.5 * np.log(2 * np.pi) if full else 0)
    return reduce(loss, reduction)


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


def rms_norm(x, normalized_ndim, weight=None, eps=None):
    """x / sqrt(mean of x^2 over the last axes + eps) * weight; eps None: float64's epsilon
    (the references run in float64)."""
    eps = np.finfo(np.float64).eps if eps is None else eps
    axes = tuple(range(x.ndim - normalized_ndim, x.ndim))
    out = x / np.sqrt(np.mean(x * x, axis=axes, keepdims=True) + eps)
    return out if weight is None else out * weight


def local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0):
    """Channel by channel: x_c / (k + alpha / size * sum of x_j^2 over the channels j from
    c - size // 2 to c + (size - 1) // 2 that exist) ** beta."""
    out = np.empty_like(x)
    channels = x.shape[1]
    for c in range(channels):
        window = x[:, max(0, c - size // 2):min(channels, c + (size - 1) // 2 + 1)]
        out[:, c] = x[:, c] / (k + alpha / size * np.sum(window ** 2, axis=1)) ** beta
    return out


# ----------------------------------------------------------------------------- pooling
def adaptive_pool(x, output_size, reduce):
    """``reduce`` (np.max, np.mean) over torch's adaptive bins of the last len(output_size)
    axes, one output at a time: bin o of an axis of length n cut into m covers
    floor(o n / m) <= i < ceil((o + 1) n / m)."""
    n = len(output_size)
    spatial = x.shape[-n:]
    out = np.empty(x.shape[:-n] + tuple(output_size))
    for o in np.ndindex(*output_size):
        bins = tuple(slice(int(np.floor(i * s / m)), int(np.ceil((i + 1) * s / m)))
                     for i, s, m in zip(o, spatial, output_size))
        out[(...,) + o] = reduce(x[(...,) + bins], axis=tuple(range(-n, 0)))
    return out


def lp_pool(x, p, kernel, stride, ceil_mode=False):
    """(sum of x^p over each window) ** (1/p), windows of ``kernel`` every ``stride`` along the
    last len(kernel) axes, no padding. With ``ceil_mode`` a last window may run past the end:
    torch scales its sum by (kernel volume) / (elements it holds), as avg_pool's divisor
    times the volume gives."""
    n = len(kernel)
    spatial = x.shape[-n:]
    counts = []
    for size, k, s in zip(spatial, kernel, stride):
        steps = (size - k) / s
        counts.append(int(np.ceil(steps) if ceil_mode else np.floor(steps)) + 1)
        if ceil_mode and (counts[-1] - 1) * s >= size:  # a window must start inside
            counts[-1] -= 1
    out = np.empty(x.shape[:-n] + tuple(counts))
    for o in np.ndindex(*counts):
        window = x[(...,) + tuple(slice(i * s, i * s + k) for i, s, k in zip(o, stride, kernel))]
        held = np.prod(window.shape[-n:])
        total = np.sum(window ** p, axis=tuple(range(-n, 0))) * (np.prod(kernel) / held)
        out[(...,) + o] = total ** (1.0 / p)
    return out


def max_pool(x, kernel, stride, padding):
    """The maximum over each window of ``kernel`` every ``stride`` along the last len(kernel)
    axes of x padded with -inf by ``padding`` on both sides (no dilation, floor mode)."""
    n = len(kernel)
    x = np.pad(x, [(0, 0)] * (x.ndim - n) + [(p, p) for p in padding],
               constant_values=-np.inf)
    counts = [(size - k) // s + 1 for size, k, s in zip(x.shape[-n:], kernel, stride)]
    out = np.empty(x.shape[:-n] + tuple(counts))
    for o in np.ndindex(*counts):
        window = x[(...,) + tuple(slice(i * s, i * s + k) for i, s, k in zip(o, stride, kernel))]
        out[(...,) + o] = np.max(window, axis=tuple(range(-n, 0)))
    return out


def max_unpool(x, indices, output_size):
    """Each value of x put at its flat index into the last len(output_size) axes of a zero
    output, one plane at a time."""
    n = len(output_size)
    lead = x.shape[:-n]
    out = np.zeros(lead + tuple(output_size))
    for i in np.ndindex(*lead):
        out[i].flat[indices[i].ravel()] = x[i].ravel()
    return out


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


# ----------------------------------------------------------------------------- spatial sampling
def affine_grid(theta, size, align_corners):
    """theta[n] @ (x, y[, z], 1) at every output pixel, one pixel at a time: pixel i of an
    axis of length s sits at (2i + 1) / s - 1, or 2i / (s - 1) - 1 with align_corners (0 when
    s is 1); x runs along the last axis."""
    import itertools

    def centre(i, s):
        if s == 1:
            return 0.0
        return 2 * i / (s - 1) - 1 if align_corners else (2 * i + 1) / s - 1

    theta = np.asarray(theta, dtype=np.float64)
    spatial = tuple(size[2:])
    out = np.zeros((size[0],) + spatial + (len(spatial),))
    for n in range(size[0]):
        for pixel in itertools.product(*[range(s) for s in spatial]):
            point = [centre(i, s) for i, s in zip(pixel[::-1], spatial[::-1])] + [1.0]
            out[(n,) + pixel] = theta[n] @ np.array(point)
    return out


def _keys_cubic(s, a=-0.75):
    """Keys' cubic convolution kernel W(s) (torch's bicubic, A = -0.75)."""
    s = abs(s)
    if s <= 1:
        return (a + 2) * s ** 3 - (a + 3) * s ** 2 + 1
    if s < 2:
        return a * s ** 3 - 5 * a * s ** 2 + 8 * a * s - 4 * a
    return 0.0


def grid_sample(x, grid, mode, padding_mode, align_corners):
    """torch's documented grid_sample, one output position and one tap at a time.

    A normalised g becomes the pixel position (g + 1) / 2 (s - 1) (align_corners) or
    ((g + 1) s - 1) / 2; 'border' clamps it to [0, s - 1], 'reflection' bounces it between
    the corner centres (align_corners) or the outer edges -0.5, s - 0.5, then clamps. 'nearest'
    reads the nearest pixel (halves to even), 'bilinear' weighs the 2^d surrounding ones,
    'bicubic' the 4 x 4 around with W(t - k), padding each tap instead of the position.
    Pixels outside the input read 0.
    """
    import itertools
    import math

    x, grid = np.asarray(x, dtype=np.float64), np.asarray(grid, dtype=np.float64)
    spatial = x.shape[2:]
    d = len(spatial)

    def reflect(p, s):
        low, high = (0.0, s - 1.0) if align_corners else (-0.5, s - 0.5)
        if high == low:
            return 0.0
        p = (p - low) % (2 * (high - low))
        return low + (p if p <= high - low else 2 * (high - low) - p)

    def pad(p, s):
        if padding_mode == "reflection":
            p = reflect(p, s)
        if padding_mode != "zeros":
            p = min(max(p, 0.0), s - 1.0)
        return p

    def read(n, pixel):
        if all(0 <= i < s for i, s in zip(pixel, spatial)):
            return x[(n, slice(None)) + tuple(int(i) for i in pixel)]
        return np.zeros(x.shape[1])

    out = np.zeros(x.shape[:2] + grid.shape[1:-1])
    for n in range(x.shape[0]):
        for q in itertools.product(*[range(s) for s in grid.shape[1:-1]]):
            g = grid[(n,) + q][::-1]  # (z,) y, x: the input's axis order
            pos = [(v + 1) / 2 * (s - 1) if align_corners else ((v + 1) * s - 1) / 2
                   for v, s in zip(g, spatial)]
            value = np.zeros(x.shape[1])
            if mode == "nearest":
                value = read(n, [round(pad(p, s)) for p, s in zip(pos, spatial)])
            elif mode == "bilinear":
                pos = [pad(p, s) for p, s in zip(pos, spatial)]
                base = [math.floor(p) for p in pos]
                for corner in itertools.product((0, 1), repeat=d):
                    w = np.prod([p - b if c else 1 - (p - b)
                                 for p, b, c in zip(pos, base, corner)])
                    value = value + w * read(n, [b + c for b, c in zip(base, corner)])
            else:
                base = [math.floor(p) for p in pos]
                for taps in itertools.product(range(-1, 3), repeat=d):
                    w = np.prod([_keys_cubic(p - (b + k)) for p, b, k in zip(pos, base, taps)])
                    pixel = [pad(b + k, s) for b, k, s in zip(base, taps, spatial)]
                    value = value + w * read(n, pixel)
            out[(n, slice(None)) + q] = value
    return out


def embedding_bag(indices, weight, offsets=None, mode="mean", per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """torch's documented embedding_bag, one bag at a time: the rows of the bag's indices
    other than padding_idx (scaled by per_sample_weights), summed, averaged or maximised per
    feature; an empty bag gives zeros."""
    indices = np.asarray(indices)
    weight = np.asarray(weight, dtype=np.float64)
    scale = (np.ones(indices.shape) if per_sample_weights is None
             else np.asarray(per_sample_weights, dtype=np.float64))
    if indices.ndim == 2:
        bags = [list(zip(row, s)) for row, s in zip(indices, scale)]
    else:
        bounds = list(offsets) + ([] if include_last_offset else [len(indices)])
        bags = [list(zip(indices[a:b], scale[a:b])) for a, b in zip(bounds[:-1], bounds[1:])]
    out = np.zeros((len(bags), weight.shape[1]))
    for b, bag in enumerate(bags):
        rows = [s * weight[i] for i, s in bag if padding_idx is None or i != padding_idx]
        if rows:
            out[b] = {"sum": np.sum, "mean": np.mean, "max": np.max}[mode](rows, axis=0)
    return out


# ----------------------------------------------------------------------------- conv / pool 3-D
def conv_transpose(x, w, b, stride, padding, output_padding, groups, dilation):
    """Transposed convolution over the last n axes by its definition: input position j and
    kernel offset i add ``x[j] * w[i]`` into output position ``j*s + i*d - p`` (entries that
    land outside [0, size) dropped), size ``(in-1)s - 2p + d(k-1) + output_padding + 1``.
    x (N, Cin, *in), w (Cin, Cout/groups, *k), b (Cout,) or None."""
    n = w.ndim - 2
    c_in, c_per = w.shape[:2]
    kernel, spatial = w.shape[2:], x.shape[2:]
    full = [(i - 1) * s + d * (k - 1) + 1 for i, s, d, k in zip(spatial, stride, dilation, kernel)]
    out = np.zeros((x.shape[0], c_per * groups) + tuple(f + o for f, o in
                                                       zip(full, output_padding)))
    for g in range(groups):
        cin = slice(g * c_in // groups, (g + 1) * c_in // groups)
        for offset in np.ndindex(*kernel):
            where = tuple(slice(i * d, i * d + (m - 1) * s + 1, s) for i, d, m, s in
                          zip(offset, dilation, spatial, stride))
            term = np.einsum("nc...,co->no...", x[:, cin], w[(cin, slice(None)) + offset])
            out[(slice(None), slice(g * c_per, (g + 1) * c_per)) + where] += term
    size = [f - 2 * p + o for f, p, o in zip(full, padding, output_padding)]
    out = out[(slice(None), slice(None)) + tuple(slice(p, p + m) for p, m in zip(padding, size))]
    if b is not None:
        out = out + b.reshape((-1,) + (1,) * n)
    return out


def fractional_intervals(sample, size, out, k, dtype):
    """torch's pseudo-random window starts of fractional max pooling along one axis (Graham,
    2014): with ``alpha = (size - k) / (out - 1)`` computed in ``dtype``, start i (i < out-1)
    is ``int((i + u) alpha) - int(u alpha)`` and the last start is ``size - k``."""
    u = dtype.type(sample)
    starts = [size - k] * out
    if out > 1:
        alpha = dtype.type(size - k) / dtype.type(out - 1)
        for i in range(out - 1):
            starts[i] = int((dtype.type(i) + u) * alpha) - int(u * alpha)
    return starts


def fractional_max_pool(x, kernel, output_size, samples):
    """Fractional max pooling of x (N, C, *spatial) with samples (N, C, n) (sample j of a
    plane drives spatial axis j): the maximum of each window (the first one on ties, a NaN
    if any) and its flat index into the plane, one plane and output at a time."""
    n = len(kernel)
    out = np.empty(x.shape[:2] + tuple(output_size), x.dtype)
    indices = np.empty(out.shape, np.int64)
    for plane in np.ndindex(*x.shape[:2]):
        starts = [fractional_intervals(samples[plane][j], x.shape[2 + j], output_size[j],
                                       kernel[j], x.dtype) for j in range(n)]
        for o in np.ndindex(*output_size):
            best = None
            for offset in np.ndindex(*kernel):
                at = tuple(s[i] + d for s, i, d in zip(starts, o, offset))
                value = x[plane][at]
                if best is None or value > best[0] or np.isnan(value):
                    best = (value, np.ravel_multi_index(at, x.shape[2:]))
            out[plane + o], indices[plane + o] = best
    return out, indices


# ----------------------------------------------------------------------------- CTC
def ctc_collapse(path, blank):
    """The labels an alignment path emits: repeats merged, then blanks dropped."""
    merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
    return tuple(c for c in merged if c != blank)


def ctc_brute_force(log_probs, target, blank=0):
    """CTC by enumeration, for tiny cases: every path of T symbols from the C classes whose
    collapse is ``target``. log_probs (T, C). Returns ``-log p`` and its gradient (T, C) in
    log_probs (``-`` the share of p whose paths emit class c at frame t); the gradient is NaN
    where p = 0 (the loss is inf)."""
    steps, n_classes = log_probs.shape
    target = tuple(int(c) for c in target)
    paths = [p for p in np.ndindex(*(n_classes,) * steps) if ctc_collapse(p, blank) == target]
    path_p = np.array([np.exp(sum(log_probs[t, c] for t, c in enumerate(p))) for p in paths])
    total = path_p.sum()
    counts = np.zeros((steps, n_classes))
    for p, value in zip(paths, path_p):
        counts[np.arange(steps), list(p)] += value
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.log(total), -counts / total


def ctc_loss(log_probs, targets, input_lengths, blank=0, reduction="mean", zero_infinity=False):
    """torch's ctc_loss by enumeration: log_probs (T, N, C), targets a list of N label lists;
    an infinite loss is 0 with ``zero_infinity``; 'mean' averages each loss over its target
    length (at least 1)."""
    losses = np.array([ctc_brute_force(log_probs[:length, i], target, blank)[0]
                       for i, (target, length) in enumerate(zip(targets, input_lengths))])
    if zero_infinity:
        losses[np.isposinf(losses)] = 0.0
    if reduction == "mean":
        return np.mean(losses / np.maximum([len(t) for t in targets], 1))
    return losses.sum() if reduction == "sum" else losses


# ----------------------------------------------------------------------------- packed sequences
def pack_padded(x, lengths, batch_first=False):
    """torch.nn.utils.rnn's packing, written as its definition: the sequences ordered by
    decreasing length (ties in their given order), then for each time step t the elements t of
    the sequences longer than t, in that order. x (T, B, *) (batch_first: (B, T, *)).
    Returns (data, batch_sizes, sorted_indices)."""
    x = np.swapaxes(x, 0, 1) if batch_first else x
    order = sorted(range(len(lengths)), key=lambda b: -lengths[b])  # Python's sort is stable
    rows, sizes = [], []
    for t in range(max(lengths)):
        running = [b for b in order if lengths[b] > t]
        rows += [x[t, b] for b in running]
        sizes.append(len(running))
    return np.stack(rows), np.array(sizes), np.array(order)


def pad_packed(data, batch_sizes, sorted_indices, total_length, padding_value=0.0,
               batch_first=False):
    """Packed rows back into (total_length, B, *) (batch_first: (B, total_length, *)), the
    batch in the original order, ``padding_value`` past each sequence's end."""
    out = np.full((total_length, batch_sizes[0]) + data.shape[1:], padding_value, data.dtype)
    row = 0
    for t, size in enumerate(batch_sizes):
        for j in range(size):
            out[t, sorted_indices[j]] = data[row]
            row += 1
    return np.swapaxes(out, 0, 1) if batch_first else out


def pad_sequences(sequences, padding_value=0.0, left=False, batch_first=False):
    """Sequences (L_i, *) in one (max L_i, B, *) array, padded after each (before: ``left``)."""
    steps = max(len(s) for s in sequences)
    out = np.full((steps, len(sequences)) + sequences[0].shape[1:], padding_value,
                  sequences[0].dtype)
    for b, s in enumerate(sequences):
        start = steps - len(s) if left else 0
        out[start:start + len(s), b] = s
    return np.swapaxes(out, 0, 1) if batch_first else out


def multi_head_attention(q, k, v, num_heads, w_in, b_in, w_out, b_out, key_padding_mask=None,
                         attn_mask=None, average_weights=True):
    """(output (L, N, E), attention weights) of multi-head attention, sequence-first.

    w_in = (W_q, W_k, W_v) (E, E/kdim/vdim), b_in = (b_q, b_k, b_v) or None; head h attends
    with softmax(q_h k_h^T / sqrt(E / num_heads) + mask) over its slice of the projections.
    Masks in MultiheadAttention's convention: bool True = ignore, floats added;
    key_padding_mask (N, S), attn_mask (L, S) or (N * num_heads, L, S).
    """
    length, batch, e = q.shape
    d = e // num_heads
    b_in = (0.0, 0.0, 0.0) if b_in is None else b_in

    def heads(x, w, b):  # (len, N, .) -> (N, heads, len, d)
        y = x @ w.T + b
        return y.reshape(y.shape[0], batch, num_heads, d).transpose(1, 2, 0, 3)

    qh, kh, vh = (heads(x, w, b) for x, w, b in zip((q, k, v), w_in, b_in))
    scores = qh @ kh.swapaxes(-1, -2) / np.sqrt(d)

    def additive(mask):
        return np.where(mask, -np.inf, 0.0) if mask.dtype == bool else mask

    if attn_mask is not None:
        scores = scores + additive(attn_mask).reshape((-1, num_heads) + scores.shape[2:]
                                                      if attn_mask.ndim == 3 else scores.shape[2:])
    if key_padding_mask is not None:
        scores = scores + additive(key_padding_mask)[:, None, None, :]
    weights = special.softmax(scores, axis=-1)
    out = (weights @ vh).transpose(2, 0, 1, 3).reshape(length, batch, e) @ w_out.T
    out = out if b_out is None else out + b_out
    return out, (weights.mean(axis=1) if average_weights else weights)
