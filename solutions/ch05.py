"""Reference answers for chapter 5 (training an MLP), with their randomised inputs."""

import math

import numpy as np

from nnbook.data import epoch_batches as minibatches
from nnbook.losses import l2_penalty, max_margin, np_hinge
from nnbook.losses import sign_accuracy as accuracy
from nnbook.value_nn import MLP
from nnbook.optim import SGD, linear_decay


def hinge_loss(scores, labels):
    return np_hinge(scores, labels)


class _Parameter:
    """Just enough of a parameter for nnbook.optim.SGD: .data and .grad."""

    def __init__(self, data, grad):
        self.data, self.grad = data, grad


def sgd_step(params, grads, lr, alpha):
    """One SGD step on loss + alpha * sum(p**2): the penalty's gradient is 2 * alpha * p,
    which is SGD's weight_decay = 2 * alpha."""
    p = _Parameter(np.array(params, dtype=float), np.array(grads, dtype=float))
    SGD([p], lr=lr, weight_decay=2 * alpha).step()
    return p.data


def xor_best_bce():
    # At w = 0, b = 0 every prediction is 1/2 and the gradient (1/N) sum (p - y) [x, 1]
    # vanishes on XOR; the loss is convex in (w, b), so this is the global minimum: log 2.
    return math.log(2.0)


def _scored(rng, n):
    cases = []
    for _ in range(n):
        m = int(rng.integers(1, 12))
        cases.append((rng.normal(scale=2.0, size=m), rng.choice([-1, 1], size=m)))
    cases.append((np.array([1.0, -1.0, 0.0]), np.array([1, -1, 1])))  # on the margin, and a zero score
    cases.append((np.array([0.0, 0.0]), np.array([-1, 1])))
    cases.append((np.array([1e6, -1e6, 1e-9, -1e-9]), np.array([1, 1, -1, -1])))  # extremes and near-zero scores
    cases.append((np.array([0.7]), np.array([1])))  # a single sample
    return cases


def _steps(rng, n):
    cases = []
    for _ in range(n):
        m = int(rng.integers(1, 8))
        cases.append((rng.normal(size=m), rng.normal(size=m), float(rng.uniform(0.01, 1.0)),
                      float(rng.choice([0.0, 1e-4, 1e-2, 0.5]))))
    cases.append((np.array([1.0, -2.0]), np.zeros(2), 1.0, 0.5))        # decay to exactly 0
    cases.append((np.array([3.0, -1.0, 0.5]), np.array([1.0, 2.0, -4.0]), 0.25, 0.0))  # no penalty
    cases.append((np.array([2.0]), np.array([-1.0]), 0.1, 2.0))           # a strong penalty
    return cases


def _batch_specs(rng, n):
    cases = [(int(rng.integers(1, 40)), int(rng.integers(1, 12)), int(rng.integers(0, 10_000))) for _ in range(n)]
    return cases + [(10, 10, 0), (10, 3, 1), (5, 8, 2), (1, 1, 0), (7, 1, 3), (12, 5, 4)]


def _nothing(rng, n):
    return [()]


CASES = {
    "hinge_loss": (hinge_loss, _scored),
    "accuracy": (accuracy, _scored),
    "sgd_step": (sgd_step, _steps),
    "minibatches": (minibatches, _batch_specs),
    "xor_best_bce": (xor_best_bce, _nothing),
}


# ---------------------------------------------------------------- the training loop
def _batches(n, batch_size, seed):
    """Index batches forever: the whole set each step, or minibatches(n, m, seed + epoch) per epoch."""
    epoch = 0
    while True:
        if batch_size is None:
            yield np.arange(n)
        else:
            yield from minibatches(n, batch_size, seed + epoch)
        epoch += 1


def train_mlp(model, X, y, steps, lr, alpha=1e-4, batch_size=None, seed=0):
    """``steps`` updates of the hinge loss + alpha * sum(p**2), with the library's SGD and
    ``lr`` (step -> rate) as its schedule; loss, accuracy and rate are recorded per step."""
    X = np.asarray(X, dtype=float)
    labels = [int(t) for t in y]
    optimizer = SGD(model.parameters(), schedule=lr)
    history = {"loss": [], "accuracy": [], "lr": []}
    batches = _batches(len(X), batch_size, seed)
    for _ in range(steps):
        batch = next(batches)
        scores = [model(list(X[i])) for i in batch]
        targets = [labels[i] for i in batch]
        loss = max_margin(scores, targets) + l2_penalty(model.parameters(), alpha)
        history["lr"].append(optimizer.lr)  # the rate this step uses
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history["loss"].append(loss.data)
        history["accuracy"].append(accuracy([s.data for s in scores], targets))
    return history


def trained(sizes, X, y, steps, lr0, alpha, batch_size, seed):
    """What the hidden tests compare: the history and the final parameters of a seeded run."""
    model = MLP(np.shape(X)[1], sizes, seed=seed)
    history = train_mlp(model, X, y, steps, linear_decay(lr0, lr0 / 10, steps), alpha, batch_size, seed)
    return dict(history, weights=[p.data for p in model.parameters()])


# ---------------------------------------------------------------- momentum
def descend(grad, x0, lr, steps, beta=0.0):
    """Gradient descent with (heavy-ball) momentum; beta = 0 is plain descent. Returns the path."""
    x = np.array(x0, dtype=float)
    v = np.zeros_like(x)
    path = [x.copy()]
    for _ in range(steps):
        v = beta * v + grad(x)
        x = x - lr * v
        path.append(x.copy())
    return np.array(path)


def descend_on_quadratic(A, b, x0, lr, steps, beta):
    """descend on f(x) = x.A x / 2 - b.x, whose gradient is A x - b."""
    A, b = np.asarray(A, dtype=float), np.asarray(b, dtype=float)
    return descend(lambda x: A @ x - b, x0, lr, steps, beta)


# ---------------------------------------------------------------- early stopping
def stopping_epoch(val_losses, patience):
    """(best epoch, epoch at which training stops): stop once `patience` epochs in a row have
    not improved (strictly) on the best validation loss so far."""
    if len(val_losses) == 0:
        raise ValueError("stopping_epoch needs at least one validation loss")
    best, best_epoch, waited = float("inf"), 0, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best:
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


def _runs(rng, n, minibatch):
    cases = []
    for _ in range(n):
        m = int(rng.integers(6, 13))
        X = rng.normal(size=(m, 2))
        y = rng.choice([-1, 1], size=m)
        sizes = [int(rng.integers(2, 5)), 1] if rng.random() < 0.5 else [3, 3, 1]
        batch_size = int(rng.integers(2, 5)) if minibatch else None
        steps = int(rng.integers(m // batch_size + 2, m // batch_size + 5)) if minibatch else int(rng.integers(2, 6))
        cases.append((sizes, X, y, steps, float(rng.choice([0.05, 0.2, 0.5])), float(rng.choice([0.0, 1e-4, 1e-2, 0.1])),
                      batch_size, int(rng.integers(0, 1000))))
    # fixed for every student: a strong penalty, and (mini-batch) three epochs of 7 samples in batches of 3
    fixed = np.random.default_rng(99)
    X = fixed.normal(size=(7, 2))
    y = np.array([1, -1, 1, 1, -1, -1, 1])
    cases.append(([3, 1], X, y, 8 if minibatch else 4, 0.5, 0.1, 3 if minibatch else None, 5))
    return cases


def _full_runs(rng, n):
    return _runs(rng, 8, minibatch=False)


def _minibatch_runs(rng, n):
    return _runs(rng, 8, minibatch=True)


def _quadratic_runs(rng, n):
    cases = []
    for _ in range(n):
        d = int(rng.integers(1, 4))
        Q = rng.normal(size=(d, d))
        A = Q @ Q.T + 0.1 * np.eye(d)  # symmetric positive definite
        lr = float(rng.uniform(0.1, 1.0) / np.linalg.eigvalsh(A).max())
        cases.append((A, rng.normal(size=d), rng.normal(size=d) * 3, lr, int(rng.integers(0, 25)),
                      float(rng.choice([0.0, 0.5, 0.9]))))
    # fixed: no step at all, and a long run with heavy momentum on an ill-conditioned quadratic
    cases.append((np.array([[2.0]]), np.array([1.0]), np.array([3.0]), 0.1, 0, 0.9))
    cases.append((np.diag([1.0, 25.0]), np.zeros(2), np.array([-9.0, 1.5]), 0.07, 30, 0.9))
    return cases


def _curves(rng, n):
    cases = []
    for _ in range(n):
        length = int(rng.integers(1, 40))
        # a falling trend, a rising tail and noise: minima after plateaus of any length
        t = np.arange(length)
        curve = np.exp(-t / rng.uniform(2, 10)) + rng.uniform(0, 0.05) * t + rng.normal(scale=0.05, size=length)
        cases.append((np.round(curve, 2), int(rng.integers(1, 8))))
    cases.append((np.array([1.0, 0.5, 0.6, 0.7, 0.4, 0.3]), 2))   # a deeper minimum after the rule stopped
    cases.append((np.array([1.0, 0.5, 0.5, 0.5, 0.5]), 3))         # a tie is no improvement
    cases.append((np.array([3.0, 2.0, 1.0]), 5))                   # never stops: best is the last epoch
    cases.append((np.array([2.0, 1.0, 1.5, 0.5]), 0))              # patience 0: stops at the first non-improvement
    cases.append((np.array([1.0, 1.0, 1.0, 1.0]), 2))              # a flat curve: ties all along
    cases.append((np.array([5.0]), 3))                             # a single evaluation
    cases.append((np.array([1.0, 2.0, 0.5, 3.0, 4.0]), 1))         # patience 1
    return cases


CASES.update({
    "train_full_batch": (trained, _full_runs),
    "train_minibatch": (trained, _minibatch_runs),
    "descend": (descend_on_quadratic, _quadratic_runs),
    "stopping_epoch": (stopping_epoch, _curves),
})
