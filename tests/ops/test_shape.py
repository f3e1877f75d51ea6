"""tinydl/ops/shape.py through the op table: reshape, transpose, swapaxes, expand_dims,
squeeze, flatten, broadcast_to, concatenate, stack, split, pad with every mode and negative
(cropping) widths, and nn.functional's torch-style pad (and torch's view, permute, unsqueeze,
cat). Shape ops move values without arithmetic, so every row is exact."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinydl as td
from tinydl.nn.functional.misc import pad as F_pad
from tinydl.ops import unbroadcast
from tests import _reference as ref
from tests.ops._table import (SAME, OpCase, OpTable, check_drawn_view, drawn_arrays,
                              rows_by_name, torch)

X3 = (2, 3, 4)
PAD_WIDTH = ((0, 0), (1, 3), (2, 1))
CROP_WIDTH = ((0, 0), (-1, 3), (2, -2))
# tinydl's pad modes -> NumPy's and torch's names (a mode missing from one has no row there)
NUMPY_MODE = {"constant": "constant", "reflect": "reflect", "symmetric": "symmetric",
              "edge": "edge", "replicate": "edge", "wrap": "wrap", "circular": "wrap"}
TORCH_MODE = {"constant": "constant", "reflect": "reflect", "edge": "replicate",
              "replicate": "replicate", "wrap": "circular", "circular": "circular"}


def torch_pad(x, width, mode):
    """torch's F.pad with NumPy's per-axis widths."""
    return torch.nn.functional.pad(x, ref.torch_pad_widths(width), mode=mode)


def shape_op(name, fn, ref, args=(X3,), **kw):
    """An exact row; inputs standard normal, (2, 3, 4) unless given."""
    return OpCase(name, fn, ref, args, exact=True, **kw)


CASES = [
    shape_op("reshape_flat", lambda x: x.reshape(-1), lambda x: x.reshape(-1), torch=SAME,
             zero_d=True, empty=[(0, 4)]),
    shape_op("reshape", lambda x: td.reshape(x, (4, -1)), lambda x: x.reshape(4, -1),
             torch=lambda x: x.reshape(4, -1), empty=[(0, 4)]),
    # (a view of a transposed or gapped input needs a copy: it raises, as torch's, tested
    # in tests/core/test_torch_habits.py)
    shape_op("view", lambda x: x.view(6, 4), lambda x: x.reshape(6, 4), torch=SAME,
             non_contiguous=False),
    shape_op("transpose", lambda x: x.T, lambda x: x.T, zero_d=True, empty=[(0, 3)],
             torch=lambda x: x.permute(*reversed(range(x.ndim)))),
    shape_op("transpose_axes", lambda x: x.transpose((1, 0, 2)) * 2,
             lambda x: x.transpose(1, 0, 2) * 2, torch=lambda x: x.permute(1, 0, 2) * 2),
    shape_op("permute", lambda x: x.permute(2, 0, 1), lambda x: x.transpose(2, 0, 1),
             torch=SAME),
    shape_op("swapaxes", lambda x: td.swapaxes(x, 0, 2), lambda x: np.swapaxes(x, 0, 2),
             torch=lambda x: x.transpose(0, 2), empty=[(0, 3, 1)]),
    shape_op("swapaxes_negative", lambda x: x.swapaxes(-1, -2), lambda x: x.swapaxes(-1, -2),
             torch=lambda x: x.transpose(-1, -2)),
    *[shape_op(f"expand_dims_{axis}", lambda x, a=axis: td.expand_dims(x, a),
               lambda x, a=axis: np.expand_dims(x, a), zero_d=axis in (0, -1))
      for axis in (0, 1, 3, -1, (0, 2), (-1, 1))],
    shape_op("unsqueeze", lambda x: x.unsqueeze(1), lambda x: x[:, None], torch=SAME),
    shape_op("squeeze_axis", lambda x: td.squeeze(x, axis=1), lambda x: x.squeeze(1),
             [(2, 1, 4)], torch=lambda x: x.squeeze(1), empty=[(0, 1, 4)]),
    shape_op("squeeze_all", td.squeeze, np.squeeze, [(1, 3, 1)], zero_d=True,
             torch=lambda x: x.squeeze()),
    shape_op("flatten", td.flatten, lambda x: x.reshape(-1), torch=lambda x: x.flatten(),
             zero_d=True, empty=[(3, 0)]),
    shape_op("flatten_start", lambda x: td.flatten(x, 1), lambda x: x.reshape(2, 12),
             torch=lambda x: x.flatten(1)),
    shape_op("broadcast_to", lambda x: td.broadcast_to(x, (5, 2, 3, 4)),
             lambda x: np.broadcast_to(x, (5, 2, 3, 4)), [(2, 1, 4)],
             torch=lambda x: x.broadcast_to(5, 2, 3, 4)),
    shape_op("broadcast_to_from_0d", lambda x: td.broadcast_to(x, (2, 3)),
             lambda x: np.broadcast_to(x, (2, 3)), [()], torch=lambda x: x.broadcast_to(2, 3)),
    shape_op("broadcast_to_empty", lambda x: td.broadcast_to(x, (0, 3)),
             lambda x: np.broadcast_to(x, (0, 3)), [(1, 3)], empty=[(1, 3)]),
    shape_op("concatenate", lambda a, b: td.concatenate([a, b], axis=1),
             lambda a, b: np.concatenate([a, b], axis=1), [X3, (2, 2, 4)],
             torch=lambda a, b: torch.cat([a, b], 1), empty=[(2, 0, 4), (2, 2, 4)]),
    shape_op("concatenate_last", lambda a, b, c: td.concatenate([a, b, c], axis=-1),
             lambda a, b, c: np.concatenate([a, b, c], axis=-1), [(3, 1), (3, 4), (3, 2)],
             torch=lambda a, b, c: torch.cat([a, b, c], -1)),
    shape_op("cat", lambda a, b: td.cat([a, b]), lambda a, b: np.concatenate([a, b]),
             [(2, 3), (1, 3)], torch=lambda a, b: torch.cat([a, b])),
    shape_op("stack", lambda a, b: td.stack([a, b], axis=-1),
             lambda a, b: np.stack([a, b], axis=-1), [X3, X3],
             torch=lambda a, b: torch.stack([a, b], -1), zero_d=True, empty=[(0, 2), (0, 2)]),
    shape_op("stack_middle", lambda a, b: td.stack([a, b], axis=1),
             lambda a, b: np.stack([a, b], axis=1), [X3, X3],
             torch=lambda a, b: torch.stack([a, b], 1)),
    shape_op("split_sections", lambda x: td.split(x, 2, axis=2),
             lambda x: np.split(x, 2, axis=2), torch=lambda x: torch.split(x, 2, 2),
             empty=[(0, 3, 4)]),
    shape_op("split_indices", lambda x: td.split(x, [1, 3], axis=2),
             lambda x: np.split(x, [1, 3], axis=2),
             torch=lambda x: torch.tensor_split(x, [1, 3], 2)),
    # pieces of two splits multiplied: gradients flow back through both into one input each
    OpCase("split_products",
           lambda a, b: td.split(a, [1, 3], axis=2)[1] * td.split(b, 2, axis=2)[0],
           lambda a, b: np.split(a, [1, 3], axis=2)[1] * np.split(b, 2, axis=2)[0], [X3, X3],
           torch=lambda a, b: torch.tensor_split(a, [1, 3], 2)[1] * torch.split(b, 2, 2)[0]),
    # the gradient's reduction over broadcast axes, itself differentiable
    OpCase("unbroadcast", lambda x: unbroadcast(x, (3, 1)),
           lambda x: x.sum(axis=(0, 2), keepdims=True)[0], [X3],
           torch=lambda x: x.sum((0, 2), keepdim=True)[0]),
    shape_op("pad", lambda x: td.pad(x, 1, constant_values=0.5),
             lambda x: np.pad(x, 1, constant_values=0.5), [(3, 4)], empty=[(0, 3)],
             torch=lambda x: torch.nn.functional.pad(x, (1, 1, 1, 1), value=0.5)),
    shape_op("pad_per_axis", lambda x: td.pad(x, ((0, 0), (1, 2), (0, 1))),
             lambda x: np.pad(x, ((0, 0), (1, 2), (0, 1))),
             torch=lambda x: torch.nn.functional.pad(x, (0, 1, 1, 2))),
    # pad modes (NumPy's names, torch's as aliases), the same widths for every mode
    *[shape_op(f"pad_{mode}", lambda x, m=mode: td.pad(x, PAD_WIDTH, mode=m),
               lambda x, m=mode: np.pad(x, PAD_WIDTH, mode=NUMPY_MODE[m]), [(2, 4, 5)],
               torch=None if mode not in TORCH_MODE else lambda x, m=mode: torch_pad(
                   x, PAD_WIDTH, mode=TORCH_MODE[m]), empty=[(0, 4, 5)])
      for mode in NUMPY_MODE],
    *[shape_op(f"pad_int_width_{mode}", lambda x, m=mode: td.pad(x, 2, mode=m),
               lambda x, m=mode: np.pad(x, 2, mode=m), [(3, 4)], zero_d=True)
      for mode in ("constant", "reflect", "edge", "wrap")],
    # widths wider than the axis repeat the pattern (NumPy's rule; torch refuses them)
    *[shape_op(f"pad_{mode}_wide", lambda x, m=mode: td.pad(x, ((0, 0), (5, 7)), mode=m),
               lambda x, m=mode: np.pad(x, ((0, 0), (5, 7)), mode=m), [(2, 3)])
      for mode in ("reflect", "symmetric", "edge", "wrap")],
    shape_op("pad_reflect_length_one", lambda x: td.pad(x, 2, mode="reflect"),
             lambda x: np.pad(x, 2, mode="reflect"), [(1, 1)], non_contiguous=False),
    shape_op("pad_per_side_constants",
             lambda x: td.pad(x, 1, constant_values=((1.5, -2.0), (0.25, 3.0))),
             lambda x: np.pad(x, 1, constant_values=((1.5, -2.0), (0.25, 3.0))), [(3, 4)]),
    # negative widths crop, in torch's order (reference: tests/_reference.pad_cropping)
    *[shape_op(f"pad_negative_{mode}", lambda x, m=mode: td.pad(x, CROP_WIDTH, mode=m),
               lambda x, m=mode: ref.pad_cropping(x, CROP_WIDTH, NUMPY_MODE[m]), [(2, 5, 6)],
               torch=None if mode not in TORCH_MODE else lambda x, m=mode: torch_pad(
                   x, CROP_WIDTH, mode=TORCH_MODE[m]))
      for mode in ("constant", "reflect", "replicate", "circular", "symmetric")],
    shape_op("pad_crop_past_the_padding", lambda x: td.pad(x, ((0, 0), (-3, 2)), constant_values=7),
             lambda x: ref.pad_cropping(x, ((0, 0), (-3, 2)), value=7.0), [(2, 2)]),
    shape_op("pad_crop_to_nothing", lambda x: td.pad(x, ((-2, -1), (1, 1)), mode="edge"),
             lambda x: ref.pad_cropping(x, ((-2, -1), (1, 1)), "edge"), [(3, 4)],
             torch=lambda x: torch.nn.functional.pad(x[None], (1, 1, -2, -1), mode="replicate")[0],
             empty=[(3, 4)]),
    # torch's F.pad: flat widths from the last axis
    *[shape_op(f"F.pad_{mode}", lambda x, m=mode: F_pad(x, (2, -1, 1, 3), mode=m),
               lambda x, m=mode: ref.pad_cropping(x, ((0, 0), (0, 0), (1, 3), (2, -1)),
                                                  NUMPY_MODE[m]), [(2, 3, 4, 5)],
               torch=lambda x, m=mode: torch.nn.functional.pad(x, (2, -1, 1, 3), mode=m))
      for mode in ("constant", "reflect", "replicate", "circular")],
    shape_op("F.pad_value", lambda x: F_pad(x, (1, 2), value=-1.5),
             lambda x: np.pad(x, ((0, 0), (0, 0), (1, 2)), constant_values=-1.5),
             torch=lambda x: torch.nn.functional.pad(x, (1, 2), value=-1.5), empty=[(2, 0, 4)]),
]


BY_NAME = rows_by_name(CASES)


class TestShape(OpTable):
    cases = CASES


def test_reshape_error_names_the_op():
    with pytest.raises(ValueError, match="reshape"):
        td.zeros(2, 3).reshape(4, 2)


@settings(max_examples=20, deadline=None)
@given(arr=drawn_arrays(), name=st.sampled_from(["reshape_flat", "transpose", "flatten"]))
def test_shape_ops_on_drawn_non_contiguous_inputs(arr, name):
    check_drawn_view(BY_NAME[name], arr)


def test_pad_mode_aliases_agree():
    x = td.tensor(np.random.default_rng(0).standard_normal((3, 4)))
    for a, b in (("edge", "replicate"), ("wrap", "circular")):
        np.testing.assert_array_equal(td.pad(x, 2, mode=a).data, td.pad(x, 2, mode=b).data)


def test_pad_returns_a_new_array_even_with_nothing_to_add():
    x = td.ones(2, 3)
    for mode in ("constant", "reflect", "wrap"):
        out = td.pad(x, 0, mode=mode)
        assert out is not x and not np.shares_memory(out.data, x.data)


@pytest.mark.parametrize("call, match", [
    (lambda: td.pad(td.ones(2, 3), 1, mode="mirror"), "pad: mode must be one of"),
    (lambda: td.pad(td.ones(2, 3), 1, mode="reflect", constant_values=1.0),
     "pad: constant_values is only for mode='constant'"),
    (lambda: td.pad(td.ones(0, 3), 1, mode="edge"), "pad: cannot extend axis 0 of length 0"),
    (lambda: td.pad(td.ones(2, 3), ((0, 0), (-2, -2))), "crop axis 1 of length 3 .* negative"),
    (lambda: td.pad(td.ones(2, 3), ((0, 0), (-3, 1)), mode="wrap"), "pad: mode 'wrap' crops"),
    (lambda: td.pad(td.ones(2, 3), ((1, 1), (1, 1), (1, 1))), "pad: pad_width .* shape"),
    (lambda: td.pad(td.ones(2, 3), 1.5), "pad: pad_width must hold integers"),
    (lambda: F_pad(td.ones(2, 3), (1, 1, 1)), "pad: pad must be an even number"),
    (lambda: F_pad(td.ones(2, 3), (1, 1, 1, 1, 1, 1)), "pad: pad must be an even number"),
    (lambda: F_pad(td.ones(2, 3), (1, 1), mode="edge"), "pad: mode must be one of"),
    (lambda: F_pad(td.ones(2, 3), (1, 1), mode="reflect", value=0.0), "doesn't take in a value"),
])
def test_pad_errors_name_the_op_and_the_values(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
