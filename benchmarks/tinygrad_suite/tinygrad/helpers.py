"""The environment switches tinygrad's tests read, fixed for a NumPy CPU engine."""
import contextlib
import os

IMAGE = DEBUG = CI = CPU_LLVM = AMD_LLVM = EMULATE = 0


def getenv(key, default=0):
    return type(default)(os.getenv(key, default))


@contextlib.contextmanager
def Context(**kwargs):
    yield
