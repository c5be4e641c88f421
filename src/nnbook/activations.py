"""Activation functions on numpy arrays, written to be numerically stable.

Every function accepts anything ``np.asarray`` understands and returns a float
array. The ``*_grad`` functions give the derivative with respect to the
INPUT, evaluated at the input ``x`` (not at the activation's output).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "sigmoid", "tanh", "relu", "linear", "step", "softmax", "log_softmax",
    "sigmoid_grad", "tanh_grad", "relu_grad", "ACTIVATIONS",
]


def _f(x):
    return np.asarray(x, dtype=float)


def sigmoid(x):
    """1 / (1 + e^-x), without overflow for large |x|."""
    x = _f(x)
    # e^-|x| is in (0, 1], so it never overflows; each side then uses the
    # algebraically equal form that does not divide inf by inf.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def tanh(x):
    return np.tanh(_f(x))  # numpy's tanh already saturates at +-1


def relu(x):
    return np.maximum(_f(x), 0.0)


def linear(x):
    """The identity; the 'activation' of an output layer for regression."""
    return _f(x).copy()


def step(x):
    """Heaviside step: 1 where x > 0, else 0 (so step(0) = 0), the perceptron's rule."""
    return (_f(x) > 0).astype(float)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``; fine for entries of 1000 or more."""
    x = _f(x)
    # softmax(x) = softmax(x - c) for any constant c; with c = max the largest
    # exponent is e^0 = 1, so nothing overflows and the sum is >= 1.
    z = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return z / np.sum(z, axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    """log(softmax(x)), computed directly so it is finite even where softmax underflows."""
    x = _f(x)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def sigmoid_grad(x):
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh_grad(x):
    t = np.tanh(_f(x))
    return 1.0 - t * t


def relu_grad(x):
    """1 where x > 0, else 0 (0 at x = 0, the same convention as PyTorch)."""
    return (_f(x) > 0).astype(float)


ACTIVATIONS = {
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "linear": linear,
    "step": step,
    "softmax": softmax,
    "log_softmax": log_softmax,
}
