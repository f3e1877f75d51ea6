"""resnet_tiny: shapes, zero-gamma, the no-bias-decay parameter groups, and that it learns."""
import numpy as np
import pytest

import tinydl as td
from tinydl import nn
from tinydl.nn import functional as F
from tinydl.optim import SGD
from tinydl.vision.models.resnet import BasicBlock, param_groups_no_decay, resnet_tiny, zero_gamma_


def test_shapes_and_stage_layout():
    td.manual_seed(0)
    model = resnet_tiny(num_classes=7, in_channels=3, width=4, blocks=(2, 1, 1), stem_stride=2)
    x = td.Tensor(np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32))
    assert model(x).shape == (2, 7)
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 4
    assert [b.conv2.out_channels for b in blocks] == [4, 4, 8, 16]
    # identity shortcut where the shape is kept, projection where it changes
    assert isinstance(blocks[1].shortcut, nn.Identity)
    assert isinstance(blocks[2].shortcut, nn.Sequential)


def test_zero_gamma_makes_every_block_start_as_relu_of_its_shortcut():
    td.manual_seed(1)
    model = resnet_tiny(width=4, zero_init_residual=True)
    for block in (m for m in model.modules() if isinstance(m, BasicBlock)):
        assert np.all(block.bn2.weight.data == 0) and np.all(block.bn1.weight.data == 1)
        x = td.Tensor(np.random.default_rng(2).standard_normal(
            (3, block.conv1.in_channels, 8, 8)).astype(np.float32))
        block.eval()
        np.testing.assert_allclose(block(x).data, F.relu(block.shortcut(x)).data, atol=1e-6)
    plain = resnet_tiny(width=4)
    assert all(np.all(m.bn2.weight.data == 1) for m in plain.modules() if isinstance(m, BasicBlock))
    with pytest.raises(ValueError, match="zero_gamma_"):
        zero_gamma_(nn.Linear(2, 2))


def test_no_bias_decay_groups_split_weights_from_biases_and_norms():
    model = resnet_tiny(width=4)
    decay, rest = param_groups_no_decay(model, 5e-4)
    assert decay["weight_decay"] == 5e-4 and rest["weight_decay"] == 0.0
    ids = [id(p) for p in decay["params"]] + [id(p) for p in rest["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters()), "each parameter exactly once"
    names = {id(p): n for n, p in model.named_parameters()}
    for p in decay["params"]:
        assert names[id(p)].endswith("weight") and p.ndim >= 2, names[id(p)]
    norm_params = {id(p) for m in model.modules() if isinstance(m, nn.BatchNorm2d)
                   for p in m.parameters()}
    assert norm_params <= {id(p) for p in rest["params"]}
    assert id(model.fc.bias) in {id(p) for p in rest["params"]}
    # An optimizer step with zero gradients decays only the first group.
    opt = SGD(param_groups_no_decay(model, 0.1), lr=1.0)
    before = {n: p.data.copy() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = td.Tensor(np.zeros_like(p.data))
    opt.step()
    np.testing.assert_allclose(model.fc.weight.data, 0.9 * before["fc.weight"], rtol=1e-6)
    np.testing.assert_array_equal(model.fc.bias.data, before["fc.bias"])


def test_learns_a_tiny_problem():
    td.manual_seed(0)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 32)
    x = rng.standard_normal((32, 1, 8, 8)).astype(np.float32) * 0.3
    x[y == 1, :, :4] += 1.0   # class 1: bright top half
    model = resnet_tiny(num_classes=2, width=4, blocks=(1, 1))
    opt = SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(15):
        loss = F.cross_entropy(model(td.Tensor(x)), td.Tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    acc = (model(td.Tensor(x)).data.argmax(1) == y).mean()
    assert acc > 0.9, f"resnet_tiny did not fit 32 easy samples: accuracy {acc}"


def test_no_decay_covers_every_normalisation_layer_whatever_its_shape():
    # RMSNorm((4, 5))'s 2-D gamma was decayed (the list of norm layers missed RMSNorm,
    # BatchNorm3d, InstanceNorm3d, SyncBatchNorm...), unlike nn.utils.regularization's.
    from tinydl import nn
    m = nn.Sequential(nn.Linear(20, 20), nn.RMSNorm((4, 5)), nn.LayerNorm((4, 5)),
                      nn.BatchNorm3d(3), nn.InstanceNorm3d(3, affine=True), nn.Embedding(5, 4))
    decay, rest = param_groups_no_decay(m, 0.1)
    names = {id(p): n for n, p in m.named_parameters()}
    assert [names[id(p)] for p in decay["params"]] == ["0.weight", "5.weight"]
    assert len(rest["params"]) == len(list(m.parameters())) - 2
