"""Reference answers for chapter 1 (gradient descent), with their randomised inputs."""

import numpy as np

from nnbook.descent import gradient_descent
from nnbook.finite_differences import central_difference


def derivative_of_polynomial(coeffs, x, h):
    return central_difference(np.poly1d(coeffs), x, h)


def descent_on_quadratic(a, c, x0, learning_rate, n_steps):
    """Gradient descent on f(x) = a (x - c)**2, whose gradient is 2 a (x - c)."""
    return gradient_descent(lambda x: 2 * a * (x - c), x0, learning_rate, n_steps)


def converges(a, learning_rate):
    # x_{k+1} - c = (1 - 2 a lr)(x_k - c): the error shrinks iff |1 - 2 a lr| < 1.
    return bool(abs(1 - 2 * a * learning_rate) < 1)


def _polynomials(rng, n):
    return [(rng.uniform(-3, 3, size=rng.integers(2, 5)), float(rng.uniform(-2, 2)), 1e-5) for _ in range(n)]


def _quadratics(rng, n):
    return [(float(rng.uniform(0.1, 3)), float(rng.uniform(-5, 5)), float(rng.uniform(-10, 10)),
             float(rng.uniform(0.01, 0.3)), int(rng.integers(0, 30))) for _ in range(n)]


def _rates(rng, n):
    cases = [(float(a), float(lr)) for a, lr in zip(rng.uniform(0.1, 5, n), rng.uniform(0.001, 2, n))]
    # edge cases on both sides of the boundary lr = 1/a
    return cases + [(2.0, 0.49), (2.0, 0.51), (0.5, 1.99), (0.5, 2.01)]


CASES = {
    "central_difference": (derivative_of_polynomial, _polynomials),
    "gradient_descent": (descent_on_quadratic, _quadratics),
    "converges": (converges, _rates),
}
