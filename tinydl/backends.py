"""Switches between the fast routes of tinydl's ops, in the spirit of ``torch.backends`` and
Chainer's ``using_config``.

Every setting is a module attribute, read when an op runs, so a change takes effect at the
next call:

    ========================= ======= ==================================================
    setting                   default meaning
    ========================= ======= ==================================================
    numba                     True    use the Numba kernels of ``tinydl.kernels``; False
                                      runs their NumPy twins (pooling, NMS) and every
                                      convolution on the NumPy reference route of
                                      ``tinydl.ops.conv``
    winograd                  True    let float32 3x3 stride-1 convolutions take
                                      Winograd's F(2x2, 3x3) (``ops/conv_winograd.py``)
    winograd_min_channels     16      ... when they have at least this many channels in
                                      and out
    winograd_min_pixels       64      ... and at least this many output pixels per image
                                      (smaller maps run channel-major: 5x5 and smaller
                                      measured 1.0-2.0x faster that way)
    sample_major_min_pixels   512     groups=1 im2col convolutions with at least this many
                                      output pixels per image use sample-major columns,
                                      smaller ones channel-major (``ops/conv_im2col.py``)
    conv_route                "auto"  force one convolution route wherever it applies:
                                      "reference", "sample-major", "channel-major" or
                                      "winograd" (for tests and benchmarks; see below)
    ========================= ======= ==================================================

``numba`` starts False when the environment variable ``TINYDL_NUMBA`` is ``"0"`` (read once,
when this module is imported). A forced ``conv_route`` serves every convolution whose shape
it can compute (Winograd: 3x3 kernel, stride 1, dilation 1, groups 1, and ``numba`` on;
sample-major: groups 1), in any float dtype; the others take the automatic choice.

Set a value for the rest of the process, or for one block with ``flags``, which restores the
previous values when the block ends (also on an exception)::

    import tinydl
    tinydl.backends.winograd = False
    with tinydl.backends.flags(numba=False, conv_route="reference"):
        ...

A value of the wrong type, out of range, or an unknown setting name raises at once, naming
the setting. The settings are process-wide, as torch's are (not per thread).
"""
import functools
import importlib
import numbers
import os
import sys
import types

CONV_ROUTES = ("auto", "reference", "sample-major", "channel-major", "winograd")

numba = os.environ.get("TINYDL_NUMBA", "1") != "0"
winograd = True
winograd_min_channels = 16
winograd_min_pixels = 64
sample_major_min_pixels = 512
conv_route = "auto"


def _flag(name, value):
    if not isinstance(value, bool):
        raise TypeError(f"tinydl.backends.{name} must be True or False, got {value!r}")
    return value


def _count(minimum):
    def check(name, value):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise TypeError(f"tinydl.backends.{name} must be an int, got {value!r}")
        if value < minimum:
            raise ValueError(f"tinydl.backends.{name} must be >= {minimum}, got {value!r}")
        return int(value)
    return check


def _route(name, value):
    if value not in CONV_ROUTES:
        raise ValueError(f"tinydl.backends.{name} must be one of {', '.join(CONV_ROUTES)}, "
                         f"got {value!r}")
    return value


_CHECKS = {
    "numba": _flag,
    "winograd": _flag,
    "winograd_min_channels": _count(1),
    "winograd_min_pixels": _count(0),
    "sample_major_min_pixels": _count(0),
    "conv_route": _route,
}


def _checked(name, value):
    """``value`` as setting ``name`` stores it; raises for unknown names and bad values."""
    check = _CHECKS.get(name)
    if check is None:
        raise AttributeError(f"tinydl.backends has no setting {name!r}; the settings are "
                             f"{', '.join(_CHECKS)}")
    return check(name, value)


@functools.cache
def kernel_module(name):
    """The module ``tinydl.kernels.<name>`` (``"conv"``, ``"pool"``...), imported on first use
    (importing it loads Numba; its kernels compile at their first call) and cached: an import
    statement inside an op costs 2 us at every call, this lookup 0.1 us."""
    return importlib.import_module(f"tinydl.kernels.{name}")


def flat_kernel_takes(dtypes, first, *others):
    """Whether a Numba kernel that walks flat views can take these arrays: Numba on, the first
    array's dtype one of ``dtypes`` and every array of that dtype and C-contiguous (so that
    its flat view is the array itself). A plain loop: the optimizers ask for every parameter
    at every step (a generator cost 3 us there)."""
    dtype = first.dtype
    if not (numba and dtype in dtypes and first.flags.c_contiguous):
        return False
    for a in others:
        if a.dtype != dtype or not a.flags.c_contiguous:
            return False
    return True


def settings():
    """The current value of every setting, as a dict."""
    return {name: globals()[name] for name in _CHECKS}


class flags:
    """Context manager: the given settings inside the ``with`` block, the previous ones after.

    ``flags(numba=False, winograd=False)``. Every value is checked when ``flags`` is called,
    before anything changes. Blocks nest; each restores what was set when it was entered.
    """

    def __init__(self, **values):
        self._values = {name: _checked(name, value) for name, value in values.items()}
        self._previous = []

    def __enter__(self):
        self._previous.append({name: globals()[name] for name in self._values})
        globals().update(self._values)
        return self

    def __exit__(self, *exc):
        globals().update(self._previous.pop())
        return False


class _Backends(types.ModuleType):
    """The module's type: assigning an attribute checks the setting's name and value."""

    def __setattr__(self, name, value):
        if not (name.startswith("__") and name.endswith("__")):  # the import system's own
            value = _checked(name, value)
        super().__setattr__(name, value)

    def __delattr__(self, name):
        raise AttributeError(f"tinydl.backends.{name} cannot be deleted; assign a value instead")


sys.modules[__name__].__class__ = _Backends
