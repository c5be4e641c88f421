"""Chapter 6's backward rules and two-layer network, computed by the `Tensor` engine.

Grading puts these in place of a student's earlier answers while it tests a later exercise
that calls them (see `nnbook.kit.checks.with_globals`), so one slip costs one exercise. The
reference answers of chapter 6 are these same functions: one source of truth.
"""

import numpy as np

from nnbook import tensor
from nnbook.tensor import Tensor, cross_entropy, l2_penalty


def _input_grad(value, op, upstream):
    """d(sum(upstream * op(x)))/dx at x = value."""
    x = Tensor(value, requires_grad=True)
    op(x).backward(upstream)
    return np.array(x.grad, dtype=float)


def matmul_backward(X, W, dY):
    Xt, Wt = Tensor(X, requires_grad=True), Tensor(W, requires_grad=True)
    (Xt @ Wt).backward(dY)
    return Xt.grad, Wt.grad


def unbroadcast(grad, shape):
    return np.asarray(tensor.unbroadcast(np.asarray(grad, dtype=float), tuple(shape)), dtype=float)


def relu_backward(Z, dH):
    return _input_grad(Z, lambda t: t.relu(), dH)


def sum_backward(dY, shape, axis=None):
    keep = np.ndim(dY) == len(shape)  # dY kept the summed axes (keepdims=True)
    return _input_grad(np.zeros(tuple(shape)), lambda t: t.sum(axis=axis, keepdims=keep), dY)


def mean_backward(dY, shape, axis=None):
    keep = np.ndim(dY) == len(shape)
    return _input_grad(np.zeros(tuple(shape)), lambda t: t.mean(axis=axis, keepdims=keep), dY)


def log_softmax(Z):
    return Tensor(Z).log_softmax(axis=1).data


def log_softmax_backward(Z, dA):
    return _input_grad(Z, lambda t: t.log_softmax(axis=1), dA)


def softmax_cross_entropy(logits, y):
    z = Tensor(logits, requires_grad=True)
    loss = cross_entropy(z, np.asarray(y))
    loss.backward()
    return loss.item(), z.grad


def two_layer_loss_and_grads(X, y, W1, b1, W2, b2, reg=0.0):
    """Mean cross-entropy of relu(X W1^T + b1) W2^T + b2, plus reg * (|W1|^2 + |W2|^2), and its gradients."""
    names = ("W1", "b1", "W2", "b2")
    params = {name: Tensor(value, requires_grad=True) for name, value in zip(names, (W1, b1, W2, b2))}
    hidden = (Tensor(X) @ params["W1"].T + params["b1"]).relu()
    scores = hidden @ params["W2"].T + params["b2"]
    loss = cross_entropy(scores, np.asarray(y))
    loss = loss + l2_penalty([params["W1"], params["W2"]], reg)
    loss.backward()
    return loss.item(), {name: p.grad for name, p in params.items()}


# name in the chapter -> correct function: what the grade cells of the two-layer network lend
RULES = {f.__name__: f for f in (matmul_backward, unbroadcast, relu_backward, sum_backward, mean_backward,
                                 log_softmax, log_softmax_backward, softmax_cross_entropy)}
# what the grade cells of the training loop lend it
NETWORK = {"two_layer_loss_and_grads": two_layer_loss_and_grads}
