"""Checkpoints in data-parallel training: rank 0 writes, every rank reads.

All replicas hold the same parameters, so one copy is written: by rank 0, with
``tinydl.save`` (an ``.npz`` written to a temporary file and renamed into place, so a crash
never leaves half a checkpoint). A barrier follows, so no rank reads before the file is
complete. Every rank then loads the same file itself (a shared file system, as on a cluster's
home or scratch volume); ``broadcast_from_rank0=True`` instead lets rank 0 read and broadcast
the arrays, for ranks that do not see rank 0's disk.
"""
import numpy as np

from tinydl.distributed.process_group import _world_comm
from tinydl.serialization import load, save
from tinydl.tensor import Tensor


def save_checkpoint(obj, path):
    """Write ``obj`` (a state dict, or a dict of them) to ``path`` on rank 0 only, then wait
    until it is on disk. Collective: every rank must call it. Returns ``path``."""
    comm = _world_comm("save_checkpoint")
    error = None
    if comm.Get_rank() == 0:
        try:
            save(obj, path)
        except Exception as exc:  # told to every rank below, so none waits for a file forever
            error = f"{type(exc).__name__}: {exc}"
    error = comm.bcast(error, root=0)
    if error is not None:
        raise RuntimeError(f"save_checkpoint: rank 0 could not write {path}: {error}")
    return path


def load_checkpoint(path, broadcast_from_rank0=False):
    """Read a checkpoint written by ``save_checkpoint`` on every rank.

    By default each rank reads ``path`` itself. With ``broadcast_from_rank0`` only rank 0
    reads it and sends the arrays (the other ranks get the same nested structure).
    Collective: every rank must call it.
    """
    comm = _world_comm("load_checkpoint")
    if not broadcast_from_rank0:
        comm.Barrier()
        return load(path)
    obj, error = None, None
    if comm.Get_rank() == 0:
        try:
            obj = load(path)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
    error = comm.bcast(error, root=0)
    if error is not None:
        raise RuntimeError(f"load_checkpoint: rank 0 could not read {path}: {error}")
    return _broadcast_tree(obj, comm)


def _broadcast_tree(obj, comm):
    """Rank 0's nested dict/list of arrays, Tensors and plain values on every rank.

    The structure (with array shapes and dtypes) goes first as a small object message, then
    each array by ``Bcast`` into a buffer of that shape.
    """
    def skeleton(value):
        if isinstance(value, (Tensor, np.ndarray)):
            data = value.data if isinstance(value, Tensor) else value
            return ("array", data.shape, data.dtype.str, isinstance(value, Tensor))
        if isinstance(value, dict):
            return ("dict", [(k, skeleton(v)) for k, v in value.items()])
        if isinstance(value, (list, tuple)):
            return ("list" if isinstance(value, list) else "tuple", [skeleton(v) for v in value])
        return ("value", value)

    def rebuild(shape_of, value):
        kind = shape_of[0]
        if kind == "array":
            _, shape, dtype, is_tensor = shape_of
            # np.array, not ascontiguousarray (which makes a 0-d array 1-d: rank 0's
            # num_batches_tracked came back (1,) while the other ranks' stayed ()).
            data = np.array(value.data if isinstance(value, Tensor) else value, order="C") \
                if value is not None else np.empty(shape, dtype=np.dtype(dtype))
            comm.Bcast(data, root=0)
            return Tensor(data) if is_tensor else data
        if kind == "dict":
            return {k: rebuild(s, value[k] if value is not None else None) for k, s in shape_of[1]}
        if kind in ("list", "tuple"):
            items = [rebuild(s, value[i] if value is not None else None)
                     for i, s in enumerate(shape_of[1])]
            return items if kind == "list" else tuple(items)
        return shape_of[1]

    structure = comm.bcast(skeleton(obj) if comm.Get_rank() == 0 else None, root=0)
    return rebuild(structure, obj if comm.Get_rank() == 0 else None)
