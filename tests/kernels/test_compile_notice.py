"""The first-run notice: one line on stderr when a kernel really compiles, nothing when it
loads from Numba's cache. Costs about 2 s: two subprocesses and one small kernel's compile."""
import os
import subprocess
import sys

NOTICE = "tinydl: compiling Numba kernels once"
SCRIPT = """
import numpy as np
from tinydl.kernels.svm import shuffle_kernel
order = np.arange(10, dtype=np.int64)
shuffle_kernel(order, 10, np.uint64(3))
shuffle_kernel(order, 5, np.uint64(4))
print(sorted(order.tolist()) == list(range(10)))
"""


def _run(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, timeout=300)


def test_notice_on_a_cold_cache_only(tmp_path):
    cold = _run(tmp_path)
    assert cold.returncode == 0, cold.stderr
    assert cold.stdout.strip() == "True"
    assert cold.stderr.count(NOTICE) == 1, cold.stderr
    assert "cached afterwards" in cold.stderr
    assert any(tmp_path.rglob("*.nbi")), "nothing was cached"
    warm = _run(tmp_path)
    assert warm.returncode == 0, warm.stderr
    assert NOTICE not in warm.stderr, warm.stderr


def test_notice_ignores_other_numba_code(capsys):
    """A user's own @njit function compiling does not print tinydl's notice."""
    import numba

    import tinydl.kernels as kernels

    before = kernels._announced
    kernels._announced = False
    try:
        @numba.njit
        def user_function(x):
            return x + 1

        assert user_function(1) == 2
        assert NOTICE not in capsys.readouterr().err
        assert kernels._announced is False
    finally:
        kernels._announced = before
