"""Two-dimensional test surfaces for watching optimizers, and ``trajectory()``.

Every surface takes one Tensor ``p`` of shape (..., 2) holding points (x, y) in its last
axis and returns a Tensor of shape (...): a single point (2,) gives a scalar to call
``backward()`` on, a grid (H, W, 2) gives an (H, W) surface to plot. Array-likes are
converted to Tensors. The functions are built from differentiable Tensor ops, so their
gradients come from autograd.
"""
import numpy as np

from tinydl.tensor import Tensor

#: The four minima of Himmelblau's function (all with value 0), to 6 decimals.
HIMMELBLAU_MINIMA = ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186),
                     (3.584428, -1.848126))


def _xy(p, name):
    if not isinstance(p, Tensor):
        p = Tensor(p if isinstance(p, np.ndarray) else np.asarray(p, dtype=np.float64))
    if p.ndim == 0 or p.shape[-1] != 2:
        raise ValueError(f"testfns.{name}: expected points of shape (..., 2), got {p.shape}")
    return p[..., 0], p[..., 1]


def himmelblau(p):
    """Himmelblau's function ``(x^2 + y - 11)^2 + (x + y^2 - 7)^2``.

    Four minima of value 0 (``HIMMELBLAU_MINIMA``: (3, 2) and three irrational ones) and a
    local maximum near (-0.27, -0.92). Shape (..., 2) -> (...).
    """
    x, y = _xy(p, "himmelblau")
    return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2


def monkey_saddle(p):
    """The monkey saddle ``x^3 - 3 x y^2``: a degenerate critical point at the origin.

    Three valleys run down from the origin (room for two legs and a tail); the gradient
    and the Hessian both vanish there. Unbounded below. Shape (..., 2) -> (...).
    """
    x, y = _xy(p, "monkey_saddle")
    return x ** 3 - 3 * x * y * y


def peaks(p):
    """MATLAB's ``peaks``: three Gaussian peaks and two pits on [-3, 3]^2.

    ``3 (1-x)^2 exp(-x^2 - (y+1)^2) - 10 (x/5 - x^3 - y^5) exp(-x^2 - y^2)
    - exp(-(x+1)^2 - y^2) / 3``. Global minimum about -6.55 near (0.228, -1.626), a
    shallower local minimum about -3.05 near (-1.35, 0.205). Shape (..., 2) -> (...).
    """
    x, y = _xy(p, "peaks")
    return (3 * (1 - x) ** 2 * (-(x * x) - (y + 1) ** 2).exp()
            - 10 * (x / 5 - x ** 3 - y ** 5) * (-(x * x) - y * y).exp()
            - (-((x + 1) ** 2) - y * y).exp() / 3)


def complex_peaks(p, w=2.0, sigma=2.0):
    """An egg-crate of wells and peaks under a Gaussian envelope (many local minima).

    ``f(x, y) = sin(w x) cos(w y) exp(-(x^2 + y^2) / (2 sigma^2))``, with the notes'
    defaults w = 2 (angular frequency: wells pi / w apart along each axis) and sigma = 2
    (the envelope's width). Minima sit near ``sin(w x) = -1, cos(w y) = +1`` and
    ``sin(w x) = +1, cos(w y) = -1``; the envelope makes those nearest the origin the
    deepest (about -0.93 near (-0.74, 0)), so where an optimizer settles depends on its
    step sizes and momentum. Shape (..., 2) -> (...).
    """
    if not (w > 0 and sigma > 0):
        raise ValueError(f"testfns.complex_peaks: w and sigma must be positive, got {w}, {sigma}")
    x, y = _xy(p, "complex_peaks")
    return (w * x).sin() * (w * y).cos() * (-(x * x + y * y) / (2 * sigma ** 2)).exp()


def rosenbrock(p, a=1.0, b=100.0):
    """Rosenbrock's banana valley ``(a - x)^2 + b (y - x^2)^2``; minimum 0 at (a, a^2).

    Shape (..., 2) -> (...).
    """
    x, y = _xy(p, "rosenbrock")
    return (a - x) ** 2 + b * (y - x * x) ** 2


def trajectory(fn, x0, optimizer_cls, steps, *, schedule=None, **kw):
    """The path of ``optimizer_cls(**kw)`` minimising ``fn`` from ``x0``: array (steps + 1, 2).

    Works in float64. Row 0 is ``x0``; row k the point after k optimizer steps. If
    ``schedule`` is given it is called once as ``schedule(optimizer)`` and the scheduler
    it returns is stepped after every optimizer step. A diverging path shows as inf/nan.
    """
    start = np.asarray(x0, dtype=np.float64)
    if start.shape != (2,):
        raise ValueError(f"testfns.trajectory: x0 must be a point (x, y), got shape {start.shape}")
    if not (isinstance(steps, int) and steps >= 0):
        raise ValueError(f"testfns.trajectory: steps must be an int >= 0, got {steps!r}")
    point = Tensor(start.copy(), requires_grad=True)
    optimizer = optimizer_cls([point], **kw)
    scheduler = schedule(optimizer) if schedule is not None else None
    path = np.empty((steps + 1, 2))
    path[0] = start
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, steps + 1):
            optimizer.zero_grad()
            fn(point).backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            path[k] = point.data
    return path
