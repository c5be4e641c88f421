"""Reference answers for chapter 6 (from scalars to tensors), with their randomised inputs.

The backward rules go through `nnbook.tensor`, the library's engine, and the training run
through `nnbook.tensor_nn.TensorMLP` and `nnbook.optim.SGD`, so the chapter, the library and
the grading agree on one source of truth. The gradient check is plain NumPy on
`nnbook.finite_differences`.

Weights follow the course's layout: ``W`` of shape (n_out, n_in), a layer is ``x @ W.T + b``.
"""

import numpy as np

from nnbook import tensor
from nnbook.finite_differences import numerical_grad
from nnbook.optim import SGD
from nnbook.tensor import Tensor, cross_entropy
from nnbook.tensor_nn import TensorMLP

PARAMS = ("W1", "b1", "W2", "b2")


# ------------------------------------------------------------------ the gradient check
def test_function(c, v):
    """The smooth function the hidden tests differentiate: its entries interact, so a
    difference that forgets to restore an entry shows."""
    return float(np.sum(c * np.sin(v)) + 0.5 * np.sum(v) ** 2)


def numerical_gradient_case(c, x, h):
    return numerical_grad(lambda v: test_function(c, v), x, h)


def gradient_errors(f, params, grads, h=1e-5):
    """name -> largest |a - n| / max(|a|, |n|, 1e-8) between analytic and numerical gradients."""
    errors = {}
    for name, value in params.items():
        numeric = numerical_grad(lambda v: f({**params, name: v}), value, h)
        analytic = np.asarray(grads[name], dtype=float)
        scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), 1e-8)
        errors[name] = float(np.max(np.abs(analytic - numeric) / scale, initial=0.0))
    return errors


def check_loss(p):
    """A loss of four parameters; "d" is unused, so its gradient is 0 both ways."""
    return float(np.sum(np.tanh(p["A"] @ p["B"])) + np.sum(p["c"] ** 2 * p["B"][0]) + 0 * np.sum(p["d"]))


def check_grads(p):
    G = 1.0 - np.tanh(p["A"] @ p["B"]) ** 2
    dB = p["A"].T @ G
    dB[0] += p["c"] ** 2
    return {"A": G @ p["B"].T, "B": dB, "c": 2 * p["c"] * p["B"][0], "d": np.zeros_like(p["d"])}


def gradient_errors_case(A, B, c, d, wrong, index, factor, h):
    """The errors a gradient check reports when grads[wrong][index] is scaled by factor
    (wrong = "" for correct gradients); errors below 1e-4 (rounding) count as 0."""
    params = {"A": A, "B": B, "c": c, "d": d}
    grads = check_grads(params)
    if wrong:
        grads[wrong][tuple(index)] *= factor
    errors = gradient_errors(check_loss, params, grads, h)
    return {name: (e if e > 1e-4 else 0.0) for name, e in errors.items()}


# ------------------------------------------------------------------ the backward rules
# The library's (computed by the Tensor engine); grading lends them to later exercises.
from nnbook.backward_rules import (log_softmax, log_softmax_backward, matmul_backward, mean_backward,  # noqa: E402
                                   relu_backward, softmax_cross_entropy, sum_backward, two_layer_loss_and_grads,
                                   unbroadcast)


def tiny_network_grads(x, W, bh, v, b):
    """Gradients of y = v . sigmoid(W x + bh) + b with respect to W, bh, v and b."""
    Wt, bht = Tensor(W, requires_grad=True), Tensor(bh, requires_grad=True)
    vt, bt = Tensor(v, requires_grad=True), Tensor(b, requires_grad=True)
    h = (Wt @ Tensor(x).reshape(-1, 1) + bht.reshape(-1, 1)).sigmoid()  # column (m, 1)
    y = (vt.reshape(1, -1) @ h).reshape(()) + bt
    y.backward()
    return {"W": Wt.grad, "bh": bht.grad, "v": vt.grad, "b": float(bt.grad)}


# ------------------------------------------------------------------ the two-layer network
def two_layer_loss(X, y, W1, b1, W2, b2):
    return two_layer_loss_and_grads(X, y, W1, b1, W2, b2)[0]


def two_layer_output_grads(X, y, W1, b1, W2, b2):
    grads = two_layer_loss_and_grads(X, y, W1, b1, W2, b2)[1]
    return {"W2": grads["W2"], "b2": grads["b2"]}


def two_layer_hidden_grads(X, y, W1, b1, W2, b2):
    grads = two_layer_loss_and_grads(X, y, W1, b1, W2, b2)[1]
    return {"W1": grads["W1"], "b1": grads["b1"]}


def two_layer_regularised(X, y, W1, b1, W2, b2, reg):
    loss, grads = two_layer_loss_and_grads(X, y, W1, b1, W2, b2, reg)
    return [loss, grads]


def train_two_layer(X, y, n_hidden, n_classes, steps, lr, beta=0.9, seed=0):
    """Kaiming-initialised 2-layer relu network, full-batch SGD with momentum on the mean
    cross-entropy: the library's TensorMLP and SGD. Returns (parameters, losses)."""
    X = np.asarray(X, dtype=float)
    model = TensorMLP(X.shape[1], [n_hidden, n_classes], seed=seed, init="kaiming")
    optimizer = SGD(model.parameters(), lr=lr, momentum=beta) if steps else None
    inputs, losses = Tensor(X), []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = cross_entropy(model(inputs), np.asarray(y))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    (W1, b1), (W2, b2) = model.get_weights()
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, losses


def trained_two_layer(X, y, n_hidden, n_classes, steps, lr, beta, seed):
    params, losses = train_two_layer(X, y, n_hidden, n_classes, steps, lr, beta, seed)
    return [params, np.array(losses, dtype=float)]


# ----------------------------------------------------------------------- inputs
def _arrays(rng, n):
    """Arrays of 0 to 3 axes, and a coefficient array of the same shape."""
    shapes = [(), (1,), (4,), (2, 3), (3, 1), (2, 1, 3), (1, 4)]
    cases = []
    for i in range(n):
        shape = shapes[i % len(shapes)]
        cases.append((rng.normal(size=shape), rng.normal(size=shape), float(rng.choice([1e-3, 1e-4, 1e-5]))))
    # fixed for every student: a 0-d array, an integer array (perturb a float copy), three axes
    cases += [(np.array(0.7), np.array(1.5), 1e-4), (np.array([1.0, -2.0, 0.5]), np.array([1, -2, 0]), 1e-3),
              (rng.normal(size=(2, 1, 3)), rng.normal(size=(2, 1, 3)), 1e-5)]
    return cases


def _checks(rng, n):
    cases = []
    for i in range(n):
        m, k, j = (int(s) for s in rng.integers(1, 4, size=3))
        A, B, c, d = rng.normal(size=(m, k)), rng.normal(size=(k, j)), rng.normal(size=j), rng.normal(size=(2, 2))
        wrong = ["", "A", "B", "c"][i % 4]
        shape = {"": (1,), "A": A.shape, "B": B.shape, "c": c.shape}[wrong]
        index = [int(rng.integers(0, s)) for s in shape]
        cases.append((A, B, c, d, wrong, index, float(rng.choice([-1.0, 0.5, 2.0, 1.1])), 1e-5))
    # fixed for every student: gradients far below 1 (an absolute error looks tiny there) and
    # far above 1 (an absolute error looks huge), each with one entry doubled, and correct ones
    A, B = 1e-4 * rng.normal(size=(2, 3)), rng.normal(size=(3, 2))
    cases += [(A, B, 1e-3 * rng.normal(size=2), rng.normal(size=(2, 2)), "A", [1, 2], 2.0, 1e-6),
              (A, B, 1e-3 * rng.normal(size=2), rng.normal(size=(2, 2)), "", [0], 1.0, 1e-6),
              (rng.normal(size=(2, 3)), rng.normal(size=(3, 2)), np.array([300.0, -200.0]), rng.normal(size=(2, 2)),
               "c", [1], 1.1, 1e-5)]
    return cases


def _matmuls(rng, n):
    cases = []
    for _ in range(n):
        N, K, M = (int(s) for s in rng.integers(1, 6, size=3))
        cases.append((rng.normal(size=(N, K)), rng.normal(size=(K, M)), rng.normal(size=(N, M))))
    # a row vector, a column vector and an outer product
    cases.append((rng.normal(size=(1, 4)), rng.normal(size=(4, 1)), rng.normal(size=(1, 1))))
    cases.append((rng.normal(size=(5, 1)), rng.normal(size=(1, 3)), rng.normal(size=(5, 3))))
    return cases


def _broadcasts(rng, n):
    shapes = [(3,), (1, 4), (2, 1, 3), (), (4, 1), (1,), (2, 3), (1, 1), (3, 1, 1)]
    cases = []
    for i in range(n):
        shape = shapes[i % len(shapes)]
        # grow: prepend 0-2 axes, stretch some size-1 axes
        grown = [int(s) if s != 1 or rng.random() < 0.3 else int(rng.integers(2, 5)) for s in shape]
        grown = [int(s) for s in rng.integers(2, 5, size=int(rng.integers(0, 3)))] + grown
        cases.append((rng.normal(size=tuple(grown)), tuple(shape)))
    # fixed for every student: nothing to undo, prepended and two stretched axes, a scalar
    cases += [(rng.normal(size=(3, 4)), (3, 4)), (rng.normal(size=(2, 3, 4, 5)), (1, 4, 1)),
              (rng.normal(size=(3, 4)), (1, 1)), (rng.normal(size=(2, 3)), ())]
    return cases


def _relus(rng, n):
    cases = []
    for _ in range(n):
        shape = tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 4))))
        X = rng.normal(size=shape)
        X[rng.random(shape) < 0.2] = 0.0  # exact zeros: the gradient there is 0
        cases.append((X, rng.normal(size=shape)))
    cases.append((np.array([[-1.0, 0.0, 2.0], [0.0, 1e-12, -1e-12]]), rng.normal(size=(2, 3))))  # zeros, tiny values
    return cases


def _reductions(rng, n):
    cases = []
    for i in range(n):
        shape = tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 4))))
        ndim = len(shape)
        kind = i % 4
        if kind == 0:
            axis = None
        elif kind == 1:
            axis = int(rng.integers(-ndim, ndim))
        else:  # a tuple of distinct axes, some given negative
            count = int(rng.integers(1, ndim + 1))
            axis = tuple(int(a) - (ndim if rng.random() < 0.5 else 0)
                         for a in rng.choice(ndim, size=count, replace=False))
        keep = kind == 3
        out = np.sum(np.zeros(shape), axis=axis, keepdims=keep)
        cases.append((rng.normal(size=np.shape(out)), shape, axis))
    # fixed for every student: a tuple of axes with a negative one, with and without keepdims,
    # everything of a vector, and a negative int
    cases += [(rng.normal(size=(2,)), (2, 3, 4), (-1, 1)), (rng.normal(size=(2, 1, 1)), (2, 3, 4), (2, -2)),
              (np.array(1.5), (3,), None), (rng.normal(size=(2, 3)), (2, 3, 4), -1)]
    return cases


def _logits(rng, n):
    cases = []
    for _ in range(n):
        N, C = int(rng.integers(1, 7)), int(rng.integers(2, 6))
        cases.append((rng.normal(scale=3.0, size=(N, C)), rng.integers(0, C, size=N)))
    # fixed for every student: rows whose maxima differ by about 1000 (shift each row by its own maximum)
    cases += [(WIDE_LOGITS, np.array([2, 1, 0])), (np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]]), np.array([2, 1]))]
    return cases


# rows whose maxima differ by ~1000: shifted by the global maximum, the lower rows underflow
WIDE_LOGITS = np.array([[1000.0, 999.0, 998.0], [0.0, -1.0, 2.0], [-1000.0, -1001.0, -999.5]])


def _log_softmax_inputs(rng, n):
    return [(rng.normal(scale=3.0, size=(N, C)),) for N, C in rng.integers(1, 6, size=(n, 2)) + [0, 1]] + [
        (np.array([[1000.0, 0.0, -1000.0]]),), (WIDE_LOGITS,), (WIDE_LOGITS[::-1].copy(),)]


def _log_softmax_backward_inputs(rng, n):
    cases = []
    for N, C in rng.integers(1, 6, size=(n, 2)) + [0, 1]:
        cases.append((rng.normal(scale=3.0, size=(N, C)), rng.normal(size=(N, C))))
    cases.append((np.array([[1000.0, 0.0, -1000.0]]), np.array([[1.0, 2.0, 3.0]])))
    cases.append((WIDE_LOGITS, np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0], [2.0, 0.0, 1.0]])))
    return cases


def _tiny_networks(rng, n):
    cases = []
    for _ in range(n):
        d, m = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        cases.append((rng.normal(size=d), rng.normal(size=(m, d)), rng.normal(size=m),
                      rng.normal(size=m), float(rng.normal())))
    # fixed for every student: one input and one unit; more inputs than units; saturated units
    cases += [(np.array([0.5]), np.array([[2.0]]), np.array([-0.3]), np.array([1.5]), 0.2),
              (rng.normal(size=4), rng.normal(size=(2, 4)), rng.normal(size=2), rng.normal(size=2), -1.0),
              (np.array([1.0, -1.0]), np.array([[30.0, 0.0], [0.0, -30.0], [1.0, 1.0]]), np.array([0.0, 0.0, 0.5]),
               np.array([1.0, -2.0, 3.0]), 0.0)]
    return cases


def _networks(rng, n, reg=False):
    cases = []
    for _ in range(n):
        N, D, H, C = int(rng.integers(1, 8)), int(rng.integers(1, 5)), int(rng.integers(1, 6)), int(rng.integers(2, 5))
        case = (rng.normal(size=(N, D)), rng.integers(0, C, size=N), rng.normal(size=(H, D)), rng.normal(size=H),
                rng.normal(size=(C, H)), rng.normal(size=C))
        cases.append(case + ((float(rng.choice([1e-3, 0.1, 1.0])),) if reg else ()))
    # fixed for every student: one sample; dead hidden units; more samples than anything else
    fixed = [(np.array([[1.0, -2.0]]), np.array([1]), rng.normal(size=(3, 2)), rng.normal(size=3),
              rng.normal(size=(2, 3)), rng.normal(size=2)),
             (rng.normal(size=(5, 3)), np.array([0, 1, 2, 1, 0]), rng.normal(size=(4, 3)), np.array([-50.0, 0.5, -50.0, 1.0]),
              rng.normal(size=(3, 4)), rng.normal(size=3)),
             (rng.normal(size=(12, 2)), rng.integers(0, 4, size=12), rng.normal(size=(3, 2)), rng.normal(size=3),
              rng.normal(size=(4, 3)), rng.normal(size=4))]
    cases += [case + ((0.5,) if reg else ()) for case in fixed]
    return cases


def _regularised_networks(rng, n):
    return _networks(rng, n, reg=True)


def _runs(rng, n):
    cases = []
    for _ in range(8):
        N, D, H, C = int(rng.integers(4, 20)), int(rng.integers(1, 4)), int(rng.integers(2, 8)), int(rng.integers(2, 4))
        cases.append((rng.normal(size=(N, D)), rng.integers(0, C, size=N), H, C, int(rng.integers(1, 15)),
                      float(rng.choice([0.05, 0.1, 0.3])), float(rng.choice([0.0, 0.5, 0.9])), int(rng.integers(0, 1000))))
    # fixed for every student: no momentum, heavy momentum over many steps, a single step
    X, y = rng.normal(size=(10, 2)), np.array([0, 1] * 5)
    cases += [(X, y, 4, 2, 5, 0.1, 0.0, 7), (X, y, 4, 2, 20, 0.1, 0.9, 8), (X, y, 3, 2, 1, 0.3, 0.9, 9)]
    return cases


def _inits(rng, n):
    cases = []
    for _ in range(8):
        N, D, H, C = int(rng.integers(2, 6)), int(rng.integers(1, 5)), int(rng.integers(1, 8)), int(rng.integers(2, 5))
        cases.append((rng.normal(size=(N, D)), rng.integers(0, C, size=N), H, C, 0, 0.1, 0.9, int(rng.integers(0, 1000))))
    # fixed for every student: D != n_hidden != n_classes, so a swapped shape or draw shows
    cases.append((rng.normal(size=(3, 5)), np.array([0, 1, 2]), 2, 3, 0, 0.1, 0.9, 11))
    return cases


CASES = {
    "numerical_gradient": (numerical_gradient_case, _arrays),
    "gradient_errors": (gradient_errors_case, _checks),
    "matmul_backward": (matmul_backward, _matmuls),
    "unbroadcast": (unbroadcast, _broadcasts),
    "relu_backward": (relu_backward, _relus),
    "sum_backward": (sum_backward, _reductions),
    "mean_backward": (mean_backward, _reductions),
    "log_softmax": (log_softmax, _log_softmax_inputs),
    "log_softmax_backward": (log_softmax_backward, _log_softmax_backward_inputs),
    "softmax_cross_entropy": (lambda logits, y: list(softmax_cross_entropy(logits, y)), _logits),
    "tiny_network_grads": (tiny_network_grads, _tiny_networks),
    "two_layer_loss": (two_layer_loss, _networks),
    "two_layer_output_grads": (two_layer_output_grads, _networks),
    "two_layer_hidden_grads": (two_layer_hidden_grads, _networks),
    "two_layer_regularised": (two_layer_regularised, _regularised_networks),
    "train_two_layer_init": (trained_two_layer, _inits),
    "train_two_layer": (trained_two_layer, _runs),
}
