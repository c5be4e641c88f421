"""Tests for nnbook.finite_differences: centred differences agree with known derivatives."""

import numpy as np
import pytest

from nnbook.finite_differences import numerical_grad


def test_numerical_grad_of_known_functions():
    x = np.array([[0.5, -1.0], [2.0, 3.0]])
    g = numerical_grad(lambda v: np.sum(v**3), x)
    np.testing.assert_allclose(g, 3 * x**2, rtol=1e-8)
    assert g.shape == x.shape
    assert x.tolist() == [[0.5, -1.0], [2.0, 3.0]]  # input untouched
    g = numerical_grad(lambda v: np.sin(v[0]) * v[1], [0.3, 2.0])
    np.testing.assert_allclose(g, [np.cos(0.3) * 2.0, np.sin(0.3)], rtol=1e-8)


def test_centred_differences_beat_one_sided():
    # error O(eps^2): for exp at 1 with eps = 1e-4, about e * eps^2 / 6
    g = numerical_grad(lambda v: np.exp(v[0]), [1.0], eps=1e-4)[0]
    assert abs(g - np.e) < 1e-8


def test_central_difference_error_shrinks_like_h_squared():
    from nnbook.finite_differences import central_difference

    errors = [abs(central_difference(np.exp, 1.0, h) - np.e) for h in (1e-1, 1e-2)]
    assert 80 < errors[0] / errors[1] < 120  # h ten times smaller, error ~100 times smaller
    np.testing.assert_allclose(central_difference(np.sin, np.array([0.0, 1.0])), np.cos([0.0, 1.0]), rtol=1e-9)
    with pytest.raises(ValueError, match="step h must be positive"):
        central_difference(np.sin, 0.0, h=0.0)
