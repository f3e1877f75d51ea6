"""torch's smaller layers against torch: the padding layers, the channel and alpha dropouts,
Hardshrink / Softshrink / Threshold / RReLU / Softmax2d and the in-place functional
activations, the fixed-mode upsampling layers, ChannelShuffle, CosineSimilarity,
PairwiseDistance, Unfold / Fold, pdist's errors, and gumbel_softmax; the ``device``
argument of the layers with parameters, and the settable ``dim`` of Softmax and its kin.

The deterministic functions are in the op table (tests/ops/test_functional_layers.py); the
random ones are checked here by their statistics (seeded, loose bounds), their scale, their
gradient mask and their identity in eval mode.
"""
import inspect
import itertools
import warnings

import numpy as np
import pytest

import tinydl
import tinydl.nn as nn
import tinydl.nn.functional as F

torch = pytest.importorskip("torch")

SELU_SATURATION = -1.6732632423543772848 * 1.0507009873554804934  # -scale * alpha


def T(a, grad=False):
    return tinydl.Tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def outcome(fn):
    """``fn()``'s result, or the exception it raised, with the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn()
        except Exception as err:  # noqa: BLE001 (the outcome is what is compared)
            result = err
    return result, [w for w in caught if issubclass(w.category, UserWarning)]


def assert_matches_torch(ours_fn, theirs_fn, x, what, rtol=1e-12):
    """Output and input gradient (of a random weighting of the output) equal torch's in
    float64."""
    weights = None
    a = T(x, True)
    out = ours_fn(a)
    ta = torch.tensor(x, requires_grad=True)
    tout = theirs_fn(ta)
    assert out.shape == tuple(tout.shape), what
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=rtol, atol=1e-14,
                               err_msg=what)
    weights = np.random.default_rng(3).standard_normal(out.shape)
    (out * T(weights)).sum().backward()
    (tg,) = torch.autograd.grad((tout * torch.tensor(weights)).sum(), ta)
    np.testing.assert_allclose(a.grad.data, tg.numpy(), rtol=rtol, atol=1e-14, err_msg=what)


# ----------------------------------------------------------------------------- padding
PAD_KINDS = ["ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad"]


def _pad_args(kind, padding):
    return (padding, 1.5) if kind == "ConstantPad" else (padding,)


def _refused_by_design(kind, shape, padding, dims):
    """torch's circular padding with negative widths that leave less than a wrap needs
    reads memory it never wrote (garbage) or gives an empty axis; tinydl refuses."""
    if kind != "CircularPad":
        return False
    pairs = [padding[2 * i:2 * i + 2] if isinstance(padding, tuple) else (padding, padding)
             for i in range(dims)]
    sizes = shape[::-1][:dims]
    return any(max(b, a) > s + min(b, 0) + min(a, 0) for (b, a), s in zip(pairs, sizes))


@pytest.mark.parametrize("kind,dims", list(itertools.product(PAD_KINDS, (1, 2, 3))))
def test_padding_layers_match_torch_on_every_rank_and_width(kind, dims):
    """Every rank from dims - 1 to dims + 3, empty axes, widths up to past the axis and
    negative ones: torch's output and gradient where torch pads, an error where it refuses."""
    name = f"{kind}{dims}d"
    shapes = ([(3,) * r for r in range(max(dims - 1, 0), dims + 4)]
              + [(0,) + (3,) * (dims + 1), (2, 0) + (3,) * dims, (2, 2) + (0,) * dims,
                 (2, 2) + (1,) * dims])
    paddings = [0, 2, 3, 4, (-1, 2) * dims, (2, -2) * dims, (-3, 0) * dims, (-2, -1) * dims,
                (-4, 1) * dims, tuple(range(1, 2 * dims + 1))]
    rng = np.random.default_rng(0)
    for shape, padding in itertools.product(shapes, paddings):
        x = rng.standard_normal(shape)
        what = f"{name}({padding}) on {shape}"
        theirs, _ = outcome(lambda: getattr(torch.nn, name)(*_pad_args(kind, padding))(
            torch.tensor(x)))
        layer = getattr(nn, name)(*_pad_args(kind, padding))
        if isinstance(theirs, Exception) or _refused_by_design(kind, shape, padding, dims):
            with pytest.raises((ValueError, RuntimeError), match=name):
                layer(T(x))
            continue
        assert_matches_torch(layer, getattr(torch.nn, name)(*_pad_args(kind, padding)), x,
                             what)


def test_padding_layers_arguments_repr_and_classes_as_torch():
    for kind, dims in itertools.product(PAD_KINDS, (1, 2, 3)):
        name = f"{kind}{dims}d"
        for padding in (2, tuple(range(2 * dims)), list(range(2 * dims))):
            ours = getattr(nn, name)(*_pad_args(kind, padding))
            theirs = getattr(torch.nn, name)(*_pad_args(kind, padding))
            assert repr(ours) == repr(theirs), name
            assert ours.padding == tuple(theirs.padding), name
        if kind in ("ZeroPad", "ConstantPad"):
            assert isinstance(ours, getattr(nn, f"ConstantPad{dims}d"))
            assert ours.value == theirs.value
        with pytest.raises(ValueError, match=name):  # torch pads other axes, or fails later
            getattr(nn, name)(*_pad_args(kind, (1,) * (2 * dims + 2)))
        with pytest.raises(TypeError, match=name):
            getattr(nn, name)(*_pad_args(kind, 1.5))
    assert list(nn.ZeroPad2d(1).state_dict()) == []


def test_padding_layers_keep_integer_input_and_refuse_overflowing_values_as_f_pad():
    x = np.arange(6).reshape(2, 3)
    for ours, theirs in [(nn.ConstantPad1d(1, 7), torch.nn.ConstantPad1d(1, 7)),
                         (nn.ReflectionPad1d(2), torch.nn.ReflectionPad1d(2)),
                         (nn.ReplicationPad1d((0, 2)), torch.nn.ReplicationPad1d((0, 2)))]:
        out = ours(tinydl.tensor(x))
        assert out.dtype == np.int64
        np.testing.assert_array_equal(out.data, theirs(torch.tensor(x)).numpy())
    with pytest.raises(ValueError, match="pad"):
        nn.ConstantPad1d(1, 300)(tinydl.tensor(np.zeros(3, np.uint8)))


# ----------------------------------------------------------------------------- dropout
CHANNEL_DROPOUTS = [  # layer, functional, (N, C, *) shape it takes batched
    (nn.Dropout1d, F.dropout1d, (40, 50, 3)),
    (nn.Dropout2d, F.dropout2d, (40, 50, 2, 3)),
    (nn.Dropout3d, F.dropout3d, (40, 50, 2, 1, 3)),
]


@pytest.mark.parametrize("layer,fn,shape", CHANNEL_DROPOUTS, ids=["1d", "2d", "3d"])
def test_channel_dropout_zeroes_whole_channels_scaled_seeded_and_identity_in_eval(layer, fn,
                                                                                 shape):
    p = 0.3
    drop = layer(p)
    x = T(np.random.default_rng(0).uniform(1, 2, shape), True)
    tinydl.manual_seed(11)
    y = drop(x)
    kept = y.data != 0
    # each channel is dropped or kept whole, the kept scaled by 1/(1-p)
    channels = kept.reshape(shape[:2] + (-1,))
    assert np.all(channels == channels[..., :1])
    np.testing.assert_array_equal(y.data[kept], x.data[kept] * (1 / (1 - p)))
    assert abs((~channels[..., 0]).mean() - p) < 0.03  # 2000 channels: sd 0.01
    # the gradient is the mask times the scale
    weights = np.random.default_rng(1).standard_normal(shape)
    (y * T(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.data, weights * kept / (1 - p), rtol=1e-15)
    tinydl.manual_seed(11)
    np.testing.assert_array_equal(fn(x, p).data, y.data)  # seeded: the same mask
    drop.eval()
    assert drop(x) is x
    assert fn(x, p, training=False) is x
    assert repr(drop) == repr(getattr(torch.nn, layer.__name__)(p))


@pytest.mark.parametrize("name", ["dropout1d", "dropout2d", "dropout3d",
                                  "feature_alpha_dropout", "alpha_dropout"])
def test_dropout_family_takes_the_ranks_torch_takes_warns_where_it_warns(name):
    """Ranks 0 to 6: torch's errors and warnings, and the axes its masks cover (1 for the
    channel of an unbatched input, 0 for a batched one's channel...): an entry's ratio
    out / in must be constant over the axes the mask is broadcast over, as torch's."""
    ours_fn, theirs_fn = getattr(F, name), getattr(torch.nn.functional, name)
    for ndim in range(7):
        shape = (16, 16, 3, 2, 1, 2)[:ndim]
        x = np.random.default_rng(ndim).uniform(1, 2, shape)
        theirs, their_warnings = outcome(lambda: theirs_fn(torch.tensor(x), 0.5, True))
        tinydl.manual_seed(0)
        ours, our_warnings = outcome(lambda: ours_fn(T(x), 0.5, True))
        assert len(our_warnings) == len(their_warnings), (name, ndim)
        if isinstance(theirs, Exception):
            assert isinstance(ours, (ValueError, RuntimeError)), (name, ndim, ours)
            assert name in str(ours)
            continue
        assert not isinstance(ours, Exception), (name, ndim, ours)
        their_ratio = theirs.numpy() / x
        our_ratio = ours.data / x
        for axis in range(ndim):
            theirs_constant = np.all(their_ratio == their_ratio.take([0], axis))
            ours_constant = np.all(our_ratio == our_ratio.take([0], axis))
            assert ours_constant == theirs_constant, (name, ndim, axis)


@pytest.mark.filterwarnings("ignore:dropout")  # (a 3-D input, deprecated for two of them)
def test_dropout_family_edge_cases_as_torch():
    x = T(np.ones((2, 3, 4)))
    for fn in (F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout, F.feature_alpha_dropout):
        with pytest.raises(ValueError, match="probability"):
            fn(x, 1.5, training=False)  # checked in eval too, as torch
        np.testing.assert_array_equal(fn(x, 1.0, True).data, 0)  # x * 0, alpha dropout too
        empty = T(np.ones((0, 3, 4)))
        assert fn(empty, 0.5, True) is empty
        with pytest.raises(TypeError, match="float"):
            fn(tinydl.tensor(np.ones((2, 3, 4), np.int64)), 0.5, True)
        ints = tinydl.tensor(np.ones((2, 3, 4), np.int64))
        assert fn(ints, 1.0, True).dtype == np.int64
    for layer in (nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
                  nn.FeatureAlphaDropout):
        with pytest.raises(ValueError, match=layer.__name__):
            layer(-0.1)
        assert layer().p == 0.5 and layer().inplace is False
    # an unbatched (C, L) input of dropout1d: channels on axis 0
    tinydl.manual_seed(2)
    y = F.dropout1d(T(np.ones((500, 3))), 0.5)
    assert np.all(y.data == y.data[:, :1])


@pytest.mark.parametrize("fn", [F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout,
                                F.feature_alpha_dropout])
def test_dropout_family_inplace_writes_into_the_input_and_leaf_refuses(fn):
    shape = {F.dropout2d: (2, 3, 1, 4), F.dropout3d: (2, 3, 1, 1, 4)}.get(fn, (2, 3, 4))
    x = T(np.ones(shape))
    tinydl.manual_seed(4)
    expected = fn(x, 0.4, True).data
    tinydl.manual_seed(4)
    assert fn(x, 0.4, True, inplace=True) is x
    np.testing.assert_array_equal(x.data, expected)
    with pytest.raises(RuntimeError, match="leaf"):
        fn(T(np.ones(shape), True), 0.4, True, inplace=True)
    a = T(np.ones(shape), True)
    tinydl.manual_seed(4)
    fn(a * 2, 0.4, True, inplace=True).sum().backward()
    tinydl.manual_seed(4)
    b = T(np.ones(shape), True)
    fn(b * 2, 0.4, True).sum().backward()
    np.testing.assert_array_equal(a.grad.data, b.grad.data)


def _alpha_constants(p):
    """The affine map of alpha dropout from its definition (Klambauer et al. 2017, eq. 9)."""
    a = ((1 - p) * (1 + p * SELU_SATURATION ** 2)) ** -0.5
    return a, -a * p * SELU_SATURATION


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_alpha_dropout_values_keep_selu_statistics_and_match_torch(p):
    a, b = _alpha_constants(p)
    x = T(np.random.default_rng(0).standard_normal(200_000), True)
    tinydl.manual_seed(1)
    y = F.alpha_dropout(x, p, training=True)
    dropped = np.isclose(y.data, a * SELU_SATURATION + b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(y.data[~dropped], a * x.data[~dropped] + b, rtol=1e-12)
    assert abs(dropped.mean() - p) < 0.01
    # its purpose: zero mean and unit variance stay so
    assert abs(y.data.mean()) < 0.02 and abs(y.data.var() - 1) < 0.02
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.where(dropped, 0.0, a), rtol=1e-15)
    # torch's kept and dropped values of a constant input (its masks are its own)
    for value in (0.0, 1.0):
        tinydl.manual_seed(2)
        ours = np.unique(F.alpha_dropout(T(np.full(1000, value)), p, True).data)
        torch.manual_seed(2)
        theirs = np.unique(torch.nn.functional.alpha_dropout(
            torch.full((1000,), value, dtype=torch.float64), p, True).numpy())
        np.testing.assert_allclose(ours, theirs, rtol=1e-14)
    layer = nn.AlphaDropout(p)
    assert repr(layer) == repr(torch.nn.AlphaDropout(p))
    layer.eval()
    assert layer(x) is x
    assert F.alpha_dropout(x, p) is x  # training=False by default, as torch


def test_feature_alpha_dropout_drops_whole_channels_with_alpha_values():
    p = 0.4
    a, b = _alpha_constants(p)
    x = T(np.random.default_rng(0).standard_normal((30, 40, 5)), True)
    layer = nn.FeatureAlphaDropout(p)
    tinydl.manual_seed(3)
    y = layer(x)
    dropped = np.isclose(y.data, a * SELU_SATURATION + b, rtol=0, atol=1e-12)
    assert np.all(dropped == dropped[..., :1])
    assert abs(dropped[..., 0].mean() - p) < 0.05
    np.testing.assert_allclose(y.data[~dropped], a * x.data[~dropped] + b, rtol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.where(dropped, 0.0, a), rtol=1e-15)
    assert repr(layer) == repr(torch.nn.FeatureAlphaDropout(p))
    layer.eval()
    assert layer(x) is x


# ----------------------------------------------------------------------------- activations
ACTIVATIONS = {  # name -> (tinydl layer, torch layer)
    "Hardshrink": (lambda: nn.Hardshrink(), lambda tn: tn.Hardshrink()),
    "Hardshrink_lambd": (lambda: nn.Hardshrink(1.3), lambda tn: tn.Hardshrink(1.3)),
    "Softshrink": (lambda: nn.Softshrink(), lambda tn: tn.Softshrink()),
    "Softshrink_lambd": (lambda: nn.Softshrink(0.3), lambda tn: tn.Softshrink(0.3)),
    "Threshold": (lambda: nn.Threshold(0.2, -3.0), lambda tn: tn.Threshold(0.2, -3.0)),
    "RReLU_eval": (lambda: nn.RReLU(0.1, 0.4).eval(), lambda tn: tn.RReLU(0.1, 0.4).eval()),
    "Softmax2d": (lambda: nn.Softmax2d(), lambda tn: tn.Softmax2d()),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_layers_match_torch(name):
    make, make_torch = ACTIVATIONS[name]
    x = np.random.default_rng(0).uniform(-3, 3, (2, 3, 4, 5))
    x = np.where(np.abs(np.abs(x) - np.array([0.2, 0.3, 0.5, 1.3])[:, None, None, None]
                        .min(0)) < 0.02, x + 0.05, x)  # off the kinks
    assert_matches_torch(make(), make_torch(torch.nn), x, name)


def test_activation_layers_repr_defaults_and_errors_as_torch():
    tn = torch.nn
    pairs = [(nn.Hardshrink(), tn.Hardshrink()), (nn.Softshrink(0.3), tn.Softshrink(0.3)),
             (nn.Threshold(0.1, 20), tn.Threshold(0.1, 20)),
             (nn.Threshold(0.1, 20, True), tn.Threshold(0.1, 20, True)),
             (nn.RReLU(), tn.RReLU()), (nn.RReLU(0.1, 0.3, True), tn.RReLU(0.1, 0.3, True)),
             (nn.Softmax2d(), tn.Softmax2d())]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
    assert (nn.RReLU().lower, nn.RReLU().upper) == (tn.RReLU().lower, tn.RReLU().upper)
    assert nn.Hardshrink().lambd == 0.5 and nn.Softshrink().lambd == 0.5
    for shape in [(2, 3), (1, 2, 3, 4, 5)]:
        with pytest.raises(ValueError, match="Softmax2d"):
            nn.Softmax2d()(T(np.ones(shape)))
    with pytest.raises(ValueError, match="softshrink: lambd"):
        F.softshrink(T([1.0]), -0.5)
    with pytest.raises(ValueError, match="rrelu: lower"):
        F.rrelu(T([1.0]), 0.5, 0.1)
    with pytest.raises(TypeError, match="threshold: boolean"):
        F.threshold(tinydl.tensor([True, False]), 0, 0)
    # hardshrink with a negative lambd is the identity, as torch's
    np.testing.assert_array_equal(F.hardshrink(T([0.1, -2.0]), -1.0).data, [0.1, -2.0])


def test_shrink_threshold_rrelu_on_nan_inf_and_integers_as_torch():
    x = np.array([np.nan, -np.inf, np.inf, -0.5, 0.5, -0.2, 0.0, 1.0])
    for ours, theirs in [(lambda t: F.hardshrink(t), torch.nn.functional.hardshrink),
                         (lambda t: F.softshrink(t), torch.nn.functional.softshrink),
                         (lambda t: F.threshold(t, 0.5, -3.0),
                          lambda t: torch.nn.functional.threshold(t, 0.5, -3.0)),
                         (lambda t: F.rrelu(t), torch.nn.functional.rrelu)]:
        a = T(x, True)
        out = ours(a)
        out.sum().backward()
        ta = torch.tensor(x, requires_grad=True)
        tout = theirs(ta)
        (tg,) = torch.autograd.grad(tout.sum(), ta)
        np.testing.assert_array_equal(out.data, tout.detach().numpy())
        np.testing.assert_array_equal(a.grad.data, tg.numpy())
    ints = np.array([1, -2, 5])
    for args in [(2, 0.5), (2.5, 7)]:
        out = F.threshold(tinydl.tensor(ints), *args)
        assert out.dtype == np.int64
        np.testing.assert_array_equal(
            out.data, torch.nn.functional.threshold(torch.tensor(ints), *args).numpy())
    assert F.hardshrink(tinydl.tensor(ints)).dtype == np.float32  # tinydl's promotion


def test_rrelu_training_draws_one_slope_per_negative_element():
    lower, upper = 0.1, 0.6
    layer = nn.RReLU(lower, upper)
    x = T(np.random.default_rng(0).uniform(-2, 2, (100, 200)), True)
    tinydl.manual_seed(5)
    y = layer(x)
    negative = x.data <= 0
    slopes = y.data[negative] / x.data[negative]
    assert slopes.min() >= lower and slopes.max() <= upper
    assert abs(slopes.mean() - (lower + upper) / 2) < 0.01  # ~10^4 draws: sd 0.0015
    assert abs(slopes.std() - (upper - lower) / np.sqrt(12)) < 0.01  # uniform's
    np.testing.assert_array_equal(y.data[~negative], x.data[~negative])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data[negative], slopes, rtol=1e-12)
    np.testing.assert_array_equal(x.grad.data[~negative], 1.0)
    tinydl.manual_seed(5)
    np.testing.assert_array_equal(F.rrelu(x, lower, upper, training=True).data, y.data)
    layer.eval()
    np.testing.assert_allclose(layer(x).data[negative], x.data[negative] * 0.35, rtol=1e-15)


INPLACE = [  # name, tinydl call, torch call
    ("relu_", lambda f, t: f.relu_(t)),
    ("elu_", lambda f, t: f.elu_(t, 0.5)),
    ("leaky_relu_", lambda f, t: f.leaky_relu_(t, 0.2)),
    ("hardtanh_", lambda f, t: f.hardtanh_(t, -0.5, 1.5)),
    ("selu_", lambda f, t: f.selu_(t)),
    # (alpha 0.5: torch's celu gradient rounds 1 / alpha to float32, off by 1e-7 for 0.7)
    ("celu_", lambda f, t: f.celu_(t, 0.5)),
    ("threshold_", lambda f, t: f.threshold_(t, 0.3, -2.0)),
    ("rrelu_", lambda f, t: f.rrelu_(t, 0.1, 0.3)),
]


@pytest.mark.parametrize("name,call", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_functional_activations_as_torch(name, call):
    x0 = np.array([-2.0, -0.4, 0.1, 0.6, 2.0])
    x, tx = T(x0.copy()), torch.tensor(x0.copy())
    assert call(F, x) is x
    call(torch.nn.functional, tx)
    np.testing.assert_allclose(x.data, tx.numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError, match="leaf"):
        call(F, T(x0, True))
    a, ta = T(x0, True), torch.tensor(x0, requires_grad=True)
    call(F, a * 2).sum().backward()
    call(torch.nn.functional, ta * 2).sum().backward()
    np.testing.assert_allclose(a.grad.data, ta.grad.numpy(), rtol=1e-12)


# ----------------------------------------------------------------------------- shape layers
def test_upsampling_layers_match_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    for args, kw in [((), dict(scale_factor=2)), ((), dict(size=(7, 3))), ((6,), {}),
                     ((), dict(scale_factor=(1.5, 2.0)))]:
        for name in ("UpsamplingNearest2d", "UpsamplingBilinear2d"):
            ours, theirs = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
            assert repr(ours) == repr(theirs)
            assert_matches_torch(ours, theirs, x, f"{name}{args}{kw}")
    assert nn.UpsamplingBilinear2d(scale_factor=2).align_corners is True
    with pytest.raises(ValueError, match="size and scale_factor"):
        nn.UpsamplingNearest2d(size=3, scale_factor=2)(T(x))


def test_channel_shuffle_layer_and_errors_as_torch():
    x = np.random.default_rng(0).standard_normal((2, 6, 3))
    assert_matches_torch(nn.ChannelShuffle(3), torch.nn.ChannelShuffle(3), x, "ChannelShuffle")
    assert repr(nn.ChannelShuffle(3)) == repr(torch.nn.ChannelShuffle(3))
    for shape, groups, error in [((2, 5, 3), 2, ValueError), ((4, 6), 2, ValueError),
                                 ((2, 4, 3), 0, ValueError), ((2, 4, 3), 2.0, TypeError)]:
        with pytest.raises(error, match="channel_shuffle"):
            F.channel_shuffle(T(np.ones(shape)), groups)
        with pytest.raises(Exception):
            torch.nn.functional.channel_shuffle(torch.ones(shape), groups)
    ints = np.arange(8).reshape(1, 4, 2)
    np.testing.assert_array_equal(F.channel_shuffle(tinydl.tensor(ints), 2).data,
                                  torch.nn.functional.channel_shuffle(torch.tensor(ints), 2))


def test_cosine_similarity_and_pairwise_distance_layers_match_torch():
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((4, 5, 3)), rng.standard_normal((4, 5, 3))
    for ours, theirs in [(nn.CosineSimilarity(), torch.nn.CosineSimilarity()),
                         (nn.CosineSimilarity(dim=2, eps=1e-3),
                          torch.nn.CosineSimilarity(dim=2, eps=1e-3)),
                         (nn.PairwiseDistance(), torch.nn.PairwiseDistance()),
                         (nn.PairwiseDistance(1.0, 1e-3, True),
                          torch.nn.PairwiseDistance(1.0, 1e-3, True))]:
        assert repr(ours) == repr(theirs)
        assert_matches_torch(lambda a: ours(a, T(x2)),
                             lambda a: theirs(a, torch.tensor(x2)), x1, repr(theirs))
    layer, theirs = nn.PairwiseDistance(3.0, 1e-4, True), torch.nn.PairwiseDistance(3.0, 1e-4, True)
    assert (layer.norm, layer.eps, layer.keepdim) == (theirs.norm, theirs.eps, theirs.keepdim)
    assert (nn.CosineSimilarity().dim, nn.CosineSimilarity().eps) == (1, 1e-8)


def test_unfold_and_fold_layers_match_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 6))
    kw = dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1))
    for xs in [x, x[0]]:  # batched and unbatched
        assert_matches_torch(nn.Unfold(**kw), torch.nn.Unfold(**kw), xs, "Unfold")
        cols = torch.nn.Unfold(**kw)(torch.tensor(xs)).numpy()
        assert_matches_torch(nn.Fold((5, 6), **kw), torch.nn.Fold((5, 6), **kw), cols, "Fold")
    assert repr(nn.Unfold(**kw)) == repr(torch.nn.Unfold(**kw))
    assert repr(nn.Fold((5, 6), 2)) == repr(torch.nn.Fold((5, 6), 2))


def test_pdist_refuses_what_torch_refuses_and_takes_empty_inputs():
    for x, p in [(np.ones(3), 2), (np.ones((2, 3, 4)), 2), (np.ones((3, 2)), -1.0)]:
        with pytest.raises((ValueError, RuntimeError), match="pdist"):
            F.pdist(T(x), p)
        with pytest.raises(RuntimeError):
            torch.nn.functional.pdist(torch.tensor(x), p)
    with pytest.raises(TypeError, match="pdist"):
        F.pdist(tinydl.tensor(np.ones((3, 2), np.int64)))
    for shape in [(1, 3), (0, 3), (3, 0)]:
        x = np.ones(shape)
        np.testing.assert_array_equal(F.pdist(T(x)).data,
                                      torch.nn.functional.pdist(torch.tensor(x)).numpy())
    assert F.pdist(tinydl.tensor(np.ones((4, 2), np.float32))).dtype == np.float32


# ----------------------------------------------------------------------------- gumbel_softmax
def test_gumbel_softmax_samples_the_categorical_of_the_logits():
    """Gumbel-max: the argmax of a sample is distributed as softmax(logits), whatever tau."""
    logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    x = T(np.tile(logits, (20000, 1)))
    tinydl.manual_seed(0)
    hard = F.gumbel_softmax(x, tau=0.5, hard=True)
    assert set(np.unique(hard.data)) == {0.0, 1.0}
    np.testing.assert_array_equal(hard.data.sum(axis=1), 1.0)
    np.testing.assert_allclose(hard.data.mean(axis=0), [0.1, 0.2, 0.3, 0.4], atol=0.015)
    soft = F.gumbel_softmax(x, tau=2.0)
    np.testing.assert_allclose(soft.data.sum(axis=1), 1.0, rtol=1e-12)
    assert soft.data.min() > 0
    # a low temperature gives samples near one-hot, a high one near uniform
    peaked = F.gumbel_softmax(x, tau=0.1).data.max(axis=1).mean()
    flat = F.gumbel_softmax(x, tau=10.0).data.max(axis=1).mean()
    assert peaked > 0.9 and flat < 0.35
    # along another axis
    column = F.gumbel_softmax(T(np.tile(logits, (50, 1)).T), hard=True, dim=0)
    np.testing.assert_array_equal(column.data.sum(axis=0), 1.0)


def test_gumbel_softmax_straight_through_gradient_is_the_soft_samples():
    logits = np.random.default_rng(0).standard_normal((6, 5))
    weights = T(np.random.default_rng(1).standard_normal((6, 5)))
    grads = []
    for hard in (False, True):
        x = T(logits, True)
        tinydl.manual_seed(7)
        y = F.gumbel_softmax(x, tau=0.7, hard=hard)
        (y * weights).sum().backward()
        grads.append(x.grad.data)
        if hard:
            tinydl.manual_seed(7)
            soft = F.gumbel_softmax(T(logits), tau=0.7).data
            one_hot = np.eye(5)[soft.argmax(axis=1)]
            np.testing.assert_allclose(y.data, one_hot, atol=1e-15)
    np.testing.assert_array_equal(grads[1], grads[0])
    assert np.abs(grads[0]).max() > 0


def test_gumbel_softmax_arguments_as_torch():
    with pytest.warns(UserWarning, match="eps"):
        F.gumbel_softmax(T(np.zeros((2, 3))), eps=1e-5)
    with pytest.raises(TypeError, match="gumbel_softmax"):
        F.gumbel_softmax(tinydl.tensor(np.zeros((2, 3), np.int64)))
    with pytest.raises((ValueError, IndexError), match="gumbel_softmax"):
        F.gumbel_softmax(T(np.zeros((2, 3))), dim=2)
    np.testing.assert_array_equal(F.gumbel_softmax(T(1.0), hard=True).data, 1.0)
    assert F.gumbel_softmax(T(np.zeros((0, 3))), hard=True).shape == (0, 3)
    assert F.gumbel_softmax(tinydl.zeros(2, 3)).dtype == np.float32


# ----------------------------------------------------------------------------- device
# the values given to each layer's required arguments
_REQUIRED = {"in_features": 3, "out_features": 2, "in1_features": 3, "in2_features": 2,
             "in_channels": 2, "out_channels": 2, "kernel_size": 3, "num_features": 2,
             "normalized_shape": 4, "num_groups": 2, "num_channels": 4}
DEVICE_LAYERS = ["Linear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d",
                 "ConvTranspose2d", "ConvTranspose3d", "BatchNorm1d", "BatchNorm2d",
                 "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
                 "LayerNorm", "GroupNorm", "RMSNorm", "PReLU", "LazyLinear", "LazyConv1d",
                 "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
                 "LazyConvTranspose3d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d",
                 "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d"]


@pytest.mark.parametrize("name", DEVICE_LAYERS)
def test_layers_take_device_where_torch_has_it_and_refuse_devices_but_the_cpu(name):
    """``device=`` raised TypeError in these layers, and torch's device slot, given
    positionally, landed in tinydl's dtype slot (a bare NumPy error). The signature is torch's
    (names, order, defaults); the CPU in any spelling builds the layer, any other device
    raises naming it."""
    ours, theirs = getattr(nn, name), getattr(torch.nn, name)
    params = list(inspect.signature(theirs).parameters.values())
    assert [(p.name, p.kind, p.default) for p in
            inspect.signature(ours).parameters.values()] == [
        (p.name, p.kind, p.default) for p in params], f"{name}: signature"
    # every argument before device, positionally, in torch's order
    before = params[:[p.name for p in params].index("device")]
    args = [_REQUIRED[p.name] if p.default is p.empty else p.default for p in before]
    want = theirs(*args, "cpu")
    for device in (None, "cpu", "cpu:0", torch.device("cpu")):
        for layer in (ours(*args, device), ours(*args, device=device)):
            assert type(layer).__name__ == name
            assert [n for n, _ in layer.named_parameters()] == [
                n for n, _ in want.named_parameters()], f"{name} on {device!r}"
            assert all(p.dtype == np.float32 for p in layer.parameters()), name
            if not name.startswith("Lazy"):
                assert {k: v.shape for k, v in layer.state_dict().items()} == {
                    k: tuple(v.shape) for k, v in want.state_dict().items()}, name
    assert all(p.dtype == np.float64 for p in ours(*args, "cpu", np.float64).parameters())
    for device in ("cuda", "cuda:1", torch.device("meta")):
        with pytest.raises(tinydl.DeviceError,
                           match=f"{name}: tinydl runs on the CPU only, got device '{device}'"):
            ours(*args, device=device)
        with pytest.raises(tinydl.DeviceError, match=name):
            ours(*args, device)


def test_conv2d_with_every_argument_positional_is_a_float32_layer_as_torch():
    """The brief's case: the tenth argument is torch's device ('cpu'), not a dtype."""
    ours = nn.Conv2d(1, 1, 3, 1, 0, 1, 1, True, "zeros", "cpu")
    theirs = torch.nn.Conv2d(1, 1, 3, 1, 0, 1, 1, True, "zeros", "cpu")
    assert ours.weight.dtype == np.float32 and repr(ours) == repr(theirs)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((1, 1, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(ours(tinydl.tensor(x)).data,
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- softmax dim
@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax", "Softmin"])
def test_softmax_layers_dim_can_be_set_after_construction_as_torch(name):
    """``layer.dim = 0`` raised "property 'dim' has no setter"; torch uses the new dim."""
    ours, theirs = getattr(nn, name)(dim=1), getattr(torch.nn, name)(dim=1)
    ours.dim, theirs.dim = 0, 0
    assert ours.dim == ours.axis == theirs.dim == 0
    x = np.random.default_rng(0).standard_normal((3, 4))
    assert_matches_torch(ours, theirs, x, f"{name} with dim set to 0")


def test_distances_promote_integer_inputs_as_torch():
    # an int64 input made float64 distances beside float32 data (the next Linear refused them)
    f32 = tinydl.tensor(np.ones((2, 3), np.float32))
    ints = tinydl.tensor(np.zeros((2, 3), np.int64))
    f64 = tinydl.tensor(np.ones((2, 3)))
    for op in (F.pairwise_distance, F.cosine_similarity):
        assert op(f32, ints).dtype == op(ints, f32).dtype == op(ints, ints).dtype == np.float32
        assert op(f64, ints).dtype == np.float64
    np.testing.assert_allclose(F.pairwise_distance(f32, ints).data, np.sqrt(3), rtol=1e-5)


def test_flatten_of_a_0d_tensor_takes_only_its_axes_and_unflatten_needs_sizes():
    # Flatten(0, 5) of a 0-d tensor gave (1,) for any dims; torch takes only 0 and -1
    x = tinydl.tensor(2.0)
    assert nn.Flatten(0)(x).shape == (1,) and tinydl.flatten(x).shape == (1,)
    for layer in (nn.Flatten(0, 5), nn.Flatten()):
        with pytest.raises(IndexError, match="does not fit a 0-d tensor"):
            layer(x)
    with pytest.raises(ValueError, match="Unflatten: unflattened_size must be non-empty"):
        nn.Unflatten(1, ())  # it turned a size-1 axis into nothing
