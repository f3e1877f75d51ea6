"""A 2-layer character-level Transformer trained on the Python standard library's own source.

Every Python installation carries its standard library as ``.py`` files, so this example needs
no download: it reads the modules of a fixed, sorted list in order until ``--chars`` (400,000
by default) characters are in (on Python 3.11 the first 8 modules), keeps the first
90% for training and the last 10% as held-out text. The model is token + learned positional
embeddings, two pre-norm ``nn.TransformerEncoderLayer``s with a causal mask, a final LayerNorm
and a linear head, trained with AdamW under a one-cycle schedule. A count-based bigram model
(add-one smoothing) fitted on the same training text is the baseline: the held-out
cross-entropy of both is printed side by side, then a seeded sample, and a PNG of the curves.

    python examples/tiny_transformer.py [--steps 320] [--out DIR] [--fast]
"""
import os

# Small matrices: a BLAS thread pool's hand-offs cost more than they gain (see quickstart.py).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import pathlib
import time

import numpy as np

import tinydl as td
from tinydl import nn
from tinydl.nn import functional as F
from tinydl.optim import AdamW
from tinydl.optim.lr_scheduler import OneCycleLR

# Modules that exist (as ``name.py`` or ``name/__init__.py``) in every Python 3.8-3.13.
STDLIB_MODULES = sorted([
    "argparse", "ast", "calendar", "csv", "dataclasses", "difflib", "fractions", "functools",
    "heapq", "inspect", "shutil", "string", "textwrap", "tokenize", "typing", "zipfile",
])
# Printable ASCII and newline; anything else (tabs, non-ASCII in docstrings) becomes '?', so
# the vocabulary is the same on every machine and the held-out text has no unseen character.
VOCAB = "\n" + "".join(chr(c) for c in range(32, 127))
UNKNOWN = "?"


def load_stdlib_text(max_chars):
    """The concatenated source of ``STDLIB_MODULES`` (in that order), cut to ``max_chars``,
    with every character outside ``VOCAB`` replaced by '?', and the names of the modules
    whose text made it in before the cut. Deterministic for a given Python."""
    root = pathlib.Path(os.path.dirname(os.__file__))
    parts, used, length = [], [], 0
    for name in STDLIB_MODULES:
        if length >= max_chars:
            break
        for path in (root / f"{name}.py", root / name / "__init__.py"):
            if path.is_file():
                parts.append(path.read_text(encoding="utf-8", errors="replace"))
                used.append(name)
                length += len(parts[-1])
                break
    if not parts:
        raise FileNotFoundError(f"tiny_transformer: no stdlib sources found under {root}")
    text = "".join(parts)[:max_chars]
    allowed = set(VOCAB)
    return "".join(c if c in allowed else UNKNOWN for c in text), used


def encode(text):
    """Characters -> int64 indices into ``VOCAB``."""
    table = {c: i for i, c in enumerate(VOCAB)}
    return np.array([table[c] for c in text], dtype=np.int64)


def decode(indices):
    return "".join(VOCAB[i] for i in indices)


def bigram_log_probs(train_ids, vocab_size):
    """log P(next | prev) from bigram counts with add-one (Laplace) smoothing:
    ``P(b | a) = (count(a, b) + 1) / (count(a) + V)``; shape (V, V), rows are ``prev``."""
    counts = np.ones((vocab_size, vocab_size))
    np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1)
    return np.log(counts / counts.sum(axis=1, keepdims=True))


class TinyTransformer(nn.Module):
    """Token + positional embedding, ``n_layers`` pre-norm causal encoder layers, LayerNorm,
    linear head: indices (N, T) -> next-character logits (N, T, V), T <= ``block``."""

    def __init__(self, vocab_size, block, d_model=96, nhead=4, n_layers=2):
        super().__init__()
        self.block = block
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(block, d_model)
        # GPT-2's small initial scale: N(0, 1) embeddings would swamp the pre-norm residuals.
        nn.init.normal_(self.tok.weight, std=0.02)
        nn.init.normal_(self.pos.weight, std=0.02)
        self.layers = nn.ModuleList([
            nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=4 * d_model, dropout=0.0,
                                       activation="gelu", batch_first=True, norm_first=True)
            for _ in range(n_layers)])
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, idx):
        n, t = idx.shape
        x = self.tok(idx) + self.pos(td.Tensor(np.arange(t)))
        for layer in self.layers:
            x = layer(x, is_causal=True)
        return self.head(self.norm(x))


def loss_on(model, x, y):
    """Mean next-character cross-entropy (nats) of ``model`` on windows x -> targets y."""
    logits = model(td.Tensor(x))
    return F.cross_entropy(logits.reshape((-1, logits.shape[-1])), td.Tensor(y.reshape(-1)))


def heldout_windows(ids, block, max_windows):
    """Non-overlapping (x, y) windows of the held-out ids, y shifted by one character."""
    n = min((len(ids) - 1) // block, max_windows)
    x = ids[:n * block].reshape(n, block)
    y = ids[1:n * block + 1].reshape(n, block)
    return x, y


@td.no_grad()
def evaluate(model, x, y, batch_size=64):
    model.eval()
    total = 0.0
    for start in range(0, len(x), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        total += loss_on(model, xb, yb).item() * yb.size
    model.train()
    return total / y.size


@td.no_grad()
def sample(model, prompt_ids, length, temperature=0.8, seed=0):
    """``length`` characters drawn one at a time from softmax(logits / temperature), the
    context cut to the model's last ``block`` characters; a seeded generator of its own."""
    model.eval()
    rng = np.random.default_rng(seed)
    ids = list(prompt_ids)
    for _ in range(length):
        context = np.array(ids[-model.block:])[None]
        logits = model(td.Tensor(context)).data[0, -1].astype(np.float64) / temperature
        p = np.exp(logits - logits.max())
        ids.append(int(rng.choice(len(p), p=p / p.sum())))
    model.train()
    return ids[len(prompt_ids):]


def train(args, fast):
    td.manual_seed(args.seed)
    text, modules = load_stdlib_text(40_000 if fast else args.chars)
    ids = encode(text)
    n_train = int(0.9 * len(ids))
    train_ids, val_ids = ids[:n_train], ids[n_train:]
    print(f"text: {len(text):,} characters of {len(modules)} stdlib module(s) "
          f"({', '.join(modules)}), "
          f"{len(train_ids):,} train / {len(val_ids):,} held-out, vocabulary {len(VOCAB)}")

    x_val, y_val = heldout_windows(val_ids, args.block, 16 if fast else 256)
    logp = bigram_log_probs(train_ids, len(VOCAB))
    bigram = float(-logp[x_val, y_val].mean())
    print(f"bigram baseline (add-one): held-out cross-entropy {bigram:.3f} nats")

    steps = 12 if fast else args.steps
    eval_every = 4 if fast else 40
    model = TinyTransformer(len(VOCAB), args.block, d_model=args.d_model)
    n_params = sum(p.data.size for p in model.parameters())
    print(f"model: 2 layers, d_model {args.d_model}, context {args.block}, {n_params:,} parameters")
    optimizer = AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    scheduler = OneCycleLR(optimizer, max_lr=args.lr, total_steps=steps, pct_start=0.1)
    batches = np.random.default_rng(args.seed)
    history = {"step": [], "train": [], "val_step": [], "val": [], "bigram": bigram}
    start = time.perf_counter()
    for step in range(1, steps + 1):
        # Random windows of the training text, each target the next character.
        offsets = batches.integers(0, len(train_ids) - args.block - 1, size=args.batch)
        rows = offsets[:, None] + np.arange(args.block)
        loss = loss_on(model, train_ids[rows], train_ids[rows + 1])
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        history["step"].append(step)
        history["train"].append(loss.item())
        if step % eval_every == 0 or step == steps:
            history["val_step"].append(step)
            history["val"].append(evaluate(model, x_val, y_val))
            print(f"step {step:4d}  train {history['train'][-1]:.3f}  held-out "
                  f"{history['val'][-1]:.3f}  ({time.perf_counter() - start:.1f} s)")
    history["seconds"] = time.perf_counter() - start
    return model, history, val_ids


def plot_curves(history, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(history["step"], history["train"], lw=0.8, alpha=0.7, label="train (per step)")
    ax.plot(history["val_step"], history["val"], marker="o", label="held-out")
    ax.axhline(history["bigram"], color="k", ls="--", label="bigram baseline (held-out)")
    ax.set(title="character-level Transformer on stdlib source", xlabel="step",
           ylabel="cross-entropy (nats)")
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=320)
    parser.add_argument("--chars", type=int, default=400_000, help="characters of stdlib source")
    parser.add_argument("--block", type=int, default=64, help="context length")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--d-model", type=int, default=96)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--sample-length", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "output"),
                        help="folder for the PNG (default: output/ beside this file)")
    parser.add_argument("--fast", action="store_true", help="12 steps on 40 KB (for tests)")
    args = parser.parse_args(argv)
    fast = args.fast or os.environ.get("TINYDL_FAST") == "1"
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    model, history, val_ids = train(args, fast)
    print(f"training: {len(history['step'])} steps in {history['seconds']:.1f} s wall time")
    print(f"held-out cross-entropy: transformer {history['val'][-1]:.3f} nats, "
          f"bigram {history['bigram']:.3f} nats")

    prompt = val_ids[:args.block]
    generated = decode(sample(model, prompt, args.sample_length, seed=args.seed))
    print(f"--- prompt (held-out) ---\n{decode(prompt)}\n--- sample ---\n{generated}\n---")

    plot_curves(history, out / "tiny_transformer_loss.png")
    print(f"loss curves: {out / 'tiny_transformer_loss.png'}")
    history["sample"] = generated
    return history


if __name__ == "__main__":
    main()
