"""Gradient descent without a neural network, and a direction found without derivatives.

The library versions of what chapter 1 derives (its centred difference lives in
``nnbook.finite_differences``); later chapters import them.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


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
