"""gradcheck and gradgradcheck themselves: they must catch wrong gradients and say where."""
import numpy as np
import pytest

import tinydl as td
from tinydl.autograd import Function


class WrongSquare(Function):
    """x^2 with a deliberately wrong gradient in one element."""

    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        bump = np.zeros(x.shape)
        bump[1, 2] = 0.25
        return (g * 2 * x + td.Tensor(bump),)


class WrongSecondDerivative(Function):
    """sin(x) whose backward is written with constants, so its own gradient is wrong."""

    @staticmethod
    def forward(ctx, x):
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        return (g * td.Tensor(np.cos(ctx.inputs[0].data)),)


def test_gradcheck_names_input_element_and_values():
    x = td.Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    c = td.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(td.GradcheckError) as err:
        td.gradcheck(lambda a, b: WrongSquare.apply(a).sum() * b, [c, x][::-1])
    message = str(err.value)
    assert "input 0, element (1, 2)" in message
    assert "analytic" in message and "numeric" in message


def test_gradgradcheck_catches_a_wrong_second_derivative():
    x = td.Tensor(np.array([0.3, 1.1]), requires_grad=True)
    assert td.gradcheck(WrongSecondDerivative.apply, [x])
    with pytest.raises(td.GradcheckError):
        td.gradgradcheck(WrongSecondDerivative.apply, [x])


def test_gradcheck_large_input_uses_sampling_and_directions():
    x = td.Tensor(np.random.default_rng(1).standard_normal(3000), requires_grad=True)
    assert td.gradcheck(lambda t: (t.tanh() * t).sum(), [x])

    class Off(Function):
        @staticmethod
        def forward(ctx, t):
            return t * 2

        @staticmethod
        def backward(ctx, g):
            return (g * 2.01,)

    with pytest.raises(td.GradcheckError):
        td.gradcheck(Off.apply, [x])


def test_gradcheck_requires_float64():
    x = td.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="float64"):
        td.gradcheck(td.exp, [x])


def test_gradcheck_restores_non_contiguous_input():
    base = np.random.default_rng(2).standard_normal((4, 3))
    x = td.Tensor(base, requires_grad=True)
    x.data = x.data.T
    before = x.data
    assert td.gradcheck(lambda t: (t @ t.T).sum(), [x])
    assert x.data is before


def test_gradgradcheck_of_a_function_whose_backward_gives_no_gradient():
    """The first derivative is then zero (torch's reading): True, not an AttributeError from
    checking a function with no outputs."""
    class NoGrad(td.Function):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, g):
            return None

    x = td.Tensor(np.random.default_rng(0).random(3), requires_grad=True)
    assert td.gradgradcheck(lambda t: NoGrad.apply(t), (x,))


class FivePercentSine(Function):
    """sin(x) whose gradient is 5% too large everywhere."""

    @staticmethod
    def forward(ctx, x):
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        return (g * td.cos(ctx.inputs[0]) * 1.05,)


@pytest.mark.parametrize("scale", [100.0, 1e4])
@pytest.mark.parametrize("first", [True, False])
def test_gradcheck_checks_each_output_on_its_own(scale, first):
    """A wrong gradient of a small output beside a much larger one: summed into one scalar
    the error fell inside rtol of the large output's term (5% at 100x, 50% at 1e4x passed);
    torch checks each (output, input) pair, and so does tinydl now, naming the output."""
    x = td.Tensor(np.array([0.1, 0.2, 0.3]), requires_grad=True)

    def fn(t):
        outs = (FivePercentSine.apply(t), scale * td.exp(t))
        return outs if first else outs[::-1]
    with pytest.raises(td.GradcheckError, match=f"output {0 if first else 1}, input 0"):
        td.gradcheck(fn, [x])
    assert td.gradcheck(lambda t: (td.sin(t), scale * td.exp(t), (t * 0.0).detach()), [x])
    with pytest.raises(ValueError, match="no output"):
        td.gradcheck(lambda t: (), [x])
