"""Reference answers for chapter 4 (neurons, layers and MLPs), with their randomised inputs."""

import numpy as np

from nnbook.activations import step
from nnbook.data import gates
from nnbook.engine import Value
from nnbook.nn import MLP


def perceptron_update(w, b, x, y, lr):
    """One step of Rosenblatt's rule: predict with a step unit, move by lr * (y - y_hat) * x."""
    w, x = np.asarray(w, dtype=float), np.asarray(x, dtype=float)
    y_hat = float(step(np.dot(w, x) + b))  # step(0) = 0: a point on the line counts as class 0
    error = y - y_hat
    return w + lr * error * x, float(b + lr * error)


def is_separable(gate):
    """Whether the perceptron rule converges on a gate's truth table.

    By the perceptron convergence theorem it converges (makes an epoch without mistakes)
    exactly when a separating line exists; 100 epochs are far more than 4 points need.
    """
    X, y = gates(gate)
    w, b = np.zeros(2), 0.0
    for _ in range(100):
        mistakes = 0
        for x, target in zip(X, y):
            new_w, new_b = perceptron_update(w, b, x, target, 1.0)
            mistakes += int(new_b != b or not np.array_equal(new_w, w))
            w, b = new_w, new_b
        if mistakes == 0:
            return True
    return False


def mlp_forward(X, weights):
    """Sigmoid hidden layers and a linear output, evaluated with the library's scalar MLP."""
    X = np.asarray(X, dtype=float)
    nouts = [len(b) for _, b in weights]
    activations = ["sigmoid"] * (len(weights) - 1) + ["linear"]
    model = MLP(X.shape[1], nouts, activations)
    model.set_weights(weights)
    rows = []
    for x in X:
        out = list(x)
        for layer in model.layers:  # layer by layer: a 1-neuron Layer returns a lone Value
            out = layer(out)
            out = [out] if isinstance(out, Value) else out
        rows.append([v.data for v in out])
    return np.array(rows, dtype=float).reshape(len(X), nouts[-1])


def count_parameters(layer_sizes):
    sizes = [int(n) for n in layer_sizes]
    return MLP(sizes[0], sizes[1:]).num_parameters()


def _updates(rng, n):
    cases = []
    for _ in range(n):
        d = int(rng.integers(1, 6))
        cases.append((rng.normal(size=d), float(rng.normal()), rng.integers(0, 2, size=d).astype(float),
                      int(rng.integers(0, 2)), float(rng.choice([0.1, 0.5, 1.0, 2.0]))))
    # edge cases: all zeros (w.x + b = 0 exactly: the prediction is 0), and correct predictions
    cases.append((np.zeros(2), 0.0, np.array([1.0, 1.0]), 1, 1.0))
    cases.append((np.zeros(2), 0.0, np.array([1.0, 1.0]), 0, 1.0))
    cases.append((np.array([1.0, 1.0]), -1.5, np.array([1.0, 1.0]), 1, 0.5))
    return cases


def _gates(rng, n):
    return [(g,) for g in ("and", "or", "nand", "nor", "xor", "xnor")]


def _networks(rng, n):
    cases = []
    for _ in range(n):
        sizes = [int(k) for k in rng.integers(1, 6, size=int(rng.integers(2, 5)))]
        weights = [(rng.normal(size=(sizes[i + 1], sizes[i])) * 2, rng.normal(size=sizes[i + 1]))
                   for i in range(len(sizes) - 1)]
        cases.append((rng.normal(size=(int(rng.integers(1, 7)), sizes[0])) * 2, weights))
    return cases


def _sizes(rng, n):
    cases = [([int(k) for k in rng.integers(1, 60, size=int(rng.integers(2, 6)))],) for _ in range(n)]
    return cases + [([784, 16, 16, 10],), ([1, 1],)]


CASES = {
    "perceptron_update": (perceptron_update, _updates),
    "separable": (is_separable, _gates),
    "mlp_forward": (mlp_forward, _networks),
    "count_parameters": (count_parameters, _sizes),
}
