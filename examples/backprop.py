"""Backpropagation by hand and by hubel: the lecture example, a gradient check, and
gradient descent θ ← θ − η∇J fitting a line.

    python examples/backprop.py
"""

import numpy as np

import hubel
from hubel import Tensor

# 1. The lecture example: f(x, y, z) = (x + y)·z at x = −2, y = 5, z = −4.
x = Tensor(-2.0, requires_grad=True)
y = Tensor(5.0, requires_grad=True)
z = Tensor(-4.0, requires_grad=True)
f = (x + y) * z
f.backward()
print(f"f = {float(f):g};  df/dx = {float(x.grad):g}, df/dy = {float(y.grad):g}, "
      f"df/dz = {float(z.grad):g}")

# 2. Backprop agrees with finite differences (float64), here on a softmax.
logits = Tensor(np.random.default_rng(0).standard_normal((2, 5)), requires_grad=True)
hubel.gradcheck(lambda t: hubel.F.log_softmax(t), logits)
print("gradcheck of log_softmax: passed")

# 3. Gradient descent on J(w, b) = mean((w·x + b − y)²) for data from y = 3x − 1.
hubel.seed(0)
data_x = hubel.random.rng().uniform(-1, 1, size=64).astype(np.float32)
data_y = 3 * data_x - 1
w = Tensor(0.0, requires_grad=True)
b = Tensor(0.0, requires_grad=True)
lr = 0.1
for step in range(201):
    loss = ((w * data_x + b - data_y) ** 2).mean()
    loss.backward()
    with hubel.no_grad():
        w.data -= lr * w.grad
        b.data -= lr * b.grad
    w.grad = b.grad = None
    if step % 50 == 0:
        print(f"step {step:3d}  J = {float(loss):.6f}  w = {float(w):.4f}  b = {float(b):.4f}")
print(f"fitted y = {float(w):.3f}·x {float(b):+.3f}  (true: y = 3x − 1)")
