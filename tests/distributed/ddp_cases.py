"""Training cases run under ``mpiexec -n K python -m mpi4py tests/distributed/ddp_cases.py OUT``.

Each rank trains on its shard of every batch with DistributedDataParallel (and SyncBatchNorm
for the CNN); rank 0 writes the final parameters, the running statistics and the outcome of
the collective and error checks to ``OUT`` (``tinydl.save``). The pytest side imports this
file to train the one-process reference on the whole batches (``reference``) and compares.
Importing it starts no MPI.
"""
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import tinydl as td  # noqa: E402
from tinydl import nn  # noqa: E402
from tinydl.nn import functional as F  # noqa: E402
from tinydl.optim import SGD, Adam  # noqa: E402

STEPS = 20
PER_RANK = 4  # samples per rank and step
CASES = [(kind, dtype, opt) for kind in ("mlp", "cnn") for dtype in ("float64", "float32")
         for opt in ("sgd", "adam")]


def build(kind, dtype):
    """The MLP (6-16-3, tanh) or the CNN (conv 1->4, BatchNorm, ReLU, pool, linear 36->3).

    The convolution has no bias: BatchNorm removes it, so its gradient is rounding noise,
    which Adam would normalise into full-size steps that differ with summation order.
    """
    td.manual_seed(1)
    if kind == "mlp":
        model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))
    else:
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4),
                              nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 3))
    return model.double() if dtype == "float64" else model


def optimizer(name, params):
    return SGD(params, lr=0.1, momentum=0.9) if name == "sgd" else Adam(params, lr=1e-2)


def batches(kind, dtype, world, steps=STEPS, per_rank=PER_RANK, seed=0):
    """``steps`` whole batches of ``world * per_rank`` samples (inputs, labels)."""
    rng = np.random.default_rng(seed)
    n = world * per_rank
    shape = (n, 6) if kind == "mlp" else (n, 1, 6, 6)
    return [(rng.standard_normal(shape).astype(dtype), rng.integers(0, 3, n))
            for _ in range(steps)]


def final_state(model):
    return {k: np.array(v.data) for k, v in model.state_dict().items()}


def reference(kind, dtype, opt, world):
    """One process, whole batches: the state after STEPS steps."""
    model = build(kind, dtype)
    optim = optimizer(opt, model.parameters())
    for x, y in batches(kind, dtype, world):
        loss = F.cross_entropy(model(td.Tensor(x)), td.Tensor(y))
        optim.zero_grad()
        loss.backward()
        optim.step()
    return final_state(model)


def reference_accumulation(world, micro=4, steps=3):
    """One process, one SGD step per whole batch of ``world * micro * PER_RANK`` samples."""
    model = build("mlp", "float64")
    optim = optimizer("sgd", model.parameters())
    for x, y in batches("mlp", "float64", world * micro, steps=steps, seed=5):
        loss = F.cross_entropy(model(td.Tensor(x)), td.Tensor(y))
        optim.zero_grad()
        loss.backward()
        optim.step()
    return final_state(model)


# ---------------------------------------------------------------------- the MPI side
def _shard(x, rank, per_rank=PER_RANK):
    return x[rank * per_rank:(rank + 1) * per_rank]


def distributed(dist, kind, dtype, opt, world, rank):
    model = build(kind, dtype)
    if kind == "cnn":
        model = dist.convert_sync_batchnorm(model)
    # SGD cases: a bucket per parameter, each reduced in its gradient's own array; Adam cases:
    # the default cap, one bucket copied in and out. Both must give the same training.
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=1e-6 if opt == "sgd" else 25)
    assert (len(ddp._buckets) == len(list(model.parameters()))) == (opt == "sgd")
    optim = optimizer(opt, ddp.parameters())
    for x, y in batches(kind, dtype, world):
        loss = F.cross_entropy(ddp(td.Tensor(_shard(x, rank))), td.Tensor(_shard(y, rank)))
        optim.zero_grad()
        loss.backward()
        optim.step()
    return final_state(model)


def distributed_accumulation(dist, world, rank, micro=4, steps=3):
    """no_sync over the first micro-1 micro-batches, averaging on the last, one step."""
    model = build("mlp", "float64")
    ddp = dist.DistributedDataParallel(model)
    optim = optimizer("sgd", ddp.parameters())
    for x, y in batches("mlp", "float64", world * micro, steps=steps, seed=5):
        # Rank r's samples of the whole batch, cut into micro-batches.
        xs, ys = _shard(x, rank, micro * PER_RANK), _shard(y, rank, micro * PER_RANK)
        optim.zero_grad()
        for m in range(micro):
            part = slice(m * PER_RANK, (m + 1) * PER_RANK)
            last = m == micro - 1
            with (ddp.no_sync() if not last else _nothing()):
                loss = F.cross_entropy(ddp(td.Tensor(xs[part])), td.Tensor(ys[part])) / micro
                loss.backward()
        optim.step()
    return final_state(model)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _expect_error(fn, *needles):
    """Run ``fn``; return its RuntimeError message, checked to contain ``needles``."""
    try:
        fn()
    except RuntimeError as error:
        message = str(error)
        missing = [n for n in needles if n not in message]
        assert not missing, f"message {message!r} lacks {missing}"
        return message
    raise AssertionError(f"{fn} did not raise")


def collectives(dist, world, rank):
    """In-place collectives against what NumPy computes from every rank's known input."""
    values = [np.arange(6, dtype=np.float64).reshape(2, 3) * (r + 1) for r in range(world)]
    t = td.Tensor(values[rank].copy())
    dist.all_reduce(t)
    np.testing.assert_array_equal(t.data, sum(values))
    t = td.Tensor(values[rank].copy())
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    np.testing.assert_array_equal(t.data, values[-1])
    a = values[rank].copy()
    dist.all_reduce(a, op=dist.ReduceOp.AVG)
    np.testing.assert_allclose(a, sum(values) / world, rtol=1e-15)
    b = td.Tensor(values[rank].copy())
    dist.broadcast(b, src=world - 1)
    np.testing.assert_array_equal(b.data, values[-1])
    gathered = [td.Tensor(np.zeros((2, 3))) for _ in range(world)]
    dist.all_gather(gathered, td.Tensor(values[rank]))
    for r in range(world):
        np.testing.assert_array_equal(gathered[r].data, values[r])
    inputs = [td.Tensor(np.full(3, 10.0 * rank + j)) for j in range(world)]
    out = td.Tensor(np.zeros(3))
    dist.reduce_scatter(out, inputs)
    np.testing.assert_array_equal(out.data, np.full(3, sum(10.0 * r + rank for r in range(world))))
    # AVG of integers is refused before any data moves (the sum stayed behind before).
    ints = np.array([3, 4]) * (rank + 1)
    try:
        dist.all_reduce(ints, op=dist.ReduceOp.AVG)
        raise AssertionError("AVG of an integer array did not raise")
    except TypeError as error:
        assert "floating-point" in str(error), error
    np.testing.assert_array_equal(ints, np.array([3, 4]) * (rank + 1))
    # Mismatched shapes: every rank raises, naming the ranks and shapes, and nobody hangs.
    odd = np.zeros(3 if rank == 0 else 4)
    msg = _expect_error(lambda: dist.all_reduce(odd), "rank 0: (3,)", "rank 1: (4,)")
    return msg


def logical_and_complex_collectives(dist, world, rank):
    """Bool reductions (torch's gloo: SUM and MAX are or, PRODUCT and MIN and) and the refusal
    of MAX/MIN on complex tensors, which left the array as it was. Rank 0's results."""
    flags = np.array([True, False, rank == 0, True])  # column 2 is true on rank 0 only
    results = {}
    for op in ("SUM", "MAX", "PRODUCT", "MIN"):
        reduced = flags.copy()
        dist.all_reduce(reduced, op=getattr(dist.ReduceOp, op))
        results[op] = reduced
        out = np.zeros(2, dtype=bool)
        dist.reduce_scatter(out, [np.array([r == rank, True]) for r in range(world)],
                            op=getattr(dist.ReduceOp, op))
        results[f"scatter_{op}"] = out
    numbers = np.array([1 + 2j, -3j]) * (rank + 1)
    for op in ("MAX", "MIN"):
        try:
            dist.all_reduce(numbers, op=getattr(dist.ReduceOp, op))
            raise AssertionError(f"all_reduce {op} of a complex array did not raise")
        except ValueError as error:
            results[f"complex_{op}"] = str(error)
    np.testing.assert_array_equal(numbers, np.array([1 + 2j, -3j]) * (rank + 1))
    dist.all_reduce(numbers)
    results["complex_SUM"] = numbers
    return results


def averaged_ddp(dist, world, rank, steps=3):
    """AveragedModel(ddp) trained along with AveragedModel(ddp.module); then one backward
    through the DDP copy, whose gradients it averages itself. Rank 0's states and gradients."""
    from tinydl.optim.swa_utils import AveragedModel
    model = build("mlp", "float64")
    ddp = dist.DistributedDataParallel(model)
    if rank == 0:
        AveragedModel(ddp)  # copying on one rank alone must not wait for the others
    swa, plain = AveragedModel(ddp), AveragedModel(ddp.module)
    optim = optimizer("sgd", ddp.parameters())
    for x, y in batches("mlp", "float64", world, steps=steps, seed=9):
        loss = F.cross_entropy(ddp(td.Tensor(_shard(x, rank))), td.Tensor(_shard(y, rank)))
        optim.zero_grad()
        loss.backward()
        optim.step()
        swa.update_parameters(ddp)
        plain.update_parameters(ddp.module)
    x = td.Tensor(np.ones((PER_RANK, 6)) * (rank + 1))
    swa(x).sum().backward()
    plain(x).sum().backward()
    for p in plain.module.parameters():
        dist.all_reduce(p.grad, op=dist.ReduceOp.AVG)
    return {"swa": final_state(swa.module.module), "plain": final_state(plain.module),
            "swa_grads": [p.grad.data for p in swa.module.module.parameters()],
            "plain_grads": [p.grad.data for p in plain.module.parameters()],
            "steps": np.array([ddp.comm_stats["steps"], swa.module.comm_stats["steps"]]),
            "n_averaged": swa.n_averaged.data}


def errors(dist, world, rank):
    """Mismatched replicas and unused parameters give clear errors on every rank."""
    td.manual_seed(0)
    width = 16 if rank == 0 else 17
    model = nn.Sequential(nn.Linear(6, width), nn.Tanh(), nn.Linear(width, 3))
    replicas = _expect_error(lambda: dist.DistributedDataParallel(model),
                             "rank 1 has '0.weight' of shape (17, 6)", "rank 0 has",
                             "(16, 6)")

    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.used, self.unused = nn.Linear(6, 4), nn.Linear(4, 3), nn.Linear(4, 3)

        def forward(self, x):
            return self.used(self.body(x).tanh())

    x = td.Tensor(np.ones((PER_RANK, 6), dtype=np.float32) * (rank + 1))
    ddp = dist.DistributedDataParallel(TwoHeads())
    ddp(x).sum().backward()
    unused = _expect_error(lambda: ddp(x), "unused.weight", "find_unused_parameters=True")
    ddp = dist.DistributedDataParallel(TwoHeads(), find_unused_parameters=True)
    for _ in range(2):
        ddp.zero_grad()
        ddp(x).sum().backward()
        ddp.finish_gradient_synchronization()
    assert ddp.module.unused.weight.grad is None, "a parameter no rank used got a gradient"
    # Rank r's input is (r + 1) * ones, so the averaged bias gradient of `used` is exact.
    np.testing.assert_allclose(ddp.module.used.bias.grad.data, np.full(3, float(PER_RANK)))
    return replicas, unused


def agreement(dist, world, rank):
    """Calls that differ between ranks raise on every rank, never a hang or a mixed result:
    a different op or src, a call refused on one rank only, replicas that differ in which
    parameters train or in bucket_cap_mb. Returns the messages (rank 0's)."""
    messages = {}
    ones = np.array([3.0, 1.0]) if rank == 0 else np.array([2.0, 10.0])
    op = dist.ReduceOp.SUM if rank == 0 else dist.ReduceOp.MAX
    # (MPI combined both: [5, 10] on every rank, neither result)
    messages["op"] = _expect_error(lambda: dist.all_reduce(ones, op=op), "op='sum'", "op='max'")
    messages["src"] = _expect_error(lambda: dist.broadcast(np.ones(2), src=rank),
                                    "rank 0: (2,) float64, src=0", "rank 1: (2,) float64, src=1")
    # refused on rank 0 only: rank 0 raises its own error, the others say whose call failed
    ints = np.ones(2, dtype=np.int64) if rank == 0 else np.ones(2)
    try:
        dist.all_reduce(ints, op=dist.ReduceOp.AVG)
        raise AssertionError("AVG of an integer array on rank 0 did not raise")
    except TypeError as error:
        assert rank == 0 and "floating-point" in str(error), (rank, error)
    except RuntimeError as error:
        assert rank != 0 and "rank 0's call was refused" in str(error), (rank, error)
    strided = np.ones((2, 4))[:, ::2] if rank == world - 1 else np.ones((2, 2))
    outs = [np.zeros((2, 2)) for _ in range(world)]
    try:
        dist.all_gather(outs, strided)
        raise AssertionError("a strided array on the last rank did not raise")
    except ValueError as error:
        assert rank == world - 1 and "C-contiguous" in str(error), (rank, error)
    except RuntimeError as error:
        assert rank != world - 1 and f"rank {world - 1}'s call was refused" in str(error)
    td.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    if rank == 1:
        model[1].bias.requires_grad_(False)
    messages["frozen"] = _expect_error(lambda: dist.DistributedDataParallel(model),
                                       "rank 1 has '1.bias' of shape (1,) float32 "
                                       "(requires_grad=False) where rank 0 has '1.bias'")
    messages["cap"] = _expect_error(
        lambda: dist.DistributedDataParallel(nn.Linear(2, 3), bucket_cap_mb=1 + rank),
        "rank 1 has bucket_cap_mb=2", "where rank 0 has bucket_cap_mb=1")
    # SyncBatchNorm evaluates locally (torch's rule), also without running statistics: rank 0
    # alone evaluating waited for the others before.
    if rank == 0:
        x = np.random.default_rng(3).standard_normal((5, 3))
        sync = dist.SyncBatchNorm(3, track_running_stats=False).double().eval()
        plain = nn.BatchNorm1d(3, track_running_stats=False).double().eval()
        np.testing.assert_allclose(sync(td.Tensor(x)).data, plain(td.Tensor(x)).data,
                                   rtol=1e-14)
    dist.barrier()
    # SyncBatchNorm layers of different widths: MPI aborted one rank, another read garbage
    wide = dist.SyncBatchNorm(3 + rank)
    messages["sync_width"] = _expect_error(
        lambda: wide(td.Tensor(np.ones((4, 3 + rank), dtype=np.float32))),
        "normalise different numbers of channels rank 0: 3, rank 1: 4")
    # broadcast_buffers=False: construction leaves each rank's buffers alone too (torch's)
    bn = nn.BatchNorm1d(2)
    bn.running_mean.data[...] = rank
    dist.DistributedDataParallel(bn, broadcast_buffers=False)
    assert np.all(bn.running_mean.data == rank), (rank, bn.running_mean.data)
    ddp = dist.DistributedDataParallel(bn)
    assert np.all(bn.running_mean.data == 0), (rank, bn.running_mean.data)
    # forward syncs the buffers it finds then: a reassigned one is the one sent (torch's)
    bn.eval()
    bn.running_mean = td.Tensor(np.full(2, 1.0 + rank, dtype=np.float32))
    ddp(td.Tensor(np.zeros((3, 2), dtype=np.float32)))
    assert np.all(bn.running_mean.data == 1), (rank, bn.running_mean.data)
    return messages


def unused_after_zero_grad(dist, world, rank, steps=3):
    """find_unused_parameters with ``zero_grad()`` between forward and backward: a parameter
    unused on some ranks was counted ready at forward and, its bucket complete, read then,
    so last step's gradient was averaged in (torch reads it when backward starts). Rank 0
    alone uses ``aux``: its averaged gradient is rank 0's own / K at every step. Returns the
    largest error over the steps."""

    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.head, self.aux = nn.Linear(4, 2).double(), nn.Linear(4, 4).double()

        def forward(self, x, use):
            return self.head(self.aux(x).tanh() if use else x)

    td.manual_seed(0)
    ref = Branchy()
    ref(td.Tensor(np.linspace(-1, 1, 12).reshape(3, 4)), True).sum().backward()
    expected = {n: p.grad.data / world for n, p in ref.named_parameters() if n.startswith("aux")}
    td.manual_seed(0)
    model = Branchy()
    ddp = dist.DistributedDataParallel(model, find_unused_parameters=True, bucket_cap_mb=1e-6)
    x = td.Tensor(np.linspace(-1, 1, 12).reshape(3, 4) * (rank + 1))
    worst = 0.0
    for _ in range(steps):
        out = ddp(x, rank == 0).sum()
        ddp.zero_grad()
        out.backward()
        for name, p in model.named_parameters():
            if name in expected:
                worst = max(worst, float(np.max(np.abs(p.grad.data - expected[name]))))
    return worst


def shared_gradients(dist, world, rank):
    """``emb + pos`` with pos a parameter of emb's shape: Add hands one array to both, and
    DDP's averaging (in place, during backward) reached emb's gradient through pos.grad
    (emb.grad came back as the mean over ranks); a lone large parameter's in-place allreduce
    raced with layers still reading the same array. Returns the max error on this rank."""
    td.manual_seed(0)  # every rank builds the same model

    class Sum(nn.Module):
        def __init__(self):
            super().__init__()
            self.pos = nn.Parameter(np.zeros((1, 4, 300), dtype=np.float64))
            self.extra = nn.Parameter(np.zeros((1, 4, 300), dtype=np.float64))
            self.head = nn.Linear(300, 3).double()

        def forward(self, emb):
            return self.head(((emb + self.pos) + self.extra).tanh())

    rng = np.random.default_rng(rank)
    emb0 = rng.standard_normal((1, 4, 300))
    local = Sum()
    td.manual_seed(0)  # the same weights again, on every rank
    emb = td.Tensor(emb0.copy(), requires_grad=True)
    local(emb).sum().backward()
    expected = emb.grad.data.copy()
    model = dist.DistributedDataParallel(Sum(), bucket_cap_mb=0.005)
    emb = td.Tensor(emb0.copy(), requires_grad=True)
    model(emb).sum().backward()
    return float(np.max(np.abs(emb.grad.data - expected)))


def main(out):
    import tinydl.distributed as dist
    dist.init_process_group("mpi")
    world, rank = dist.get_world_size(), dist.get_rank()
    results = {"world": world}
    for kind, dtype, opt in CASES:
        state = distributed(dist, kind, dtype, opt, world, rank)
        # Every replica must hold the same values: compare with rank 0's.
        for name, value in state.items():
            ref = value.copy()
            dist.broadcast(ref, src=0)
            assert np.array_equal(ref, value), f"rank {rank}: replicas differ in {name}"
        results[f"{kind}_{dtype}_{opt}"] = state
    results["accumulation"] = distributed_accumulation(dist, world, rank)
    results["collective_error"] = collectives(dist, world, rank)
    results["logical"] = logical_and_complex_collectives(dist, world, rank)
    results["averaged_ddp"] = averaged_ddp(dist, world, rank)
    results["replica_error"], results["unused_error"] = errors(dist, world, rank)
    results["agreement"] = agreement(dist, world, rank)
    stale = unused_after_zero_grad(dist, world, rank)
    assert stale < 1e-12, f"rank {rank}: an unused parameter's gradient is off by {stale:.3g}"
    shared = shared_gradients(dist, world, rank)
    assert shared < 1e-12, f"rank {rank}: the input gradient changed by {shared:.3g}"
    path = out + ".ckpt.npz"
    checkpoint = dict(results["accumulation"], step=np.array(7), best=np.array(0.5))
    dist.save_checkpoint(checkpoint, path)
    loaded = dist.load_checkpoint(path)
    again = dist.load_checkpoint(path, broadcast_from_rank0=True)
    for name, value in checkpoint.items():
        assert np.array_equal(loaded[name], value) and np.array_equal(again[name], value), name
        # 0-d stays 0-d on every rank (rank 0's came back 1-d when broadcast)
        assert np.shape(again[name]) == np.shape(value), (rank, name, np.shape(again[name]))
    if rank == 0:
        td.save(results, out)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
