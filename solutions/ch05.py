"""Reference answers for chapter 5 (training an MLP), with their randomised inputs."""

import math

import numpy as np

from nnbook.losses import np_hinge
from nnbook.optim import SGD


def hinge_loss(scores, labels):
    return np_hinge(scores, labels)


def accuracy(scores, labels):
    """Fraction of samples whose predicted sign (+1 if score > 0, else -1) equals the label."""
    predictions = np.where(np.asarray(scores, dtype=float) > 0, 1, -1)
    return float(np.mean(predictions == np.asarray(labels)))


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


def minibatches(n, batch_size, seed):
    """Index batches of one epoch: a seeded permutation of range(n) cut into pieces."""
    order = np.random.default_rng(seed).permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


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
    return cases


def _steps(rng, n):
    cases = []
    for _ in range(n):
        m = int(rng.integers(1, 8))
        cases.append((rng.normal(size=m), rng.normal(size=m), float(rng.uniform(0.01, 1.0)),
                      float(rng.choice([0.0, 1e-4, 1e-2, 0.5]))))
    return cases


def _batch_specs(rng, n):
    cases = [(int(rng.integers(1, 40)), int(rng.integers(1, 12)), int(rng.integers(0, 10_000))) for _ in range(n)]
    return cases + [(10, 10, 0), (10, 3, 1), (5, 8, 2)]


def _nothing(rng, n):
    return [()]


CASES = {
    "hinge_loss": (hinge_loss, _scored),
    "accuracy": (accuracy, _scored),
    "sgd_step": (sgd_step, _steps),
    "minibatches": (minibatches, _batch_specs),
    "xor_best_bce": (xor_best_bce, _nothing),
}
