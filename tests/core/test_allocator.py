"""The malloc thresholds that ``import tinydl`` sets (tinydl.allocator), each in a fresh process."""
import os
import platform
import subprocess
import sys

import pytest

from tinydl import allocator

glibc_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="the thresholds are glibc's")

# Loads tinydl/allocator.py by path (importing the package would cost each probe a second),
# then frees and allocates two 6 MiB arrays ten times, as a training step does its
# activations, and prints the page faults of the last ten rounds: with glibc's defaults the
# heap top above the trim threshold goes back to the kernel at every free and is faulted in
# again (about 1000 faults a round here); with tinydl's thresholds it stays.
_PROBE = f"""
import importlib.util, resource
import numpy as np
spec = importlib.util.spec_from_file_location("probe_allocator", {allocator.__file__!r})
allocator = importlib.util.module_from_spec(spec)
spec.loader.exec_module(allocator)
allocator.apply_default()
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(20):
    if i == 10:
        start = faults()
    a = np.ones(3 << 18)
    b = np.ones(3 << 18)
    del a, b
print(allocator.tuned, (faults() - start) / 10)
"""


def _probe(**env_changes):
    env = {k: v for k, v in os.environ.items()
           if k not in allocator.USER_VARIABLES + ("TINYDL_MALLOC", "GLIBC_TUNABLES")}
    env.update(env_changes)
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    tuned, faults = done.stdout.split()
    return tuned == "True", float(faults)


@glibc_only
def test_default_keeps_freed_memory_for_the_next_round():
    tuned, faults = _probe()
    assert tuned
    assert faults < 20, f"{faults} page faults a round with tinydl's thresholds"
    # The same rounds with glibc's own thresholds fault: the pattern measures what it should.
    tuned, faults = _probe(TINYDL_MALLOC="system")
    assert not tuned
    assert faults > 200, f"only {faults} page faults a round with glibc's defaults"


@glibc_only
@pytest.mark.parametrize("env", [{"MALLOC_TRIM_THRESHOLD_": "131072"},
                                 {"MALLOC_MMAP_THRESHOLD_": "131072"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=131072"},
                                 {"TINYDL_MALLOC": " System "}])
def test_a_users_choice_is_kept(env):
    tuned, _ = _probe(**env)
    assert not tuned


def test_unknown_setting_names_the_variable(monkeypatch):
    monkeypatch.setenv("TINYDL_MALLOC", "jemalloc")
    with pytest.raises(ValueError, match="TINYDL_MALLOC must be 'tuned' or 'system', got "
                                         "'jemalloc'"):
        allocator.apply_default()
