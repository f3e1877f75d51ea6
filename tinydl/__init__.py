"""tinydl: a from-scratch deep learning engine on NumPy.

The core: ``Tensor`` (tinydl/tensor.py), the reverse-mode engine and ``Function``
(tinydl/autograd.py), the ops (tinydl/ops/), finite-difference checks (tinydl/gradcheck.py).
Around it: ``tinydl.nn``, ``tinydl.optim``, ``tinydl.data``, ``tinydl.vision``, ``tinydl.gan``
and ``tinydl.ml``.
"""
from tinydl.tensor import (DeviceError, Tensor, bool_, float16, float32, float64, int8,  # isort: skip
                           int16, int32, int64, uint8)
from tinydl import random
from tinydl.autograd import (Function, enable_grad, grad, inference_mode, is_grad_enabled,
                             no_grad, set_grad_enabled)
from tinydl.factories import (arange, as_tensor, empty, eye, from_numpy, full, full_like,
                              linspace, logspace, ones, ones_like, rand, rand_like, randint,
                              randint_like, randn, randn_like, randperm, tensor, zeros,
                              zeros_like)
from tinydl.gradcheck import GradcheckError, gradcheck, gradgradcheck
# torch.autograd.functional (jacobian, hessian...); also reached as tinydl.autograd.functional
from tinydl import functional_autograd as autograd_functional
# Every op of the core, by the names in tinydl.ops.__all__ (tinydl.add, tinydl.cumsum...).
from tinydl.ops import *  # noqa: E402,F401,F403
from tinydl.ops.shape import concatenate as cat
from tinydl.random import get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from tinydl.serialization import SerializationError, load, save
from tinydl.threads import get_num_threads, set_num_threads
from tinydl.threads import apply_default as _apply_default_threads
from tinydl.allocator import apply_default as _apply_default_allocator

# One BLAS thread unless the user chose a count (the measurements are in tinydl/threads.py).
_apply_default_threads()
# Freed arrays stay with the process for the next step (glibc; see tinydl/allocator.py).
_apply_default_allocator()

__version__ = "0.1.0"

_SUBPACKAGES = ("nn", "optim", "data", "vision", "gan", "ml", "kernels", "backends", "linalg",
                "distributed", "rl", "viz", "profiler", "tune")
_SUBPACKAGES += ("special",)  # torch.special's names (tinydl/special.py)
_SUBPACKAGES += ("utils",)  # torch.utils's: tinydl.utils.checkpoint


# torch's one-word dtype names (torch.bool, torch.long...). Served by __getattr__ rather than
# defined here, so that ``from tinydl import *`` does not shadow Python's bool, float and int.
_TORCH_DTYPE_WORDS = {"bool": bool_, "half": float16, "float": float32, "double": float64,
                      "short": int16, "int": int32, "long": int64}


def __getattr__(name):
    # Subpackages load on first use (``tinydl.nn``), so ``import tinydl`` stays light.
    if name in _SUBPACKAGES:
        import importlib
        return importlib.import_module(f"tinydl.{name}")
    if name in _TORCH_DTYPE_WORDS:
        return _TORCH_DTYPE_WORDS[name]
    raise AttributeError(f"module 'tinydl' has no attribute {name!r}")
