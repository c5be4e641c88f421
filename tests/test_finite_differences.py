"""Tests for nnbook.finite_differences: it agrees with correct gradients and names
the parameter when a gradient is wrong."""

import numpy as np
import pytest

from nnbook import engine
from nnbook.finite_differences import (
    GradCheckReport,
    GradientCheckError,
    check_gradients,
    numerical_grad,
    relative_error,
)
from nnbook.losses import mse
from nnbook.value_nn import MLP


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


def test_relative_error():
    assert relative_error(1.0, 1.0) == 0.0
    assert relative_error(1.0, 1.1) == pytest.approx(0.1 / 1.1)
    assert relative_error(0.0, 0.0) == 0.0
    assert relative_error(0.0, 1e-12) == pytest.approx(1e-4)  # floor 1e-8
    np.testing.assert_allclose(relative_error([1.0, 2.0], [1.0, 1.0]), [0.0, 0.5])


def tanh_problem(seed=0):
    model = MLP(3, [4, 1], activations=["tanh", "linear"], seed=seed)
    params = model.parameters()
    for i, p in enumerate(params):
        p.label = f"p{i}"
    # non-zero biases so no gradient is accidentally tiny
    model.set_weights([(W, np.full(b.shape, 0.1)) for W, b in model.get_weights()])
    X = [[0.5, -1.0, 2.0], [1.5, 0.2, -0.7], [-0.3, 0.8, 0.1]]
    y = [1.0, -0.5, 0.25]
    return (lambda: mse([model(x) for x in X], y)), params


def test_check_gradients_passes_on_correct_backprop():
    loss_fn, params = tanh_problem()
    data = [p.data for p in params]
    report = check_gradients(loss_fn, params)
    assert isinstance(report, GradCheckReport) and report.ok
    assert len(report.rows) == len(params) == 21
    assert report.max_error < 1e-7
    assert [p.data for p in params] == data  # parameters restored
    assert "max relative error" in str(report) and "ok" in str(report)


def test_check_gradients_catches_a_wrong_backward_and_names_the_parameter(monkeypatch):
    loss_fn, params = tanh_problem()

    def wrong_tanh_backward(out):  # forgets the square: 1 - t instead of 1 - t^2
        out._prev[0].grad += (1.0 - out.data) * out.grad

    monkeypatch.setattr(engine.Value, "_tanh_backward", staticmethod(wrong_tanh_backward))
    with pytest.raises(GradientCheckError, match=r"param 0 'p0': analytic .* numeric .* relative error") as err:
        check_gradients(loss_fn, params)
    assert isinstance(err.value, AssertionError)
    msg = str(err.value)
    assert "FAILED" in msg
    # weights of the tanh layer are wrong, the output layer's are not
    assert "'p19'" not in msg and "'p20'" not in msg


def test_check_gradients_catches_a_single_wrong_parameter():
    loss_fn, params = tanh_problem()

    def tampered():
        loss = loss_fn()
        # an op whose backward is deliberately wrong for one parameter only
        bad = engine.Value._node(params[7].data * 0.0, (params[7],), "bad",
                                 lambda out: setattr(out._prev[0], "grad", out._prev[0].grad + 1.0))
        return loss + bad

    with pytest.raises(GradientCheckError, match=r"param 7 'p7'") as err:
        check_gradients(tampered, params)
    assert "param 6" not in str(err.value) and "param 8" not in str(err.value)


def test_central_difference_error_shrinks_like_h_squared():
    from nnbook.finite_differences import central_difference

    errors = [abs(central_difference(np.exp, 1.0, h) - np.e) for h in (1e-1, 1e-2)]
    assert 80 < errors[0] / errors[1] < 120  # h ten times smaller, error ~100 times smaller
    np.testing.assert_allclose(central_difference(np.sin, np.array([0.0, 1.0])), np.cos([0.0, 1.0]), rtol=1e-9)
    with pytest.raises(ValueError, match="step h must be positive"):
        central_difference(np.sin, 0.0, h=0.0)
