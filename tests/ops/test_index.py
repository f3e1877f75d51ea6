"""tinydl/ops/index.py (``t[...]``) through the op table: basic slicing, integer arrays with
repeated indices (their gradients accumulate), boolean masks, and mixtures of the three."""
import numpy as np

import tinydl as td
from tests.ops._table import OpCase, OpTable, torch

X, X3 = (4, 5), (2, 3, 4)
REPEATS = np.array([0, 0, 1, 0, 3])
MASK = np.random.default_rng(0).random(X) < 0.5


def indexing(name, index, shape=X, torch=True, **kw):
    """``x[index]`` against NumPy's ``x[index]``, and torch's with the same index (arrays as
    tensors) unless ``torch`` says otherwise."""
    def fn(x):
        return x[index]
    return OpCase(name, fn, fn, [shape], exact=True,
                  torch=_torch_index(index) if torch is True else torch, **kw)


def _torch_index(index):
    """``x[index]`` in torch, integer and boolean arrays given as tensors."""
    def convert(i):
        return torch.from_numpy(np.asarray(i)) if isinstance(i, (np.ndarray, list)) else i

    def fn(x):
        return x[tuple(convert(i) for i in index) if isinstance(index, tuple) else convert(index)]
    return fn


CASES = [
    indexing("int", 1),
    indexing("negative_int_pair", (-1, 2)),
    indexing("slice_step", (Ellipsis, slice(None, None, 2)), empty=[(0, 5)]),
    indexing("slice_ranges", (slice(1, 3), slice(-4, None)), empty=[(4, 0)]),
    indexing("reverse_slice", slice(None, None, -1), torch=lambda x: x.flip(0)),
    indexing("newaxis", (None, slice(None), 2)),
    indexing("ellipsis_0d", Ellipsis, zero_d=True),
    indexing("empty_tuple_0d", (), zero_d=True),
    indexing("int_array_repeats", REPEATS, empty=[(4, 0)]),
    indexing("int_array_2d", np.array([[0, 2], [2, 2]])),
    indexing("int_array_negative", np.array([-1, 0, -1])),
    indexing("int_arrays_paired", (np.array([0, 3, 3]), np.array([1, 1, 4]))),
    indexing("int_array_last_axis", (slice(None), REPEATS)),
    indexing("mixed", (1, [0, 2, 2], slice(1, 3)), shape=X3),
    indexing("bool_mask", MASK),
    indexing("bool_mask_rows", np.array([True, False, True, True])),
    indexing("bool_mask_all_false", np.zeros(X, bool), empty=[X]),
    OpCase("getitem_function", lambda x: td.getitem(x, (slice(1, 3), [0, 2, 0])),
           lambda x: x[1:3, [0, 2, 0]], [X], exact=True,
           torch=lambda x: x[1:3, torch.tensor([0, 2, 0])]),
]


class TestIndex(OpTable):
    cases = CASES


def test_repeated_integer_indices_accumulate():
    x = td.Tensor(np.arange(4.0), requires_grad=True)
    x[np.array([0, 2, 2, 2, 3])].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0, 3.0, 1.0])


def test_mask_from_the_data():
    # the common idiom: a mask computed from the tensor itself
    x = td.Tensor(np.array([[0.5, -1.0], [2.0, 0.05]]), requires_grad=True)
    (x[x.data > 0.1] * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[3.0, 0.0], [3.0, 0.0]])
