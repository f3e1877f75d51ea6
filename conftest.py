"""Test-suite settings that must be in place before NumPy loads.

The suite multiplies small matrices; OpenBLAS's thread pool costs more than it gains there
and, on a busy 2-core machine, oversubscription made single tests 20x slower. An explicit
setting in the environment wins.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def pytest_configure(config):
    # Build graph edges for inputs of every size (the library skips arrays under 16 KB, where
    # freeing saves nothing), so every test checks each op's retain_inputs declaration.
    import tinydl.autograd
    tinydl.autograd._EDGE_MIN_BYTES = 0
