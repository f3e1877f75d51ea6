"""Test surfaces: values against NumPy formulas, autograd gradients against hand-derived
ones, known critical points, and ``trajectory``."""
import numpy as np
import pytest
import scipy.optimize

import tinydl
from tinydl import optim
from tinydl.optim import testfns as tf

RNG = np.random.default_rng(0)
POINTS = RNG.uniform(-3, 3, size=(6, 2))


def value_and_grad(fn, point, **kw):
    p = tinydl.Tensor(np.asarray(point, dtype=np.float64), requires_grad=True)
    out = fn(p, **kw)
    out.backward()
    return out.item(), p.grad.data.copy()


# Hand-derived formulas in NumPy: (value, gradient) at (x, y).
def himmelblau_ref(x, y):
    a, b = x * x + y - 11, x + y * y - 7
    return a * a + b * b, np.array([4 * x * a + 2 * b, 2 * a + 4 * y * b])


def monkey_ref(x, y):
    return x ** 3 - 3 * x * y * y, np.array([3 * x * x - 3 * y * y, -6 * x * y])


def rosenbrock_ref(x, y):
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2, \
        np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


def peaks_ref(x, y):
    e1, e2, e3 = np.exp(-x * x - (y + 1) ** 2), np.exp(-x * x - y * y), np.exp(-(x + 1) ** 2 - y * y)
    u = x / 5 - x ** 3 - y ** 5
    f = 3 * (1 - x) ** 2 * e1 - 10 * u * e2 - e3 / 3
    dx = (-6 * (1 - x) * e1 - 6 * x * (1 - x) ** 2 * e1 - 10 * (0.2 - 3 * x * x) * e2
          + 20 * x * u * e2 + 2 * (x + 1) * e3 / 3)
    dy = (-6 * (y + 1) * (1 - x) ** 2 * e1 + 50 * y ** 4 * e2 + 20 * y * u * e2 + 2 * y * e3 / 3)
    return f, np.array([dx, dy])


def complex_peaks_ref(x, y, w=2.0, sigma=2.0):
    env = np.exp(-(x * x + y * y) / (2 * sigma ** 2))
    s, c = np.sin(w * x), np.cos(w * y)
    f = s * c * env
    return f, np.array([w * np.cos(w * x) * c * env - x / sigma ** 2 * f,
                        -w * s * np.sin(w * y) * env - y / sigma ** 2 * f])


CASES = [(tf.himmelblau, himmelblau_ref), (tf.monkey_saddle, monkey_ref),
         (tf.rosenbrock, rosenbrock_ref), (tf.peaks, peaks_ref),
         (tf.complex_peaks, complex_peaks_ref)]


@pytest.mark.parametrize("fn, ref", CASES, ids=[f.__name__ for f, _ in CASES])
def test_value_and_gradient_match_hand_derivation(fn, ref):
    for point in POINTS:
        value, grad = value_and_grad(fn, point)
        ref_value, ref_grad = ref(*point)
        assert value == pytest.approx(ref_value, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-10,
                                   err_msg=f"{fn.__name__} at {point}")


@pytest.mark.parametrize("fn, ref", CASES, ids=[f.__name__ for f, _ in CASES])
def test_grid_input_gives_surface(fn, ref):
    xs, ys = np.meshgrid(np.linspace(-2, 2, 5), np.linspace(-1, 1, 3))
    surface = fn(tinydl.Tensor(np.stack([xs, ys], axis=-1)))
    assert surface.shape == (3, 5)
    np.testing.assert_allclose(surface.data, ref(xs, ys)[0], rtol=1e-12, atol=1e-12)


def test_bad_shape_raises():
    with pytest.raises(ValueError, match="himmelblau.*\\(3,\\)"):
        tf.himmelblau(tinydl.Tensor(np.zeros(3)))
    with pytest.raises(ValueError, match="complex_peaks"):
        tf.complex_peaks(np.zeros(2), w=0.0)


def test_all_four_himmelblau_minima_have_zero_gradient():
    assert len(tf.HIMMELBLAU_MINIMA) == 4
    for listed in tf.HIMMELBLAU_MINIMA:
        value, grad = value_and_grad(tf.himmelblau, listed)
        assert value < 1e-9 and np.abs(grad).max() < 1e-3, listed
        # Polish the 6-decimal coordinates with a root finder on the reference gradient:
        # the true critical point is within rounding distance, and autograd's gradient
        # vanishes there to round-off.
        root = scipy.optimize.root(lambda v: himmelblau_ref(*v)[1], listed, tol=1e-14).x
        assert np.abs(root - listed).max() < 1e-6
        value, grad = value_and_grad(tf.himmelblau, root)
        assert value < 1e-20 and np.abs(grad).max() < 1e-9


def test_monkey_saddle_is_a_degenerate_critical_point():
    value, grad = value_and_grad(tf.monkey_saddle, (0.0, 0.0))
    assert value == 0.0 and np.array_equal(grad, [0.0, 0.0])
    # three descending valleys: along angles pi/3, pi, 5 pi/3 the function is negative
    for angle in (np.pi / 3, np.pi, 5 * np.pi / 3):
        assert tf.monkey_saddle(0.1 * np.array([np.cos(angle), np.sin(angle)])).item() < 0


def test_peaks_known_extrema():
    # MATLAB's peaks: minimum -6.5511 at (0.2283, -1.6255), maximum 8.1062 at (-0.0093, 1.5814)
    value, grad = value_and_grad(tf.peaks, (0.22827895, -1.62553503))
    assert value == pytest.approx(-6.5511, abs=1e-4) and np.abs(grad).max() < 1e-5
    value, grad = value_and_grad(tf.peaks, (-0.00931757, 1.58136786))
    assert value == pytest.approx(8.1062, abs=1e-4) and np.abs(grad).max() < 1e-5


def test_complex_peaks_has_many_wells_deepest_near_origin():
    starts = [(-0.8, 0), (0.8, 1.6), (-0.8, 3.1), (2.4, 0), (-2.4, 1.6)]
    minima = [scipy.optimize.minimize(lambda v: complex_peaks_ref(*v)[0], s,
                                      jac=lambda v: complex_peaks_ref(*v)[1]) for s in starts]
    points = np.array([m.x for m in minima])
    assert len({tuple(np.round(p, 3)) for p in points}) == len(starts)
    values = [m.fun for m in minima]
    assert np.argmin(values) == 0 and values[0] == pytest.approx(-0.93, abs=0.01)
    for p in points:
        assert np.abs(value_and_grad(tf.complex_peaks, p)[1]).max() < 1e-5


def test_trajectory_sgd_momentum_reaches_3_2_on_himmelblau():
    """The issue's acceptance line: momentum 0.05, lr 0.01 from (0, 0): 50 steps suffice."""
    path = tf.trajectory(tf.himmelblau, (0.0, 0.0), optim.SGD, 50, lr=0.01, momentum=0.05)
    assert path.shape == (51, 2) and path.dtype == np.float64
    assert np.array_equal(path[0], [0.0, 0.0])
    assert np.abs(path[-1] - [3.0, 2.0]).max() < 1e-3
    # the same heavy-ball recursion written out in NumPy on the hand-derived gradient
    theta, buf = np.zeros(2), None
    for k in range(1, 51):
        g = himmelblau_ref(*theta)[1]
        buf = g.copy() if buf is None else 0.05 * buf + g
        theta = theta - 0.01 * buf
        np.testing.assert_allclose(path[k], theta, rtol=1e-12, atol=1e-12)


def test_trajectory_steps_the_schedule_after_each_optimizer_step():
    # StepLR with gamma 0 zeroes lr after 5 steps: the path follows plain SGD, then stops.
    plain = tf.trajectory(tf.rosenbrock, (-1.0, 1.0), optim.SGD, 8, lr=1e-3)
    frozen = tf.trajectory(tf.rosenbrock, (-1.0, 1.0), optim.SGD, 8, lr=1e-3,
                           schedule=lambda o: optim.lr_scheduler.StepLR(o, step_size=5, gamma=0.0))
    np.testing.assert_array_equal(frozen[:6], plain[:6])
    assert np.all(frozen[6:] == frozen[5]) and not np.array_equal(plain[6], plain[5])
    with pytest.raises(ValueError, match="x0"):
        tf.trajectory(tf.rosenbrock, (0.0, 0.0, 0.0), optim.SGD, 3, lr=0.1)
