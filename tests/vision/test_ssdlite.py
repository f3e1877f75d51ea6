"""SSDLite: output layout against its priors, learning on a fixed batch, and a saved model
giving the same detections in a fresh process."""
import json
import subprocess
import sys

import numpy as np
import pytest

import tinydl as td
from tinydl import nn
from tinydl.optim import Adam
from tinydl.vision import ssd_prior_boxes
from tinydl.vision.datasets import SyntheticShapes, collate
from tinydl.vision.models.ssd import SSDLite, prior_config
from tinydl.vision.ssd import MultiBoxLoss


def test_output_shapes_and_priors():
    model = SSDLite(4, width=4)
    assert model.priors.shape == (4 * (16 * 16 + 8 * 8 + 4 * 4), 4)
    np.testing.assert_array_equal(model.priors, ssd_prior_boxes(**prior_config(64)))
    loc, conf = model(td.Tensor(np.random.default_rng(0).random((2, 3, 64, 64), dtype=np.float32)))
    assert loc.shape == (2, len(model.priors), 4) and conf.shape == (2, len(model.priors), 4)
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    with pytest.raises(ValueError, match=r"SSDLite: expected images \(B, 3, 64, 64\)"):
        model(td.Tensor(np.zeros((1, 3, 32, 32), np.float32)))
    with pytest.raises(ValueError, match="SSDLite: num_classes"):
        SSDLite(1)


class _Constant(nn.Module):
    """Stands in for a head: returns a fixed ``(B, A*4, H, W)`` map."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, x):
        return td.Tensor(np.broadcast_to(self.value, (x.shape[0],) + self.value.shape[1:]).copy())


def test_head_outputs_line_up_with_the_priors_they_belong_to():
    """Channel a*4+k at cell (i, j) of level l must land on the prior of that cell and slot."""
    model = SSDLite(3, width=4)
    sizes, n_anchors = (16, 8, 4), model.num_anchors
    for level, f in enumerate(sizes):
        a, k, i, j = np.meshgrid(np.arange(n_anchors), np.arange(4), np.arange(f), np.arange(f), indexing="ij")
        code = (1000 * i + 10 * j + a + 0.1 * k).transpose(0, 1, 2, 3).reshape(1, n_anchors * 4, f, f)
        model.loc_heads[level] = _Constant(code.astype(np.float64))
    loc, _ = model(td.Tensor(np.zeros((1, 3, 64, 64), np.float32)))
    start = 0
    for f in sizes:
        level = model.priors[start:start + f * f * n_anchors]
        got = loc.data[0, start:start + len(level)]
        row, col = np.floor(level[:, 1] * f).astype(int), np.floor(level[:, 0] * f).astype(int)
        slot = np.tile(np.arange(n_anchors), f * f)
        for k in range(4):
            np.testing.assert_allclose(got[:, k], 1000 * row + 10 * col + slot + 0.1 * k, err_msg=f"level {f}")
        start += len(level)


def _trained_model(steps=8):
    td.manual_seed(0)
    data = SyntheticShapes(16, seed=3)
    images, boxes, labels = collate([data[i] for i in range(16)])
    model = SSDLite(4, width=4)
    criterion = MultiBoxLoss(model.priors)
    optimizer = Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        loss_loc, loss_conf = criterion(*model(images), [b / 64 for b in boxes], labels)
        loss = loss_loc + loss_conf
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return model, images.data, losses


def test_training_lowers_the_loss_and_a_saved_model_detects_the_same_in_a_fresh_process(tmp_path):
    model, images, losses = _trained_model()
    assert losses[-1] < 0.7 * losses[0], f"the MultiBox loss did not fall: {losses}"
    path = tmp_path / "ssd.npz"
    td.save(model.state_dict(), path)
    np.save(tmp_path / "images.npy", images[:4])
    expected = model.predict(images[:4], score_threshold=0.05)
    assert sum(len(d["scores"]) for d in expected) > 0
    script = (
        "import json, sys, numpy as np, tinydl as td\n"
        "from tinydl.vision.models.ssd import SSDLite\n"
        "m = SSDLite(4, width=4)\n"
        f"m.load_state_dict(td.load({str(path)!r}))\n"
        f"dets = m.predict(np.load({str(tmp_path / 'images.npy')!r}), score_threshold=0.05)\n"
        "json.dump([{k: v.tolist() for k, v in d.items()} for d in dets], sys.stdout)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for mine, theirs in zip(expected, json.loads(done.stdout)):
        np.testing.assert_array_equal(mine["labels"], theirs["labels"])
        np.testing.assert_allclose(mine["scores"], theirs["scores"], rtol=1e-6)
        np.testing.assert_allclose(mine["boxes"], theirs["boxes"], rtol=1e-6, atol=1e-5)
    # A fresh model object in this process agrees too, and an untrained one does not.
    fresh = SSDLite(4, width=4)
    fresh.load_state_dict(td.load(path))
    again = fresh.predict(images[:4], score_threshold=0.05)
    np.testing.assert_array_equal(np.concatenate([d["scores"] for d in again]),
                                  np.concatenate([d["scores"] for d in expected]))
    untrained = SSDLite(4, width=4).predict(images[:4], score_threshold=0.05)
    assert not np.allclose(untrained[0]["scores"][:10], expected[0]["scores"][:10])
