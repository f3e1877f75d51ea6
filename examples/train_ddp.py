"""Data-parallel training: the quickstart CNN on the bundled digits, on K MPI processes.

Every rank holds a replica of ``quickstart.build_model()`` (its BatchNorms turned into
SyncBatchNorm), trains on its share of each batch (``DistributedSampler``), and
``DistributedDataParallel`` averages the gradients during backward, so the K replicas take
the same Adam steps one process would take on the whole batch of 64. Rank 0 prints the
progress bar and writes the model (``save_checkpoint``); every rank reloads it.

    mpiexec -n 2 python -m mpi4py examples/train_ddp.py [--epochs 12] [--fast] [--out DIR]
    python examples/train_ddp.py            # one process: the same code, world size 1

(``-m mpi4py`` makes an exception on any rank end the whole job instead of leaving the other
ranks waiting in a collective.)
"""
import argparse
import os
import pathlib
import sys
import time

import numpy as np

import tinydl as td
import tinydl.distributed as dist
from tinydl.data import TensorDataset, load_digits
from tinydl.nn import functional as F
from tinydl.optim import Adam
from tinydl.optim.lr_scheduler import OneCycleLR

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from quickstart import build_model, progress, split  # noqa: E402


@td.no_grad()
def sharded_accuracy(model, X, y, rank, world):
    """Accuracy on (X, y): rank r scores samples r, r + K, ...; one all_reduce adds counts."""
    model.eval()
    logits = model(td.Tensor(X[rank::world]))
    counts = np.array([(logits.data.argmax(axis=1) == y[rank::world]).sum(), len(y[rank::world])],
                      dtype=np.float64)
    dist.all_reduce(counts)
    return counts[0] / counts[1]


def train(epochs, batch_size=64, lr=1e-2, seed=0):
    """Train on every rank; ``batch_size`` is the global batch (``batch_size // K`` per rank)."""
    world, rank = dist.get_world_size(), dist.get_rank()
    td.manual_seed(seed)
    X, y = load_digits()
    X_train, y_train, X_test, y_test = split(X, y, seed=seed)
    mean, std = X_train.mean(), X_train.std()
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    train_set = TensorDataset(X_train, y_train)

    model = dist.convert_sync_batchnorm(build_model())
    ddp = dist.DistributedDataParallel(model)  # rank 0's initial weights go to every rank
    per_rank = max(batch_size // world, 2)
    sampler = dist.DistributedSampler(train_set, shuffle=True, seed=seed)
    steps = -(-len(sampler) // per_rank)
    optimizer = Adam(ddp.parameters(), lr=lr)
    scheduler = OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * steps)
    history = {"loss": [], "train_acc": [], "test_acc": []}
    for epoch in range(1, epochs + 1):
        ddp.train()
        sampler.set_epoch(epoch)
        order = sampler.indices()
        totals = np.zeros(3)  # loss * n, correct, n on this rank
        start = time.perf_counter()
        for step in range(steps):
            xb, yb = train_set.get_batch(order[step * per_rank:(step + 1) * per_rank])
            logits = ddp(xb)
            loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            totals += (loss.item() * len(yb), (logits.data.argmax(axis=1) == yb.data).sum(),
                       len(yb))
            if rank == 0:
                seen = totals[2] * world
                progress(epoch, epochs, step + 1, steps, totals[0] / totals[2],
                         totals[1] / totals[2], seen / (time.perf_counter() - start))
        dist.all_reduce(totals)
        history["loss"].append(totals[0] / totals[2])
        history["train_acc"].append(totals[1] / totals[2])
        history["test_acc"].append(sharded_accuracy(model, X_test, y_test, rank, world))
        if rank == 0:
            sys.stdout.write(f"  test {history['test_acc'][-1]:6.2%}\n")
            sys.stdout.flush()
    return model, history, (X_test, y_test)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "output"),
                        help="folder for the model file")
    parser.add_argument("--fast", action="store_true", help="two epochs (for tests)")
    args = parser.parse_args(argv)
    fast = args.fast or os.environ.get("TINYDL_FAST") == "1"
    epochs = 2 if fast else args.epochs
    out = pathlib.Path(args.out)

    dist.init_process_group("mpi")
    try:
        world, rank = dist.get_world_size(), dist.get_rank()
        if rank == 0:
            out.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        model, history, (X_test, y_test) = train(epochs, seed=args.seed)
        test_acc = history["test_acc"][-1]
        path = out / "train_ddp_model.npz"
        dist.save_checkpoint(model.state_dict(), path)
        reloaded = build_model()
        reloaded.load_state_dict(dist.load_checkpoint(path))
        same = sharded_accuracy(reloaded, X_test, y_test, rank, world)
        if rank == 0:
            print(f"test accuracy {test_acc:.2%} on {len(X_test)} held-out digits with "
                  f"{world} rank(s) ({time.perf_counter() - start:.1f} s)")
            print(f"saved by rank 0 and reloaded on every rank {path}: test accuracy {same:.2%}")
    finally:
        dist.destroy_process_group()
    return test_acc


if __name__ == "__main__":
    main()
