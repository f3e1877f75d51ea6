"""``DistributedDataParallel``: one model replica per rank, gradients averaged during backward.

The scheme of torch's DDP (Li et al., "PyTorch Distributed", VLDB 2020), on MPI:

* construction checks that every rank holds the same parameter names, shapes and dtypes
  (one allgather of that metadata; a mismatch raises on every rank, naming rank and shapes),
  then broadcasts rank 0's parameters and buffers so all replicas start equal;
* parameters are grouped into buckets of about ``bucket_cap_mb`` in reverse registration
  order (roughly the order backward produces their gradients; the first bucket is capped at
  1 MB, as torch's, so communication starts early);
* a post-accumulate-grad hook on every parameter counts it ready; when a bucket's last
  parameter is ready its gradients are copied into one flat buffer and a non-blocking
  ``Iallreduce`` starts, while backward goes on computing earlier layers. Buckets start in
  index order on every rank, as MPI requires collectives to be issued in the same order;
* MPICH moves a non-blocking collective on only inside MPI calls (no progress thread unless
  ``MPIR_CVAR_ASYNC_PROGRESS``, which spins a core away), and an allreduce needs several
  rounds between the ranks (measured: 2 for 2 KB, 4-10 for 10-40 KB, about 5 for 0.1-0.8 MB).
  Every gradient hook calls ``Testall`` on the started requests, but a long layer backward
  (a convolution) runs with no MPI call, so on small models most of the communication still
  happens after backward (bench_ddp measures the share hidden);
* when the last bucket has started (that is, when the last parameter's gradient has been
  accumulated, which ends the backward pass as far as parameters go) every request is waited
  for, and each bucket's sums are divided by the world size straight into each
  ``param.grad`` (a bucket holding one parameter reduces that gradient's own array in place,
  with no copy in or out). With ``gradient_as_bucket_view=True`` (torch's option, off by
  default as in torch) each ``param.grad`` becomes a view of its slice instead: no copy
  out, and a gradient accumulated in place in its view is not copied in either; but a
  ``.grad`` array kept across steps is then overwritten by the next synchronised backward.

Why finish inside the last hook: torch waits in the autograd engine's end-of-backward
callback; tinydl's engine has none, and the last parameter hook is the last moment at which
backward touches any parameter gradient, so finishing there leaves the optimizer, which is
not changed, with averaged gradients. ``finish_gradient_synchronization()`` is the safety
net: the next forward calls it (and a custom loop may call it before ``step``). If a
backward left a bucket unfinished because some parameter got no gradient, it raises naming
those parameters, instead of waiting for a collective that other ranks never start (the
ranks that did start it wait until then: under ``python -m mpi4py`` the error ends the job;
a rank that instead goes on to another collective, or exits, leaves them waiting, as torch's
would). ``find_unused_parameters=True`` handles such models (torch's option): after forward
the graph is walked from the outputs, and the parameters it does not reach count as ready
when backward starts (the first gradient to reach an output or a parameter), as in torch,
so their gradients are read after a ``zero_grad()`` placed between forward and backward; a
parameter with no gradient on any rank keeps ``grad = None``. Construction checks that every
rank has the same parameters (and which of them train), buffers, ``bucket_cap_mb`` and
``find_unused_parameters``: otherwise the ranks' buckets would not line up.

Gradient traffic uses its own duplicate of the group's communicator, so it never interleaves
with collectives the user (or ``SyncBatchNorm``) issues meanwhile.
"""
import contextlib
import copy
import os
import time

import numpy as np

from tinydl.autograd import is_grad_enabled
from tinydl.distributed.process_group import _mpi, _world_comm
from tinydl.nn.module import Module
from tinydl.tensor import Tensor

_FIRST_BUCKET_BYTES = 1 << 20
_SPIN_SECONDS = 2e-3


class _Bucket:
    """Parameters reduced together in one flat buffer.

    ``views[j]`` is parameter j's slice of ``buffer`` in its shape. After the allreduce each
    slice is scaled by 1/K straight into ``param.grad`` (one pass: scaling and copying out
    together); with ``as_view`` each ``param.grad`` becomes its view instead (torch's
    ``gradient_as_bucket_view``): no copy out, and a gradient that backward accumulated in
    place into its view (``zero_grad(set_to_none=False)``, ``no_sync``) is not copied in
    either. With ``track_unused`` the buffer ends with one used-flag per parameter, so the
    ranks learn which parameters no rank gave a gradient.

    A bucket of one parameter (a large weight, with the default caps) reduces the gradient's
    own array in place when it can: the autograd engine gives every leaf a private, writable
    array (``tinydl.autograd._accumulate_grad``), and the averaged values end in that array
    either way, so copying it into the bucket and back would only move the bytes twice
    (measured on the bench MLP's 0.8 MB weight: about 0.2 ms of a 3.7 ms step).
    """

    def __init__(self, params, dtype, track_unused, as_view):
        self.params = params
        self.as_view = as_view
        sizes = [p.data.size for p in params]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.numel = int(offsets[-1])
        self.buffer = np.zeros(self.numel + (len(params) if track_unused else 0), dtype=dtype)
        self.values = self.buffer[:self.numel]
        self.flags = self.buffer[self.numel:] if track_unused else None
        self.views = [self.buffer[offsets[j]:offsets[j + 1]].reshape(p.shape)
                      for j, p in enumerate(params)]
        self.direct = len(params) == 1 and not track_unused and not as_view
        self.reduced = self.buffer  # the array of this step's allreduce (see ``pack``)

    def pack(self):
        """Bring the gradients in (zeros, flagged unused, where a parameter has none); return
        the array to allreduce: the buffer, or a lone parameter's own gradient array."""
        if self.direct:
            grad = self.params[0].grad
            data = None if grad is None else grad.data
            if (data is not None and data.dtype == self.buffer.dtype
                    and data.flags.c_contiguous and data.flags.writeable):
                self.reduced = data
                return data
        self.reduced = self.buffer
        flags = self.flags
        for j, (p, view) in enumerate(zip(self.params, self.views)):
            grad = p.grad
            if grad is None:
                view[...] = 0
                if flags is not None:
                    flags[j] = 0
                continue
            if grad.data is not view:
                view[...] = grad.data
            if flags is not None:
                flags[j] = 1
        return self.buffer

    def unpack(self, world_size):
        """``param.grad = sum over ranks / world size``; no gradient on any rank stays None."""
        if self.reduced is not self.buffer:  # reduced in the gradient's own array
            _average(self.reduced, world_size, self.reduced)
            return
        flags = self.flags
        for j, (p, view) in enumerate(zip(self.params, self.views)):
            if flags is not None and flags[j] == 0:
                continue
            grad = p.grad
            if self.as_view:
                _average(view, world_size, view)
                if grad is None or grad.data is not view:
                    p.grad = Tensor._wrap(view)
            elif grad is None:
                p.grad = Tensor._wrap(_average(view, world_size, np.empty_like(view)))
            else:
                _average(view, world_size, grad.data)  # backward's own array, no temporary


def _average(total, world_size, out):
    """``out = total / world_size`` (out may be total): a multiply by 1/K when K is a power of
    two (exact, and twice as fast as dividing), a division otherwise."""
    if world_size & (world_size - 1) == 0:
        return np.multiply(total, 1.0 / world_size, out=out)
    return np.divide(total, world_size, out=out)


def _describe_mismatch(everyone, what):
    """Say, per rank, the first entry where its metadata differs from rank 0's."""
    lines = []
    ref = everyone[0]
    for rank, theirs in enumerate(everyone[1:], 1):
        if theirs == ref:
            continue
        if len(theirs) != len(ref):
            lines.append(f"rank {rank} has {len(theirs)} {what}, rank 0 has {len(ref)}")
            continue
        for mine, theirs0 in zip(theirs, ref):
            if mine != theirs0:
                lines.append(f"rank {rank} has {_describe_entry(mine)} where rank 0 has "
                             f"{_describe_entry(theirs0)}")
                break
    return "; ".join(lines)


def _describe_entry(entry):
    """One entry of ``_check_replicas``' metadata in words."""
    if entry[0] is None:  # the settings entry
        return ", ".join(f"{k}={v!r}" for k, v in entry[1])
    name, shape, dtype, trained = entry  # trained: None for a buffer
    frozen = " (requires_grad=False)" if trained is False else ""
    return f"{name!r} of shape {shape} {np.dtype(dtype).name}{frozen}"


class DistributedDataParallel(Module):
    """Wrap ``module`` so that ``backward()`` averages its gradients over all ranks.

    ``DistributedDataParallel(module, bucket_cap_mb=25, broadcast_buffers=True,
    find_unused_parameters=False)``. Each rank feeds its own shard of the batch (see
    ``DistributedSampler``); after ``loss.backward()`` every rank holds
    ``grad = (1/K) sum_r grad_r``, the gradient of the mean loss over the K shards, so any
    tinydl optimizer steps all replicas identically. With ``broadcast_buffers`` rank 0's
    buffers (BatchNorm running statistics) are broadcast at every forward. ``no_sync()``
    skips the averaging for gradient accumulation. ``state_dict`` keys carry the prefix
    ``module.``, as torch's. ``comm_stats`` counts bytes reduced and seconds spent waiting;
    setting ``timeline`` to a list records per step (last gradient ready, averaging done) as
    ``time.perf_counter()`` pairs. ``gradient_as_bucket_view=True`` makes every
    ``param.grad`` a view into its bucket (see the module docstring).
    ``device_ids`` and ``output_device`` are accepted for torch compatibility and ignored
    (tinydl runs on the CPU).
    """

    def __init__(self, module, bucket_cap_mb=25, broadcast_buffers=True,
                 find_unused_parameters=False, device_ids=None, output_device=None,
                 gradient_as_bucket_view=False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a Module, got "
                            f"{type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be > 0, got "
                             f"{bucket_cap_mb}")
        self.module = module
        comm = _world_comm("DistributedDataParallel")
        self._MPI = _mpi()  # the module, looked up once (an import statement costs 1 us)
        self._comm = comm.Dup()
        self.world_size = comm.Get_size()
        self._spin = _core_per_rank(self._comm)
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.gradient_as_bucket_view = bool(gradient_as_bucket_view)
        self.require_backward_grad_sync = True
        self.comm_stats = {"steps": 0, "bytes_per_step": 0, "wait_seconds": 0.0}
        _refuse_uninitialized(module)
        self._named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        # torch's rule: buffers are synced in forward only when the module had some when it
        # was wrapped (collected anew each time, so a reassigned buffer is the one sent); a
        # model without any skips the tree walk (12 us a step on LeNet).
        self._sync_each_forward = any(True for _ in module.buffers())
        self._check_replicas(bucket_cap_mb)
        self._broadcast_state()
        self._build_buckets(bucket_cap_mb)
        self._register_hooks()
        self._expecting = False
        self._requests = []
        # (last gradient ready, averaging done) perf_counter pairs per step when a list:
        # bench_ddp sets it to tell communication from waiting for the slower rank.
        self.timeline = None

    # ------------------------------------------------------------------ construction
    def _check_replicas(self, bucket_cap_mb):
        """Every rank must build the same buckets: the same parameters (names, shapes, dtypes,
        which ones train), buffers, bucket cap and unused-parameter flags; one that differs
        would add mismatched slices in the allreduce, silently, or hang."""
        meta = [(n, tuple(p.shape), p.data.dtype.str, p.requires_grad)
                for n, p in self.module.named_parameters()]
        meta += [(n, tuple(b.shape), b.data.dtype.str, None)
                 for n, b in self.module.named_buffers()]
        meta.append((None, (("bucket_cap_mb", bucket_cap_mb),
                                  ("find_unused_parameters", self.find_unused_parameters))))
        everyone = self._comm.allgather(meta)
        if any(theirs != everyone[0] for theirs in everyone):
            raise RuntimeError(
                f"DistributedDataParallel: the model replicas differ (this is rank "
                f"{self._comm.Get_rank()}): {_describe_mismatch(everyone, 'parameters/buffers')}")

    def _broadcast_state(self):
        for p in self.module.parameters():
            self._comm.Bcast(p.data, root=0)
        if self.broadcast_buffers:  # torch's: without it each rank keeps its own buffers
            self._sync_buffers()

    def _sync_buffers(self):
        for b in self.module.buffers():
            if b.data.ndim == 0:
                # A 0-d array is not a writable MPI buffer through every path: use a (1,) view.
                self._comm.Bcast(b.data.reshape(1), root=0)
            else:
                self._comm.Bcast(b.data, root=0)

    def _build_buckets(self, bucket_cap_mb):
        cap = bucket_cap_mb * (1 << 20)
        self._buckets = []
        track, as_view = self.find_unused_parameters, self.gradient_as_bucket_view
        current, size = [], 0
        for name, p in reversed(self._named):
            limit = min(cap, _FIRST_BUCKET_BYTES) if not self._buckets else cap
            if current and (size + p.data.nbytes > limit or p.data.dtype != current[0].data.dtype):
                self._buckets.append(_Bucket(current, current[0].data.dtype, track, as_view))
                current, size = [], 0
            current.append(p)
            size += p.data.nbytes
        if current:
            self._buckets.append(_Bucket(current, current[0].data.dtype, track, as_view))
        # _bucket_of[i]: the bucket of the i-th parameter of self._named (the hooks' index).
        where = {id(p): b for b, bucket in enumerate(self._buckets) for p in bucket.params}
        self._bucket_of = [where[id(p)] for _, p in self._named]
        self.comm_stats["bytes_per_step"] = sum(b.buffer.nbytes for b in self._buckets)

    def _register_hooks(self):
        self._handles = [p.register_post_accumulate_grad_hook(self._hook(i))
                         for i, (_, p) in enumerate(self._named)]

    def __deepcopy__(self, memo):
        """A DDP over a deep copy of ``module`` (``AveragedModel(ddp)`` makes one).

        As torch's copy (which drops the process group and takes the default one back), it
        neither checks nor broadcasts: the copies are equal where the originals were, and
        a copy made on one rank only (or used only for averaging) must not wait for the
        others. It shares this DDP's communicator, which MPI cannot copy and whose ``Dup``
        would be a collective. Its buckets and gradient hooks are its own: the copied
        parameters' hooks would count their gradients for this DDP.
        """
        cls = type(self)
        copied = cls.__new__(cls)
        memo[id(self)] = copied
        memo[id(self._comm)] = self._comm
        memo[id(self._MPI)] = self._MPI  # a module: shared (deepcopy cannot copy one)
        for name, value in self.__dict__.items():
            if name not in ("_buckets", "_requests"):  # rebuilt below; requests cannot copy
                copied.__dict__[name] = copy.deepcopy(value, memo)
        copied._own_registries()  # (as Module.__setstate__ does for other copies)
        for handle in copied._handles:
            handle.remove()
        copied._register_hooks()
        copied._buckets = [_Bucket([memo[id(p)] for p in bucket.params], bucket.buffer.dtype,
                                   self.find_unused_parameters, self.gradient_as_bucket_view)
                           for bucket in self._buckets]
        copied._expecting, copied._requests = False, []
        return copied

    # ------------------------------------------------------------------ one iteration
    def forward(self, *args, **kwargs):
        """Finish the previous step's synchronisation, sync buffers, run ``module``."""
        self.finish_gradient_synchronization()
        if self.broadcast_buffers and self._sync_each_forward and self.world_size > 1:
            self._sync_buffers()
        out = self.module(*args, **kwargs)
        if is_grad_enabled() and self.require_backward_grad_sync and self._buckets:
            self._prepare_for_backward(out)
        return out

    def _prepare_for_backward(self, out):
        self._expecting = True
        self._ready = bytearray(len(self._named))
        self._pending = [len(b.params) for b in self._buckets]
        self._next = 0
        self._requests = []
        self._backward_seen = False
        self._unused = ()
        if self.find_unused_parameters:
            # Found now, counted ready when backward starts (torch's rule): a bucket they
            # complete must not be read before then, or a zero_grad() between forward and
            # backward would be missed and last step's gradients averaged in.
            tensors = _tensors(out)
            reached = _reachable_leaves(tensors)
            self._unused = [i for i, (_, p) in enumerate(self._named) if id(p) not in reached]
            for t in tensors:
                if t.requires_grad and t._ctx is not None:  # a leaf's hooks would pile up
                    t.register_hook(self._output_hook)

    def _output_hook(self, grad):
        """Backward has reached an output of forward: it starts (before any parameter's
        gradient); also when no parameter of this rank gets one."""
        if self._expecting and not self._backward_seen:
            self._start_backward()

    def _start_backward(self):
        self._backward_seen = True  # once a step: a Module's attribute write is not free
        if self._unused:
            for i in self._unused:
                self._mark_ready(i)
            self._launch_ready_buckets()

    def _mark_ready(self, i):
        if self._ready[i]:
            raise RuntimeError(
                f"DistributedDataParallel: parameter {self._named[i][0]!r} got a gradient "
                "twice in one step (backward called twice after one forward?). Run forward "
                "before each backward, or accumulate inside no_sync()")
        self._ready[i] = 1
        b = self._bucket_of[i]
        self._pending[b] -= 1
        return b

    def _hook(self, i):
        """The post-accumulate-grad hook of the i-th parameter (a closure: no lookup by id)."""
        return lambda param: self._grad_ready(i)

    def _grad_ready(self, i):
        """Count parameter i ready; start the buckets that are full, in order."""
        if not self._expecting:
            return
        if not self._backward_seen:
            self._start_backward()
        if self._pending[self._mark_ready(i)] == 0:
            self._launch_ready_buckets()
        elif self._requests:
            # MPI moves a non-blocking collective on only inside MPI calls: poke it.
            self._MPI.Request.Testall(self._requests)

    def _launch_ready_buckets(self):
        MPI = self._MPI
        if self.timeline is not None and self._next < len(self._buckets) and all(
                p == 0 for p in self._pending):
            self._ready_at = time.perf_counter()
        while self._next < len(self._buckets) and self._pending[self._next] == 0:
            array = self._buckets[self._next].pack()
            self._requests.append(self._comm.Iallreduce(MPI.IN_PLACE, array, op=MPI.SUM))
            self._next += 1
        if self._next == len(self._buckets):
            self._complete()

    def _wait(self, start):
        """Wait for every started allreduce: spin on ``Testall`` for up to ``_SPIN_SECONDS``
        when this node has a core per rank, then (or at once when it has fewer) ``Waitall``.

        MPICH's own wait yields the CPU every 1000 polls (MPIR_CVAR_POLLS_BEFORE_YIELD);
        a yield can hand the core to any runnable process, a ``nice 19`` one included, for a
        scheduler slice (milliseconds) while the other rank needs this one to move the
        allreduce on. Spinning without yielding keeps the core; past the budget (another
        process really competes for the core, or a rank is far behind) the yielding wait
        takes over. With more ranks than cores on a node it waits the yielding way at once.
        """
        MPI = self._MPI
        requests = self._requests
        if self._spin:
            testall, clock = MPI.Request.Testall, time.perf_counter
            deadline = start + _SPIN_SECONDS
            while not testall(requests):
                if clock() > deadline:
                    break
            else:
                return
        MPI.Request.Waitall(requests)

    def _complete(self):
        start = time.perf_counter()
        self._wait(start)
        done = time.perf_counter()
        self.comm_stats["wait_seconds"] += done - start
        self.comm_stats["steps"] += 1
        if self.timeline is not None:
            self.timeline.append((self._ready_at, done))
        for bucket in self._buckets:
            bucket.unpack(self.world_size)
        self._expecting = False
        self._requests = []

    def finish_gradient_synchronization(self):
        """Make sure the last backward's averaging is complete; raise if it cannot be.

        Nothing to do after a normal backward (the last gradient hook finished it) or when no
        backward ran since forward. If backward ran but some parameters got no gradient, their
        buckets never started: this raises naming them (use ``find_unused_parameters=True``).
        """
        if not self._expecting:
            return
        if not self._backward_seen:
            # Forward without backward (e.g. evaluation with grad on): forget this step
            # (nothing was started: buckets start when backward does).
            self._expecting = False
            return
        missing = [n for i, (n, _) in enumerate(self._named) if not self._ready[i]]
        self._expecting = False
        raise RuntimeError(
            f"DistributedDataParallel (rank {self._comm.Get_rank()}): the last backward gave no "
            f"gradient to {len(missing)} parameter(s) {missing[:8]}, so their gradients were "
            "not averaged across ranks. Pass find_unused_parameters=True if the model does not "
            "use every parameter in every step, or make the loss depend on them")

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, backward only accumulates local gradients; the first backward after it
        averages the accumulated sum (torch's gradient-accumulation recipe)."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def extra_repr(self):
        sizes = [b.numel for b in self._buckets]
        return f"world_size={self.world_size}, buckets={sizes}"


def _refuse_uninitialized(module):
    """A lazy layer not yet run has no shapes to bucket or broadcast (torch's error too)."""
    from tinydl.nn.lazy import UninitializedTensorMixin
    lazy = [n for n, t in (*module.named_parameters(), *module.named_buffers())
            if isinstance(t, UninitializedTensorMixin)]
    if lazy:
        raise RuntimeError(
            f"DistributedDataParallel: the module has uninitialized (lazy) parameters or "
            f"buffers {lazy[:8]}; run one forward pass on an example batch before wrapping it")


def _core_per_rank(comm):
    """True when every node runs no more ranks of ``comm`` than this process has cores."""
    MPI = _mpi()
    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        cores = cores or os.cpu_count() or 1
        return comm.allreduce(int(node.Get_size() <= cores), op=MPI.MIN) == 1
    finally:
        node.Free()


def _tensors(out):
    """The Tensors in a forward's output (a Tensor, or tuples, lists and dicts of them)."""
    found = []

    def collect(value):
        if isinstance(value, Tensor):
            found.append(value)
        elif isinstance(value, (tuple, list)):
            for v in value:
                collect(v)
        elif isinstance(value, dict):
            for v in value.values():
                collect(v)

    collect(out)
    return found


def _reachable_leaves(tensors):
    """ids of the leaf tensors from which the graphs of ``tensors`` were built."""
    stack = list(tensors)
    seen, leaves = set(), set()
    while stack:
        t = stack.pop()
        ctx = t._ctx
        if ctx is None:
            if t.requires_grad:
                leaves.add(id(t))
            continue
        if id(ctx) in seen or ctx.inputs is None:
            continue
        seen.add(id(ctx))
        stack.extend(i for i in ctx.inputs if isinstance(i, Tensor) and i.requires_grad)
    return leaves
