"""Tests for nnbook.descent: gradient descent's iterates, and the derivative-free direction."""

import numpy as np
import pytest

from nnbook.descent import estimate_direction, gradient_descent


def test_gradient_descent_on_a_parabola_follows_the_closed_form():
    # f(x) = (x - 3)^2, f'(x) = 2 (x - 3): each step multiplies the distance to 3 by (1 - 2 lr)
    path = gradient_descent(lambda x: 2 * (x - 3), x0=0.0, learning_rate=0.1, n_steps=20)
    assert path.shape == (21,)
    np.testing.assert_allclose(path, 3 + (0 - 3) * 0.8 ** np.arange(21), rtol=1e-12)


def test_gradient_descent_on_vectors_returns_every_iterate():
    A = np.diag([1.0, 10.0])
    path = gradient_descent(lambda x: A @ x, x0=[1.0, 1.0], learning_rate=0.05, n_steps=100)
    assert path.shape == (101, 2)
    np.testing.assert_array_equal(path[0], [1.0, 1.0])
    assert np.linalg.norm(path[-1]) < 1e-2


def test_too_large_a_rate_diverges_and_zero_steps_is_the_start():
    path = gradient_descent(lambda x: 2 * x, x0=1.0, learning_rate=1.5, n_steps=5)
    assert abs(path[-1]) == 2.0**5  # |1 - 2 * 1.5| = 2: the distance doubles every step
    np.testing.assert_array_equal(gradient_descent(lambda x: x, 4.0, 0.1, 0), [4.0])
    with pytest.raises(ValueError, match="n_steps must be >= 0"):
        gradient_descent(lambda x: x, 0.0, 0.1, -1)


def test_estimate_direction_points_uphill_without_derivatives():
    slope = np.array([3.0, -1.0, 0.5])
    direction = estimate_direction(lambda w: slope @ w, np.zeros(3), sigma=0.1, n_samples=2000,
                                   rng=np.random.default_rng(0))
    cosine = direction @ slope / (np.linalg.norm(direction) * np.linalg.norm(slope))
    assert direction.shape == (3,) and cosine > 0.95


def test_estimate_direction_is_reproducible_and_flat_means_no_direction():
    f = lambda w: -np.sum((w - 1) ** 2)  # noqa: E731
    a = estimate_direction(f, np.zeros(2), 0.5, 50, np.random.default_rng(4))
    b = estimate_direction(f, np.zeros(2), 0.5, 50, np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    flat = estimate_direction(lambda w: 1.0, np.zeros(2), 0.5, 50, np.random.default_rng(4))
    np.testing.assert_array_equal(flat, [0.0, 0.0])
