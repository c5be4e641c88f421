"""Reference answers for chapter 6 (from scalars to tensors), with their randomised inputs.

Every reference goes through `nnbook.tensor`, the library's implementation, so the
chapter, the library and the grading agree on one source of truth.
"""

import numpy as np

from nnbook import tensor
from nnbook.tensor import Tensor, cross_entropy


def matmul_backward(X, W, dY):
    """(dL/dX, dL/dW) for Y = X @ W, given dL/dY, computed by the Tensor engine."""
    Xt = Tensor(X, requires_grad=True)
    Wt = Tensor(W, requires_grad=True)
    (Xt @ Wt).backward(dY)
    return Xt.grad, Wt.grad


def unbroadcast(grad, shape):
    return np.asarray(tensor.unbroadcast(np.asarray(grad, dtype=float), tuple(shape)), dtype=float)


def softmax_cross_entropy_grad(logits, y):
    z = Tensor(logits, requires_grad=True)
    cross_entropy(z, np.asarray(y)).backward()
    return z.grad


def tiny_network_grads(x, W, bh, v, b):
    """Gradients of y = v . sigmoid(W x + bh) + b with respect to W, bh, v and b."""
    Wt, bht = Tensor(W, requires_grad=True), Tensor(bh, requires_grad=True)
    vt, bt = Tensor(v, requires_grad=True), Tensor(b, requires_grad=True)
    h = (Wt @ Tensor(x).reshape(-1, 1) + bht.reshape(-1, 1)).sigmoid()  # column (m, 1)
    y = (vt.reshape(1, -1) @ h).reshape(()) + bt
    y.backward()
    return {"W": Wt.grad, "bh": bht.grad, "v": vt.grad, "b": float(bt.grad)}


# ----------------------------------------------------------------------- inputs
def _matmuls(rng, n):
    cases = []
    for _ in range(n):
        N, K, M = (int(s) for s in rng.integers(1, 6, size=3))
        cases.append((rng.normal(size=(N, K)), rng.normal(size=(K, M)), rng.normal(size=(N, M))))
    # a row vector, a column vector and an outer product
    cases.append((rng.normal(size=(1, 4)), rng.normal(size=(4, 1)), rng.normal(size=(1, 1))))
    cases.append((rng.normal(size=(5, 1)), rng.normal(size=(1, 3)), rng.normal(size=(5, 3))))
    return cases


def _broadcasts(rng, n):
    shapes = [(3,), (1, 4), (2, 1, 3), (), (4, 1), (1,), (2, 3), (1, 1), (3, 1, 1)]
    cases = []
    for i in range(n):
        shape = shapes[i % len(shapes)]
        # grow: prepend 0-2 axes, stretch some size-1 axes
        grown = [int(s) if s != 1 or rng.random() < 0.3 else int(rng.integers(2, 5)) for s in shape]
        grown = [int(s) for s in rng.integers(2, 5, size=int(rng.integers(0, 3)))] + grown
        cases.append((rng.normal(size=tuple(grown)), tuple(shape)))
    cases.append((rng.normal(size=(3, 4)), (3, 4)))  # nothing to undo
    return cases


def _logits(rng, n):
    cases = []
    for _ in range(n):
        N, C = int(rng.integers(1, 7)), int(rng.integers(2, 6))
        cases.append((rng.normal(scale=3.0, size=(N, C)), rng.integers(0, C, size=N)))
    cases.append((np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]]), np.array([2, 1])))
    return cases


def _tiny_networks(rng, n):
    cases = []
    for _ in range(n):
        d, m = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        cases.append((rng.normal(size=d), rng.normal(size=(m, d)), rng.normal(size=m),
                      rng.normal(size=m), float(rng.normal())))
    return cases


CASES = {
    "matmul_backward": (matmul_backward, _matmuls),
    "unbroadcast": (unbroadcast, _broadcasts),
    "softmax_cross_entropy_grad": (softmax_cross_entropy_grad, _logits),
    "tiny_network_grads": (tiny_network_grads, _tiny_networks),
}
