"""Activation functions (numpy), and the table of the names a layer accepts.

The numpy functions accept anything ``np.asarray`` understands and return a float array
(a float32 array stays float32; anything else becomes float64). They are numerically
stable (no overflow for inputs of +-1000), and they are the only definitions of the
stable formulas: ``Value.sigmoid`` and ``Tensor.sigmoid`` call ``sigmoid``, and
``Tensor.log_softmax``, ``tensor.cross_entropy`` and ``losses.np_cross_entropy_from_logits``
call ``log_softmax``. The ``*_grad`` functions give the derivative with respect to the
INPUT, evaluated at the input ``x`` (not at the activation's output).

``ACTIVATIONS`` is the one table of the activations a layer takes by name, in every
engine: each name's numpy function, the name of the method that applies it to a
``Value``, a ``Tensor`` or a ``torch.Tensor`` (all three have ``.sigmoid()``,
``.tanh()``, ``.relu()``), and its ``torch.nn`` module. The layers
(``nnbook.value_nn``, ``nnbook.tensor_nn``) read it, so a new layer activation is one
row here plus its method on ``Value`` and ``Tensor``. The activation of a "linear"
layer is ``identity``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

__all__ = [
    "sigmoid", "tanh", "relu", "identity", "step", "softmax", "log_softmax",
    "sigmoid_grad", "tanh_grad", "relu_grad",
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


class Activation(NamedTuple):
    """How one activation of a layer is computed in each of the course's engines.

    ``fn`` is the numpy function; ``method`` the name of the method that applies it to a
    layer's weighted sum, the same on a ``Value``, a ``Tensor`` and a ``torch.Tensor``
    (None: leave the sum as it is); ``torch`` the ``torch.nn`` module class (None: no module).
    """

    fn: Callable
    method: str | None
    torch: str | None


# Every name a layer of `nnbook.value_nn` or `nnbook.tensor_nn` accepts, in the order error messages list them.
ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation(relu, "relu", "ReLU"),
    "tanh": Activation(tanh, "tanh", "Tanh"),
    "sigmoid": Activation(sigmoid, "sigmoid", "Sigmoid"),
    "linear": Activation(identity, None, None),
}
LAYER_ACTIVATIONS = tuple(ACTIVATIONS)


def check_activation(name) -> str:
    """``name`` if a layer accepts it, else ValueError listing the valid names."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid ones are {', '.join(map(repr, ACTIVATIONS))}")
    return name
