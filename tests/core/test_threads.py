"""tinydl.set_num_threads / get_num_threads and the import-time default (tinydl.threads)."""
import os
import subprocess
import sys

import numpy as np
import pytest

from tinydl import threads


@pytest.fixture
def restore_threads():
    before = threads.get_num_threads()
    chosen = threads._chosen
    yield
    threads.set_num_threads(before)
    threads._chosen = chosen


def test_set_and_get_round_trip(restore_threads):
    from threadpoolctl import threadpool_info

    for n in (1, 2, 1):
        threads.set_num_threads(n)
        assert threads.get_num_threads() == n
        blas = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        assert blas and all(count == n for count in blas)
    threads.set_num_threads(np.int64(1))
    assert threads.get_num_threads() == 1
    a = np.random.default_rng(0).normal(size=(64, 64))
    np.testing.assert_allclose(a @ np.eye(64), a)  # BLAS still works


@pytest.mark.parametrize("bad,error", [(0, ValueError), (-2, ValueError), (1.5, TypeError),
                                       ("2", TypeError), (True, TypeError)])
def test_bad_counts_name_the_function(bad, error, restore_threads):
    with pytest.raises(error, match="set_num_threads"):
        threads.set_num_threads(bad)


# Loads tinydl/threads.py by path: importing the whole package would triple each probe's cost.
_PROBE = f"""
import importlib.util
import numpy as np
spec = importlib.util.spec_from_file_location("probe_threads", {threads.__file__!r})
threads = importlib.util.module_from_spec(spec)
spec.loader.exec_module(threads)
print(threads.apply_default(), threads.get_num_threads())
"""


def _probe(**env_changes):
    env = {k: v for k, v in os.environ.items()
           if k not in threads.THREAD_ENV_VARS + ("TINYDL_NUM_THREADS",)}
    env.update(env_changes)
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_default_applies_only_when_the_user_chose_nothing():
    applied, count = _probe()
    assert applied == str(threads.DEFAULT_THREADS) and count == applied
    # OpenBLAS read the variable itself; tinydl leaves the pool as it found it.
    assert _probe(OPENBLAS_NUM_THREADS="2") == ["None", "2"]
    assert _probe(TINYDL_NUM_THREADS="2") == ["2", "2"]


def test_explicit_call_wins_over_the_default(restore_threads):
    threads.set_num_threads(2)
    assert threads.apply_default() is None
    assert threads.get_num_threads() == 2
