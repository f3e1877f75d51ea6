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
* when the last bucket has started (that is, when the last parameter's gradient has been
  accumulated, which ends the backward pass as far as parameters go) every request is waited
  for and each ``param.grad`` becomes the sum over ranks divided by the world size.

Why finish inside the last hook: torch waits in the autograd engine's end-of-backward
callback; tinydl's engine has none, and the last parameter hook is the last moment at which
backward touches any parameter gradient, so finishing there leaves the optimizer, which is
not changed, with averaged gradients. ``finish_gradient_synchronization()`` is the safety
net: the next forward calls it (and a custom loop may call it before ``step``). If a
backward left a bucket unfinished because some parameter got no gradient, it raises naming
those parameters, instead of waiting for a collective that other ranks never start.
``find_unused_parameters=True`` handles such models (torch's option): after forward the
graph is walked from the outputs and parameters it does not reach count as ready at once;
a parameter with no gradient on any rank keeps ``grad = None``.

Gradient traffic uses its own duplicate of the group's communicator, so it never interleaves
with collectives the user (or ``SyncBatchNorm``) issues meanwhile.
"""
import contextlib
import time

import numpy as np

from tinydl.autograd import is_grad_enabled
from tinydl.distributed.process_group import _mpi, _world_comm
from tinydl.nn.module import Module
from tinydl.tensor import Tensor

_FIRST_BUCKET_BYTES = 1 << 20


class _Bucket:
    """Parameters reduced together: one flat buffer, a ``used`` flag per parameter at the end."""

    def __init__(self, params, dtype):
        self.params = params
        sizes = [p.data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.numel = int(self.offsets[-1])
        self.buffer = np.zeros(self.numel + len(params), dtype=dtype)

    def pack(self):
        """Copy the gradients in (zeros where a parameter has none, flagged 0 as unused)."""
        buf, n = self.buffer, self.numel
        for j, p in enumerate(self.params):
            lo, hi = self.offsets[j], self.offsets[j + 1]
            if p.grad is None:
                buf[lo:hi] = 0
                buf[n + j] = 0
            else:
                buf[lo:hi] = p.grad.data.reshape(-1)
                buf[n + j] = 1

    def unpack(self, world_size):
        """``param.grad = sum over ranks / world size``; no gradient on any rank stays None."""
        buf, n = self.buffer, self.numel
        for j, p in enumerate(self.params):
            if buf[n + j] == 0:
                continue
            summed = buf[self.offsets[j]:self.offsets[j + 1]].reshape(p.shape)
            if p.grad is None:
                p.grad = Tensor._wrap(summed / world_size)
            else:
                np.divide(summed, world_size, out=p.grad.data)  # no temporary array


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
        for (name, shape, dtype), (rname, rshape, rdtype) in zip(theirs, ref):
            if (name, shape, dtype) != (rname, rshape, rdtype):
                lines.append(f"rank {rank} has {name!r} of shape {shape} {np.dtype(dtype).name} "
                             f"where rank 0 has {rname!r} of shape {rshape} "
                             f"{np.dtype(rdtype).name}")
                break
    return "; ".join(lines)


class DistributedDataParallel(Module):
    """Wrap ``module`` so that ``backward()`` averages its gradients over all ranks.

    ``DistributedDataParallel(module, bucket_cap_mb=25, broadcast_buffers=True,
    find_unused_parameters=False)``. Each rank feeds its own shard of the batch (see
    ``DistributedSampler``); after ``loss.backward()`` every rank holds
    ``grad = (1/K) sum_r grad_r``, the gradient of the mean loss over the K shards, so any
    tinydl optimizer steps all replicas identically. With ``broadcast_buffers`` rank 0's
    buffers (BatchNorm running statistics) are broadcast at every forward. ``no_sync()``
    skips the averaging for gradient accumulation. ``state_dict`` keys carry the prefix
    ``module.``, as torch's. ``comm_stats`` counts bytes reduced and seconds spent waiting.
    ``device_ids`` and ``output_device`` are accepted for torch compatibility and ignored
    (tinydl runs on the CPU).
    """

    def __init__(self, module, bucket_cap_mb=25, broadcast_buffers=True,
                 find_unused_parameters=False, device_ids=None, output_device=None):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a Module, got "
                            f"{type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be > 0, got "
                             f"{bucket_cap_mb}")
        self.module = module
        comm = _world_comm("DistributedDataParallel")
        self._comm = comm.Dup()
        self.world_size = comm.Get_size()
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.require_backward_grad_sync = True
        self.comm_stats = {"steps": 0, "bytes_per_step": 0, "wait_seconds": 0.0}
        self._named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._check_replicas()
        self._broadcast_state()
        self._build_buckets(bucket_cap_mb)
        self._handles = [p.register_post_accumulate_grad_hook(self._grad_ready)
                         for _, p in self._named]
        self._expecting = False

    # ------------------------------------------------------------------ construction
    def _check_replicas(self):
        meta = [(n, tuple(p.shape), p.data.dtype.str) for n, p in self.module.named_parameters()]
        meta += [(n, tuple(b.shape), b.data.dtype.str) for n, b in self.module.named_buffers()]
        everyone = self._comm.allgather(meta)
        if any(theirs != everyone[0] for theirs in everyone):
            raise RuntimeError(
                f"DistributedDataParallel: the model replicas differ (this is rank "
                f"{self._comm.Get_rank()}): {_describe_mismatch(everyone, 'parameters/buffers')}")

    def _broadcast_state(self):
        for p in self.module.parameters():
            self._comm.Bcast(p.data, root=0)
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
        self._buckets, self._bucket_of, self._index = [], [], {}
        current, size = [], 0
        for name, p in reversed(self._named):
            limit = min(cap, _FIRST_BUCKET_BYTES) if not self._buckets else cap
            if current and (size + p.data.nbytes > limit or p.data.dtype != current[0].data.dtype):
                self._buckets.append(_Bucket(current, current[0].data.dtype))
                current, size = [], 0
            current.append(p)
            size += p.data.nbytes
        if current:
            self._buckets.append(_Bucket(current, current[0].data.dtype))
        for b, bucket in enumerate(self._buckets):
            for p in bucket.params:
                self._index[id(p)] = len(self._bucket_of)
                self._bucket_of.append(b)
        self._names = {id(p): n for n, p in self._named}
        self.comm_stats["bytes_per_step"] = sum(b.buffer.nbytes for b in self._buckets)

    # ------------------------------------------------------------------ one iteration
    def forward(self, *args, **kwargs):
        """Finish the previous step's synchronisation, sync buffers, run ``module``."""
        self.finish_gradient_synchronization()
        if self.broadcast_buffers and self.world_size > 1:
            self._sync_buffers()
        out = self.module(*args, **kwargs)
        if is_grad_enabled() and self.require_backward_grad_sync and self._buckets:
            self._prepare_for_backward(out)
        return out

    def _prepare_for_backward(self, out):
        self._expecting = True
        self._ready = set()
        self._pending = [len(b.params) for b in self._buckets]
        self._next = 0
        self._requests = []
        self._backward_seen = False
        if self.find_unused_parameters:
            reached = _reachable_leaves(out)
            for _, p in self._named:
                if id(p) not in reached:
                    self._mark_ready(p)
            self._launch_ready_buckets()

    def _mark_ready(self, param):
        i = self._index[id(param)]
        if i in self._ready:
            raise RuntimeError(
                f"DistributedDataParallel: parameter {self._names[id(param)]!r} got a gradient "
                "twice in one step (backward called twice after one forward?). Run forward "
                "before each backward, or accumulate inside no_sync()")
        self._ready.add(i)
        self._pending[self._bucket_of[i]] -= 1

    def _grad_ready(self, param):
        """The post-accumulate-grad hook: count ``param`` ready, start full buckets."""
        if not self._expecting:
            return
        self._backward_seen = True
        self._mark_ready(param)
        if self._pending[self._bucket_of[self._index[id(param)]]] == 0:
            self._launch_ready_buckets()
        elif self._requests:
            # MPI moves a non-blocking collective on only inside MPI calls: poke it.
            _mpi().Request.Testall(self._requests)

    def _launch_ready_buckets(self):
        MPI = _mpi()
        while self._next < len(self._buckets) and self._pending[self._next] == 0:
            bucket = self._buckets[self._next]
            bucket.pack()
            self._requests.append(self._comm.Iallreduce(MPI.IN_PLACE, bucket.buffer, op=MPI.SUM))
            self._next += 1
        if self._next == len(self._buckets):
            self._complete()

    def _complete(self):
        start = time.perf_counter()
        _mpi().Request.Waitall(self._requests)
        self.comm_stats["wait_seconds"] += time.perf_counter() - start
        self.comm_stats["steps"] += 1
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
            # Forward without backward (e.g. evaluation with grad on): forget this step, once
            # buckets that find_unused_parameters started at forward (on every rank) are done.
            _mpi().Request.Waitall(self._requests)
            self._expecting = False
            self._requests = []
            return
        missing = [n for n, p in self._named if self._index[id(p)] not in self._ready]
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


def _reachable_leaves(out):
    """ids of the leaf tensors from which the graph of ``out`` (Tensors, nested) was built."""
    stack = []

    def collect(value):
        if isinstance(value, Tensor):
            stack.append(value)
        elif isinstance(value, (tuple, list)):
            for v in value:
                collect(v)
        elif isinstance(value, dict):
            for v in value.values():
                collect(v)

    collect(out)
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
