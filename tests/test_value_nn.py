"""Tests for nnbook.value_nn: construction, determinism, weights in/out, errors,
and micrograd's moons demo reaching 100% training accuracy."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_moons

from nnbook.engine import Value, gc_paused
from nnbook.losses import l2_penalty, max_margin
from nnbook.value_nn import MLP, Layer, Module, Neuron
from nnbook.optim import SGD, linear_decay


def test_mlp_repr_and_parameter_count():
    m = MLP(2, [16, 16, 1])
    assert repr(m) == "MLP(2 -> [16 relu, 16 relu, 1 linear], 337 parameters)"
    assert m.num_parameters() == len(m.parameters()) == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1
    assert repr(m.layers[0]) == "Layer(2 -> 16 relu)"
    assert repr(m.layers[0].neurons[0]) == "Neuron(2 inputs, relu)"


def test_activations_argument_forms():
    assert repr(MLP(3, [4, 2], activations="tanh")) == "MLP(3 -> [4 tanh, 2 tanh], 26 parameters)"
    m = MLP(3, [4, 2], activations=["sigmoid", "linear"])
    assert [layer.activation for layer in m.layers] == ["sigmoid", "linear"]


def test_initialisation_is_deterministic_and_documented():
    w0 = MLP(2, [3, 1], seed=0).get_weights()
    w0_again = MLP(2, [3, 1], seed=0).get_weights()
    w1 = MLP(2, [3, 1], seed=1).get_weights()
    for (a, b), (c, d) in zip(w0, w0_again):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    assert not np.array_equal(w0[0][0], w1[0][0])
    # weights: default_rng(seed).uniform(-1, 1) drawn layer by layer, neuron by neuron
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(w0[0][0], rng.uniform(-1, 1, (3, 2)))
    np.testing.assert_array_equal(w0[1][0], rng.uniform(-1, 1, (1, 3)))
    assert np.all(w0[0][1] == 0) and np.all(w0[1][1] == 0)  # biases start at 0


def test_neuron_rng_forms():
    a = [w.data for w in Neuron(3, rng=7).w]
    b = [w.data for w in Neuron(3, rng=np.random.default_rng(7)).w]
    c = [w.data for w in Neuron(3).w]  # None means seed 0
    assert a == b
    assert c == list(np.random.default_rng(0).uniform(-1, 1, 3))
    for bad in (1.5, "7", True):
        with pytest.raises(TypeError, match="rng must be a numpy.random.Generator, an int seed or None"):
            Neuron(3, rng=bad)


def test_get_and_set_weights_round_trip():
    m = MLP(2, [4, 3, 1], seed=0)
    new = [(np.full(W.shape, 0.5), np.arange(b.size, dtype=float)) for W, b in m.get_weights()]
    m.set_weights(new)
    for (W, b), (W2, b2) in zip(new, m.get_weights()):
        np.testing.assert_array_equal(W, W2)
        np.testing.assert_array_equal(b, b2)
    assert [W.shape for W, _ in m.get_weights()] == [(4, 2), (3, 4), (1, 3)]


def test_forward_matches_numpy_with_the_same_weights():
    m = MLP(3, [5, 4, 2], activations=["tanh", "relu", "sigmoid"], seed=4)
    x = [0.3, -1.2, 0.7]
    out = m(x)
    assert isinstance(out, list) and len(out) == 2
    h = np.array(x)
    for (W, b), f in zip(m.get_weights(), [np.tanh, lambda z: np.maximum(z, 0),
                                           lambda z: 1 / (1 + np.exp(-z))]):
        h = f(W @ h + b)
    np.testing.assert_allclose([o.data for o in out], h, rtol=1e-13)


def test_single_output_is_a_value():
    out = MLP(2, [3, 1])([1.0, 2.0])
    assert isinstance(out, Value)
    assert isinstance(Layer(2, 1)([Value(1.0), 2.0]), Value)


def test_fused_and_unfused_give_the_same_numbers_and_gradients():
    a = MLP(3, [4, 4, 1], activations="tanh", seed=2, fused=True)
    b = MLP(3, [4, 4, 1], activations="tanh", seed=2, fused=False)
    x = [0.5, -0.25, 2.0]
    ya, yb = a(x), b(x)
    ya.backward()
    yb.backward()
    assert ya.data == yb.data
    for p, q in zip(a.parameters(), b.parameters()):
        assert p.grad == pytest.approx(q.grad, rel=1e-14, abs=1e-300)
    assert ya._prev[0]._op == "dot" and yb._prev[0]._op == "+"


def test_gradients_match_torch():
    m = MLP(2, [5, 1], activations=["tanh", "linear"], seed=3)
    x = [0.7, -0.4]
    y = m(x)
    y.backward()
    (W1, b1), (W2, b2) = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
                          for W, b in m.get_weights()]
    yt = W2 @ torch.tanh(W1 @ torch.tensor(x, dtype=torch.float64) + b1) + b2
    yt.sum().backward()
    assert y.data == pytest.approx(yt.item(), rel=1e-13)
    grads = [np.concatenate([W1.grad[i].numpy(), [b1.grad[i].item()]]) for i in range(5)]
    grads += [np.concatenate([W2.grad[0].numpy(), [b2.grad[0].item()]])]
    np.testing.assert_allclose([p.grad for p in m.parameters()], np.concatenate(grads), rtol=1e-12)


def test_zero_grad():
    m = MLP(2, [3, 1])
    m([1.0, -1.0]).backward()
    assert any(p.grad != 0 for p in m.parameters())
    m.zero_grad()
    assert all(p.grad == 0 for p in m.parameters())


def test_module_zero_grad_handles_array_parameters():
    class P:  # what an array-backed Tensor parameter looks like to Module
        def __init__(self):
            self.data, self.grad = np.ones(3), np.ones(3)

    class M(Module):
        def __init__(self):
            self.p, self.q = P(), P()
            self.q.grad = None

        def parameters(self):
            return [self.p, self.q]

    m = M()
    g = m.p.grad
    m.zero_grad()
    assert g is m.p.grad and np.all(g == 0) and m.q.grad is None  # in place
    assert m.num_parameters() == 6


def test_errors():
    with pytest.raises(ValueError, match=r"unknown activation 'gelu'; valid ones are 'relu', 'tanh', 'sigmoid', 'linear'"):
        MLP(2, [3, 1], activations="gelu")
    with pytest.raises(ValueError, match="unknown activation 'softmax'"):
        Neuron(2, activation="softmax")
    with pytest.raises(ValueError, match="MLP expected 2 inputs, got 3"):
        MLP(2, [3, 1])([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="Layer expected 4 inputs, got 1"):
        Layer(4, 2)([1.0])
    with pytest.raises(ValueError, match="Neuron expected 2 inputs, got 0"):
        Neuron(2)([])
    with pytest.raises(ValueError, match="MLP got 2 layer sizes but 1 activations"):
        MLP(2, [3, 1], activations=["relu"])
    with pytest.raises(ValueError, match=r"needs W of shape \(3, 2\) and b of shape \(3,\), got \(2, 3\) and \(3,\)"):
        MLP(2, [3, 1]).set_weights([(np.zeros((2, 3)), np.zeros(3)), (np.zeros((1, 3)), np.zeros(1))])
    with pytest.raises(ValueError, match="MLP has 2 layers, got weights for 1"):
        MLP(2, [3, 1]).set_weights([(np.zeros((3, 2)), np.zeros(3))])


def test_micrograd_moons_demo_reaches_full_training_accuracy():
    # micrograd's demo: 2-16-16-1 relu MLP, 100 moons, labels in {-1, +1},
    # max-margin loss + L2 (alpha 1e-4), SGD with lr 1.0 - 0.9 k / 100.
    X, y = make_moons(n_samples=100, noise=0.1, random_state=1)
    y = (y * 2 - 1).astype(float).tolist()
    X = X.tolist()
    model = MLP(2, [16, 16, 1], seed=0)  # seed 0 reaches 100% (checked)
    opt = SGD(model.parameters(), schedule=linear_decay(1.0, 0.1, 100))
    losses = []
    with gc_paused():  # our graphs are acyclic: about 2x faster, same numbers
        for k in range(100):
            assert opt.lr == pytest.approx(1.0 - 0.9 * k / 100)
            scores = [model(x) for x in X]
            loss = max_margin(scores, y) + l2_penalty(model.parameters(), 1e-4)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.data)
    accuracy = np.mean([(model(x).data > 0) == (yi > 0) for x, yi in zip(X, y)])
    assert accuracy == 1.0
    assert losses[-1] < 0.05 < losses[0]


def test_mlp_with_a_width_one_hidden_layer():
    """A bottleneck of one unit still feeds a list to the next layer (micrograd crashes here)."""
    from nnbook.value_nn import MLP

    net = MLP(2, [1, 3], activations=["tanh", "linear"], seed=0)
    out = net([0.5, -1.0])
    assert isinstance(out, list) and len(out) == 3
    (W1, b1), (W2, b2) = net.get_weights()
    hidden = np.tanh(W1 @ np.array([0.5, -1.0]) + b1)
    np.testing.assert_allclose([o.data for o in out], W2 @ hidden + b2, rtol=1e-12)
