"""Matrix product (batched, NumPy `matmul` semantics)."""

from __future__ import annotations

from hubel.autograd.function import Function
from hubel.backends import blas, get_array_module
from hubel.backends.channels import relu_backward
from hubel.backends.reduce import leading_sum


class MatMul(Function):
    """y = a @ b;  ga = gy @ bᵀ, gb = aᵀ @ gy (last two axes; batch axes broadcast).

    Shapes: (..., n, k) @ (..., k, m) -> (..., n, m); 1-D operands as in NumPy.
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        return blas.matmul(a, b)

    def backward(self, gy):
        xp = get_array_module(gy)
        a, b = self.a, self.b
        # 1-D operands act as a row (a) or a column (b), as in NumPy; the engine sums the
        # broadcast batch axes back to each operand's shape.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = xp.asarray(gy)
        if b.ndim == 1:
            g = g[..., None]
        if a.ndim == 1:
            g = g[..., None, :]
        ga = gb = None
        if self.needs_grad[0]:
            ga = blas.matmul(g, xp.swapaxes(b2, -1, -2))
            if a.ndim == 1:
                ga = ga[..., 0, :]
        if self.needs_grad[1]:
            gb = blas.matmul(xp.swapaxes(a2, -1, -2), g)
            if b.ndim == 1:
                gb = gb[..., 0]
        return ga, gb


def matmul(a, b):
    """Matrix product a @ b, batched over leading axes."""
    return MatMul.apply(a, b)


class Affine(Function):
    """A fully connected layer's affine map in one node: y = x @ W + b.

    x (..., in), W (in, out), b (out,) or None -> y (..., out);
    gx = gy @ Wᵀ,  gW = xᵀ @ gy (over all leading axes),  gb = Σ_rows gy.
    The bias is added into the product's own buffer, by each thread to the rows it has
    just multiplied (blas.matmul's epilogue), and the backward pass needs no broadcast
    reduction: one array and one graph node fewer than matmul + add. With relu=True the
    ReLU runs in the same pass, y = max(x @ W + b, 0), and backward first masks gy by
    [y > 0] (summing gb in that pass).

    The traced step may hand backward the weight's and the bias's updates (`updates`,
    {input index: InBackward}, hubel/optimizers/optimizer.py): it then applies them to
    the gradients it makes (SGD: gW as BLAS makes it, hubel/backends/sgd_product.py) and
    returns None for those inputs.

    It may also hand backward the output of the fused ReLU that made x (`input_relu`,
    another Affine's y, when this op alone reads it): gx then leaves the product already
    masked by [x > 0], that ReLU's backward, with the bias gradient of its layer summed
    in the same pass (blas.matmul_relu_backward, kept in `input_relu_gb`), and the
    producing op, told so (`masked`: that sum), skips its own mask pass. Masking twice
    changes nothing, so only the pass is saved."""

    update_inputs = (1, 2)  # the inputs whose updates backward can apply (W, b)
    updates = None
    relu_handover = True  # takes input_relu and masked (traced step, autograd engine)
    input_relu = None  # y of the fused ReLU that made x, to mask gx with
    input_relu_gb = None  # the sums over gx's rows that masking made
    masked = None  # the bias gradient, when the next op's product has masked gy already

    def forward(self, x, w, b, relu=False):
        x2 = x.reshape(-1, x.shape[-1])
        y = blas.matmul(x2, w, bias=b, relu=relu)  # (bias and ReLU as each block is made)
        self.y = y if relu and any(self.needs_grad) else None
        self.x2 = x2 if self.needs_grad[1] else None
        self.w = w if self.needs_grad[0] else None
        self.x_shape = x.shape
        return y.reshape(*x.shape[:-1], w.shape[-1])

    def backward(self, gy):
        g2 = gy.reshape(-1, gy.shape[-1])
        if self.masked is not None:  # (the next op's product masked gy and summed gb)
            gb = self.masked if self.needs_grad[2] else None
            self.masked = None  # (for this backward only: a graph may be run twice)
        elif self.y is not None:  # through the fused ReLU first
            g2, gb = relu_backward(g2, self.y, self.needs_grad[2])
        else:
            gb = leading_sum(g2) if self.needs_grad[2] else None
        gx = None
        if self.needs_grad[0]:
            if self.input_relu is not None:
                gx, self.input_relu_gb = blas.matmul_relu_backward(g2, self.w.T,
                                                                   self.input_relu)
                self.input_relu = None
            else:
                gx = blas.matmul(g2, self.w.T)
            gx = gx.reshape(self.x_shape)
        if self.updates is not None:  # (after gx: it reads W as it was)
            return gx, *self._apply(self.updates, g2, gb)
        gw = blas.matmul(self.x2.T, g2) if self.needs_grad[1] else None
        return gx, gw, gb

    def _apply(self, updates, g2, gb):
        """(gW, gb) after applying the updates handed over (None for those applied; the
        weight's may make the bias's in the same pass)."""
        gw = None
        if self.needs_grad[1]:
            if 1 in updates:
                if updates[1].product(self.x2, g2, updates.get(2), gb):
                    return None, None
            else:
                gw = blas.matmul(self.x2.T, g2)
        if gb is not None and 2 in updates:
            updates[2].apply(gb)
            gb = None
        return gw, gb


def affine(x, w, b=None, relu: bool = False):
    """y = x @ w + b over the last axis of x (w: (in, out), Keras's layout): Dense's map;
    relu=True: max(x @ w + b, 0) in the same pass (Dense(..., activation='relu'))."""
    return Affine.apply(x, w, b, relu=relu)
