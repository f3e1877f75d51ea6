"""SSD detection at inference: images per second of SSDLite (width 12, 1,344 priors) plus
``detect`` (decode, per-class NMS, top-100) on 64x64 synthetic-shapes images, at batch 1
and batch 32.

The model is the one ``examples/train_ssd.py`` saved (``examples/output/train_ssd_model.npz``)
when that file exists, so the post-processing sees a trained detector's few confident boxes;
otherwise an untrained model (the note says which). The baseline runs the same network
with the same weights in PyTorch CPU, followed by the same ``detect``, so the ratio isolates
tinydl's network speed in eval mode. Rows report seconds per batch; the note gives images/s.
"""
import pathlib

import numpy as np

import tinydl
from benchmarks._harness import paired_times, row, try_torch
from tinydl.vision.datasets import SyntheticShapes
from tinydl.vision.models.ssd import SSDLite
from tinydl.vision.ssd import detect

WIDTH = 12
TRAINED = pathlib.Path(__file__).resolve().parents[1] / "examples" / "output" / "train_ssd_model.npz"


def load_model():
    """The trained SSDLite when ``examples/train_ssd.py`` has saved one, else a fresh one."""
    tinydl.manual_seed(0)
    model = SSDLite(4, width=WIDTH)
    trained = TRAINED.is_file()
    if trained:
        model.load_state_dict(tinydl.load(TRAINED))
    return model.eval(), trained


def torch_twin(torch, model):
    """The same network in torch modules, carrying ``model``'s weights and BN statistics."""
    nn = torch.nn

    def blocks(sequential):
        layers = []
        for layer in sequential:
            name = type(layer).__name__
            if name == "Conv2d":
                layers.append(nn.Conv2d(layer.in_channels, layer.out_channels, 3, stride=layer.stride,
                                        padding=1, bias=layer.bias is not None))
            elif name == "BatchNorm2d":
                layers.append(nn.BatchNorm2d(layer.num_features))
            else:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            self.stages = nn.ModuleList([blocks(s) for s in model.stages])
            self.loc_heads = nn.ModuleList([nn.Conv2d(h.in_channels, h.out_channels, 3, padding=1)
                                            for h in model.loc_heads])
            self.conf_heads = nn.ModuleList([nn.Conv2d(h.in_channels, h.out_channels, 3, padding=1)
                                             for h in model.conf_heads])

        def forward(self, x):
            locs, confs = [], []
            for stage, loc_head, conf_head in zip(self.stages, self.loc_heads, self.conf_heads):
                x = stage(x)
                locs.append(loc_head(x).permute(0, 2, 3, 1).reshape(len(x), -1, 4))
                confs.append(conf_head(x).permute(0, 2, 3, 1).reshape(len(x), -1, model.num_classes))
            return torch.cat(locs, 1), torch.cat(confs, 1)

    twin = Twin()
    state = {k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()}
    twin.load_state_dict(state)
    return twin.eval()


def run(quick=False):
    model, trained = load_model()
    images = SyntheticShapes(32, seed=123).images.astype(np.float32) / 255
    torch = try_torch()
    which = "trained" if trained else "untrained (run examples/train_ssd.py first for the trained figure)"
    rows = []
    if torch is not None:
        twin = torch_twin(torch, model)

        def torch_predict(batch):
            with torch.no_grad():
                loc, conf = twin(torch.from_numpy(batch))
            return detect(loc.numpy(), conf.numpy(), model.priors, 0.01, 0.45, 100, scale=64)

        check = torch_predict(images[:4])
        for mine, theirs in zip(model.predict(images[:4], top_k=100), check):
            np.testing.assert_allclose(mine["scores"][:5], theirs["scores"][:5], rtol=1e-3, atol=1e-4)
    for batch in (1, 32):
        x = images[:batch]

        def ours():
            return model.predict(x, top_k=100)

        repeat = 3 if quick else (20 if batch == 1 else 5)
        if torch is not None:
            ours_s, torch_s = paired_times(ours, lambda: torch_predict(x), repeat=repeat, rounds=1 if quick else 3)
            note = (f"{batch / ours_s:.0f} images/s tinydl, {batch / torch_s:.0f} images/s torch network "
                    f"+ tinydl detect; {which} model")
            rows.append(row(f"SSDLite detect, batch {batch} (64x64 images)", ours_s, torch_s, "torch", note=note))
        else:
            ours_s, _ = paired_times(ours, ours, repeat=repeat, rounds=1)
            rows.append(row(f"SSDLite detect, batch {batch} (no torch: self-baseline)", ours_s, ours_s, "self",
                            note=f"{batch / ours_s:.0f} images/s; {which} model"))
    return rows
