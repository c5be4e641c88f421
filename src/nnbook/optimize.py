"""Optimisation without a neural network: derivatives by differences and gradient descent.

These are the library versions of what chapter 1 derives; later chapters import them.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def central_difference(f: Callable[[float], float], x: float, h: float = 1e-5) -> float:
    """Estimate f'(x) as (f(x + h) - f(x - h)) / 2h.

    The error of this estimate shrinks like h**2 (the first-order terms cancel), against
    h for the one-sided difference; too small an h loses digits to round-off instead.
    """
    if h <= 0:
        raise ValueError(f"step h must be positive, got {h}")
    return (f(x + h) - f(x - h)) / (2 * h)


def gradient_descent(grad: Callable, x0, learning_rate: float, n_steps: int) -> np.ndarray:
    """Iterate x <- x - learning_rate * grad(x); return all n_steps + 1 iterates.

    Works for scalars (returns shape (n_steps + 1,)) and vectors (shape (n_steps + 1, d)).
    """
    if n_steps < 0:
        raise ValueError(f"n_steps must be >= 0, got {n_steps}")
    x = np.asarray(x0, dtype=float)
    path = [x]
    for _ in range(n_steps):
        x = x - learning_rate * np.asarray(grad(x), dtype=float)
        path.append(x)
    return np.array(path)


def estimate_direction(f: Callable[[np.ndarray], float], w: np.ndarray, sigma: float,
                       n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """A direction of increasing f found by sampling alone, no derivatives.

    Draws ``noise = rng.standard_normal((n_samples, len(w)))``, evaluates f at
    ``w + sigma * noise``, standardises those rewards (mean 0, std 1) and returns the
    reward-weighted average of the noise, ``rewards @ noise / n_samples``. In expectation
    this points along the gradient of a Gaussian-smoothed f (the estimator of evolution
    strategies, Salimans et al. 2017).
    """
    w = np.asarray(w, dtype=float)
    noise = rng.standard_normal((n_samples, w.size))
    rewards = np.array([f(w + sigma * eps) for eps in noise])
    spread = rewards.std()
    if spread == 0:
        return np.zeros_like(w)  # flat neighbourhood: no direction to prefer
    rewards = (rewards - rewards.mean()) / spread
    return rewards @ noise / n_samples
