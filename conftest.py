"""Test-suite settings that must be in place before NumPy loads.

The suite multiplies small matrices; OpenBLAS's thread pool costs more than it gains there
and, on a busy 2-core machine, oversubscription made single tests 20x slower. An explicit
setting in the environment wins.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
