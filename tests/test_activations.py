"""Tests for nnbook.activations against PyTorch (float64) and at extremes."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nnbook import activations as A

EXTREMES = np.array([-1000.0, -50.0, -1.0, 0.0, 1.0, 50.0, 1000.0])


def t(x):
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


@pytest.mark.parametrize("name, ref", [
    ("sigmoid", torch.sigmoid), ("tanh", torch.tanh), ("relu", torch.relu),
])
def test_elementwise_match_torch(name, ref):
    x = np.concatenate([EXTREMES, np.linspace(-6, 6, 41)])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # overflow or 0/0 fails (underflow to 0 is fine)
        ours = A.ACTIVATIONS[name].fn(x)
    np.testing.assert_allclose(ours, ref(torch.tensor(x)).numpy(), rtol=1e-14, atol=0)


@pytest.mark.parametrize("name, ref", [
    ("sigmoid_grad", torch.sigmoid), ("tanh_grad", torch.tanh), ("relu_grad", torch.relu),
])
def test_derivatives_match_autograd(name, ref):
    x = np.concatenate([EXTREMES, np.linspace(-6, 6, 41)])
    xt = t(x)
    ref(xt).sum().backward()
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        # 1 - tanh^2 loses a few digits to cancellation near |x| ~ 5, in torch too
        np.testing.assert_allclose(getattr(A, name)(x), xt.grad.numpy(), rtol=1e-10, atol=1e-300)


def test_sigmoid_extremes_exact():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        s = A.sigmoid([-1000.0, 0.0, 1000.0])
    assert s.tolist() == [0.0, 0.5, 1.0]
    assert A.sigmoid(-745.0) > 0  # the small side stays a tiny positive number


def test_linear_and_step():
    x = np.array([-2.0, 0.0, 3.0])
    y = A.identity(x)
    assert y.tolist() == x.tolist() and y is not x
    assert A.step(x).tolist() == [0.0, 0.0, 1.0]  # step(0) = 0
    assert A.step(5).dtype == float


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (3, 5), elements=st.floats(-1000, 1000)))
def test_softmax_and_log_softmax_match_torch(x):
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        for axis in (-1, 0):
            s, ls = A.softmax(x, axis=axis), A.log_softmax(x, axis=axis)
            np.testing.assert_allclose(s, torch.softmax(torch.tensor(x), dim=axis).numpy(),
                                       rtol=1e-12, atol=1e-300)
            np.testing.assert_allclose(ls, torch.log_softmax(torch.tensor(x), dim=axis).numpy(),
                                       rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(s.sum(axis=axis), 1.0, rtol=1e-12)


def test_softmax_no_overflow_at_1000():
    x = np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 1000.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        s, ls = A.softmax(x), A.log_softmax(x)
    np.testing.assert_allclose(s[0], [1.0, 0.0, 0.0], atol=0)
    np.testing.assert_allclose(s[1], [1 / 3] * 3, rtol=1e-15)
    assert ls[0].tolist() == [0.0, -1000.0, -2000.0]  # finite where softmax underflows
    assert np.all(np.isfinite(ls))


def test_one_table_of_activations():
    assert A.LAYER_ACTIVATIONS == tuple(A.ACTIVATIONS) == ("relu", "tanh", "sigmoid", "linear")
    assert A.ACTIVATIONS["relu"].fn(-1.0) == 0.0
    x = np.linspace(-4, 4, 9)
    for name in A.LAYER_ACTIVATIONS:  # every engine computes the same function
        act = A.ACTIVATIONS[name]
        if act.method is None:
            assert name == "linear" and act.fn is A.identity and act.torch is None
            continue
        from nnbook.engine import Value
        from nnbook.tensor import Tensor

        # Value, Tensor and torch.Tensor all have the method
        np.testing.assert_allclose([getattr(Value(v), act.method)().data for v in x], act.fn(x), rtol=1e-15)
        np.testing.assert_allclose(getattr(Tensor(x), act.method)().data, act.fn(x), rtol=1e-15)
        np.testing.assert_allclose(getattr(torch.tensor(x), act.method)().numpy(), act.fn(x), rtol=1e-15)
        module = getattr(torch.nn, act.torch)()
        np.testing.assert_allclose(module(torch.tensor(x)).numpy(), act.fn(x), rtol=1e-15)


def test_one_stable_sigmoid_and_log_softmax_for_every_engine():
    from nnbook.engine import Value
    from nnbook.tensor import Tensor, cross_entropy

    x = np.random.default_rng(0).normal(0, 30, 200)
    assert [Value(v).sigmoid().data for v in x] == A.sigmoid(x).tolist()  # bit for bit
    assert Tensor(x).sigmoid().data.tolist() == A.sigmoid(x).tolist()
    z = x.reshape(20, 10)
    assert Tensor(z).log_softmax(axis=1).data.tolist() == A.log_softmax(z, axis=1).tolist()
    t = np.arange(20) % 10
    assert cross_entropy(Tensor(z), t).item() == -A.log_softmax(z, axis=1)[np.arange(20), t].mean()


def test_float32_stays_float32():
    x = np.array([-1000.0, -1.0, 0.0, 2.0], dtype=np.float32)
    for fn in (A.sigmoid, A.tanh, A.relu, A.identity, A.softmax, A.log_softmax):
        assert fn(x).dtype == np.float32, fn.__name__
    assert A.sigmoid([1, 2]).dtype == np.float64


def test_check_activation_lists_the_valid_names():
    assert A.check_activation("tanh") == "tanh"
    with pytest.raises(ValueError, match="unknown activation 'gelu'; valid ones are 'relu', 'tanh', 'sigmoid', 'linear'"):
        A.check_activation("gelu")
