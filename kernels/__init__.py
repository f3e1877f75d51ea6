"""Numba kernels for tinydl (installed as ``tinydl.kernels``), each with a plain-NumPy twin.

Every kernel is compiled on its first call and cached on disk (``cache=True``: next to the
source, or under ``NUMBA_CACHE_DIR``), so only the first run of a process that uses one pays
for it. That first compile is announced with one line on stderr, printed once per process
and only when something really compiles (a cache hit is silent)::

    tinydl: compiling Numba kernels once, about 6-12 s; cached afterwards (...)

``python -m tinydl.kernels --precompile`` compiles every kernel the ops use ahead of time
(after installing, or in a container build), so that no later run waits.

Every kernel is compiled with ``no_cfunc_wrapper=True``: Numba otherwise also builds a C
entry point for each one, used only when a jitted function is passed around as a value,
which tinydl never does. The small helpers that only other kernels call (``_inside``, the
Winograd transforms, ``_dot``) also have ``no_cpython_wrapper=True``: no entry point from
Python (calling one from Python raises), so no argument-unboxing code to compile. Both
wrappers are code LLVM optimises and Numba caches; dropping them took about 8% off the
kernels' own compile (one process, interleaved rounds), 2-3% off a whole cold
``--precompile``, which also pays for Python's start, the imports and Numba's set-up.
"""
import sys

# Measured: the cold compile of every kernel (``--precompile`` with an empty NUMBA_CACHE_DIR,
# Python's start and the imports included) took 6-7 CPU seconds on a 2-core Intel Xeon VM and
# 9-11 on a 2-core AMD EPYC Zen 4 VM, 7-8 on a Zen 5 one (December 2026, idle to lightly
# loaded); LLVM's share of it runs slower on the Zen 4. A script compiles only the kernels it uses.
COLD_COMPILE_SECONDS = "6-12"

_announced = False


def _announce(event):
    """Print the compile notice the first time one of this package's kernels compiles."""
    global _announced
    dispatcher = event.data.get("dispatcher") if isinstance(event.data, dict) else None
    module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
    if _announced or not module.startswith(__name__):
        return
    _announced = True
    print(f"tinydl: compiling Numba kernels once, about {COLD_COMPILE_SECONDS} s; cached "
          "afterwards (python -m tinydl.kernels --precompile does it ahead)", file=sys.stderr,
          flush=True)


def _install_notice():
    """Listen to Numba's ``numba:compile`` event, which fires on real compiles only (not when
    a compiled kernel is loaded from the cache)."""
    from numba.core import event

    class _Notice(event.Listener):
        def on_start(self, ev):
            _announce(ev)

        def on_end(self, ev):
            pass

    event.register("numba:compile", _Notice())


_install_notice()
