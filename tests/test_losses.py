"""Tests for nnbook.losses: Value losses (values and gradients) and numpy
losses against torch.nn.functional in float64; stability; shape errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnbook import losses as L
from nnbook.engine import Value

RNG = np.random.default_rng(0)


def tt(x, grad=False):
    return torch.tensor(np.asarray(x, dtype=float), dtype=torch.float64, requires_grad=grad)


def check_value_loss(ours_fn, torch_fn, preds, targets):
    """Our loss and its gradient w.r.t. the predictions equal torch's."""
    vs = [Value(p) for p in preds]
    loss = ours_fn(vs, list(targets))
    loss.backward()
    pt = tt(preds, grad=True)
    ref = torch_fn(pt, tt(targets))
    ref.backward()
    assert loss.data == pytest.approx(ref.item(), rel=1e-12, abs=1e-15)
    np.testing.assert_allclose([v.grad for v in vs], pt.grad.numpy(), rtol=1e-10, atol=1e-15)


# ----------------------------------------------------------------------
# Value losses
# ----------------------------------------------------------------------

def test_mse_and_mae_match_torch():
    p, y = RNG.normal(size=7), RNG.normal(size=7)
    check_value_loss(L.mse, F.mse_loss, p, y)
    check_value_loss(L.mae, F.l1_loss, p, y)


def test_binary_cross_entropy_matches_torch():
    p = RNG.uniform(0.05, 0.95, size=8)
    y = np.array([0, 1, 1, 0, 1, 0, 0.3, 1.0])  # soft labels too
    check_value_loss(L.binary_cross_entropy, F.binary_cross_entropy, p, y)


def test_binary_cross_entropy_confident_and_right_is_zero():
    loss = L.binary_cross_entropy([Value(1.0), Value(0.0)], [1, 0])
    assert loss.data == 0.0


def test_bce_with_logits_matches_torch_including_extremes():
    z = np.array([-1000.0, -30.0, -1.5, 0.0, 0.0, 2.0, 40.0, 1000.0])
    y = np.array([1, 0, 1, 1, 0, 0.25, 1, 0])
    check_value_loss(L.bce_with_logits, F.binary_cross_entropy_with_logits, z, y)


def test_bce_with_logits_gradient_at_zero_is_exact():
    z = Value(0.0)
    L.bce_with_logits([z], [1.0]).backward()
    assert z.grad == -0.5  # sigmoid(0) - y, no kink artefact


def test_max_margin_matches_manual_torch_and_hinge_alias():
    s, y = RNG.normal(size=9), np.where(RNG.random(9) > 0.5, 1.0, -1.0)
    check_value_loss(L.max_margin, lambda st, yt: torch.relu(1 - yt * st).mean(), s, y)
    assert L.hinge is L.max_margin


def test_l2_penalty():
    ps = [Value(v) for v in (1.0, -2.0, 3.0)]
    pen = L.l2_penalty(ps, 0.5)
    pen.backward()
    assert pen.data == 7.0
    assert [p.grad for p in ps] == [1.0, -2.0, 3.0]  # alpha * 2p


def test_l2_penalty_one_contract_for_values_and_tensors():
    from nnbook.tensor import Tensor

    ts = [Tensor([1.0, -2.0], requires_grad=True), Tensor([[3.0]], requires_grad=True)]
    pen = L.l2_penalty(ts, 0.5)  # handed to the Tensor engine's fused node
    assert pen._op == "l2_penalty" and pen.item() == 7.0
    pen.backward()
    assert ts[0].grad.tolist() == [1.0, -2.0] and ts[1].grad.tolist() == [[3.0]]
    with pytest.raises(TypeError):
        L.l2_penalty([Value(1.0)])  # alpha has no default in either engine


def test_value_loss_errors():
    with pytest.raises(ValueError, match="differ in length: 2 vs 3"):
        L.mse([Value(1.0), Value(2.0)], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="0 samples"):
        L.mae([], [])
    with pytest.raises(ValueError, match="labels must be -1 or \\+1, got 0"):
        L.max_margin([Value(1.0)], [0])
    with pytest.raises(ValueError, match="at least one parameter"):
        L.l2_penalty([], 1e-4)


def test_single_value_is_accepted():
    assert L.mse(Value(3.0), 1.0).data == 4.0


# ----------------------------------------------------------------------
# numpy losses
# ----------------------------------------------------------------------

def test_np_regression_losses():
    p, y = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))
    assert L.np_mse(p, y) == pytest.approx(F.mse_loss(tt(p), tt(y)).item(), rel=1e-14)
    assert L.np_mae(p, y) == pytest.approx(F.l1_loss(tt(p), tt(y)).item(), rel=1e-14)


def test_np_binary_cross_entropy_is_a_mean_over_samples():
    p = RNG.uniform(0.01, 0.99, size=10)
    y = (RNG.random(10) > 0.5).astype(float)
    ours = L.np_binary_cross_entropy(p, y)
    assert ours == pytest.approx(F.binary_cross_entropy(tt(p), tt(y)).item(), rel=1e-13)
    # mean, not sum: duplicating the data leaves it unchanged
    assert L.np_binary_cross_entropy(np.tile(p, 2), np.tile(y, 2)) == pytest.approx(ours, rel=1e-13)


def test_np_binary_cross_entropy_clips():
    loss = L.np_binary_cross_entropy([0.0, 1.0], [1.0, 0.0], eps=1e-7)
    assert loss == pytest.approx(-np.log(1e-7), rel=1e-6)
    assert L.np_binary_cross_entropy([1.0, 0.0], [1.0, 0.0]) == pytest.approx(0.0, abs=1e-11)


def test_np_bce_with_logits_matches_torch_at_extremes():
    z = np.array([-1000.0, -5.0, 0.0, 3.0, 1000.0])
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        ours = L.np_bce_with_logits(z, y)
    assert ours == pytest.approx(F.binary_cross_entropy_with_logits(tt(z), tt(y)).item(), rel=1e-14)


def test_np_categorical_cross_entropy():
    logits = RNG.normal(size=(6, 4))
    targets = RNG.integers(0, 4, size=6)
    probs = torch.softmax(tt(logits), dim=1).numpy()
    onehot = np.eye(4)[targets]
    ref = F.cross_entropy(tt(logits), torch.tensor(targets)).item()
    assert L.np_categorical_cross_entropy(probs, onehot) == pytest.approx(ref, rel=1e-12)
    # clipping keeps a zero probability finite
    assert np.isfinite(L.np_categorical_cross_entropy([[0.0, 1.0]], [[1.0, 0.0]]))


def test_np_cross_entropy_from_logits_indices_and_probabilities():
    logits = RNG.normal(size=(5, 3)) * 3
    targets = RNG.integers(0, 3, size=5)
    ref = F.cross_entropy(tt(logits), torch.tensor(targets)).item()
    assert L.np_cross_entropy_from_logits(logits, targets) == pytest.approx(ref, rel=1e-13)
    soft = RNG.dirichlet(np.ones(3), size=5)
    ref_soft = F.cross_entropy(tt(logits), tt(soft)).item()
    assert L.np_cross_entropy_from_logits(logits, soft) == pytest.approx(ref_soft, rel=1e-13)


def test_np_cross_entropy_from_logits_is_stable():
    logits = np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 0.0]])
    targets = np.array([0, 0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss = L.np_cross_entropy_from_logits(logits, targets)
    assert loss == pytest.approx(1000.0)  # 0 for the first row, 2000 for the second
    assert loss == pytest.approx(F.cross_entropy(tt(logits), torch.tensor(targets)).item())


def test_np_nll_matches_torch():
    lp = torch.log_softmax(tt(RNG.normal(size=(7, 5))), dim=1).numpy()
    t = RNG.integers(0, 5, size=7)
    assert L.np_nll(lp, t) == pytest.approx(F.nll_loss(tt(lp), torch.tensor(t)).item(), rel=1e-14)


def test_np_hinge():
    s, y = np.array([2.0, 0.5, -0.3]), np.array([1.0, 1.0, 1.0])
    assert L.np_hinge(s, y) == pytest.approx((0 + 0.5 + 1.3) / 3)
    with pytest.raises(ValueError, match="labels must be -1 or \\+1"):
        L.np_hinge(s, [0.0, 1.0, 1.0])


def test_np_shape_errors_show_both_shapes():
    with pytest.raises(ValueError, match=r"predictions and targets differ in shape: \(3,\) vs \(3, 1\)"):
        L.np_mse(np.zeros(3), np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"\(2,\) vs \(3,\)"):
        L.np_mae(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match=r"probs and targets differ in shape: \(4,\) vs \(5,\)"):
        L.np_binary_cross_entropy(np.full(4, 0.5), np.zeros(5))
    with pytest.raises(ValueError, match=r"\(2, 3\) vs \(2, 4\)"):
        L.np_categorical_cross_entropy(np.full((2, 3), 1 / 3), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"logits and targets differ in shape: \(2, 3\) vs \(2, 2\)"):
        L.np_cross_entropy_from_logits(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"np_nll: class targets must have shape \(2,\), got \(3,\)"):
        L.np_nll(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"must lie in \[0, 2\] for 3 classes; got range \[0, 3\]"):
        L.np_nll(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(TypeError, match="must be integer class indices, got dtype float64"):
        L.np_nll(np.zeros((2, 3)), np.array([0.5, 1.0]))
    # the one rule of every class-target loss: whole-number floats are class indices
    assert L.np_nll(np.log(np.full((2, 3), 1 / 3)), np.array([0.0, 2.0])) == pytest.approx(np.log(3))
    with pytest.raises(ValueError, match=r"scores and labels differ in shape: \(2,\) vs \(1,\)"):
        L.np_hinge(np.zeros(2), np.ones(1))
