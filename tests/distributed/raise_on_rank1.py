"""Rank 1 raises while rank 0 waits in a collective: run under ``mpiexec -n 2 python -m
mpi4py`` the whole job must end, non-zero, within seconds (test_ddp.py)."""
import numpy as np

import tinydl.distributed as dist

dist.init_process_group("mpi")
if dist.get_rank() == 1:
    raise ValueError("rank 1 fails on purpose")
# Rank 0 waits here for a rank that is gone: only mpi4py's abort can end it.
dist.all_reduce(np.ones(3))
