"""tinydl.distributed: data-parallel training on MPI (the ``mpi`` extra).

Every rank (an ``mpiexec -n K`` process) holds a replica of the model, computes gradients
on its shard of each batch (``DistributedSampler``), and ``DistributedDataParallel``
averages them with allreduces overlapped with backward, so the optimizer steps every replica
identically; ``SyncBatchNorm`` normalises over the whole batch. Names follow
``torch.distributed``.

    mpiexec -n 4 python -m mpi4py train.py     # -m mpi4py: an exception on one rank ends all

Importing this package needs nothing beyond tinydl; calling into it needs mpi4py and an MPI
library: ``pip install "tinydl[mpi]"``. A plain ``python train.py`` is world size 1 on the
same code path.
"""
from tinydl.distributed.checkpoint import load_checkpoint, save_checkpoint
from tinydl.distributed.ddp import DistributedDataParallel
from tinydl.distributed.process_group import (ReduceOp, all_gather, all_reduce, barrier, broadcast,
                                              destroy_process_group, get_rank, get_world_size,
                                              init_process_group, is_available, is_initialized,
                                              reduce_scatter)
from tinydl.distributed.sampler import DistributedSampler
from tinydl.distributed.sync_batchnorm import SyncBatchNorm, convert_sync_batchnorm

__all__ = [
    "init_process_group", "destroy_process_group", "is_initialized", "is_available",
    "get_rank", "get_world_size", "barrier", "ReduceOp", "all_reduce", "broadcast",
    "all_gather", "reduce_scatter", "DistributedSampler", "DistributedDataParallel",
    "SyncBatchNorm", "convert_sync_batchnorm", "save_checkpoint", "load_checkpoint",
]
