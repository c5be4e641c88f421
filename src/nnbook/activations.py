"""Activation functions, and the one table that says how each is applied everywhere.

The numpy functions accept anything ``np.asarray`` understands, return a float array and
are numerically stable (no overflow for inputs of +-1000). The ``*_grad`` functions give
the derivative with respect to the INPUT, evaluated at the input ``x`` (not at the
activation's output).

``ACTIVATIONS`` maps each name to an ``Activation``: its numpy function and derivative,
and how a scalar ``Value``, a ``Tensor`` and a ``torch.nn`` network apply it. Every
module that takes an activation by name (``nnbook.nn``, ``nnbook.tensor_nn``,
``nnbook.plots``) reads this table, so adding an activation means adding one row here.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from .engine import Value
from .tensor import Tensor

__all__ = [
    "sigmoid", "tanh", "relu", "linear", "step", "leaky_relu", "softplus", "softmax", "log_softmax",
    "sigmoid_grad", "tanh_grad", "relu_grad", "linear_grad", "step_grad", "leaky_relu_grad",
    "Activation", "ACTIVATIONS", "LAYER_ACTIVATIONS", "check_activation",
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


LEAKY_SLOPE = 0.01  # leaky_relu's slope for negative inputs (PyTorch's default)


def leaky_relu(x):
    """x where x > 0, else 0.01 x: relu with a small slope, so no unit is ever stuck at 0."""
    x = _f(x)
    return np.where(x > 0, x, LEAKY_SLOPE * x)


def softplus(x):
    """log(1 + e^x), a smooth relu; ``logaddexp`` keeps it finite for large x."""
    return np.logaddexp(0.0, _f(x))


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


def linear_grad(x):
    return np.ones_like(_f(x))


def step_grad(x):
    """0 everywhere (the jump at 0 has no derivative): why the perceptron rule cannot use gradients."""
    return np.zeros_like(_f(x))


def leaky_relu_grad(x):
    return np.where(_f(x) > 0, 1.0, LEAKY_SLOPE)


class Activation(NamedTuple):
    """How one activation is computed in each of the course's engines.

    ``value`` and ``tensor`` are applied to a layer's weighted sum (a ``Value`` or a
    ``Tensor``); None means "leave the sum as it is" for ``linear``. ``torch`` names the
    ``torch.nn`` module class (None: no module, for ``linear``).
    """

    fn: Callable  # numpy, elementwise
    grad: Callable  # numpy derivative at the input
    value: Callable | None = None
    tensor: Callable | None = None
    torch: str | None = None


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(sigmoid, sigmoid_grad, Value.sigmoid, Tensor.sigmoid, "Sigmoid"),
    "tanh": Activation(tanh, tanh_grad, Value.tanh, Tensor.tanh, "Tanh"),
    "relu": Activation(relu, relu_grad, Value.relu, Tensor.relu, "ReLU"),
    "linear": Activation(linear, linear_grad),
    "step": Activation(step, step_grad),
    "leaky_relu": Activation(leaky_relu, leaky_relu_grad),
    "softplus": Activation(softplus, sigmoid),  # d/dx log(1 + e^x) = sigmoid(x)
}

# The names a layer of `nnbook.nn` or `nnbook.tensor_nn` accepts: those both engines implement.
LAYER_ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")


def check_activation(name, valid=LAYER_ACTIVATIONS) -> str:
    """``name`` if it is one of ``valid``, else ValueError listing the valid names."""
    if name not in valid:
        raise ValueError(f"unknown activation {name!r}; valid ones are {', '.join(map(repr, valid))}")
    return name
