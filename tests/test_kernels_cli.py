"""``python -m tinydl.kernels --precompile``: runs, and compiles exactly the specialisations the
ops use (so that a precompiled cache leaves nothing to compile later)."""
import subprocess
import sys

import numpy as np


def test_precompile_command_runs_every_group():
    """Two subprocesses (``--precompile`` and the bare command, which prints help)."""
    # Uses the default (warm) cache: loading costs well under a second per group.
    done = subprocess.run([sys.executable, "-m", "tinydl.kernels", "--precompile"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    from tinydl.kernels.__main__ import GROUPS

    for name in GROUPS:
        assert name in done.stdout, done.stdout
    assert "done in" in done.stdout
    bare = subprocess.run([sys.executable, "-m", "tinydl.kernels"], capture_output=True,
                          text=True, timeout=600)
    assert bare.returncode == 0 and "--precompile" in bare.stdout  # help, compiles nothing


def _signatures():
    from tinydl.kernels import activation, conv, loss, nms, pool, svm, winograd

    found = {}
    for module in (activation, conv, loss, nms, pool, svm, winograd):
        for name in dir(module):
            dispatcher = getattr(module, name)
            if hasattr(dispatcher, "signatures") and hasattr(dispatcher, "py_func"):
                found[f"{module.__name__}.{name}"] = set(dispatcher.signatures)
    return found


def test_ops_use_only_the_precompiled_specialisations():
    """After precompile(), ordinary use (a small CNN's forward and backward on every conv
    route, pooling, NMS, LinearSVC) adds no new signature to any kernel."""
    import tinydl
    from tinydl import nn
    from tinydl.kernels.__main__ import precompile
    from tinydl.ml.svm import dual_coordinate_descent
    from tinydl.nn import functional as F

    precompile(out=open("/dev/null", "w"))
    before = _signatures()
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 16, 3, padding=1), nn.MaxPool2d(3, 1, 1),
                          nn.Flatten(), nn.Linear(16 * 4 * 4, 3))
    x = tinydl.Tensor(np.random.default_rng(0).normal(size=(4, 1, 8, 8)).astype(np.float32))
    for route in ("auto", "sample-major", "channel-major", "winograd"):
        with tinydl.backends.flags(conv_route=route):
            F.cross_entropy(model(x), tinydl.Tensor(np.array([0, 1, 2, 0]))).backward()
    import tinydl.vision

    tinydl.vision.nms(np.array([[0, 0, 2, 2], [0, 0, 2, 3.0]]), np.array([0.5, 0.9]), 0.3)
    X = np.random.default_rng(1).normal(size=(30, 3))
    dual_coordinate_descent(X, np.where(X[:, 0] > 0, 1.0, -1.0), 1, "hinge", 1e-3, 500,
                            np.random.default_rng(0), "test")
    assert _signatures() == before
