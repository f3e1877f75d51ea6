"""How freed array memory is kept for the next training step: glibc's malloc thresholds.

A training step allocates the same arrays every time (activations, their gradients, im2col
columns), most between 128 KiB and a few MiB, and frees them all before the next step.
glibc's malloc serves a block over ``M_MMAP_THRESHOLD`` (128 KiB at start) with its own
``mmap`` and gives it back at ``free``; a smaller one comes from the heap, whose free top
above ``M_TRIM_THRESHOLD`` is given back to the kernel at ``free``. Either way the next step
touches new pages, and the kernel must fault and zero each one. glibc raises both thresholds
by itself, but only to the largest mmapped block freed so far (and twice that), so the cost
depends on the process's history: measured here (2-core VM, one BLAS thread), a LeNet-5
training step at batch 64 in a fresh process that had never freed a large array took 7.0-7.3
ms with 616 page faults a step, 4.5-5.5 ms with none once the thresholds were high; at
batch 32, 4.4 against 2.75 ms. The same script ran at the fast speed whenever it had first
freed a large array (a float64 dataset cast to float32), and PyTorch's LeNet epoch in one
benchmark process ran 1.06-1.13 s alone and 0.78 s after another workload had run.

``import tinydl`` therefore sets, on Linux with glibc, the thresholds glibc's own rule ends
at after freeing a block of its largest dynamic size: ``M_MMAP_THRESHOLD`` 32 MiB and
``M_TRIM_THRESHOLD`` 64 MiB (``mallopt``). Blocks under 32 MiB then come from the heap
whatever ran before, and up to 64 MiB of free heap top stays with the process for the next
step (the peak memory of a step, ``python -m benchmarks memory``, did not change). This is
the process's allocator, so NumPy, SciPy and torch arrays in the same process get it too.

Nothing is changed where the user chose already: ``TINYDL_MALLOC=system`` (glibc's
defaults), any of glibc's ``MALLOC_*_`` variables that set these thresholds, or
``GLIBC_TUNABLES`` with ``glibc.malloc`` settings. Elsewhere (macOS, Windows, musl) there is
nothing to do: ``tuned`` stays False.
"""
import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1  # mallopt parameter numbers, from glibc's <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest dynamic mmap threshold on 64-bit (4 MiB * 8)
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # and the trim threshold its rule pairs with it

# glibc's own variables for the thresholds: a user who set one chose.
USER_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                  "MALLOC_MMAP_MAX_")

tuned = False  # whether this process's malloc thresholds were set by tinydl


def user_chose():
    """Whether the environment already decides malloc's thresholds (see the module doc)."""
    return (any(os.environ.get(name) for name in USER_VARIABLES)
            or "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""))


def apply_default():
    """Called by ``import tinydl``: set the thresholds unless the user chose (module doc).

    ``TINYDL_MALLOC`` is ``tuned`` (the default) or ``system``. Returns whether it set them.
    """
    global tuned
    choice = os.environ.get("TINYDL_MALLOC", "tuned").strip().lower() or "tuned"
    if choice not in ("tuned", "system"):
        raise ValueError(f"tinydl: TINYDL_MALLOC must be 'tuned' or 'system', got "
                         f"{os.environ['TINYDL_MALLOC']!r}")
    if choice == "system" or user_chose() or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 (glibc only: musl has mallopt, no such rule)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # mallopt returns 1 on success (glibc refuses an mmap threshold above its 32 MiB ceiling).
    tuned = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return tuned
