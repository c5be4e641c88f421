"""Reference answers for chapter 8 (MNIST), with their randomised inputs.

The references call nnbook's implementations (one source of truth); the hidden tests in the
chapter wrap the student's functions in adapters that take the same plain arguments.
"""

import numpy as np
import torch

from nnbook.activations import softmax
from nnbook.data import make_dataloader
from nnbook.losses import np_cross_entropy_from_logits, np_nll
from nnbook.models import SmallCNN, conv_output_size
from nnbook.training import most_confident_mistakes, test


# ---------------------------------------------------------------- conv_output_size
def _conv_sizes(rng, n):
    cases = []
    while len(cases) < n:
        size, kernel = int(rng.integers(1, 65)), int(rng.integers(1, 8))
        stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 4))
        if size + 2 * padding >= kernel:
            cases.append((size, kernel, stride, padding))
    # the chapter's own layers, and strides that do not divide evenly (floor!)
    return cases + [(28, 3, 1, 0), (26, 3, 1, 0), (24, 2, 2, 0), (25, 2, 2, 0), (28, 5, 2, 2), (7, 7, 1, 0)]


# ---------------------------------------------------------------- make_cnn
def cnn_fingerprint(c1, c2, hidden, seed):
    """[output shape, parameter count, outputs] of the specified CNN with seeded weights and input.

    The hidden test does the same to the student's model: parameters are overwritten in
    the order ``model.parameters()`` yields them (conv1, conv2, fc1, fc2; weight then bias).
    """
    model = SmallCNN((c1, c2), hidden)
    return _fingerprint(model, seed)


def _fingerprint(model, seed):
    g = torch.Generator().manual_seed(int(seed))
    n_params = sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.1 * torch.randn(p.shape, generator=g))
        x = torch.randn(2, 1, 28, 28, generator=g)
        out = model.eval()(x)
    return [list(out.shape), int(n_params), out.double().numpy()]


def _cnn_specs(rng, n):
    n = min(n, 6)  # each case builds a network: keep grading fast
    return [(int(rng.integers(1, 9)), int(rng.integers(1, 9)), int(rng.integers(2, 33)), int(rng.integers(0, 10**6)))
            for _ in range(n)]  # fmt: skip


# ---------------------------------------------------------------- evaluate
def linear_accuracy(W, b, X, y, batch_size):
    """Accuracy of the linear classifier logits = X W^T + b, through nnbook.training.test."""
    model = torch.nn.Linear(W.shape[1], W.shape[0])
    with torch.no_grad():
        model.weight.copy_(torch.as_tensor(W, dtype=torch.float32))
        model.bias.copy_(torch.as_tensor(b, dtype=torch.float32))
    loader = make_dataloader(X, y, batch_size=batch_size, shuffle=False)
    return test(model, loader, torch.device("cpu"))[1]


def _linear_problems(rng, n):
    cases = []
    for _ in range(n):
        d, c, m = int(rng.integers(2, 9)), int(rng.integers(2, 6)), int(rng.integers(1, 80))
        X = rng.normal(size=(m, d)).astype(np.float32)
        W = rng.normal(size=(c, d)).astype(np.float32)
        b = rng.normal(size=c).astype(np.float32)
        y = rng.integers(0, c, size=m)
        cases.append((W, b, X, y, int(rng.integers(1, 40))))
    return cases


# ---------------------------------------------------------------- most_confident_mistakes
def _mistake_problems(rng, n):
    cases = []
    for _ in range(n):
        m, c = int(rng.integers(1, 40)), int(rng.integers(2, 7))
        probs = rng.dirichlet(np.full(c, 0.5), size=m)
        cases.append((probs, rng.integers(0, c, size=m), int(rng.integers(0, 12))))
    # ties in confidence (broken by index), no mistakes at all, and k larger than the mistakes
    tied = np.array([[0.7, 0.3], [0.3, 0.7], [0.7, 0.3], [0.6, 0.4]])
    cases.append((tied, np.array([1, 0, 1, 1]), 3))
    cases.append((tied, np.array([0, 1, 0, 0]), 2))
    cases.append((tied, np.array([1, 0, 1, 0]), 10))
    return cases


# ---------------------------------------------------------------- the seed's loss
def seed_loss_and_cross_entropy(logits, targets):
    """(what F.nll_loss(softmax(logits), targets) computes, the real cross-entropy)."""
    return [np_nll(softmax(np.asarray(logits, dtype=float), axis=1), targets),
            np_cross_entropy_from_logits(logits, targets)]  # fmt: skip


def _logit_problems(rng, n):
    cases = []
    for _ in range(n):
        m, c = int(rng.integers(1, 20)), int(rng.integers(2, 11))
        cases.append((rng.normal(scale=float(rng.uniform(0.5, 20)), size=(m, c)), rng.integers(0, c, size=m)))
    cases.append((np.array([[1000.0, 0.0, -1000.0]]), np.array([2])))  # must not overflow
    return cases



CASES = {
    "conv_output_size": (conv_output_size, _conv_sizes),
    "make_cnn": (cnn_fingerprint, _cnn_specs),
    "evaluate": (linear_accuracy, _linear_problems),
    "most_confident_mistakes": (most_confident_mistakes, _mistake_problems),
    "seed_loss": (seed_loss_and_cross_entropy, _logit_problems),
}
