"""Derivatives by finite differences, and gradient checks built on them.

Backpropagation is easy to get subtly wrong; finite differences are slow
but hard to get wrong. The centred difference (``central_difference``, the one
definition the library uses)

    f'(x) ~ (f(x + eps) - f(x - eps)) / (2 eps)

has error O(eps^2) (the one-sided version only O(eps)), so in float64 with
eps = 1e-6 it agrees with a correct gradient to ~1e-9 or better.
Kinks (relu at 0, abs at 0) break the comparison: check smooth models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = [
    "central_difference", "numerical_grad", "relative_error", "check_gradients",
    "GradientCheckError", "GradCheckReport",
]


class GradientCheckError(AssertionError):
    """An analytic gradient disagrees with its finite-difference estimate."""


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


def relative_error(a, b, floor=1e-8):
    """|a - b| / max(|a|, |b|, floor), elementwise.

    Scale-free for ordinary gradients; the ``floor`` turns it into an
    absolute error for gradients that are (nearly) zero, where a relative
    error would blow up on rounding noise.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    err = np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), floor)
    return float(err) if err.ndim == 0 else err


@dataclass
class GradCheckReport:
    """One row per parameter: (index, label, analytic, numeric, relative error)."""

    rows: list = field(default_factory=list)
    tol: float = 1e-6

    @property
    def max_error(self):
        return max((r[4] for r in self.rows), default=0.0)

    @property
    def ok(self):
        return self.max_error <= self.tol

    def __str__(self):
        lines = [f"gradient check of {len(self.rows)} parameters, tol {self.tol:g}: "
                 f"max relative error {self.max_error:.3g} ({'ok' if self.ok else 'FAILED'})"]
        for i, label, a, n, e in self.rows:
            if e > self.tol:
                lines.append(f"  param {i} {label!r}: analytic {a:.10g} numeric {n:.10g} "
                             f"relative error {e:.3g}")
        return "\n".join(lines)


def check_gradients(loss_fn, params, eps=1e-6, tol=1e-6, floor=1e-3):
    """Compare backprop with centred differences for Value-based models.

    ``loss_fn()`` builds the loss (a ``Value``) from the current parameter
    values; ``params`` are the leaf Values to check (e.g.
    ``model.parameters()``). Returns a ``GradCheckReport``; raises
    ``GradientCheckError`` naming each bad parameter (index and label) with
    its analytic and numeric values. ``floor`` (see ``relative_error``): a
    centred difference carries ~1e-16 * |loss| / eps of rounding noise, so
    gradients smaller than ``floor`` are judged by absolute error instead.
    Afterwards each parameter's ``.grad``
    holds its analytic gradient and ``.data`` is unchanged.
    """
    params = list(params)
    for p in params:
        p.grad = 0.0
    loss_fn().backward()
    report = GradCheckReport(tol=tol)
    for i, p in enumerate(params):
        old = p.data

        def loss_at(t):  # the loss as a function of this parameter alone
            p.data = t
            return loss_fn().data

        numeric = central_difference(loss_at, old, eps)
        p.data = old
        report.rows.append((i, p.label, p.grad, numeric, relative_error(p.grad, numeric, floor)))
    if not report.ok:
        raise GradientCheckError(str(report))
    return report
