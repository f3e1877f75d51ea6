"""The process group and its collectives, on MPI through mpi4py (torch.distributed's names).

One process group per job: ``init_process_group('mpi')`` takes ``MPI.COMM_WORLD``, so the
ranks are the ``mpiexec -n K`` processes and a plain ``python script.py`` is world size 1 on
the very same code path. mpi4py is imported here, on first use, never when
``tinydl.distributed`` is imported, so tinydl without the ``mpi`` extra imports and runs as
before and only calling these functions asks for ``pip install "tinydl[mpi]"``.

Collectives work in place on Tensors (their ``.data``) and on NumPy arrays, as torch's do.
Each first exchanges every rank's shape and dtype, its ``op`` or ``src``, and the outcome of
its own argument checks (one small allgather): a rank that calls with a different shape, op
or src, or whose arguments are refused, makes every rank raise, naming each rank's call,
instead of MPI's truncation error on one rank and a hang on the others (a hang also without
``python -m mpi4py``, where an exception on one rank does not end the others).
"""
import os

import numpy as np

from tinydl.tensor import Tensor

INSTALL_HINT = ('tinydl.distributed needs mpi4py and an MPI library: pip install "tinydl[mpi]" '
                '(mpi4py and the mpich wheel, which ships mpiexec)')

# The one piece of module state: the communicator of the initialised group (None before
# init_process_group and after destroy_process_group), as torch keeps its default group.
_world = None

# Environment variables by which a user chooses BLAS threads; one of them set means "mine".
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class ReduceOp:
    """Reduction operators of ``all_reduce`` / ``reduce_scatter`` (torch.distributed.ReduceOp)."""

    SUM = "sum"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    AVG = "avg"  # SUM, then divided by the world size (torch's ReduceOp.AVG)


def _mpi():
    """The ``mpi4py.MPI`` module, or an ImportError that says which extra to install."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(INSTALL_HINT) from error
    return MPI


def _limit_blas_threads():
    """One BLAS (and Numba) thread per rank unless the user chose a count.

    K ranks on K cores each starting a pool of K BLAS threads oversubscribe the machine
    (two threads per rank on two cores measured 10x slower per step). NumPy's BLAS has read
    its environment already, so the running pool is resized through ``tinydl.set_num_threads``
    (which also ends tinydl's automatic policy: the other ranks would look like a busy
    machine one moment and an idle one the next); the environment is set too, for any
    process this one starts.
    """
    if any(v in os.environ for v in _THREAD_VARIABLES):
        return
    for var in _THREAD_VARIABLES:
        os.environ[var] = "1"
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    from tinydl.threads import set_num_threads

    set_num_threads(1)


def init_process_group(backend="mpi", **kwargs):
    """Start the process group over ``MPI.COMM_WORLD`` (``torch.distributed.init_process_group``).

    ``backend`` must be ``'mpi'``; torch's rendezvous arguments (``init_method``,
    ``world_size``, ``rank``...) are accepted for portability and must agree with what
    ``mpiexec`` gave, since MPI decides ranks. Limits BLAS to one thread per rank unless
    ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS`` is set. Calling it
    twice raises, as torch does.
    """
    global _world
    if backend != "mpi":
        raise ValueError(f"init_process_group: only backend='mpi' is available, got {backend!r}")
    if _world is not None:
        raise RuntimeError("init_process_group: the process group is already initialised "
                           "(call destroy_process_group() first)")
    unknown = set(kwargs) - {"init_method", "world_size", "rank", "timeout", "store"}
    if unknown:
        raise TypeError(f"init_process_group: unexpected arguments {sorted(unknown)}")
    MPI = _mpi()
    _limit_blas_threads()
    comm = MPI.COMM_WORLD.Dup()
    for name, actual in (("world_size", comm.Get_size()), ("rank", comm.Get_rank())):
        wanted = kwargs.get(name)
        if wanted is not None and wanted != -1 and int(wanted) != actual:
            comm.Free()
            raise ValueError(f"init_process_group: {name}={wanted} but mpiexec started this "
                             f"process with {name} {actual}")
    _world = comm


def is_initialized():
    """True between ``init_process_group`` and ``destroy_process_group``."""
    return _world is not None


def is_available():
    """True when mpi4py can be imported (the ``mpi`` extra is installed)."""
    import importlib.util
    return importlib.util.find_spec("mpi4py") is not None


def _group(caller):
    """The group's communicator, or a RuntimeError (or the install hint) naming ``caller``."""
    if _world is None:
        _mpi()  # without mpi4py, say which extra to install before anything else
        raise RuntimeError(f"{caller}: the process group is not initialised; call "
                           "tinydl.distributed.init_process_group('mpi') first")
    return _world


def get_rank():
    """This process's rank, 0 .. world_size - 1."""
    return _group("get_rank").Get_rank()


def get_world_size():
    """The number of processes in the group (``mpiexec -n K`` gives K; plain python gives 1)."""
    return _group("get_world_size").Get_size()


def barrier():
    """Wait until every rank has called ``barrier()``."""
    _group("barrier").Barrier()


def destroy_process_group():
    """Release the group's communicator; ``is_initialized()`` is False afterwards.

    MPI itself is finalised by mpi4py when the process exits.
    """
    global _world
    comm = _group("destroy_process_group")
    _world = None
    comm.Free()


def _array(t, caller):
    """The ndarray behind a Tensor or array argument, checked to be writable and contiguous."""
    data = t.data if isinstance(t, Tensor) else t
    if not isinstance(data, np.ndarray):
        raise TypeError(f"{caller}: expected a Tensor or an ndarray, got {type(t).__name__}")
    if not data.flags.c_contiguous or not data.flags.writeable:
        raise ValueError(f"{caller}: the array of shape {data.shape} must be C-contiguous and "
                         "writable (collectives write into it in place)")
    return data


def _agreed(comm, caller, local, **settings):
    """This rank's checked arrays ``local()``, once every rank's call agrees with the others'.

    One allgather of each rank's outcome: its error, or the shapes and dtypes of its arrays and
    its ``settings`` (op, src). A rank whose own checks failed re-raises its error, and the
    others raise a ``RuntimeError`` quoting it; ranks whose shapes, dtypes or settings differ
    all raise, naming each rank's call. So no rank goes on into a collective that another
    never starts.
    """
    try:
        arrays, error = local(), None
        mine = ([(tuple(a.shape), a.dtype.str) for a in arrays], settings)
    except (TypeError, ValueError) as err:
        arrays, error = None, err
        mine = f"{type(err).__name__}: {err}"
    everyone = comm.allgather(mine)
    if error is not None:
        raise error
    failed = [(r, theirs) for r, theirs in enumerate(everyone) if isinstance(theirs, str)]
    if failed:
        r, message = failed[0]
        raise RuntimeError(f"{caller}: rank {r}'s call was refused, so this rank "
                           f"({comm.Get_rank()}) stops too: {message}")
    if all(theirs == everyone[0] for theirs in everyone):
        return arrays

    def describe(theirs):
        shapes, their_settings = theirs
        words = [f"{s} {np.dtype(d).name}" for s, d in shapes]
        words += [f"{k}={v!r}" for k, v in their_settings.items()]
        return ", ".join(words)

    described = "; ".join(f"rank {r}: {describe(theirs)}" for r, theirs in enumerate(everyone))
    raise RuntimeError(f"{caller}: the ranks called it with different shapes, dtypes or "
                       f"arguments (this is rank {comm.Get_rank()}): {described}")


def _mpi_op(op, caller, dtype):
    """The MPI operator that computes ``op`` on arrays of ``dtype``, as torch's gloo does.

    MPI's arithmetic operators refuse bool (a raw "Invalid MPI_Op"): on bool, SUM and MAX
    are logical or, PRODUCT and MIN logical and (torch's results). Complex numbers have no
    order, so MAX and MIN on them are refused, as torch refuses them.
    """
    MPI = _mpi()
    table = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
             ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}
    if op not in table:
        raise ValueError(f"{caller}: unknown op {op!r}; use a ReduceOp (SUM, AVG, PRODUCT, "
                         "MIN, MAX)")
    if dtype.kind == "b":
        return MPI.LOR if op in (ReduceOp.SUM, ReduceOp.MAX) else MPI.LAND
    if dtype.kind == "c" and op in (ReduceOp.MIN, ReduceOp.MAX):
        raise ValueError(f"{caller}: ReduceOp.{op.upper()} is not defined on complex tensors "
                         f"(dtype {dtype}): complex numbers have no order")
    return table[op]


def all_reduce(tensor, op=ReduceOp.SUM):
    """In place, ``tensor <- op(tensor on rank 0, ..., tensor on rank K-1)`` on every rank.

    ``ReduceOp.AVG`` divides the sum by K. Shapes and dtypes must agree across ranks. On bool
    tensors SUM and MAX are logical or, PRODUCT and MIN logical and; MAX and MIN refuse
    complex tensors.
    """
    comm = _group("all_reduce")

    def local():
        data = _array(tensor, "all_reduce")
        _check_average(op, data, "all_reduce")
        _mpi_op(op, "all_reduce", data.dtype)
        return [data]

    (data,) = _agreed(comm, "all_reduce", local, op=op)
    comm.Allreduce(_mpi().IN_PLACE, data, op=_mpi_op(op, "all_reduce", data.dtype))
    if op == ReduceOp.AVG:
        data /= comm.Get_size()
    return tensor


def broadcast(tensor, src=0):
    """In place, every rank's ``tensor`` becomes rank ``src``'s."""
    comm = _group("broadcast")

    def local():
        if not 0 <= src < comm.Get_size():
            raise ValueError(f"broadcast: src {src} is not a rank of a group of "
                             f"{comm.Get_size()}")
        return [_array(tensor, "broadcast")]

    (data,) = _agreed(comm, "broadcast", local, src=src)
    comm.Bcast(data, root=src)
    return tensor


def _one_per_rank(tensors, like, size, caller, name):
    """``tensors`` as arrays, checked to be ``size`` of them shaped and typed like ``like``."""
    arrays = [_array(t, caller) for t in tensors]
    if len(arrays) != size or any(a.shape != like.shape or a.dtype != like.dtype for a in arrays):
        raise ValueError(f"{caller}: {name} must hold {size} tensors of shape {like.shape} "
                         f"and dtype {like.dtype}, got "
                         f"{[(a.shape, a.dtype.name) for a in arrays]}")
    return arrays


def all_gather(tensor_list, tensor):
    """Fill ``tensor_list[r]`` (K tensors shaped like ``tensor``) with rank r's ``tensor``."""
    comm = _group("all_gather")
    size = comm.Get_size()

    def local():
        data = _array(tensor, "all_gather")
        return [data] + _one_per_rank(tensor_list, data, size, "all_gather", "tensor_list")

    data, *outs = _agreed(comm, "all_gather", local)
    gathered = np.empty((size,) + data.shape, dtype=data.dtype)
    comm.Allgather(data, gathered)
    for out, part in zip(outs, gathered):
        out[...] = part
    return tensor_list


def reduce_scatter(output, input_list, op=ReduceOp.SUM):
    """``output`` on rank r <- op over ranks of their ``input_list[r]`` (MPI_Reduce_scatter_block).

    ``input_list`` holds K tensors shaped like ``output``.
    """
    comm = _group("reduce_scatter")
    size = comm.Get_size()

    def local():
        out = _array(output, "reduce_scatter")
        _check_average(op, out, "reduce_scatter")
        _mpi_op(op, "reduce_scatter", out.dtype)
        return [out] + _one_per_rank(input_list, out, size, "reduce_scatter", "input_list")

    out, *ins = _agreed(comm, "reduce_scatter", local, op=op)
    mpi_op = _mpi_op(op, "reduce_scatter", out.dtype)
    send = np.stack(ins) if ins else np.empty((0,) + out.shape, dtype=out.dtype)
    comm.Reduce_scatter_block(send, out, op=mpi_op)
    if op == ReduceOp.AVG:
        out /= size
    return output


def _check_average(op, data, caller):
    """ReduceOp.AVG needs a floating array: refused before any data moves (an integer array
    would hold the sum when the division failed)."""
    if op == ReduceOp.AVG and data.dtype.kind not in "fc":
        raise TypeError(f"{caller}: ReduceOp.AVG needs a floating-point tensor, got dtype "
                        f"{data.dtype}; reduce with SUM and divide, or cast first")


def _world_comm(caller):
    """The group's communicator for the other modules of this package."""
    return _group(caller)

