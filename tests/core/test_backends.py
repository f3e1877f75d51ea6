"""``tinydl.backends``: reading, setting and checking the switches, ``flags`` restoring them,
the ``TINYDL_NUMBA`` start value, and the ops that follow them (convolution routes, pooling,
NMS)."""
import os
import subprocess
import sys

import numpy as np
import pytest

import tinydl
import tinydl.nn.functional as F
from tinydl import backends

DEFAULTS = {"winograd": True, "winograd_min_channels": 16, "winograd_min_pixels": 64,
            "sample_major_min_pixels": 512, "conv_route": "auto"}


def test_settings_have_their_documented_defaults():
    current = backends.settings()
    assert set(current) == {"numba", *DEFAULTS}
    for name, value in DEFAULTS.items():
        assert current[name] == value, name
        assert getattr(tinydl.backends, name) == value, name
    assert current["numba"] == (os.environ.get("TINYDL_NUMBA", "1") != "0")


def test_setting_an_attribute_checks_it_and_lasts():
    before = backends.sample_major_min_pixels
    try:
        tinydl.backends.sample_major_min_pixels = 64
        assert backends.sample_major_min_pixels == 64
        assert backends.settings()["sample_major_min_pixels"] == 64
        tinydl.backends.sample_major_min_pixels = np.int64(0)  # any integer, stored as int
        assert type(backends.sample_major_min_pixels) is int
        with pytest.raises(AttributeError, match="cannot be deleted"):
            del tinydl.backends.sample_major_min_pixels
    finally:
        tinydl.backends.sample_major_min_pixels = before


@pytest.mark.parametrize("name,value,error,match", [
    ("numba", 1, TypeError, r"tinydl.backends.numba must be True or False, got 1"),
    ("winograd", "yes", TypeError, r"winograd must be True or False"),
    ("winograd_min_channels", 0, ValueError, r"winograd_min_channels must be >= 1, got 0"),
    ("winograd_min_channels", 2.5, TypeError, r"winograd_min_channels must be an int"),
    ("sample_major_min_pixels", -1, ValueError, r"sample_major_min_pixels must be >= 0"),
    ("sample_major_min_pixels", True, TypeError, r"must be an int, got True"),
    ("conv_route", "fft", ValueError, r"conv_route must be one of auto, reference, "
                                      r"sample-major, channel-major, winograd, got 'fft'"),
    ("numbaa", False, AttributeError, r"no setting 'numbaa'; the settings are numba, "),
])
def test_bad_values_and_unknown_names_raise_and_change_nothing(name, value, error, match):
    before = backends.settings()
    with pytest.raises(error, match=match):
        setattr(tinydl.backends, name, value)
    with pytest.raises(error, match=match):
        backends.flags(**{name: value})
    with pytest.raises(error, match=match):
        other = "winograd_min_channels" if name == "sample_major_min_pixels" else \
            "sample_major_min_pixels"
        backends.flags(**{other: 3, name: value})  # checked before anything changes
    assert backends.settings() == before
    assert not hasattr(tinydl.backends, "numbaa")


def test_flags_set_inside_the_block_and_restore_after_it_also_on_errors():
    before = backends.settings()
    with backends.flags(numba=False, winograd=False) as block:
        assert isinstance(block, backends.flags)
        assert backends.numba is False and backends.winograd is False
        assert backends.winograd_min_channels == before["winograd_min_channels"]
        with backends.flags(numba=True, conv_route="reference"):  # blocks nest
            assert backends.numba is True and backends.conv_route == "reference"
        assert backends.numba is False and backends.conv_route == "auto"
    assert backends.settings() == before
    with pytest.raises(KeyError):
        with backends.flags(sample_major_min_pixels=7):
            raise KeyError("inside")
    assert backends.settings() == before
    reusable = backends.flags(winograd_min_channels=4)
    for _ in range(2):
        with reusable:
            assert backends.winograd_min_channels == 4
        assert backends.settings() == before


@pytest.mark.parametrize("env,expected", [("0", False), ("1", True), (None, True)])
def test_the_environment_variable_gives_the_start_value(env, expected):
    environ = {k: v for k, v in os.environ.items() if k != "TINYDL_NUMBA"}
    if env is not None:
        environ["TINYDL_NUMBA"] = env
    code = "import tinydl; print(tinydl.backends.numba)"
    result = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == str(expected)


def _routes_taken(monkeypatch, call):
    """The names of the convolution routes chosen while ``call()`` runs."""
    from tinydl.ops import conv as oconv

    taken = []
    real = oconv.choose_route

    def spy(*args):
        route = real(*args)
        taken.append(route.name)
        return route

    monkeypatch.setattr(oconv, "choose_route", spy)
    call()
    monkeypatch.undo()
    return taken


def test_convolution_routes_follow_the_switches(monkeypatch):
    def conv(x_shape, f, dtype=np.float32, groups=1):
        x = tinydl.Tensor(np.ones(x_shape, dtype))
        w = tinydl.Tensor(np.ones((f, x_shape[1] // groups, 3, 3), dtype))
        return lambda: F.conv2d(x, w, padding=1, groups=groups)

    def taken(call, **settings):
        with backends.flags(**settings):
            return _routes_taken(monkeypatch, call)

    big, small, wide = conv((2, 3, 32, 32), 4), conv((2, 3, 8, 8), 4), conv((2, 16, 8, 8), 16)
    assert taken(big, numba=True) == ["sample-major"]  # 1024 output pixels per image
    assert taken(small, numba=True) == ["channel-major"]  # 64
    assert taken(small, numba=True, sample_major_min_pixels=64) == ["sample-major"]
    assert taken(big, numba=True, sample_major_min_pixels=1025) == ["channel-major"]
    assert taken(wide, numba=True) == ["winograd"]
    assert taken(wide, numba=True, winograd=False) == ["channel-major"]
    assert taken(wide, numba=True, winograd_min_channels=17) == ["channel-major"]
    assert taken(conv((2, 8, 8, 8), 16), numba=True, winograd_min_channels=8) == ["winograd"]
    for call in (big, small, wide):
        assert taken(call, numba=False) == ["reference"]
    # a forced route serves what it fits, in any dtype, and leaves the rest to the choice
    assert taken(conv((2, 2, 5, 5), 3, np.float64), numba=True,
                 conv_route="winograd") == ["winograd"]
    assert taken(conv((2, 2, 5, 5), 3, np.float64), numba=False,
                 conv_route="winograd") == ["reference"]  # Winograd needs Numba
    assert taken(conv((2, 4, 5, 5), 4, groups=2), numba=True,
                 conv_route="sample-major") == ["channel-major"]  # sample-major: groups=1
    assert taken(big, numba=True, conv_route="reference") == ["reference"]


def test_pooling_and_nms_follow_the_numba_switch(monkeypatch):
    from tinydl.kernels import pool as kpool
    from tinydl.vision import boxes as vboxes

    calls = []
    monkeypatch.setattr(kpool, "max_pool_kernel",
                        lambda *a, _real=kpool.max_pool_kernel: calls.append("pool") or _real(*a))
    monkeypatch.setattr(vboxes, "nms_numpy",
                        lambda *a, _real=vboxes.nms_numpy: calls.append("nms numpy") or _real(*a))
    x = tinydl.Tensor(np.arange(36, dtype=np.float32).reshape(1, 1, 6, 6))
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype=float)
    for numba in (True, False):
        with backends.flags(numba=numba):
            F.max_pool2d(x, 3, 1)
            assert tinydl.vision.nms(boxes, [0.9, 0.8, 0.7], 0.5).tolist() == [0, 2]
    assert calls == ["pool", "nms numpy"]
