"""Activation functions (numpy), and the table of the names a layer accepts.

The numpy functions accept anything ``np.asarray`` understands and return a float array
(a float32 array stays float32; anything else becomes float64). They are numerically
stable (no overflow for inputs of +-1000), and they are the only definitions of the
stable formulas: ``Value.sigmoid`` and ``Tensor.sigmoid`` call ``sigmoid``, and
``Tensor.log_softmax``, ``tensor.cross_entropy`` and ``losses.np_cross_entropy_from_logits``
call ``log_softmax``. The ``*_grad`` functions give the derivative with respect to the
INPUT, evaluated at the input ``x`` (not at the activation's output).

``ACTIVATIONS`` maps each name to an ``Activation``: its numpy function and derivative,
the name of the method that applies it to a ``Value``, a ``Tensor`` or a ``torch.Tensor``
(all three have ``.sigmoid()``, ``.tanh()``, ``.relu()``), and its ``torch.nn`` module.
The layers (``nnbook.value_nn``, ``nnbook.tensor_nn``) and ``nnbook.plots`` take
activations by name from this table. The activation of a "linear" layer is ``identity``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

__all__ = [
    "sigmoid", "tanh", "relu", "identity", "step", "leaky_relu", "softplus", "softmax", "log_softmax",
    "sigmoid_grad", "tanh_grad", "relu_grad", "identity_grad", "step_grad", "leaky_relu_grad",
    "Activation", "ACTIVATIONS", "LAYER_ACTIVATIONS", "check_activation",
]


def _f(x):
    """``x`` as a float array: float32 and float64 arrays as they are, anything else as float64."""
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(float)


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


def identity(x):
    """x unchanged (a copy): the 'activation' of a linear layer, e.g. a regression output."""
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


def identity_grad(x):
    return np.ones_like(_f(x))


def step_grad(x):
    """0 everywhere (the jump at 0 has no derivative): why the perceptron rule cannot use gradients."""
    return np.zeros_like(_f(x))


def leaky_relu_grad(x):
    return np.where(_f(x) > 0, 1.0, LEAKY_SLOPE)


class Activation(NamedTuple):
    """How one activation is computed in each of the course's engines.

    ``method`` is the name of the method that applies it to a layer's weighted sum, the
    same on a ``Value``, a ``Tensor`` and a ``torch.Tensor``; None means "leave the sum
    as it is" (``linear``), and also marks the activations only numpy has. ``torch``
    names the ``torch.nn`` module class (None: no module).
    """

    fn: Callable  # numpy, elementwise
    grad: Callable  # numpy derivative at the input
    method: str | None = None
    torch: str | None = None


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(sigmoid, sigmoid_grad, "sigmoid", "Sigmoid"),
    "tanh": Activation(tanh, tanh_grad, "tanh", "Tanh"),
    "relu": Activation(relu, relu_grad, "relu", "ReLU"),
    "linear": Activation(identity, identity_grad),
    "step": Activation(step, step_grad),
    "leaky_relu": Activation(leaky_relu, leaky_relu_grad),
    "softplus": Activation(softplus, sigmoid),  # d/dx log(1 + e^x) = sigmoid(x)
}

# The names a layer of `nnbook.value_nn` or `nnbook.tensor_nn` accepts: those both engines implement.
LAYER_ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")


def check_activation(name, valid=LAYER_ACTIVATIONS) -> str:
    """``name`` if it is one of ``valid``, else ValueError listing the valid names."""
    if name not in valid:
        raise ValueError(f"unknown activation {name!r}; valid ones are {', '.join(map(repr, valid))}")
    return name
