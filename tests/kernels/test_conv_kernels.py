"""The im2col/col2im Numba kernels (``tinydl.kernels.conv``) against their NumPy twins, in
both GEMM layouts of ``tinydl.ops.conv_im2col.Columns``, and the twins against the
reference ``im2col_array`` (torch's unfold layout)."""
import numpy as np
import pytest

import tinydl
from tinydl.kernels.conv import im2col_kernel
from tinydl.ops.conv import im2col_array
from tinydl.ops.conv_im2col import Columns
from tinydl.ops.conv import Geometry, output_size


def _random_geometry(rng):
    while True:
        g = Geometry(*(int(v) for v in rng.integers(1, 4, 2)),
                     *(int(v) for v in rng.integers(1, 3, 2)),
                     *(int(v) for v in rng.integers(0, 3, 2)),
                     *(int(v) for v in rng.integers(1, 3, 2)))
        shape = (int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.integers(1, 9)),
                 int(rng.integers(1, 9)))
        out_h, out_w = output_size(shape[2], shape[3], g)
        if out_h >= 1 and out_w >= 1:
            return g, shape, out_h, out_w


@pytest.mark.parametrize("layout", ["channel-major", "channel-major + spare row",
                                    "sample-major", "sample-major + spare row"])
def test_im2col_and_col2im_kernels_agree_with_numpy_twins(layout):
    """Columns.fill / Columns.fold through the kernels (float32) and through the NumPy twins
    (``tinydl.backends.numba`` off), in both GEMM layouts, with and without the spare row
    (the bias's row of ones), which neither writes nor reads."""
    rng = np.random.default_rng(6)
    sample_major, extra = layout.startswith("sample"), int(layout.endswith("row"))
    for trial in range(30):
        g, shape, out_h, out_w = _random_geometry(rng)
        n, c = shape[:2]
        x = rng.standard_normal(shape).astype(np.float32)
        grads = rng.standard_normal((c * g.kh * g.kw, n * out_h * out_w)).astype(np.float32)
        results = {}
        for numba in (True, False):
            with tinydl.backends.flags(numba=numba):
                cols = Columns(n, c, g, out_h, out_w, np.float32, sample_major, extra)
                cols.buffer[...] = np.nan  # every row entry must be written
                cols.fill(x, g)
                built = cols.rows.copy()
                spare = cols.buffer[:, cols.k:] if sample_major else cols.buffer[cols.k:]
                assert spare.shape[-2 if sample_major else 0] == extra
                assert np.isnan(spare).all()  # left for the caller's ones
                spare[...] = np.inf  # and never read by the fold
                rows = cols.blocks()  # [a, b, i, j, ho, wo]; refill them with known values
                if sample_major:
                    rows[...] = grads.reshape(c, g.kh, g.kw, n, out_h, out_w).transpose(
                        3, 0, 1, 2, 4, 5)
                else:
                    cols.rows[...] = grads
                results[numba] = built, cols.fold(shape, g)
        name = f"trial {trial}: {g} {shape}"
        np.testing.assert_array_equal(results[True][0], results[False][0],
                                      err_msg=f"im2col {name}")
        np.testing.assert_allclose(results[True][1], results[False][1], atol=1e-5,
                                   err_msg=f"col2im {name}")
        # the reference im2col is torch's unfold layout, the fold its adjoint
        unfolded = im2col_array(x.astype(np.float64), g)
        built_unfold = results[False][0] if sample_major else \
            results[False][0].reshape(-1, n, out_h * out_w).transpose(1, 0, 2)
        np.testing.assert_array_equal(built_unfold, unfolded, err_msg=f"im2col layout {name}")
        torch_layout = grads.reshape(c * g.kh * g.kw, n, -1).transpose(1, 0, 2)
        np.testing.assert_allclose(np.sum(unfolded * torch_layout),
                                   np.sum(x * results[False][1]), rtol=1e-4,
                                   err_msg=f"col2im adjoint {name}")


@pytest.mark.parametrize("sample_major", [True, False])
def test_im2col_kernel_stays_inside_its_buffer_when_rows_are_all_padding(sample_major):
    """A dilated kernel on a map smaller than its dilation (ASPP on a 1x1 map) has offsets
    whose first in-image output column lies beyond the last one; the kernel must still write
    exactly the rows' entries and nothing after them."""
    rng = np.random.default_rng(12)
    for g, shape in [(Geometry(1, 2, 1, 1, 0, 3, 1, 6), (1, 1, 1, 1)),
                     (Geometry(3, 3, 1, 1, 18, 18, 18, 18), (1, 2, 1, 1)),
                     (Geometry(2, 3, 1, 2, 4, 5, 5, 4), (2, 1, 2, 3))]:
        out_h, out_w = output_size(shape[2], shape[3], g)
        n, c = shape[:2]
        k = c * g.kh * g.kw
        size = n * k * out_h * out_w
        flat = np.full(size + 64, np.nan, np.float32)  # the tail is a sentinel
        strides = (k * out_h * out_w, out_h * out_w) if sample_major else \
            (out_h * out_w, n * out_h * out_w)
        x = rng.standard_normal(shape).astype(np.float32)
        im2col_kernel(x.reshape(-1), x.shape, *g, out_h, out_w, flat, *strides)
        assert np.isnan(flat[size:]).all(), f"wrote past the columns: {g} {shape}"
        with tinydl.backends.flags(numba=False):
            cols = Columns(n, c, g, out_h, out_w, np.float32, sample_major).fill(x, g)
        np.testing.assert_array_equal(flat[:size].reshape(cols.buffer.shape), cols.buffer,
                                      err_msg=f"{g} {shape}")
