"""Stochastic gradient descent and learning-rate schedules.

``SGD`` updates anything with ``.data`` and ``.grad``: scalar ``Value``s
(float data, updated by assignment) and array-backed tensors (ndarray data,
updated IN PLACE so other references to the array see the new weights).

A schedule is any callable ``step -> learning rate``; ``step`` counts the
``SGD.step()`` calls made so far, starting at 0. ``linear_decay(1.0, 0.1, 100)``
is micrograd's demo schedule ``1.0 - 0.9 * k / 100``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["SGD", "constant", "step_decay", "linear_decay", "cosine"]


def _check_lr(lr, name="lr"):
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.number)):
        raise TypeError(f"{name} must be a number, got {type(lr).__name__}")
    if not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {lr}")
    return float(lr)


def _check_steps(n, name="total_steps"):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {n!r}")
    return int(n)


# ----------------------------------------------------------------------
# Schedules
# ----------------------------------------------------------------------

def constant(lr):
    """The same rate at every step."""
    lr = _check_lr(lr)
    return lambda step: lr


def step_decay(lr0, factor, every):
    """lr0 * factor ** (step // every): drop by ``factor`` every ``every`` steps."""
    lr0 = _check_lr(lr0, "lr0")
    if not 0 < factor <= 1:
        raise ValueError(f"factor must be in (0, 1], got {factor}")
    every = _check_steps(every, "every")
    return lambda step: lr0 * factor ** (step // every)


def linear_decay(lr0, lr_end, total_steps):
    """From lr0 at step 0 to lr_end at ``total_steps``, in a straight line; then lr_end."""
    lr0 = _check_lr(lr0, "lr0")
    if not (math.isfinite(lr_end) and lr_end >= 0):
        raise ValueError(f"lr_end must be a finite number >= 0, got {lr_end}")
    total_steps = _check_steps(total_steps)
    # written as lr0 - drop * k / T so (1.0, 0.1, 100) is bit for bit micrograd's
    # 1.0 - 0.9 * k / 100
    return lambda step: lr0 - (lr0 - lr_end) * min(step, total_steps) / total_steps


def cosine(lr0, total_steps, lr_min=0.0):
    """Half a cosine wave from lr0 down to lr_min over ``total_steps``; then lr_min."""
    lr0 = _check_lr(lr0, "lr0")
    if not (math.isfinite(lr_min) and 0 <= lr_min <= lr0):
        raise ValueError(f"lr_min must be in [0, lr0={lr0}], got {lr_min}")
    total_steps = _check_steps(total_steps)

    def schedule(step):
        t = min(step, total_steps) / total_steps
        return lr_min + (lr0 - lr_min) * 0.5 * (1.0 + math.cos(math.pi * t))

    return schedule


# ----------------------------------------------------------------------
# The optimiser
# ----------------------------------------------------------------------

def zero_grads(params):
    """Reset gradients to zero before the next backward pass accumulates into them.

    Parameters may be scalar Values (grad is a float) or array-backed tensors (grad is
    an ndarray, reset in place so views of it stay valid).
    """
    for p in params:
        if p.grad is None:  # nothing accumulated yet
            continue
        if isinstance(p.grad, np.ndarray):
            p.grad[...] = 0.0
        else:
            p.grad = 0.0


class SGD:
    """p <- p - lr * v, with v = momentum * v + (grad + weight_decay * p).

    ``lr``: the learning rate, or None when a ``schedule`` sets it. With a
    schedule, ``self.lr`` is always the rate the NEXT ``step()`` will use,
    ``schedule(self.steps)``. (This is PyTorch's momentum convention: with
    momentum 0 it is plain gradient descent.)
    """

    def __init__(self, params, lr=None, momentum=0.0, weight_decay=0.0, schedule=None):
        self.params = list(params)
        if schedule is None:
            if lr is None:
                raise ValueError("SGD needs a learning rate: give lr or schedule")
            self.lr = _check_lr(lr)
        else:
            if not callable(schedule):
                raise TypeError(f"schedule must be callable step -> lr, got {type(schedule).__name__}")
            first = self._scheduled(schedule, 0)
            if lr is not None and _check_lr(lr) != first:
                raise ValueError(
                    f"lr={lr} disagrees with the schedule's first rate {first}; "
                    "give lr=None and let the schedule decide"
                )
            self.lr = first
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if not weight_decay >= 0.0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self.schedule = schedule
        self.steps = 0
        # One velocity per parameter, shaped like its data; created lazily.
        self._velocity = [None] * len(self.params)

    @staticmethod
    def _scheduled(schedule, step):
        lr = float(schedule(step))
        # A schedule may legitimately end at 0, but never below or at nan.
        if not (math.isfinite(lr) and lr >= 0):
            raise ValueError(f"schedule gave an invalid learning rate {lr} at step {step}")
        return lr

    def step(self):
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:  # a tensor that took no part in the loss
                continue
            if wd:
                g = g + wd * p.data
            if mu:
                v = self._velocity[i]
                # Always a new object: keeping p.grad itself would let
                # zero_grad() wipe the velocity in place.
                g = mu * (0.0 if v is None else v) + g
                self._velocity[i] = g
            if isinstance(p.data, np.ndarray):
                p.data -= lr * g  # in place: views of the weights stay valid
            else:
                p.data = p.data - lr * g
        self.steps += 1
        if self.schedule is not None:
            self.lr = self._scheduled(self.schedule, self.steps)

    def zero_grad(self):
        zero_grads(self.params)

    def __repr__(self):
        return (f"SGD({len(self.params)} params, lr={self.lr:g}, momentum={self.momentum:g}, "
                f"weight_decay={self.weight_decay:g}, steps={self.steps})")
