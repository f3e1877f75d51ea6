"""Ensembling: five quickstart CNNs averaged beat the average one of them.

Trains ``--members`` copies of the quickstart recipe (its CNN, Adam + one-cycle, 12
epochs) on the same 80/20 split of the bundled digits, differing only in their seed
(initialisation and batch order), then compares each member's test accuracy with that of
``tinydl.nn.ensemble(models, reduction='mean_prob')``, which averages their softmax
probabilities (Lakshminarayanan et al. 2017's deep ensembles).

    python examples/ensemble_digits.py [--members 5] [--groups 1] [--epochs 12] [--fast]
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import importlib.util
import json
import pathlib
import time

import numpy as np

import tinydl as td
from tinydl import nn
from tinydl.data import DataLoader, TensorDataset, load_digits
from tinydl.nn import functional as F
from tinydl.optim import Adam
from tinydl.optim.lr_scheduler import OneCycleLR

HERE = pathlib.Path(__file__).resolve().parent


def _quickstart():
    """The quickstart example as a module (its model, split and accuracy are reused)."""
    spec = importlib.util.spec_from_file_location("quickstart_for_ensemble", HERE / "quickstart.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_member(qs, data, seed, epochs, batch_size=64, lr=1e-2):
    """One model of the quickstart recipe; only the seed differs between members."""
    X_train, y_train = data
    td.manual_seed(seed)
    model = qs.build_model()
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=batch_size, shuffle=True,
                        seed=seed)
    optimizer = Adam(model.parameters(), lr=lr)
    scheduler = OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * len(loader))
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--groups", type=int, default=1,
                        help="independent ensembles (seeds g*members ...) to report")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "output"))
    parser.add_argument("--fast", action="store_true", help="three 2-epoch members (for tests)")
    args = parser.parse_args(argv)
    fast = args.fast or os.environ.get("TINYDL_FAST") == "1"
    members, epochs, groups = (3, 2, 1) if fast else (args.members, args.epochs, args.groups)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    qs = _quickstart()
    X, y = load_digits()
    X_train, y_train, X_test, y_test = qs.split(X, y, seed=0)
    mean, std = X_train.mean(), X_train.std()
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std

    cpu = time.process_time()
    rows = []
    for g in range(groups):
        seeds = list(range(g * members, (g + 1) * members))
        models = [train_member(qs, (X_train, y_train), s, epochs) for s in seeds]
        singles = [qs.accuracy(m, X_test, y_test) for m in models]
        probs = nn.ensemble_predict(models, td.Tensor(X_test), reduction="mean_prob")
        ens = float((probs.data.argmax(axis=1) == y_test).mean())
        rows.append({"seeds": seeds, "single": singles, "ensemble": ens})
        print(f"seeds {seeds[0]}-{seeds[-1]}: members " + " ".join(f"{a:.2%}" for a in singles)
              + f"  mean {np.mean(singles):.2%} (best {max(singles):.2%})  ->  ensemble "
              f"{ens:.2%}")
    cpu = time.process_time() - cpu
    gain = float(np.mean([r["ensemble"] - np.mean(r["single"]) for r in rows]))
    print(f"ensemble of {members} vs mean member: {gain:+.2%} test accuracy on {len(y_test)} "
          f"digits ({cpu:.0f} s CPU)")
    summary = {"groups": rows, "gain": gain, "cpu_s": cpu, "members": members, "epochs": epochs}
    tmp = out / "ensemble_digits.json.tmp"
    tmp.write_text(json.dumps(summary, indent=1))
    tmp.replace(out / "ensemble_digits.json")
    return summary


if __name__ == "__main__":
    main()
