"""AveragedModel (SWA, EMA) and update_bn against torch.optim.swa_utils and closed forms."""
import numpy as np
import pytest

import tinydl as td
from tinydl import nn
from tinydl.optim import swa_utils
from tests.distributed.test_process_group import group  # noqa: F401 (a world of size 1)

RNG = np.random.default_rng(0)


def small_net():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def float_state(module):
    return {k: np.asarray(v, dtype=np.float64) for k, v in module.state_dict().items()
            if "num_batches" not in k}


def set_weights(model, seed):
    rng = np.random.default_rng(seed)
    for p in list(model.parameters()) + [b for b in model.buffers() if b is not None]:
        if np.issubdtype(p.data.dtype, np.floating):
            p.data[...] = rng.standard_normal(p.shape)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_var.data[...] = np.abs(m.running_var.data) + 0.1


def test_swa_is_the_running_mean_of_the_models_seen():
    model = small_net()
    swa = swa_utils.AveragedModel(model)
    seen = []
    for step in range(5):
        set_weights(model, step)
        seen.append({k: np.asarray(v).copy() for k, v in model.state_dict().items()})
        swa.update_parameters(model)
    assert int(swa.n_averaged.data) == 5
    for name, p in swa.module.named_parameters():
        np.testing.assert_allclose(p.data, np.mean([s[name] for s in seen], axis=0), rtol=1e-5,
                                   err_msg=name)
    # use_buffers=False: buffers are the model's latest, not averaged.
    np.testing.assert_array_equal(swa.module[1].running_mean.data, model[1].running_mean.data)


def test_ema_closed_form():
    decay = 0.9
    model = small_net()
    ema = swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(decay))
    history = []
    for step in range(4):
        set_weights(model, 10 + step)
        history.append(model[0].weight.data.copy())
        ema.update_parameters(model)
    expected = history[0]
    for w in history[1:]:
        expected = decay * expected + (1 - decay) * w
    np.testing.assert_allclose(ema.module[0].weight.data, expected, rtol=1e-5)
    x = td.Tensor(RNG.standard_normal((5, 3)).astype(np.float32))
    ema.eval()
    assert ema(x).shape == (5, 2)


@pytest.mark.parametrize("kind", ["swa", "ema_multi", "ema_avg", "ema_buffers"])
def test_matches_torch_averaged_model(kind):
    torch = pytest.importorskip("torch")
    from torch.optim import swa_utils as tsu
    ours = small_net()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                                 torch.nn.Linear(4, 2)).double()
    kw_ours, kw_theirs = {}, {}
    if kind == "ema_multi":
        kw_ours = dict(multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.8))
        kw_theirs = dict(multi_avg_fn=tsu.get_ema_multi_avg_fn(0.8))
    elif kind == "ema_avg":
        kw_ours = dict(avg_fn=swa_utils.get_ema_avg_fn(0.7))
        kw_theirs = dict(avg_fn=tsu.get_ema_avg_fn(0.7))
    elif kind == "ema_buffers":
        kw_ours = dict(multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.8), use_buffers=True)
        kw_theirs = dict(multi_avg_fn=tsu.get_ema_multi_avg_fn(0.8), use_buffers=True)
    avg_ours = swa_utils.AveragedModel(ours, **kw_ours)
    avg_theirs = tsu.AveragedModel(theirs, **kw_theirs)
    for step in range(6):
        set_weights(ours, step)
        theirs.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float64))
                                if np.asarray(v).dtype.kind == "f" else torch.tensor(int(v))
                                for k, v in ours.state_dict().items()})
        avg_ours.update_parameters(ours)
        avg_theirs.update_parameters(theirs)
    got = float_state(avg_ours.module)
    want = {k: v.numpy() for k, v in avg_theirs.module.state_dict().items()
            if "num_batches" not in k}
    assert got.keys() == want.keys()
    for k in got:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-6, err_msg=f"{kind}: {k}")


def test_update_bn_matches_torch_and_restores_state():
    torch = pytest.importorskip("torch")
    from torch.optim import swa_utils as tsu
    data = [RNG.standard_normal((8, 3)) * 2 + 1 for _ in range(4)]
    ours = small_net()
    ours[1].momentum = 0.3
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4, momentum=0.3),
                                 torch.nn.ReLU(), torch.nn.Linear(4, 2)).double()
    theirs.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float64))
                            if np.asarray(v).dtype.kind == "f" else torch.tensor(int(v))
                            for k, v in ours.state_dict().items()})
    ours = ours.double()
    ours.eval()
    swa_utils.update_bn([(td.Tensor(x), 0) for x in data], ours)
    tsu.update_bn([(torch.from_numpy(x), 0) for x in data], theirs)
    np.testing.assert_allclose(ours[1].running_mean.data, theirs[1].running_mean.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours[1].running_var.data, theirs[1].running_var.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours[1].running_mean.data, np.mean(
        [(x @ ours[0].weight.data.T + ours[0].bias.data).mean(0) for x in data], axis=0),
        rtol=1e-10)
    assert ours[1].momentum == 0.3 and not ours.training


def test_update_bn_recomputes_sync_batchnorm_and_leaves_instance_norm_to_forward(group):
    # SyncBatchNorm (a _BatchNorm, not a BatchNorm1d/2d) was skipped: its statistics were
    # neither reset nor recomputed. Instance norms are not batch norms, in torch either.
    torch = pytest.importorskip("torch")
    from torch.optim import swa_utils as tsu
    import tinydl.distributed as dist
    data = [RNG.standard_normal((5, 2, 4)) * 3 + 1 for _ in range(3)]
    sync = dist.convert_sync_batchnorm(nn.Sequential(nn.BatchNorm1d(2, momentum=0.3).double()))
    plain = nn.Sequential(nn.BatchNorm1d(2, momentum=0.3).double())
    ours = nn.Sequential(nn.InstanceNorm1d(2, track_running_stats=True).double())
    theirs = torch.nn.Sequential(torch.nn.InstanceNorm1d(2, track_running_stats=True)).double()
    for model in (sync, plain, ours):
        swa_utils.update_bn([td.Tensor(x) for x in data], model)
    tsu.update_bn([torch.from_numpy(x) for x in data], theirs)
    assert isinstance(sync[0], dist.SyncBatchNorm) and sync[0].momentum == 0.3
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(sync[0], name).data, getattr(plain[0], name).data,
                                   rtol=1e-12, err_msg=f"SyncBatchNorm {name}")
        np.testing.assert_allclose(getattr(ours[0], name).data,
                                   getattr(theirs[0], name).numpy(), rtol=1e-12,
                                   err_msg=f"InstanceNorm1d {name}")


def test_bad_arguments():
    with pytest.raises(ValueError, match="decay"):
        swa_utils.get_ema_multi_avg_fn(1.5)
    with pytest.raises(TypeError, match="Module"):
        swa_utils.AveragedModel(object())
    avg = swa_utils.AveragedModel(small_net())
    with pytest.raises(ValueError, match="update_parameters"):
        avg.update_parameters(nn.Linear(3, 2))


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 5])
@pytest.mark.parametrize("swa_lr", [0.05, [0.05, 0.2]])
def test_swalr_anneals_as_torch(strategy, anneal_epochs, swa_lr):
    """SWALR (torch.optim.swa_utils') was missing."""
    torch = pytest.importorskip("torch")
    ours = td.optim.SGD([{"params": [td.zeros(1, requires_grad=True)]},
                         {"params": [td.zeros(1, requires_grad=True)], "lr": 0.3}], lr=1.0)
    theirs = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)]},
                              {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.3}],
                             lr=1.0)
    schedules = (swa_utils.SWALR(ours, swa_lr, anneal_epochs=anneal_epochs,
                                 anneal_strategy=strategy),
                 torch.optim.swa_utils.SWALR(theirs, swa_lr, anneal_epochs=anneal_epochs,
                                             anneal_strategy=strategy))
    for _ in range(9):
        ours.step(), theirs.step()
        for schedule in schedules:
            schedule.step()
        assert [g["lr"] for g in ours.param_groups] == pytest.approx(
            [g["lr"] for g in theirs.param_groups], rel=1e-15, abs=1e-15)
    with pytest.raises(ValueError, match="anneal_strategy must be 'cos' or 'linear'"):
        swa_utils.SWALR(ours, 0.1, anneal_strategy="exp")
