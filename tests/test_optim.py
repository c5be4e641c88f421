"""Tests for nnbook.optim: SGD on Values and on array parameters (against
torch.optim.SGD), schedules, and argument errors."""

import math

import numpy as np
import pytest
import torch

from nnbook.engine import Value
from nnbook.optim import SGD, constant, cosine, linear_decay, step_decay


class ArrayParam:
    """What an array-backed Tensor parameter looks like to the optimiser."""

    def __init__(self, data):
        self.data = np.array(data, dtype=float)
        self.grad = np.zeros_like(self.data)


def test_plain_sgd_on_values():
    a, b = Value(1.0), Value(-2.0)
    a.grad, b.grad = 0.5, -1.0
    opt = SGD([a, b], lr=0.1)
    opt.step()
    assert (a.data, b.data) == (1.0 - 0.05, -2.0 + 0.1)
    assert type(a.data) is float
    opt.zero_grad()
    assert a.grad == b.grad == 0.0


def test_array_parameters_update_in_place():
    p = ArrayParam([[1.0, 2.0], [3.0, 4.0]])
    data_before, grad_before = p.data, p.grad
    p.grad += 1.0
    opt = SGD([p], lr=0.5)
    opt.step()
    assert p.data is data_before  # same array object: views stay valid
    np.testing.assert_array_equal(p.data, [[0.5, 1.5], [2.5, 3.5]])
    opt.zero_grad()
    assert p.grad is grad_before and np.all(p.grad == 0)


def test_none_grad_is_skipped():
    p = ArrayParam([1.0])
    p.grad = None
    SGD([p], lr=1.0).step()
    assert p.data.tolist() == [1.0]


@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 0.0), (0.5, 0.01), (0.0, 0.1)])
def test_matches_torch_sgd(momentum, weight_decay):
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=4)
    grads = rng.normal(size=(5, 4))

    ours_arr = ArrayParam(w0)
    ours_val = [Value(v) for v in w0]
    opt_a = SGD([ours_arr], lr=0.1, momentum=momentum, weight_decay=weight_decay)
    opt_v = SGD(ours_val, lr=0.1, momentum=momentum, weight_decay=weight_decay)
    wt = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    opt_t = torch.optim.SGD([wt], lr=0.1, momentum=momentum, weight_decay=weight_decay)
    for g in grads:
        opt_a.zero_grad()  # zeroing in place must not disturb the velocity
        ours_arr.grad += g
        for v, gi in zip(ours_val, g):
            v.grad = gi
        wt.grad = torch.tensor(g)
        opt_a.step()
        opt_v.step()
        opt_t.step()
    np.testing.assert_allclose(ours_arr.data, wt.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose([v.data for v in ours_val], wt.detach().numpy(), rtol=1e-14)


def test_schedules():
    micrograd = linear_decay(1.0, 0.1, 100)
    assert all(micrograd(k) == 1.0 - 0.9 * k / 100 for k in range(100))  # bit for bit
    assert micrograd(100) == pytest.approx(0.1) and micrograd(500) == pytest.approx(0.1)
    assert constant(0.3)(0) == constant(0.3)(1000) == 0.3
    sd = step_decay(1.0, 0.5, every=10)
    assert [sd(k) for k in (0, 9, 10, 19, 20, 35)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.125]
    c = cosine(1.0, 100, lr_min=0.1)
    assert c(0) == 1.0 and c(50) == pytest.approx(0.55) and c(100) == pytest.approx(0.1)
    assert c(200) == pytest.approx(0.1)
    assert cosine(2.0, 10)(10) == pytest.approx(0.0, abs=1e-15)


def test_lr_follows_the_schedule_by_step_count():
    p = Value(0.0)
    opt = SGD([p], schedule=step_decay(1.0, 0.1, every=2))
    seen = []
    for _ in range(5):
        seen.append(opt.lr)
        p.grad = 1.0
        opt.step()
    assert seen == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01])
    assert p.data == pytest.approx(-2.21)
    assert opt.steps == 5 and opt.lr == pytest.approx(0.01)


@pytest.mark.parametrize("bad", [0, -0.1, float("nan"), float("inf")])
def test_bad_learning_rates(bad):
    with pytest.raises(ValueError, match=r"lr must be a finite number > 0, got"):
        SGD([Value(1.0)], lr=bad)
    with pytest.raises(ValueError, match=r"lr must be a finite number > 0"):
        constant(bad)
    with pytest.raises(ValueError, match=r"lr0 must be a finite number > 0"):
        cosine(bad, 10)


def test_other_argument_errors():
    with pytest.raises(ValueError, match="give lr or schedule"):
        SGD([Value(1.0)])
    with pytest.raises(ValueError, match="disagrees with the schedule's first rate 1.0"):
        SGD([Value(1.0)], lr=0.5, schedule=constant(1.0))
    SGD([Value(1.0)], lr=1.0, schedule=constant(1.0))  # agreeing is fine
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\), got 1.5"):
        SGD([Value(1.0)], lr=0.1, momentum=1.5)
    with pytest.raises(ValueError, match="weight_decay must be >= 0, got -1"):
        SGD([Value(1.0)], lr=0.1, weight_decay=-1)
    with pytest.raises(TypeError, match="lr must be a number, got str"):
        SGD([Value(1.0)], lr="0.1")
    with pytest.raises(ValueError, match="schedule gave an invalid learning rate nan at step 0"):
        SGD([Value(1.0)], schedule=lambda k: math.nan)
    with pytest.raises(ValueError, match="factor must be in"):
        step_decay(1.0, 2.0, 10)
    with pytest.raises(ValueError, match="total_steps must be an integer >= 1, got 0"):
        linear_decay(1.0, 0.1, 0)
