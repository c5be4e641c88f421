"""Tests for nnbook.tensor_nn: layers, TensorMLP, and training trajectories
that must agree with PyTorch and with the scalar Value MLP."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_moons

from nnbook.value_nn import MLP
from nnbook.optim import SGD, linear_decay
from nnbook.losses import l2_penalty  # one contract: Values or Tensors
from nnbook.tensor import Tensor, cross_entropy, max_margin_loss
from nnbook.tensor_nn import Linear, TensorMLP

torch.set_num_threads(1)


def moons():
    X, y = make_moons(n_samples=100, noise=0.1, random_state=1)
    return X, 2.0 * y - 1.0


# ---------------------------------------------------------------------------
# Construction and weights.
# ---------------------------------------------------------------------------


def test_same_seed_gives_the_value_mlps_weights():
    for seed in (0, 1337):
        mlp, tmlp = MLP(2, [16, 16, 1], seed=seed), TensorMLP(2, [16, 16, 1], seed=seed)
        for (W, b), (W2, b2) in zip(mlp.get_weights(), tmlp.get_weights()):
            np.testing.assert_array_equal(W, W2)
            np.testing.assert_array_equal(b, b2)
    assert tmlp.num_parameters() == mlp.num_parameters() == 337


def test_layout_and_repr():
    model = TensorMLP(3, [4, 2], ["tanh", "sigmoid"], seed=0)
    W = model.layers[0].W
    assert W.shape == (4, 3)  # (nout, nin), one row per unit: forward is x @ W.T + b
    assert model.activations == ["tanh", "sigmoid"] and model.nouts == [4, 2]
    assert repr(model) == "TensorMLP(3 -> [4 tanh, 2 sigmoid], 26 parameters)"
    assert repr(model.layers[1]) == "Linear(4 -> 2 sigmoid)"
    assert len(model.parameters()) == 4
    out = model(np.ones((5, 3)))
    assert out.shape == (5, 2) and np.all((out.data > 0) & (out.data < 1))


def test_kaiming_init_scale():
    layer = Linear(400, 300, seed=0, init="kaiming")
    assert layer.W.data.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert np.all(layer.b.data == 0)


def test_set_get_weights_roundtrip_and_errors():
    model = TensorMLP(2, [3, 1], seed=0)
    rng = np.random.default_rng(0)
    new = [(rng.standard_normal((3, 2)), rng.standard_normal(3)),
           (rng.standard_normal((1, 3)), rng.standard_normal(1))]
    W_before = model.layers[0].W.data
    model.set_weights(new)
    assert model.layers[0].W.data is W_before  # written in place
    for (W, b), (W2, b2) in zip(new, model.get_weights()):
        np.testing.assert_array_equal(W, W2)
        np.testing.assert_array_equal(b, b2)
    with pytest.raises(ValueError, match=r"W of shape \(3, 2\).*got \(2, 3\)"):
        model.set_weights([(new[0][0].T, new[0][1]), new[1]])
    with pytest.raises(ValueError, match="2 layers, got weights for 1"):
        model.set_weights(new[:1])


def test_rng_contract_is_the_scalar_networks():
    a, b = Linear(2, 3, rng=5), Linear(2, 3, seed=5)  # an int rng is a seed, as in nnbook.value_nn
    np.testing.assert_array_equal(a.W.data, b.W.data)
    with pytest.raises(ValueError, match="either rng or seed"):
        Linear(2, 3, rng=np.random.default_rng(0), seed=0)
    with pytest.raises(TypeError, match="rng must be"):
        Linear(2, 3, rng=0.5)


def test_constructor_errors():
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        TensorMLP(2, [3], ["gelu"])
    with pytest.raises(ValueError, match="2 layer sizes but 1 activations"):
        TensorMLP(2, [3, 1], ["relu"])
    with pytest.raises(ValueError, match="unknown init"):
        Linear(2, 3, init="xavier")
    with pytest.raises(ValueError, match=r"expected inputs of shape \(batch, 2\), got \(4, 3\)"):
        Linear(2, 3)(np.ones((4, 3)))


def test_weights_have_the_course_layout_of_torch_and_the_scalar_mlp():
    """W is (nout, nin) everywhere: the layer's W, get_weights, torch's weight, its gradient."""
    model = TensorMLP(3, [5, 2], seed=4)
    net = model.to_torch()
    x = np.random.default_rng(4).standard_normal((6, 3))
    model(x).sum().backward()
    net(torch.tensor(x)).sum().backward()
    for layer, lin, (W, _) in zip(model.layers, net[::2], model.get_weights()):
        np.testing.assert_array_equal(layer.W.data, lin.weight.detach().numpy())
        np.testing.assert_array_equal(layer.W.data, W)
        np.testing.assert_allclose(layer.W.grad, lin.weight.grad.numpy(), rtol=1e-12)
    layer = model.layers[0]
    np.testing.assert_allclose(layer(x).data, np.maximum(x @ layer.W.data.T + layer.b.data, 0), rtol=1e-12)


def test_torch_roundtrip_gives_the_same_function():
    model = TensorMLP(3, [5, 4, 2], ["relu", "tanh", "sigmoid"], seed=2)
    net = model.to_torch()
    x = np.random.default_rng(3).standard_normal((7, 3))
    np.testing.assert_allclose(model(x).data, net(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    back = TensorMLP.from_torch(net)
    assert back.activations == model.activations
    np.testing.assert_array_equal(back(x).data, model(x).data)


def test_zero_grad_resets_all_parameters():
    model = TensorMLP(2, [3, 1], seed=0)
    model(np.ones((4, 2))).sum().backward()
    assert any(np.any(p.grad != 0) for p in model.parameters())
    model.zero_grad()
    assert all(np.all(p.grad == 0) for p in model.parameters())


# ---------------------------------------------------------------------------
# Training trajectories.
# ---------------------------------------------------------------------------


def test_loss_curve_matches_torch_with_momentum_and_weight_decay():
    """Same weights, same data, same SGD: the same 50 losses."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 4))
    t = rng.integers(0, 3, 64)
    model = TensorMLP(4, [16, 8, 3], ["tanh", "relu", "linear"], seed=5)
    net = model.to_torch()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    # torch.optim.SGD's update written out (its first step() imports
    # torch._dynamo, several seconds): v = 0.9 v + (g + wd p); p -= lr v.
    velocity = [torch.zeros_like(p) for p in net.parameters()]

    def torch_sgd_step():
        with torch.no_grad():
            for p, v in zip(net.parameters(), velocity):
                v.mul_(0.9).add_(p.grad + 1e-3 * p)
                p.sub_(0.1 * v)

    Xt, tt_ = torch.tensor(X), torch.tensor(t)
    ours, theirs = [], []
    for _ in range(50):
        loss = cross_entropy(model(X), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        ours.append(loss.item())

        tloss = torch.nn.functional.cross_entropy(net(Xt), tt_)
        net.zero_grad()
        tloss.backward()
        torch_sgd_step()
        theirs.append(tloss.item())
    assert ours[-1] < 0.8 * ours[0]  # it did learn something
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)


def test_moons_hinge_loss_matches_torch():
    X, y = moons()
    model = TensorMLP(2, [16, 16, 1], seed=1337)
    net = model.to_torch()
    Xt, yt = torch.tensor(X), torch.tensor(y)
    ours, theirs = [], []
    for k in range(50):
        lr = 1.0 - 0.9 * k / 100
        loss = max_margin_loss(model(X), y) + l2_penalty(model.parameters(), 1e-4)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad
        ours.append(loss.item())

        s = net(Xt)[:, 0]
        tloss = torch.relu(1 - yt * s).mean() + 1e-4 * sum((p * p).sum() for p in net.parameters())
        net.zero_grad()
        tloss.backward()
        with torch.no_grad():
            for p in net.parameters():
                p -= lr * p.grad
        theirs.append(tloss.item())
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)


def test_moons_demo_matches_the_value_mlp():
    """The micrograd demo run by Value and by Tensor from the same weights.

    The Value engine needs ~0.1 s per step, so we compare the first 50 of
    the demo's 100 steps (benchmarks/bench_tensor.py runs all of them).
    """
    from nnbook.engine import Value
    from nnbook.losses import max_margin

    X, y = moons()
    mlp = MLP(2, [16, 16, 1], seed=1337)
    model = TensorMLP.from_mlp(mlp)
    steps = 50

    inputs = [[Value(float(v)) for v in row] for row in X]
    labels = [float(v) for v in y]
    opt = SGD(mlp.parameters(), schedule=linear_decay(1.0, 0.1, 100))
    value_losses = []
    for _ in range(steps):
        loss = max_margin([mlp(x) for x in inputs], labels) + l2_penalty(mlp.parameters(), 1e-4)
        opt.zero_grad()
        loss.backward()
        opt.step()
        value_losses.append(loss.data)

    Xt = Tensor(X)
    topt = SGD(model.parameters(), schedule=linear_decay(1.0, 0.1, 100))
    tensor_losses = []
    for _ in range(steps):
        loss = max_margin_loss(model(Xt), y) + l2_penalty(model.parameters(), 1e-4)
        topt.zero_grad()
        loss.backward()
        topt.step()
        tensor_losses.append(loss.item())

    assert value_losses[-1] < value_losses[0]
    np.testing.assert_allclose(tensor_losses, value_losses, rtol=0, atol=1e-12)
    # And the weights themselves ended up the same.
    for (W, b), (W2, b2) in zip(mlp.get_weights(), model.get_weights()):
        np.testing.assert_allclose(W2, W, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b2, b, rtol=0, atol=1e-12)
