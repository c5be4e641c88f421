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
    y = f(x)
    if not y.requires_grad:  # a constant function: no graph leads back to x
        return np.zeros(x.shape)
    # f acts elementwise, so d(sum f(x))/dx_i = f'(x_i)
    y.sum().backward()
    return x.grad.numpy()


def train_step(model, optimizer, loss_fn, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def train_epoch(model, optimizer, loss_fn, loader):
    """One pass over loader, in training mode; the mean loss over its samples, as a float."""
    model.train()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)  # the batch's mean loss, weighted by its size
        count += len(xb)
    if count == 0:
        raise ValueError("the loader gave no batches")
    return total / count


def evaluate(model, X, y):
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        X, y = X.to(device), y.to(device)
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


class ResidualBlock(nn.Module):
    """x + fc2(dropout(relu(fc1(x)))) for inputs of shape (N, dim)."""

    def __init__(self, dim, hidden, dropout=0.0):
        super().__init__()
        self.dim = dim
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f"ResidualBlock expects input of shape (N, {self.dim}), got {tuple(x.shape)}")
        return x + self.fc2(self.dropout(torch.relu(self.fc1(x))))


class ResidualMLP(nn.Module):
    """inp: Linear(n_in, dim), then n_blocks ResidualBlocks, then out: Linear(dim, n_out)."""

    def __init__(self, n_in, dim, hidden, n_blocks, n_out, dropout=0.0):
        super().__init__()
        self.n_in = n_in
        self.inp = nn.Linear(n_in, dim)
        self.blocks = nn.ModuleList([ResidualBlock(dim, hidden, dropout) for _ in range(n_blocks)])
        self.out = nn.Linear(dim, n_out)

    def forward(self, x):
        if x.dim() != 2 or x.shape[1] != self.n_in:
            raise ValueError(f"ResidualMLP expects input of shape (N, {self.n_in}), got {tuple(x.shape)}")
        x = self.inp(x)
        for block in self.blocks:
            x = block(x)
        return self.out(x)


# ------------------------------------------- building torch objects from plain data
def polynomial_function(kind, coeffs):
    """A torch function of x built from plain data: a polynomial, optionally inside tanh/sin."""
    def f(x):
        if kind == "const":
            return torch.full_like(x, float(coeffs[0]))
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


def run_epochs(epoch_fn, seed, X, y, batch_size, lr, momentum, p, n_epochs, start_in_eval):
    """n_epochs of epoch_fn on a seeded model with dropout p, over a list of batches (the last
    one smaller when batch_size does not divide N): the losses and the final weights."""
    torch.manual_seed(int(seed))
    model = nn.Sequential(nn.Linear(X.shape[1], 6), nn.Tanh(), nn.Dropout(float(p)),
                          nn.Linear(6, int(y.max()) + 1)).double()
    model.train(not start_in_eval)
    optimizer = torch.optim.SGD(model.parameters(), lr=float(lr), momentum=float(momentum))
    Xt, yt, m = torch.from_numpy(X), torch.from_numpy(y), int(batch_size)
    loader = [(Xt[i:i + m], yt[i:i + m]) for i in range(0, len(Xt), m)]
    losses = [epoch_fn(model, optimizer, nn.CrossEntropyLoss(), loader) for _ in range(int(n_epochs))]
    weights = torch.cat([q.detach().reshape(-1) for q in model.parameters()]).numpy()
    return {"losses": np.array([float(v) for v in losses]), "weights": weights}


def epochs_weights_case(*args):
    return run_epochs(train_epoch, *args)["weights"]


def epochs_losses_case(*args):
    return run_epochs(train_epoch, *args)["losses"]


def epochs_case(*args):
    return run_epochs(train_epoch, *args)


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


def run_module(module, state, X, seed):
    """A module with the given weights: its parameter names and count, its output in eval
    mode, and its output in training mode with the random generator at ``seed``."""
    module = module.double()
    module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    Xt = torch.from_numpy(X)
    with torch.no_grad():
        evaluated = module.eval()(Xt).numpy()
        torch.manual_seed(int(seed))
        trained = module.train()(Xt).numpy()
    return {"names": [name for name, _ in module.named_parameters()],
            "count": sum(p.numel() for p in module.parameters()), "eval": evaluated, "train": trained}


def residual_block_case(dim, hidden, p, state, X, seed):
    result = run_module(ResidualBlock(dim, hidden, p), state, X, seed)
    return {key: result[key] for key in ("names", "count", "eval")}


def residual_block_dropout_case(dim, hidden, p, state, X, seed):
    return run_module(ResidualBlock(dim, hidden, p), state, X, seed)["train"]


def residual_block_shape_case(dim, hidden, shape):
    """What the block does with an input of this shape: its output shape, or 'ValueError'."""
    try:
        return list(ResidualBlock(dim, hidden)(torch.zeros(*shape)).shape)
    except ValueError:
        return "ValueError"


def residual_mlp_case(n_in, dim, hidden, n_blocks, n_out, p, state, X, seed):
    return run_module(ResidualMLP(n_in, dim, hidden, n_blocks, n_out, p), state, X, seed)


# ----------------------------------------------------------------------- inputs
def _functions(rng, n):
    kinds = ["poly", "tanh", "sin"]
    cases = [(kinds[i % 3], rng.uniform(-2, 2, size=int(rng.integers(2, 5))),
              rng.uniform(-2, 2, size=int(rng.integers(1, 8)))) for i in range(n)]
    # fixed for every student: a constant function (derivative 0), a steep one whose float32
    # derivative loses digits, and one point
    xs = np.linspace(-1.5, 1.5, 7)
    cases += [("const", np.array([3.0]), xs), ("poly", np.array([1.0, 1e-3, 0.0, 1.0 / 3.0]), xs + 1e3),
              ("tanh", np.array([0.0, 1.7]), np.array([0.3]))]
    return cases


def _trainings(rng, n):
    cases = []
    for _ in range(n):
        N, d, c = int(rng.integers(4, 12)), int(rng.integers(1, 4)), int(rng.integers(2, 4))
        y = np.concatenate([np.arange(c), rng.integers(0, c, size=N - c)]).astype(np.int64)
        cases.append((int(rng.integers(0, 10_000)), rng.normal(size=(N, d)), y,
                      float(rng.uniform(0.05, 0.5)), int(rng.integers(1, 6))))
    # fixed for every student: several steps in a row (a missing zero_grad compounds), one sample
    cases += [(17, rng.normal(size=(6, 2)), np.array([0, 1, 2, 0, 1, 2]), 0.3, 5),
              (18, rng.normal(size=(2, 3)), np.array([0, 1]), 0.1, 3)]
    return cases


def _evaluations(rng, n):
    cases = []
    for i in range(n):
        N, d, c = int(rng.integers(1, 20)), int(rng.integers(1, 4)), int(rng.integers(2, 5))
        cases.append((rng.normal(size=(c, d)), rng.normal(size=c), rng.normal(size=(N, d)),
                      rng.integers(0, c, size=N).astype(np.int64), bool(i % 2)))
    # fixed for every student: one sample, a batch whose scores favour other classes than a
    # softmax over the batch would, both modes
    W = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    X = np.array([[3.0, 0.0], [2.9, 0.2], [0.0, -5.0], [-4.0, -4.5]])
    cases += [(W, np.zeros(3), np.array([[0.0, 1.0]]), np.array([1], dtype=np.int64), True),
              (W, np.zeros(3), X, np.array([0, 0, 2, 2], dtype=np.int64), False),
              (W, np.array([0.0, 0.1, -0.1]), X, np.array([0, 1, 2, 0], dtype=np.int64), True)]
    return cases


def _epochs(rng, n, p_choices=(0.0,), eval_start=(False,), learn=True):
    cases = []
    for i in range(n):
        N, d, c = int(rng.integers(3, 14)), int(rng.integers(1, 4)), int(rng.integers(2, 4))
        y = np.concatenate([np.arange(c), rng.integers(0, c, size=N - c)]).astype(np.int64)
        uneven = [k for k in range(2, N) if N % k]  # batch sizes that leave a smaller last batch
        m = int(rng.choice(uneven)) if uneven and i % 3 else int(rng.integers(1, N + 1))
        lr = float(rng.uniform(0.05, 0.5)) if learn else 0.0
        cases.append((int(rng.integers(0, 10_000)), rng.normal(size=(N, d)), y, m, lr,
                      float(rng.choice([0.0, 0.5, 0.9])), float(p_choices[i % len(p_choices)]),
                      int(rng.integers(1, 4)), bool(eval_start[i % len(eval_start)])))
    return cases


def _fixed_epochs(rng, eval_start=False, p=0.0, learn=True):
    """The same for every student: 7 samples in batches of 3 (the last batch has 1), two epochs."""
    X, y = rng.normal(size=(7, 2)), np.array([0, 1, 2, 0, 1, 2, 0], dtype=np.int64)
    return [(21, X, y, 3, 0.3 if learn else 0.0, 0.9, p, 2, eval_start),
            (22, X, y, 5, 0.3 if learn else 0.0, 0.0, p, 1, eval_start)]


def _epochs_plain(rng, n):
    return _epochs(rng, n) + _fixed_epochs(rng)


def _epochs_still(rng, n):
    """lr = 0: the weights stay put, so the losses test only how an epoch's loss is averaged."""
    return _epochs(rng, n, learn=False) + _fixed_epochs(rng, learn=False)


def _epochs_dropout(rng, n):
    return (_epochs(rng, n, p_choices=(0.5, 0.2, 0.0), eval_start=(True, False))
            + _fixed_epochs(rng, eval_start=True, p=0.5))


def _state(rng, make_module):
    """Random weights for every entry of the module's state dict (built without touching
    torch's global random state)."""
    with torch.random.fork_rng():
        shapes = {name: tuple(t.shape) for name, t in make_module().state_dict().items()}
    return {name: rng.normal(size=shape) for name, shape in shapes.items()}


def _residual_blocks(rng, n, p_choices=(0.0, 0.3, 0.5)):
    cases = []
    for i in range(n):
        dim, hidden = int(rng.integers(1, 7)), int(rng.integers(1, 9))
        p = float(p_choices[i % len(p_choices)])
        cases.append((dim, hidden, p, _state(rng, lambda: ResidualBlock(dim, hidden, p)),
                      rng.normal(size=(int(rng.integers(1, 7)), dim)), int(rng.integers(0, 10_000))))
    return cases


def _residual_blocks_dropout(rng, n):
    return _residual_blocks(rng, n, p_choices=(0.5, 0.25, 0.75))


def _block_shapes(rng, n):
    cases = []
    for _ in range(n):
        dim, hidden, N = int(rng.integers(1, 7)), int(rng.integers(1, 9)), int(rng.integers(1, 6))
        wrong = dim + int(rng.choice([-1, 1, 2])) if dim > 1 else dim + 1
        cases += [(dim, hidden, [N, dim]), (dim, hidden, [N, wrong]), (dim, hidden, [dim]),
                  (dim, hidden, [N, 2, dim])]
    return cases


def _residual_mlps(rng, n):
    cases = []
    for i in range(n):
        n_in, dim, hidden = int(rng.integers(1, 6)), int(rng.integers(1, 7)), int(rng.integers(1, 9))
        n_blocks, n_out, p = int(rng.integers(0, 4)), int(rng.integers(1, 5)), float([0.0, 0.3, 0.5][i % 3])
        state = _state(rng, lambda: ResidualMLP(n_in, dim, hidden, n_blocks, n_out, p))
        cases.append((n_in, dim, hidden, n_blocks, n_out, p, state,
                      rng.normal(size=(int(rng.integers(1, 7)), n_in)), int(rng.integers(0, 10_000))))
    return cases


def _specs(rng, n):
    cases = [(3, [], 2), (784, [512, 512], 10), (5, [7, 3, 11], 2), (1, [1], 1)]  # widths that differ, the smallest
    for _ in range(n):
        cases.append((int(rng.integers(1, 30)), [int(h) for h in rng.integers(1, 40, size=int(rng.integers(0, 4)))],
                      int(rng.integers(1, 12))))
    return cases


CASES = {
    "autograd_derivative": (derivative_case, _functions),
    "train_step": (training_case, _trainings),
    "evaluate": (evaluate_case, _evaluations),
    "make_classifier": (classifier_case, _specs),
    "train_epoch_weights": (epochs_weights_case, _epochs_plain),
    "train_epoch_losses": (epochs_losses_case, _epochs_still),
    "train_epoch_dropout": (epochs_case, _epochs_dropout),
    "residual_block": (residual_block_case, _residual_blocks),
    "residual_block_shapes": (residual_block_shape_case, _block_shapes),
    "residual_block_dropout": (residual_block_dropout_case, _residual_blocks_dropout),
    "residual_mlp": (residual_mlp_case, _residual_mlps),
}
