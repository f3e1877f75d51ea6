"""affine_grid and grid_sample (tinydl/nn/functional/sampling.py) through the op table, then
their edges: torch's conventions at the padding bounds (values, first and second derivatives
at pixel centres, edges, exact bounds and beyond), the rounding of 'nearest' at half pixels,
non-finite grids and pixels, warnings and errors.

References (tests/_reference.py) compute one output position and one tap at a time.
"""
import fractions
import itertools
import math
import warnings

import numpy as np
import pytest

import tinydl as td
from tests import _reference as ref
from tests.ops._table import Arg, OpCase, OpTable, normal, torch, uniform
from tinydl.nn import functional as F

needs_torch = pytest.mark.skipif(torch is None, reason="torch (the optional oracle) not installed")
MODES = ("bilinear", "nearest", "bicubic")
PADDINGS = ("zeros", "border", "reflection")


def tF():
    """torch.nn.functional (looked up when a torch check runs)."""
    return torch.nn.functional


GRID = uniform(-1.4, 1.4)  # positions inside and beyond the input: every padding rule is used


def sample(name, x_shape, grid_shape, mode, padding_mode, align_corners, **kw):
    """A grid_sample row: input of ``x_shape`` read at a random grid of ``grid_shape``."""
    def fn(x, g):
        return F.grid_sample(x, g, mode, padding_mode, align_corners)

    def reference(x, g):
        return ref.grid_sample(x, g, mode, padding_mode, align_corners)

    def theirs(x, g):
        return tF().grid_sample(x, g, mode, padding_mode, align_corners)

    return OpCase(name, fn, reference, [x_shape, Arg(grid_shape, GRID)], torch=theirs, **kw)


def affine(name, size, align_corners, **kw):
    d = len(size) - 2
    return OpCase(name, lambda t: F.affine_grid(t, size, align_corners),
                  lambda t: ref.affine_grid(t, size, align_corners), [(size[0], d, d + 1)],
                  torch=lambda t: tF().affine_grid(t, size, align_corners), **kw)


def transformer(x, theta):
    """A spatial transformer's sampling: x read through the affine grid of theta."""
    return F.grid_sample(x, F.affine_grid(theta, x.shape, False), "bilinear", "zeros", False)


def transformer_reference(x, theta):
    return ref.grid_sample(x, ref.affine_grid(theta, x.shape, False), "bilinear", "zeros", False)


X4, G4 = (1, 2, 3, 4), (1, 3, 2, 2)  # non-square input and output
X5, G5 = (1, 2, 2, 3, 4), (1, 2, 1, 3, 3)
CASES = [
    *[sample(f"grid_sample_bilinear_{p}_{'aligned' if a else 'edges'}", X4, G4, "bilinear", p,
             a) for p, a in itertools.product(PADDINGS, (False, True))],
    *[sample(f"grid_sample_bicubic_{p}_{'aligned' if a else 'edges'}", X4, G4, "bicubic", p, a,
             rtol32=1e-4, atol32=1e-5) for p, a in itertools.product(PADDINGS, (False, True))],
    *[sample(f"grid_sample_nearest_{p}_{'aligned' if a else 'edges'}", X4, G4, "nearest", p, a)
      for p, a in [("zeros", False), ("border", True), ("reflection", False),
                   ("reflection", True)]],
    *[sample(f"grid_sample_trilinear_{p}_{'aligned' if a else 'edges'}", X5, G5, "bilinear", p,
             a) for p, a in [("zeros", True), ("border", False), ("reflection", False)]],
    sample("grid_sample_5d_nearest_border", X5, G5, "nearest", "border", False),
    sample("grid_sample_batch_of_2", (2, 1, 2, 3), (2, 2, 2, 2), "bilinear", "reflection",
           False, empty=[(0, 1, 2, 3), (0, 2, 2, 2)]),
    sample("grid_sample_empty_output", (2, 1, 2, 3), (2, 2, 2, 2), "bicubic", "border", True,
           empty=[(2, 1, 2, 3), (2, 0, 3, 2)]),
    affine("affine_grid_2d", (2, 3, 3, 4), False),
    affine("affine_grid_2d_aligned", (2, 1, 4, 3), True),
    affine("affine_grid_3d", (1, 2, 2, 3, 4), False),
    affine("affine_grid_unit_axis", (2, 1, 1, 3), False),
    OpCase("spatial_transformer", transformer, transformer_reference,
           [(2, 1, 3, 4), Arg((2, 2, 3), lambda rng, s: np.array([[1, 0, 0], [0, 1, 0]])
                              + 0.3 * normal(rng, s))]),
]


class TestSampling(OpTable):
    cases = CASES


# ----------------------------------------------------------------------------- torch at the bounds
def _special_grid(rng, shape, sizes, align_corners):
    """Grid values on pixel centres, outer edges, exact clamping bounds and beyond (and a few
    off them), where torch's rules for the padding and its derivative meet.

    torch's 2-d kernel rounds (g + 1) * size / 2 - 0.5 once in its forward and backward (a
    fused multiply-add) but twice in the fallback its second derivatives run through, so at a
    g whose two roundings fall on either side of a whole pixel its first and second
    derivatives come from different cells. Such g are moved by an ulp until both agree."""
    grid = np.empty(shape)
    for k, s in enumerate(sizes):  # k = 0 is x, along the last input axis
        bounds = [-1.0, 1.0, -1 + 1 / s, 1 - 1 / s, -1 - 2 / s, 1 + 2 / s]
        points = np.concatenate([np.arange(-3 * s, 3 * s + 1) / s, bounds])
        grid[..., k] = rng.choice(points, shape[:-1]) + rng.choice([0, 0, 0.3 / s], shape[:-1])
        if not align_corners:
            grid[..., k] = np.reshape([_one_cell(g, s) for g in grid[..., k].ravel()],
                                      shape[:-1])
    return grid


def _one_cell(g, size):
    """g, or the nearest value below it whose position floors alike rounded once or twice."""
    while True:
        once = fractions.Fraction(g + 1) * fractions.Fraction(size, 2) - fractions.Fraction(1, 2)
        if math.floor(once) == math.floor(((g + 1) * size - 1) / 2):
            return g
        g = np.nextafter(g, -np.inf)


def _derivatives(lib, x, grid, mode, padding_mode, align_corners, v, w):
    """Output, d/dx and d/dgrid of sum(v out), and the gradient of sum(w * those) (second
    derivatives), in tinydl (``lib=td``) or torch."""
    if lib is td:
        xt, gt = td.Tensor(x, requires_grad=True), td.Tensor(grid, requires_grad=True)
        out = F.grid_sample(xt, gt, mode, padding_mode, align_corners)
        first = td.grad((out * td.Tensor(v)).sum(), [xt, gt], create_graph=True)
        total = (first[0] * td.Tensor(w[0])).sum() + (first[1] * td.Tensor(w[1])).sum()
        if not total.requires_grad:  # 'nearest': the gradient does not depend on anything
            return [out.data, first[0].data, first[1].data, np.zeros(x.shape),
                    np.zeros(grid.shape)]
        second = td.grad(total, [xt, gt], allow_unused=True)
        second = [np.zeros(t.shape) if s is None else s.data for s, t in zip(second, [xt, gt])]
        return [out.data, first[0].data, first[1].data, *second]
    xt, gt = torch.tensor(x, requires_grad=True), torch.tensor(grid, requires_grad=True)
    out = tF().grid_sample(xt, gt, mode, padding_mode, align_corners)
    first = torch.autograd.grad((out * torch.tensor(v)).sum(), [xt, gt], create_graph=True)
    total = (first[0] * torch.tensor(w[0])).sum() + (first[1] * torch.tensor(w[1])).sum()
    if not total.requires_grad:  # 'nearest': the gradient does not depend on anything
        return [out.detach().numpy(), *[f.detach().numpy() for f in first],
                np.zeros(x.shape), np.zeros(grid.shape)]
    second = torch.autograd.grad(total, [xt, gt], allow_unused=True)
    second = [np.zeros(t.shape) if s is None else s.numpy() for s, t in zip(second, [xt, gt])]
    return [out.detach().numpy(), *[f.detach().numpy() for f in first], *second]


CONFIGS = [(d, m, p, a) for d in (2, 3) for m in MODES for p in PADDINGS for a in (False, True)
           if not (d == 3 and m == "bicubic")]


@needs_torch
@pytest.mark.parametrize("d, mode, padding_mode, align_corners", CONFIGS)
def test_values_and_two_derivatives_match_torch_at_the_bounds(d, mode, padding_mode,
                                                             align_corners):
    """At pixel centres, edges and exactly on the clamping bounds torch's kernels have their
    own conventions (a clamped position's derivative is 0 on the bound itself, reflections
    flip its sign, floor picks the cell): output, both gradients and second derivatives
    agree with torch's, on non-square inputs and on axes of length 1."""
    rng = np.random.default_rng(d * 100 + MODES.index(mode) * 10 + PADDINGS.index(padding_mode))
    shapes = ([((1, 2, 3, 4), (1, 4, 5, 2)), ((1, 1, 1, 3), (1, 2, 3, 2))] if d == 2 else
              [((1, 2, 2, 3, 4), (1, 2, 3, 4, 3)), ((1, 1, 1, 2, 1), (1, 2, 2, 2, 3))])
    for x_shape, grid_shape in shapes:
        x = rng.standard_normal(x_shape)
        grid = _special_grid(rng, grid_shape, x_shape[2:][::-1], align_corners)
        v = rng.standard_normal(x_shape[:2] + grid_shape[1:-1])
        w = [rng.standard_normal(x_shape), rng.standard_normal(grid_shape)]
        ours = _derivatives(td, x, grid, mode, padding_mode, align_corners, v, w)
        theirs = _derivatives(torch, x, grid, mode, padding_mode, align_corners, v, w)
        for what, a, b in zip(["output", "d/dx", "d/dgrid", "d2/dx", "d2/dgrid"], ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=(
                f"grid_sample {mode} {padding_mode} align_corners={align_corners}, input "
                f"{x_shape}: {what} vs torch"))


@needs_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d", [2, 3])
def test_nearest_rounds_half_pixels_as_torch(dtype, d):
    """Positions within a few ulps of half a pixel: which pixel 'nearest' reads depends on how
    the position was rounded (torch's 2-d kernel fuses its multiply-add, its 3-d kernel does
    not); the pixel read is torch's, for every size up to 40."""
    for size, align_corners in itertools.product(range(2, 41), (False, True)):
        half = np.arange(-1, size) + 0.5
        g = (half / ((size - 1) / 2) - 1) if align_corners else (2 * half + 1) / size - 1
        g = g.astype(dtype)
        g = np.unique(np.concatenate([g, np.nextafter(g, dtype(2)), np.nextafter(g, dtype(-2)),
                                      np.nextafter(np.nextafter(g, dtype(2)), dtype(2))]))
        x = np.arange(1, size + 1, dtype=dtype).reshape((1, 1) + (1,) * (d - 1) + (size,))
        grid = np.zeros((1,) * d + (g.size, d), dtype=dtype)
        grid[..., 0] = g
        ours = F.grid_sample(td.Tensor(x), td.Tensor(grid), "nearest", "zeros",
                             align_corners).data
        theirs = tF().grid_sample(torch.tensor(x), torch.tensor(grid), "nearest", "zeros",
                                  align_corners).numpy()
        np.testing.assert_array_equal(ours, theirs, err_msg=(
            f"nearest, size {size}, align_corners={align_corners}, {np.dtype(dtype)}"))


def test_nearest_gives_the_grid_a_zero_gradient():
    """torch's 'nearest' gives the grid a gradient of zeros (not none), and the input one
    that counts the reads of each pixel."""
    x = td.Tensor(np.arange(12.0).reshape(1, 1, 3, 4), requires_grad=True)
    grid = td.Tensor(np.array([[[[-0.7, -0.6], [-0.7, -0.6], [0.9, 0.9]]]]), requires_grad=True)
    F.grid_sample(x, grid, "nearest", "zeros", False).sum().backward()
    assert grid.grad is not None
    np.testing.assert_array_equal(grid.grad.data, np.zeros((1, 1, 3, 2)))
    expected = np.zeros((1, 1, 3, 4))
    expected[0, 0, 0, 0], expected[0, 0, 2, 3] = 2, 1
    np.testing.assert_array_equal(x.grad.data, expected)


# ----------------------------------------------------------------------------- non-finite values
def _one_position(value, d, mode, padding_mode, align_corners, lib):
    """Output and d/dgrid (first coordinate) of sampling 1..12 at one position whose x is
    ``value``."""
    x = np.arange(1, 13.0).reshape(1, 1, 3, 4)
    if d == 3:
        x = np.broadcast_to(x[:, :, None], (1, 1, 2, 3, 4)).copy()
    grid = np.zeros((1,) * d + (1, d))
    grid[..., 0] = value
    if lib is td:
        g = td.Tensor(grid, requires_grad=True)
        out = F.grid_sample(td.Tensor(x), g, mode, padding_mode, align_corners)
        return out.data.item(), td.grad(out.sum(), [g])[0].data.ravel()[0]
    g = torch.tensor(grid, requires_grad=True)
    out = tF().grid_sample(torch.tensor(x), g, mode, padding_mode, align_corners)
    return out.item(), torch.autograd.grad(out.sum(), g)[0].ravel()[0].item()


# Where torch's 2-d CPU kernel defines the result (it crashes or reads a stray pixel for NaN
# with 'border' and 'reflection' and for +-inf with 'reflection').
TORCH_DEFINED = [(v, m, p) for v in (math.nan, math.inf, -math.inf, 1e30, -1e30)
                 for m in MODES for p in PADDINGS
                 if p == "zeros" or (p == "border" and not math.isnan(v))
                 or (p == "reflection" and abs(v) == 1e30)]


@needs_torch
@pytest.mark.parametrize("value, mode, padding_mode", TORCH_DEFINED)
def test_non_finite_and_huge_positions_as_torch_where_it_defines_them(value, mode,
                                                                    padding_mode):
    for align_corners in (False, True):
        if padding_mode == "reflection" and align_corners:
            continue  # torch's 2-d reflection folds 1e30 to a pixel of its rounding: see below
        ours = _one_position(value, 2, mode, padding_mode, align_corners, td)
        theirs = _one_position(value, 2, mode, padding_mode, align_corners, torch)
        np.testing.assert_array_equal(ours[0], theirs[0], err_msg=f"{value} {mode} output")
        np.testing.assert_array_equal(ours[1], theirs[1], err_msg=f"{value} {mode} gradient")


@pytest.mark.parametrize("d", [2, 3])
def test_positions_with_no_place_read_nothing(d):
    """NaN anywhere and +-inf with 'reflection' have no place in the input (torch crashes or
    reads a stray pixel there): 'bilinear' and 'bicubic' give NaN, 'nearest' 0. 'zeros'
    treats NaN and +-inf alike in 2-d and 3-d (torch's 3-d kernel gives 0 where its 2-d one
    gives NaN)."""
    for value, mode, padding_mode, align_corners in itertools.product(
            (math.nan, math.inf, -math.inf), MODES, PADDINGS, (False, True)):
        if (d == 3 and mode == "bicubic") or (padding_mode == "border" and math.isinf(value)
                                              and mode != "bicubic"):
            continue
        out, _ = _one_position(value, d, mode, padding_mode, align_corners, td)
        expected = 0.0 if mode == "nearest" else math.nan
        np.testing.assert_array_equal(out, expected, err_msg=f"{value} {mode} {padding_mode}")


def test_border_clamps_infinity_to_the_edge():
    for value, edge in [(math.inf, 8.0), (-math.inf, 5.0)]:
        for mode, d in itertools.product(("bilinear", "nearest"), (2, 3)):
            out, grad = _one_position(value, d, mode, "border", False, td)
            assert out == edge and grad == 0.0, (value, mode, d)


@needs_torch
def test_nan_and_inf_pixels_reach_the_outputs_that_read_them_as_in_torch():
    """A NaN or inf pixel read with weight 0 still gives NaN (0 * inf), as torch's; a tap
    outside the input reads an exact zero, never a stray pixel."""
    x = np.arange(1, 13.0).reshape(1, 1, 3, 4)
    x[0, 0, 0, 1], x[0, 0, 2, 3] = np.inf, np.nan
    values = np.array([-1, -0.75, -0.5, 0, 0.75, 1, 1.2])
    grid = np.stack(np.meshgrid(values, values), -1)[None]
    for mode, padding_mode, align_corners in itertools.product(MODES, PADDINGS, (False, True)):
        xt, gt = td.Tensor(x, requires_grad=True), td.Tensor(grid, requires_grad=True)
        with np.errstate(invalid="ignore"):
            out = F.grid_sample(xt, gt, mode, padding_mode, align_corners)
            ours = [out.data, *[g.data for g in td.grad(out.sum(), [xt, gt])]]
        xs, gs = torch.tensor(x, requires_grad=True), torch.tensor(grid, requires_grad=True)
        out = tF().grid_sample(xs, gs, mode, padding_mode, align_corners)
        theirs = [out.detach().numpy(), *[g.numpy() for g in torch.autograd.grad(out.sum(),
                                                                                [xs, gs])]]
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, atol=1e-12, equal_nan=True,
                                       err_msg=f"{mode} {padding_mode} {align_corners}")


# ----------------------------------------------------------------------------- arguments
def test_align_corners_none_warns_and_means_false():
    x = td.Tensor(np.random.default_rng(0).standard_normal((1, 1, 3, 4)))
    theta = td.Tensor(np.array([[[0.9, 0.1, 0.2], [0.0, 1.1, -0.3]]]))
    with pytest.warns(UserWarning, match="align_corners=None"):
        grid = F.affine_grid(theta, (1, 1, 3, 4))
    np.testing.assert_array_equal(grid.data, F.affine_grid(theta, (1, 1, 3, 4), False).data)
    with pytest.warns(UserWarning, match="align_corners=None"):
        out = F.grid_sample(x, grid)
    np.testing.assert_array_equal(out.data, F.grid_sample(x, grid, align_corners=False).data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.grid_sample(x, grid, align_corners=True)
        F.affine_grid(theta, (1, 1, 3, 4), align_corners=False)
    with pytest.warns(UserWarning, match="length 1"):
        F.affine_grid(theta, (1, 1, 1, 4), align_corners=True)


def test_dtypes_follow_the_inputs():
    for dtype in (np.float32, np.float64):
        theta = td.Tensor(np.eye(2, 3)[None].astype(dtype), requires_grad=True)
        grid = F.affine_grid(theta, (1, 1, 2, 3), False)
        out = F.grid_sample(td.Tensor(np.ones((1, 2, 2, 3), dtype), requires_grad=True), grid,
                            "bicubic", "border", False)
        assert grid.dtype == dtype and out.dtype == dtype
        out.sum().backward()
        assert theta.grad.dtype == dtype


X_OK = np.zeros((2, 3, 4, 5))
GRID_OK = np.zeros((2, 6, 7, 2))
BAD_SAMPLES = [
    (dict(mode="area"), ValueError, "mode must be one of"),
    (dict(padding_mode="wrap"), ValueError, "padding_mode must be one of"),
    (dict(grid=np.zeros((1, 6, 7, 2))), RuntimeError, "batch size 2"),
    (dict(grid=np.zeros((2, 6, 7, 3))), RuntimeError, "2 coordinates last"),
    (dict(grid=np.zeros((2, 6, 2))), RuntimeError, "expected input"),
    (dict(input=np.zeros((3, 4, 5)), grid=np.zeros((6, 7, 2))), RuntimeError, "expected input"),
    (dict(input=np.zeros((2, 3, 0, 5))), RuntimeError, "empty spatial axis"),
    (dict(input=np.zeros((2, 3, 2, 4, 5)), grid=np.zeros((2, 1, 6, 7, 3)), mode="bicubic"),
     NotImplementedError, "4-d input"),
    (dict(grid=np.zeros((2, 6, 7, 2), np.float32)), TypeError, "one dtype"),
    (dict(input=np.zeros((2, 3, 4, 5), np.int64), grid=np.zeros((2, 6, 7, 2), np.int64),
          mode="nearest"), TypeError, "floating point"),
]


@pytest.mark.parametrize("change, error, message", BAD_SAMPLES)
def test_bad_grid_sample_arguments_raise_as_torch(change, error, message):
    args = dict(mode="bilinear", padding_mode="zeros", align_corners=False) | change
    x, grid = args.pop("input", X_OK), args.pop("grid", GRID_OK)
    with pytest.raises(error, match=message):
        F.grid_sample(td.Tensor(x), td.Tensor(grid), **args)
    if torch is not None:  # torch refuses each of them too
        with pytest.raises((RuntimeError, ValueError, NotImplementedError)):
            tF().grid_sample(torch.tensor(x), torch.tensor(grid), **args)


BAD_AFFINE = [
    (np.zeros((2, 2, 3)), (2, 3, 4), NotImplementedError, "size must be"),
    (np.zeros((2, 3, 4)), (2, 3, 4, 5), ValueError, r"shape \(N, 2, 3\)"),
    (np.zeros((2, 2, 3)), (2, 3, 4, 5, 6), ValueError, r"shape \(N, 3, 4\)"),
    (np.zeros((2, 2, 3), np.int64), (2, 3, 4, 5), ValueError, "floating point"),
    (np.zeros((2, 2, 3)), (2, 3, 0, 5), ValueError, "positive"),
    (np.zeros((2, 2, 3)), (3, 3, 4, 5), RuntimeError, "3 matrices|batch of 3"),
]


@pytest.mark.parametrize("theta, size, error, message", BAD_AFFINE)
def test_bad_affine_grid_arguments_raise_as_torch(theta, size, error, message):
    with pytest.raises(error, match=message):
        F.affine_grid(td.Tensor(theta), size, align_corners=False)
    if torch is not None:
        with pytest.raises((RuntimeError, ValueError, NotImplementedError)):
            tF().affine_grid(torch.tensor(theta), size, align_corners=False)
