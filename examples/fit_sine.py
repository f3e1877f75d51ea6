"""Fit y = sin(x) with a 2-layer MLP written from bare Tensor ops (no tinydl.nn)."""
import numpy as np

import tinydl as td

td.manual_seed(0)
x = td.Tensor(np.linspace(-np.pi, np.pi, 256, dtype=np.float32).reshape(-1, 1))
y = td.sin(x)
w1, b1 = td.randn(1, 32, requires_grad=True), td.zeros(32, requires_grad=True)
w2, b2 = td.Tensor(td.randn(32, 1).data * 0.1, requires_grad=True), td.zeros(1, requires_grad=True)
for step in range(2001):
    loss = ((td.tanh(x @ w1 + b1) @ w2 + b2 - y) ** 2).mean()
    loss.backward()
    for p in (w1, b1, w2, b2):
        p.data -= 0.1 * p.grad.data
        p.grad = None
    if step % 500 == 0:
        print(f"step {step:4d}  mse {loss.item():.5f}")
