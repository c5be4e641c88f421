"""Reference answers for chapter 7 (PyTorch autograd and training loops), with their inputs.

nnbook has no library version of these small torch idioms (they ARE the lesson), so the
references live here. Adapters in the hidden tests rebuild torch objects from plain
numbers and arrays; the helpers below are shared by the references and those adapters.
"""

import numpy as np
import torch
from torch import nn


# ----------------------------------------------------------------- references
def autograd_derivative(f, xs):
    x = torch.tensor(np.asarray(xs, dtype=float), dtype=torch.float64, requires_grad=True)
    # f acts elementwise, so d(sum f(x))/dx_i = f'(x_i)
    f(x).sum().backward()
    return x.grad.numpy()


def train_step(model, optimizer, loss_fn, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def evaluate(model, X, y):
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            predictions = model(X).argmax(dim=1)
        return (predictions == y).float().mean().item()
    finally:
        model.train(was_training)


def make_classifier(n_in, hidden, n_out):
    layers, width = [], n_in
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def count_parameters(n_in, hidden, n_out):
    sizes = [n_in, *hidden, n_out]
    return int(sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:])))


# ------------------------------------------- building torch objects from plain data
def polynomial_function(kind, coeffs):
    """A torch function of x built from plain data: a polynomial, optionally inside tanh/sin."""
    def f(x):
        p = sum(float(c) * x**k for k, c in enumerate(coeffs))
        if kind == "tanh":
            return torch.tanh(p)
        if kind == "sin":
            return torch.sin(p)
        return p
    return f


def derivative_case(kind, coeffs, xs):
    return autograd_derivative(polynomial_function(kind, coeffs), xs)


def seeded_model(seed, n_in, n_hidden, n_out):
    torch.manual_seed(int(seed))
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.Tanh(), nn.Linear(n_hidden, n_out)).double()


def run_training(step_fn, seed, X, y, lr, n_steps):
    """n_steps of step_fn on a seeded model: the losses and the final flattened weights."""
    model = seeded_model(seed, X.shape[1], 5, int(y.max()) + 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=float(lr), momentum=0.5)
    loss_fn = nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    losses = [float(step_fn(model, optimizer, loss_fn, Xt, yt)) for _ in range(int(n_steps))]
    weights = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).numpy()
    return {"losses": np.array(losses), "weights": weights}


def training_case(seed, X, y, lr, n_steps):
    return run_training(train_step, seed, X, y, lr, n_steps)


def linear_model(W, b):
    model = nn.Linear(W.shape[1], W.shape[0]).double()
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(W))
        model.bias.copy_(torch.from_numpy(b))
    return model


def evaluate_case(W, b, X, y, training):
    model = linear_model(W, b)
    model.train(bool(training))
    return float(evaluate(model, torch.from_numpy(X), torch.from_numpy(y)))


def describe(model):
    """What the spec fixes: module types, parameter shapes, parameter count."""
    return {"modules": " ".join(type(m).__name__ for m in model),
            "shapes": [list(p.shape) for p in model.parameters()],
            "count": sum(p.numel() for p in model.parameters())}


def classifier_case(n_in, hidden, n_out):
    return describe(make_classifier(n_in, list(hidden), n_out))


# ----------------------------------------------------------------------- inputs
def _functions(rng, n):
    kinds = ["poly", "tanh", "sin"]
    return [(kinds[i % 3], rng.uniform(-2, 2, size=int(rng.integers(2, 5))),
             rng.uniform(-2, 2, size=int(rng.integers(1, 8)))) for i in range(n)]


def _trainings(rng, n):
    cases = []
    for _ in range(n):
        N, d, c = int(rng.integers(4, 12)), int(rng.integers(1, 4)), int(rng.integers(2, 4))
        y = np.concatenate([np.arange(c), rng.integers(0, c, size=N - c)]).astype(np.int64)
        cases.append((int(rng.integers(0, 10_000)), rng.normal(size=(N, d)), y,
                      float(rng.uniform(0.05, 0.5)), int(rng.integers(1, 6))))
    return cases


def _evaluations(rng, n):
    cases = []
    for i in range(n):
        N, d, c = int(rng.integers(1, 20)), int(rng.integers(1, 4)), int(rng.integers(2, 5))
        cases.append((rng.normal(size=(c, d)), rng.normal(size=c), rng.normal(size=(N, d)),
                      rng.integers(0, c, size=N).astype(np.int64), bool(i % 2)))
    return cases


def _specs(rng, n):
    cases = [(3, [], 2), (784, [128, 64], 10)]
    for _ in range(n):
        cases.append((int(rng.integers(1, 30)), [int(h) for h in rng.integers(1, 40, size=int(rng.integers(0, 4)))],
                      int(rng.integers(1, 12))))
    return cases


CASES = {
    "autograd_derivative": (derivative_case, _functions),
    "train_step": (training_case, _trainings),
    "evaluate": (evaluate_case, _evaluations),
    "make_classifier": (classifier_case, _specs),
    "count_parameters": (count_parameters, _specs),
}
