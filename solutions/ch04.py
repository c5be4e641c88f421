"""Reference answers for chapter 4 (neurons, layers and MLPs), with their randomised inputs."""

import numpy as np

from nnbook.activations import step
from nnbook.data import gates
from nnbook.engine import Value
from nnbook.value_nn import MLP, Layer, Neuron


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
    # fixed for every student: one sample through 1-unit layers, and saturated sigmoids (|z| ~ 1000)
    cases.append((np.array([[2.0]]), [(np.array([[1.5]]), np.array([-0.5])), (np.array([[-2.0]]), np.array([0.25]))]))
    cases.append((np.array([[50.0, -50.0], [0.0, 0.0]]),
                  [(np.array([[20.0, 0.0], [0.0, 20.0], [1.0, 1.0]]), np.array([0.0, 0.0, 0.0])),
                   (np.array([[1.0, -2.0, 3.0]]), np.array([0.5]))]))
    return cases


def _sizes(rng, n):
    cases = [([int(k) for k in rng.integers(1, 60, size=int(rng.integers(2, 6)))],) for _ in range(n)]
    return cases + [([784, 16, 16, 10],), ([1, 1],), ([3, 5],), ([2, 1, 1, 1, 1],)]


CASES = {
    "perceptron_update": (perceptron_update, _updates),
    "separable": (is_separable, _gates),
    "mlp_forward": (mlp_forward, _networks),
    "count_parameters": (count_parameters, _sizes),
}


# ---------------------------------------------------------------- the modules (Neuron, Layer, MLP)
# Each fingerprint builds a module with the library's classes, loads the given weights through the
# attributes the exercise names (neuron.w, neuron.b, layer.neurons, mlp.layers), and returns plain
# numbers: the outputs and the gradients of every parameter after one backward pass per sample.
# Gradients are reset by hand between samples, so that a broken zero_grad() costs only the test
# of zero_grad(); the count and the printed form are compared separately too (partial credit).
# The hidden tests build the student's classes the same way.

def _as_list(out):
    """A module's output as a list (the library's 1-output Layer returns a lone Value)."""
    return [out] if isinstance(out, Value) else list(out)


def _load_neuron(neuron, w, b):
    for wi, v in zip(neuron.w, w):
        wi.data = float(v)
    neuron.b.data = float(b)


def _reset(params):
    for p in params:
        p.grad = 0.0


def neuron_fingerprint(nin, activation, w, b, X):
    neuron = Neuron(nin, activation)
    _load_neuron(neuron, w, b)
    outputs, grads = [], []
    for x in X:
        xs = [Value(float(v)) for v in x]
        out = neuron(xs)
        _reset(neuron.parameters())
        out.backward()
        outputs.append(out.data)
        grads.append([p.grad for p in neuron.parameters()] + [v.grad for v in xs])
    return {"outputs": outputs, "grads": grads}


def neuron_summary(nin, activation, seed):
    """Initial weights, count, printed form, and the gradients left by zero_grad()."""
    neuron = Neuron(nin, activation, rng=np.random.default_rng(seed))
    start = [p.data for p in neuron.parameters()]
    (neuron([1.0] * nin) * 3.0).backward()
    neuron.zero_grad()
    return {"initial": start, "count": neuron.num_parameters(), "repr": repr(neuron),
            "after zero_grad": [p.grad for p in neuron.parameters()]}


def _run(module, X):
    """Outputs per sample, and every parameter's gradient of sum_j (j + 1) * output_j (the weights
    1, 2, 3, ... make a mixed-up output order show)."""
    outputs, grads = [], []
    for x in X:
        outs = _as_list(module([float(v) for v in x]))
        total = outs[0]
        for j, o in enumerate(outs[1:], start=2):
            total = total + j * o
        _reset(module.parameters())
        total.backward()
        outputs.append([o.data for o in outs])
        grads.append([p.grad for p in module.parameters()])
    return {"outputs": outputs, "grads": grads}


def layer_fingerprint(nin, nout, activation, W, b, X):
    layer = Layer(nin, nout, activation)
    for neuron, row, bias in zip(layer.neurons, W, b):
        _load_neuron(neuron, row, bias)
    return dict(_run(layer, X), count=layer.num_parameters(), repr=repr(layer))


def mlp_fingerprint(nin, nouts, activations, weights, X):
    model = MLP(nin, nouts, activations)
    for layer, (W, b) in zip(model.layers, weights):
        for neuron, row, bias in zip(layer.neurons, W, b):
            _load_neuron(neuron, row, bias)
    return _run(model, X)


def mlp_summary(nin, nouts, activations):
    model = MLP(nin, nouts, activations)
    return {"count": model.num_parameters(), "repr": repr(model), "layers": [repr(layer) for layer in model.layers]}


def mlp_initial_weights(nin, nouts, seed):
    """The parameters a freshly built MLP starts from, in parameters() order."""
    return [p.data for p in MLP(nin, nouts, seed=seed).parameters()]


def mlp_set_weights(nin, nouts, weights):
    """Parameters after set_weights, in parameters() order, and the weights read back."""
    model = MLP(nin, nouts)
    model.set_weights(weights)
    return {"params": [p.data for p in model.parameters()],
            "read back": [[np.asarray(W, dtype=float), np.asarray(b, dtype=float)] for W, b in model.get_weights()]}


# ---------------------------------------------------------------- initialisation
def init_weights(n_in, n_out, scheme, rng):
    """A weight matrix of shape (n_out, n_in) drawn by one of three schemes."""
    if scheme == "uniform":  # micrograd's choice, whatever the layer's width
        return rng.uniform(-1.0, 1.0, (n_out, n_in))
    if scheme == "xavier":  # Var = 2 / (n_in + n_out): a compromise between forward and backward
        limit = np.sqrt(6.0 / (n_in + n_out))
        return rng.uniform(-limit, limit, (n_out, n_in))
    if scheme == "kaiming":  # Var = 2 / n_in: relu zeroes half the signal, so double it
        return rng.normal(0.0, np.sqrt(2.0 / n_in), (n_out, n_in))
    raise ValueError(f"unknown scheme {scheme!r}")


def seeded_init(n_in, n_out, scheme, seed):
    return init_weights(n_in, n_out, scheme, np.random.default_rng(seed))


_ACTIVATION_NAMES = ["relu", "tanh", "sigmoid", "linear"]


def _neurons(rng, n):
    cases = []
    for _ in range(n):
        nin = int(rng.integers(1, 6))
        act = str(rng.choice(_ACTIVATION_NAMES))
        cases.append((nin, act, rng.normal(size=nin), float(rng.normal()), rng.normal(size=(3, nin)) * 2))
    # fixed: one input with a weighted sum of exactly 0 (relu's kink), and saturated sigmoids
    cases.append((1, "relu", np.array([1.0]), -1.0, np.array([[1.0], [0.5], [2.0]])))
    cases.append((2, "sigmoid", np.array([50.0, -50.0]), 0.0, np.array([[20.0, -20.0], [-20.0, 20.0], [0.0, 0.0]])))
    return cases


def _neuron_specs(rng, n):
    cases = [(int(rng.integers(1, 8)), str(rng.choice(_ACTIVATION_NAMES)), int(rng.integers(0, 1000))) for _ in range(n)]
    return cases + [(1, "tanh", 0), (1, "linear", 7)]  # one input: the repr still says "1 inputs"


def _layers(rng, n):
    cases = []
    for _ in range(n):
        nin, nout = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        cases.append((nin, nout, str(rng.choice(_ACTIVATION_NAMES)), rng.normal(size=(nout, nin)),
                      rng.normal(size=nout), rng.normal(size=(3, nin)) * 2))
    # fixed: a 1 -> 1 layer (one output), and a wide layer whose neurons differ only in their bias
    cases.append((1, 1, "relu", np.array([[1.0]]), np.array([-1.0]), np.array([[1.0], [2.0], [0.0]])))
    cases.append((2, 4, "tanh", np.ones((4, 2)), np.array([-2.0, -1.0, 1.0, 2.0]), np.array([[1.0, -1.0], [0.5, 0.5], [3.0, 0.0]])))
    return cases


def _random_weights(rng, sizes):
    return [(rng.normal(size=(sizes[i + 1], sizes[i])), rng.normal(size=sizes[i + 1])) for i in range(len(sizes) - 1)]


def _mlps(rng, n):
    cases = []
    for i in range(n):
        sizes = [int(k) for k in rng.integers(1, 5, size=int(rng.integers(2, 5)))]
        kind = i % 3  # the three ways to give activations
        if kind == 0:
            acts = None
        elif kind == 1:
            acts = str(rng.choice(_ACTIVATION_NAMES))
        else:
            acts = [str(a) for a in rng.choice(_ACTIVATION_NAMES, size=len(sizes) - 1)]
        cases.append((sizes[0], sizes[1:], acts, _random_weights(rng, sizes), rng.normal(size=(3, sizes[0])) * 2))
    # fixed: the smallest network, and a deep one with a different activation per layer
    fixed = np.random.default_rng(2024)
    cases.append((1, [1], None, _random_weights(fixed, [1, 1]), np.array([[1.0], [-2.0], [0.0]])))
    cases.append((2, [3, 2, 3, 2], ["relu", "tanh", "sigmoid", "linear"], _random_weights(fixed, [2, 3, 2, 3, 2]),
                  fixed.normal(size=(3, 2)) * 2))
    # one activation name for every layer, the output layer included
    cases.append((2, [2, 2], "sigmoid", _random_weights(fixed, [2, 2, 2]), fixed.normal(size=(3, 2)) * 2))
    return cases


def _mlp_shapes(rng, n):
    return [(nin, nouts, acts) for nin, nouts, acts, _, _ in _mlps(rng, n)]


def _mlp_specs(rng, n):
    cases = []
    for _ in range(n):
        sizes = [int(k) for k in rng.integers(1, 5, size=int(rng.integers(2, 5)))]
        cases.append((sizes[0], sizes[1:], int(rng.integers(0, 1000))))
    return cases + [(1, [1], 0), (3, [4, 4, 2], 5)]


def _mlp_weights(rng, n):
    cases = []
    for _ in range(n):
        sizes = [int(k) for k in rng.integers(1, 5, size=int(rng.integers(2, 5)))]
        cases.append((sizes[0], sizes[1:], _random_weights(rng, sizes)))
    return cases + [(1, [1], _random_weights(np.random.default_rng(1), [1, 1])),
                    (2, [3, 1], _random_weights(np.random.default_rng(2), [2, 3, 1]))]


def _inits(rng, n):
    schemes = ["uniform", "xavier", "kaiming"]
    return [(int(rng.integers(1, 9)), int(rng.integers(1, 9)), schemes[i % 3], int(rng.integers(0, 1000)))
            for i in range(n)] + [
        # fixed: 1 x 1 layers, and wide layers where the three scales differ most
        (1, 1, "uniform", 0), (1, 1, "xavier", 1), (1, 1, "kaiming", 2),
        (200, 3, "xavier", 3), (200, 3, "kaiming", 4), (3, 200, "xavier", 5)]


CASES.update({
    "neuron": (neuron_fingerprint, _neurons),
    "neuron_summary": (neuron_summary, _neuron_specs),
    "layer": (layer_fingerprint, _layers),
    "mlp": (mlp_fingerprint, _mlps),
    "mlp_summary": (mlp_summary, _mlp_shapes),
    "mlp_init": (mlp_initial_weights, _mlp_specs),
    "mlp_set_weights": (mlp_set_weights, _mlp_weights),
    "init_weights": (seeded_init, _inits),
})
