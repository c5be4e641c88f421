"""Derivatives by finite differences: what a gradient check compares backprop with.

Backpropagation is easy to get subtly wrong; finite differences are slow
but hard to get wrong. The centred difference (``central_difference``, the one
definition the library uses)

    f'(x) ~ (f(x + eps) - f(x - eps)) / (2 eps)

has error O(eps^2) (the one-sided version only O(eps)), so in float64 with
eps = 1e-6 it agrees with a correct gradient to ~1e-9 or better.
Kinks (relu at 0, abs at 0) break the comparison: check smooth models.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["central_difference", "numerical_grad"]


def central_difference(f: Callable, x, h: float = 1e-5):
    """Estimate f'(x) as (f(x + h) - f(x - h)) / 2h.

    The error of this estimate shrinks like h**2 (the first-order terms cancel), against
    h for the one-sided difference; too small an h loses digits to round-off instead.
    ``x`` may be an array when ``f`` works elementwise: each entry gets its own estimate.
    """
    if h <= 0:
        raise ValueError(f"step h must be positive, got {h}")
    return (f(x + h) - f(x - h)) / (2 * h)


def numerical_grad(f, x, eps=1e-6):
    """Centred-difference gradient of scalar ``f`` at array ``x``.

    ``f`` takes an array shaped like ``x`` and returns a number. ``x`` is not
    modified; the result has its shape.
    """
    x = np.array(x, dtype=float)  # a private float64 copy we may perturb
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]

        def f_i(t):  # f as a function of entry i alone
            x[i] = t
            return float(f(x))

        grad[i] = central_difference(f_i, old, eps)
        x[i] = old
    return grad
