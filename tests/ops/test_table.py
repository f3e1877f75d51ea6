"""The op table's checks catch what they are there to catch: each runs on a deliberately broken
op and must fail (a table whose checks cannot fail tests nothing)."""
import numpy as np
import pytest

import tinydl as td
from tests.ops import _table
from tests.ops._table import Arg, OpCase, OpTable, positive


def square_row(op, **kw):
    """A row claiming that ``op`` computes x^2."""
    return OpCase("square", op.apply, np.square, [(3, 4)], **kw)


class Square(td.Function):
    """x^2, correct: the control that every check passes."""

    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.inputs
        return 2 * g * x


class WrongGradient(Square):
    """Gradient off by a factor 2."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.inputs
        return g * x


class ConstantGradient(Square):
    """Right first derivative, computed in NumPy: its gradient has no graph, so the second
    derivative is lost."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.inputs
        return td.Tensor(2 * g.data * x.data)


class Float64Output(Square):
    """Right values, but float32 in gives float64 out."""

    @staticmethod
    def forward(ctx, x):
        return (x * x).astype(np.float64)


class FlatIndexing(Square):
    """Reads its input in memory order, right only for C-contiguous arrays."""

    @staticmethod
    def forward(ctx, x):
        return np.square(x.ravel(order="K").reshape(x.shape))


class InPlace(Square):
    """Right values, but squares its input in place."""

    # Made as tinydl's own ops are: a custom Function gets read-only views of its inputs, so
    # tinydl itself would refuse the write; built-in ops get the arrays, and the table's own
    # check is what this op tests.
    __module__ = "tinydl.ops.broken_for_the_table_test"

    @staticmethod
    def forward(ctx, x):
        np.multiply(x, x, out=x)
        return x.copy()


class ZeroDFails(Square):
    """Breaks on 0-d inputs (``x[0]`` of a scalar)."""

    @staticmethod
    def forward(ctx, x):
        return x * x if x.ndim else x[0] * x[0]


class EmptyWrongShape(Square):
    """Loses the shape of zero-size inputs."""

    @staticmethod
    def forward(ctx, x):
        return x * x if x.size else np.zeros(0, x.dtype)


def test_the_correct_op_passes_every_check():
    row = square_row(Square, torch=lambda x: x * x, zero_d=True, empty=[(0, 3)])
    for dtype in (np.float64, np.float32):
        _table.check_forward(row, dtype)
    if _table.torch is not None:
        _table.check_torch(row)
    _table.check_gradcheck(row)
    _table.check_gradgradcheck(row)
    _table.check_non_contiguous(row)
    _table.check_zero_d(row)
    _table.check_empty(row)


@pytest.mark.parametrize("op, check, message", [
    (WrongGradient, _table.check_gradcheck, "analytic gradient"),
    (WrongGradient, _table.check_non_contiguous, "analytic gradient"),
    (ConstantGradient, _table.check_gradgradcheck, "gradgradcheck|gradcheck"),
    (Float64Output, lambda row: _table.check_forward(row, np.float32), "float64"),
    (FlatIndexing, _table.check_non_contiguous, "strided inputs"),
    (InPlace, _table.check_non_contiguous, "written to|strided"),
    (InPlace, lambda row: _table.check_forward(row, np.float64), "forward"),
    (ZeroDFails, _table.check_zero_d, "index"),
    (EmptyWrongShape, _table.check_empty, "shape"),
], ids=["gradcheck", "gradcheck_on_views", "gradgradcheck", "dtype", "non_contiguous_values",
        "input_written", "forward", "zero_d", "empty"])
def test_each_check_fails_on_a_broken_op(op, check, message):
    row = square_row(op, zero_d=True, empty=[(0, 3)])
    with pytest.raises((AssertionError, IndexError, ValueError), match=message):
        check(row)


@pytest.mark.skipif(_table.torch is None, reason="torch (the optional oracle) not installed")
def test_torch_check_fails_on_a_wrong_gradient():
    row = square_row(WrongGradient, torch=lambda x: x * x)
    with pytest.raises(AssertionError, match="gradient of input 0 vs torch"):
        _table.check_torch(row)


def test_a_wrong_reference_fails_the_forward():
    row = OpCase("log_claimed_log1p", td.log, np.log1p, [Arg((3,), positive)])
    with pytest.raises(AssertionError, match="log_claimed_log1p: forward output 0"):
        _table.check_forward(row, np.float64)


def test_factory_generates_only_checks_with_rows_and_refuses_duplicate_names():
    class TestOnlyForward(OpTable):
        cases = [OpCase("exp", td.exp, np.exp, [(2,)], grad=False, non_contiguous=False)]

    assert hasattr(TestOnlyForward, "test_forward")
    assert not hasattr(TestOnlyForward, "test_gradcheck")
    assert not hasattr(TestOnlyForward, "test_zero_d")
    with pytest.raises(AssertionError, match="rows named twice.*exp"):
        class TestTwice(OpTable):
            cases = [OpCase("exp", td.exp, np.exp, [(2,)])] * 2
