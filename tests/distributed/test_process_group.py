"""World size 1 in this process (no mpiexec): collectives, SyncBatchNorm against BatchNorm,
DDP as the identity on gradients, and the message when mpi4py is missing."""
import contextlib
import os
import subprocess
import sys

import numpy as np
import pytest

import tinydl as td
import tinydl.distributed as dist
from tinydl import nn
from tinydl.distributed import process_group
from tinydl.gradcheck import gradcheck
from tests.distributed._launch import blas_threads_restored

try:
    import torch
except ImportError:  # torch is an optional oracle
    torch = None


@pytest.fixture
def group(monkeypatch):
    """An initialised world of size 1; the BLAS variables it sets are undone afterwards."""
    pytest.importorskip("mpi4py", reason='needs pip install "tinydl[mpi]"')
    for var in process_group._THREAD_VARIABLES + ("NUMBA_NUM_THREADS",):
        monkeypatch.setenv(var, "")  # registers the variable for restoring...
        monkeypatch.delenv(var)      # ...and leaves it unset, as in a fresh process
    with blas_threads_restored():
        if not dist.is_initialized():
            dist.init_process_group("mpi")
        yield
        dist.destroy_process_group()



def test_without_mpi4py_import_works_and_calls_say_which_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    monkeypatch.setattr(process_group, "_world", None)
    with pytest.raises(ImportError, match=r'pip install "tinydl\[mpi\]"'):
        dist.init_process_group("mpi")
    with pytest.raises(ImportError, match=r'pip install "tinydl\[mpi\]"'):
        dist.get_rank()
    assert not dist.is_available()


def test_world_size_one_is_the_same_code_path(group):
    assert dist.is_initialized() and dist.get_world_size() == 1 and dist.get_rank() == 0
    t = td.Tensor(np.arange(4.0))
    assert dist.all_reduce(t, op=dist.ReduceOp.AVG) is t
    np.testing.assert_array_equal(t.data, np.arange(4.0))
    with pytest.raises(RuntimeError, match="already initialised"):
        dist.init_process_group("mpi")
    with pytest.raises(ValueError, match="src 1"):
        dist.broadcast(t, src=1)


def test_sync_batchnorm_equals_batchnorm_forward_backward_and_statistics(group):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3, 4, 4)) * 2 + 1
    g = rng.standard_normal(x.shape)
    plain = nn.BatchNorm2d(3).double()
    plain.weight.data[...] = [0.5, 1.5, -1.0]
    plain.bias.data[...] = [0.1, 0.2, 0.3]
    sync = dist.convert_sync_batchnorm(nn.Sequential(nn.BatchNorm2d(3).double()))[0]
    assert isinstance(sync, dist.SyncBatchNorm)
    sync.weight.data[...] = plain.weight.data
    sync.bias.data[...] = plain.bias.data
    results = []
    for layer in (plain, sync):
        xt = td.Tensor(x.copy(), requires_grad=True)
        out = layer(xt)
        (out * td.Tensor(g)).sum().backward()
        results.append((out.data, xt.grad.data, layer.weight.grad.data, layer.bias.grad.data,
                        layer.running_mean.data.copy(), layer.running_var.data.copy()))
    for name, a, b in zip(("out", "dx", "dweight", "dbias", "running_mean", "running_var"),
                          *results):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12, err_msg=name)
    sync.eval()
    plain.eval()
    np.testing.assert_allclose(sync(td.Tensor(x)).data, plain(td.Tensor(x)).data, rtol=1e-12)


def test_sync_batchnorm_float32_far_from_zero_is_as_accurate_as_batchnorm(group):
    # float32 values near 1e4 with a spread of 0.1: the statistics are float64 per channel,
    # the elementwise work float32 (as BatchNorm's); against a float64 reference, the output
    # and input gradient are within twice BatchNorm's (and torch's, where installed) error.
    rng = np.random.default_rng(3)
    x = (1e4 + 0.1 * rng.standard_normal((16, 4, 6, 6))).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    x64, g64 = x.astype(np.float64), g.astype(np.float64)
    mean, var = x64.mean(axis=(0, 2, 3), keepdims=True), x64.var(axis=(0, 2, 3), keepdims=True)
    inv = 1 / np.sqrt(var + 1e-5)
    want = (x64 - mean) * inv
    want_dx = inv * (g64 - g64.mean(axis=(0, 2, 3), keepdims=True)
                     - want * (g64 * want).mean(axis=(0, 2, 3), keepdims=True))
    errors = {}
    for name, layer in (("sync", dist.SyncBatchNorm(4)), ("plain", nn.BatchNorm2d(4))):
        xt = td.Tensor(x, requires_grad=True)
        out = layer(xt)
        out.backward(td.Tensor(g))
        assert out.dtype == xt.grad.dtype == np.float32
        errors[name] = (np.abs(out.data - want).max(), np.abs(xt.grad.data - want_dx).max())
        np.testing.assert_allclose(layer.running_mean.data, 0.1 * mean.ravel(), rtol=1e-6)
    if torch is not None:
        xt = torch.from_numpy(x).requires_grad_()
        out = torch.nn.BatchNorm2d(4)(xt)
        out.backward(torch.from_numpy(g))
        errors["torch"] = (np.abs(out.detach().numpy() - want).max(),
                           np.abs(xt.grad.numpy() - want_dx).max())
    for i, what in enumerate(("output", "input gradient")):
        bound = 2 * max(e[i] for name, e in errors.items() if name != "sync")
        assert errors["sync"][i] <= bound, (what, errors)


def test_sync_batchnorm_refuses_the_inputs_batchnorm_refuses(group):
    # Integer input was normalised and truncated back to int64, float64 input turned a float32
    # layer's output float64; both updated the running statistics first.
    layer = dist.SyncBatchNorm(3)
    for x, needle in ((np.arange(12).reshape(4, 3) * 2, "int64"),
                      (np.arange(12.0).reshape(4, 3), "float64")):
        with pytest.raises(TypeError, match=f"SyncBatchNorm: input of dtype {needle}"):
            layer(td.Tensor(x))
    assert int(layer.num_batches_tracked.data) == 0
    np.testing.assert_array_equal(layer.running_mean.data, np.zeros(3))
    assert layer(td.Tensor(np.arange(12.0).reshape(4, 3)).float()).dtype == np.float32
    # integer running buffers would take the update truncated (as batch_norm, refused)
    layer.running_var = td.Tensor(np.ones(3, np.int64))
    with pytest.raises(TypeError, match="SyncBatchNorm: running_var must be floating point"):
        layer(td.Tensor(np.arange(12.0).reshape(4, 3)).float())
    np.testing.assert_array_equal(layer.running_var.data, 1)


def test_sync_batchnorm_gradcheck(group):
    layer = dist.SyncBatchNorm(2, dtype=np.float64)
    layer.weight.data[...] = [0.7, -1.3]
    x = td.Tensor(np.random.default_rng(1).standard_normal((4, 2, 3)), requires_grad=True)
    assert gradcheck(lambda t: layer(t), (x,))


def test_sync_batchnorm_refuses_a_second_derivative(group):
    # its backward works on arrays: a gradient penalty through it came out silently wrong
    layer = dist.SyncBatchNorm(2, dtype=np.float64)
    x = td.Tensor(np.random.default_rng(1).standard_normal((4, 2)), requires_grad=True)
    with pytest.raises(RuntimeError, match="_SyncNormalize.backward.*create_graph"):
        td.autograd.grad((layer(x) ** 3).sum(), x, create_graph=True)
    g, = td.autograd.grad((layer(x) ** 3).sum(), x)  # first order as before
    assert g.shape == (4, 2)


def test_ddp_on_one_rank_leaves_gradients_as_they_are(group):
    td.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=1e-5)  # one bucket per tensor
    assert len(ddp._buckets) == 4
    x = td.Tensor(np.random.default_rng(2).standard_normal((6, 3)).astype(np.float32))
    ddp(x).sum().backward()
    got = [p.grad.data.copy() for p in model.parameters()]
    model.zero_grad()
    model(x).sum().backward()
    for a, b in zip(got, model.parameters()):
        np.testing.assert_array_equal(a, b.grad.data)
    assert list(ddp.state_dict())[0] == "module.0.weight"


def test_ddp_refuses_a_lazy_module_before_its_first_forward(group):
    model = nn.Sequential(nn.LazyLinear(4), nn.LazyBatchNorm1d())
    with pytest.raises(RuntimeError, match=r"DistributedDataParallel.*lazy.*'0.weight'"):
        dist.DistributedDataParallel(model)
    model(td.Tensor(np.ones((3, 5), dtype=np.float32)))
    ddp = dist.DistributedDataParallel(model)  # initialized: accepted
    ddp(td.Tensor(np.ones((3, 5), dtype=np.float32))).sum().backward()
    assert model[0].weight.grad.shape == (4, 5)


def test_ddp_gradients_are_bucket_views_and_accumulate_in_place(group):
    # gradient_as_bucket_view: after averaging, each .grad is a view into its bucket; zeroing it in
    # place and accumulating into it (no_sync) must still give the plain model's gradients.
    from tinydl.optim import SGD
    xs = [td.Tensor(np.random.default_rng(s).standard_normal((6, 3))) for s in range(3)]
    grads = []
    for wrap in (False, True):
        td.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
        net = (dist.DistributedDataParallel(model, bucket_cap_mb=1e-4, gradient_as_bucket_view=True)
               if wrap else model)
        opt = SGD(model.parameters(), lr=0.1)
        net(xs[0]).sum().backward()
        opt.zero_grad(set_to_none=False)
        with (net.no_sync() if wrap else contextlib.nullcontext()):
            net(xs[1]).sum().backward()
        (net(xs[2]) ** 2).sum().backward()
        grads.append([p.grad.data.copy() for p in model.parameters()])
        if wrap:
            buffers = [b.buffer for b in net._buckets]
            assert len(buffers) >= 2
            for p in model.parameters():
                assert sum(np.shares_memory(p.grad.data, b) for b in buffers) == 1
    for plain, averaged in zip(*grads):
        np.testing.assert_allclose(averaged, plain, rtol=1e-15, atol=0)


def test_ddp_gradients_are_copied_out_of_the_buckets_by_default(group):
    # As torch (gradient_as_bucket_view=False): a .grad kept from one step is not changed by
    # the next synchronised backward.
    td.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    net = dist.DistributedDataParallel(model, bucket_cap_mb=1e-4)
    x = td.Tensor(np.random.default_rng(0).standard_normal((6, 3)))
    net(x).sum().backward()
    kept = [p.grad for p in model.parameters()]
    before = [g.data.copy() for g in kept]
    buffers = [b.buffer for b in net._buckets]
    assert not any(np.shares_memory(g.data, b) for g in kept for b in buffers)
    for p in model.parameters():
        p.grad = None
    (net(x * 2.0) ** 2).sum().backward()
    for g, b in zip(kept, before):
        np.testing.assert_array_equal(g.data, b)


def test_buckets_start_during_backward_before_the_first_layer_is_ready(group):
    td.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 2))
    started = []
    # Registered before DDP's own hook, so it sees the state just before the first layer's
    # weight (the last gradient backward produces) is counted.
    model[0].weight.register_post_accumulate_grad_hook(lambda p: started.append(ddp._next))
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=0.01)
    assert len(ddp._buckets) >= 3
    x = td.Tensor(np.ones((4, 3), dtype=np.float32))
    ddp(x).sum().backward()
    assert started and 1 <= started[0] < len(ddp._buckets), (
        f"{started}: later layers' buckets should be under way while backward is still running")
    assert ddp.comm_stats["steps"] == 1 and not ddp._expecting


def test_one_blas_thread_per_rank_unless_the_user_chose(tmp_path):
    pytest.importorskip("mpi4py")
    pytest.importorskip("threadpoolctl")
    code = ("import threadpoolctl, tinydl.distributed as d; d.init_process_group(); "
            "print(max(i['num_threads'] for i in threadpoolctl.threadpool_info()))")
    env = {k: v for k, v in os.environ.items() if k not in process_group._THREAD_VARIABLES}
    chosen = dict(env, OPENBLAS_NUM_THREADS="2")
    one = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60)
    two = subprocess.run([sys.executable, "-c", code], env=chosen, capture_output=True,
                         text=True, timeout=60)
    assert one.stdout.split() == ["1"], one.stderr
    # A user's own count stays (OpenBLAS caps it at the number of cores).
    assert two.stdout.split() == [str(min(2, os.cpu_count() or 1))], two.stderr
