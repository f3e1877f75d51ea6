"""tinydl.save / tinydl.load (tinydl/serialization.py): .npz without pickle, atomic, bit-identical."""
import os

import numpy as np
import pytest

import tinydl
import tinydl.nn as nn
from tinydl.serialization import load, save


def _model():
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 3))


def test_saved_model_reloads_bit_identically(tmp_path):
    tinydl.manual_seed(0)
    model = _model()
    model(tinydl.randn(4, 1, 4, 4))  # moves the running statistics
    path = tmp_path / "model.npz"
    save(model.state_dict(), path)
    tinydl.manual_seed(1)
    other = _model()
    other.load_state_dict(load(path))
    for (k, a), (k2, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert k == k2 and a.dtype == b.dtype
        assert a.data.tobytes() == b.data.tobytes(), k
    model.eval(), other.eval()
    x = tinydl.randn(2, 1, 4, 4)
    assert model(x).data.tobytes() == other(x).data.tobytes()


def test_file_is_plain_npz_without_pickle(tmp_path):
    model = _model()
    path = tmp_path / "ckpt.bin"
    save(model.state_dict(), path)
    assert sorted(os.listdir(tmp_path)) == ["ckpt.bin"]  # name kept, no temp file left
    with np.load(path, allow_pickle=False) as archive:
        assert "0.weight" in archive.files and "1.running_mean" in archive.files
        np.testing.assert_array_equal(archive["3.bias"], model[3].bias.data)


def test_nested_structures_round_trip(tmp_path):
    obj = {"model": {"w": tinydl.Tensor(np.arange(3.0), requires_grad=True)},
           "optim": {"state": {0: {"momentum_buffer": np.ones((2, 2), np.float32), "step": 4}},
                     "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "nesterov": False,
                                       "params": [0, 1], "name": None}]},
           "epoch": 7, "scalar": np.float32(2.5)}
    save(obj, tmp_path / "all.npz")
    back = load(tmp_path / "all.npz")
    assert isinstance(back["model"]["w"], tinydl.Tensor) and back["model"]["w"].requires_grad
    np.testing.assert_array_equal(back["model"]["w"].data, np.arange(3.0))
    assert back["optim"]["state"][0]["step"] == 4
    assert back["optim"]["state"][0]["momentum_buffer"].dtype == np.float32
    assert back["optim"]["param_groups"] == [{"lr": 0.1, "betas": (0.9, 0.999), "nesterov": False,
                                              "params": [0, 1], "name": None}]
    assert back["epoch"] == 7 and back["scalar"] == np.float32(2.5)
    with np.load(tmp_path / "all.npz", allow_pickle=False) as archive:
        assert "optim.state.0.momentum_buffer" in archive.files


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "m.npz"
    save({"a": np.ones(2)}, path)
    with pytest.raises(TypeError, match="cannot store"):
        save({"a": object()}, path)
    np.testing.assert_array_equal(load(path)["a"], np.ones(2))
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]
    with pytest.raises(ValueError, match="same archive key"):
        save({"a.b": np.ones(1), "a": {"b": np.ones(1)}}, path)
    with pytest.raises(TypeError, match="pickle"):
        save({"a": np.array(["x"], dtype=object)}, path)
