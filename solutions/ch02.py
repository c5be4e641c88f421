"""Reference answers for chapter 2 (losses and activations), with their randomised inputs."""

import numpy as np

from nnbook.activations import relu, relu_grad, sigmoid, sigmoid_grad, softmax, tanh, tanh_grad
from nnbook.losses import (np_binary_cross_entropy, np_categorical_cross_entropy, np_cross_entropy_from_logits,
                           np_mae, np_mse)


def stable_softmax(z):
    return softmax(z, axis=-1)


def binary_cross_entropy(p, y, eps):
    return np_binary_cross_entropy(p, y, eps=eps)


def categorical_cross_entropy(P, Y, eps):
    return np_categorical_cross_entropy(P, Y, eps=eps)


def loss_at_best_constant(y, loss):
    """The smallest loss a constant prediction can reach: at the mean (MSE) or a median (MAE)."""
    y = np.asarray(y, dtype=float)
    if loss == "mse":
        return np_mse(np.full_like(y, y.mean()), y)
    return np_mae(np.full_like(y, np.median(y)), y)


def step_network(knots, values, steepness):
    """One sigmoid step per interval, centred between neighbouring knots."""
    knots, values = np.asarray(knots, dtype=float), np.asarray(values, dtype=float)
    centres = (knots[:-1] + knots[1:]) / 2
    return {
        "hidden_weights": np.full(len(centres), float(steepness)),
        "hidden_biases": -steepness * centres,
        "output_weights": np.diff(values),
        "output_bias": float(values[0]),
    }


def _logits(rng, n):
    cases = []
    for i in range(n):
        shape = (int(rng.integers(1, 8)),) if i % 2 else (int(rng.integers(1, 5)), int(rng.integers(1, 7)))
        scale = [1.0, 10.0, 100.0, 1000.0][i % 4]
        offset = float(rng.choice([0.0, 1000.0, -1000.0, 5000.0]))
        cases.append((rng.standard_normal(shape) * scale + offset,))
    return cases + [(np.array([1000.0, 1000.0]),), (np.array([[-1000.0, 0.0, 1000.0], [3.0, 3.0, 3.0]]),),
                    (np.array([-1000.0, -1000.5]),), (np.array([7.0]),)] + [(Z,) for Z in FAR_APART_LOGITS + TIED_LOGITS]


def _binary(rng, n):
    cases = []
    for i in range(n):
        m = int(rng.integers(1, 12))
        p = rng.uniform(0, 1, m)
        if i % 3 == 0:  # exact 0s and 1s: only clipping keeps the loss finite
            p[rng.integers(0, m, 2 if m > 1 else 1)] = rng.choice([0.0, 1.0])
        y = rng.integers(0, 2, m).astype(float) if i % 4 else rng.uniform(0, 1, m)
        cases.append((p, y, float(rng.choice([1e-12, 1e-7, 1e-3]))))
    # certain predictions against soft targets: both ends of the clip matter; one sample; p exactly 1/2
    return cases + [(np.array([0.0, 1.0]), np.array([0.5, 0.5]), 1e-12), (np.array([1.0, 0.0, 0.5]), np.array([0.0, 1.0, 1.0]), 1e-3),
                    (np.array([0.5]), np.array([0.3]), 1e-12)]


def _saturated(rng, n):
    cases = []
    for _ in range(n):
        m = int(rng.integers(1, 8))
        cases.append((rng.integers(0, 2, m).astype(float), rng.integers(0, 2, m).astype(float),
                      float(rng.choice([1e-12, 1e-7, 1e-3]))))
    return cases


def _categorical(rng, n):
    cases = []
    for i in range(n):
        m, k = int(rng.integers(1, 8)), int(rng.integers(2, 6))
        P = softmax(rng.standard_normal((m, k)) * [1, 5, 30][i % 3])
        if i % 4 == 0:
            P[0] = 0.0
            P[0, rng.integers(0, k)] = 1.0
        Y = np.eye(k)[rng.integers(0, k, m)] if i % 5 else softmax(rng.standard_normal((m, k)))
        cases.append((P, Y, float(rng.choice([1e-12, 1e-6]))))
    # a zero probability for a class with soft weight; certain and right; one sample
    return cases + [(np.array([[0.0, 1.0], [0.5, 0.5]]), np.array([[0.5, 0.5], [1.0, 0.0]]), 1e-12),
                    (np.array([[1.0, 0.0, 0.0]]), np.array([[1.0, 0.0, 0.0]]), 1e-12),
                    (np.array([[0.2, 0.3, 0.5]]), np.array([[0.0, 0.0, 1.0]]), 1e-6)]


def _samples(rng, n):
    cases = []
    for i in range(n):
        y = rng.standard_normal(int(rng.integers(1, 12))) * 3
        if i % 3 == 0:
            y[0] = 100.0  # an outlier
        cases.append((y, "mse" if i % 2 else "mae"))
    # one target; all tied; an even count with an outlier (any point between the middle two is a median)
    return cases + [(np.array([3.5]), "mae"), (np.array([3.5]), "mse"), (np.full(4, 2.0), "mae"),
                    (np.array([1.0, 2.0, 3.0, 100.0]), "mae"), (np.array([1.0, 2.0, 3.0, 100.0]), "mse"),
                    (np.array([-5.0, 0.0, 0.0, 0.0, 7.0]), "mae")]


def _knots(rng, n):
    cases = []
    for _ in range(n):
        m = int(rng.integers(2, 10))
        knots = np.sort(rng.uniform(-3, 3, m))
        cases.append((knots, rng.standard_normal(m), float(rng.uniform(1, 200))))
    # one step; a flat function (zero output weights); uneven knots; an integer steepness
    return cases + [(np.array([0.0, 1.0]), np.array([2.0, -1.0]), 10.0), (np.array([-1.0, 0.0, 2.0]), np.full(3, 4.0), 5.0),
                    (np.array([0.0, 0.1, 3.0, 3.5]), np.array([1.0, 0.0, 2.0, -2.0]), 40)]


# Logits in every student's cases: rows whose maxima differ by about 1000 (shifting by the batch's maximum instead
# of each row's turns a row into 0/0 or log 0), ties, a single row, a single class.
FAR_APART_LOGITS = [
    np.array([[1000.0, 999.0, 998.0], [0.0, 1.0, 2.0], [-1000.0, -1001.0, -999.5]]),
    np.array([[0.0, 800.0, 0.0], [2.0, 1.0, 0.1]]),
    np.array([[-1200.0, -1000.0], [5.0, 5.0]]),
]
TIED_LOGITS = [np.array([[3.0, 3.0, 3.0], [-2.0, 7.0, 7.0]]), np.array([[0.5, -0.5]]), np.array([[4.0], [-1000.0]])]


def _onehot_and_soft(Z):
    k = Z.shape[1]
    onehot = np.eye(k)[np.arange(len(Z)) % k]
    soft = np.full(Z.shape, 1.0 / k)
    return onehot, soft


# ------------------------- activations, the softmax Jacobian, cross-entropy from logits
def activations(z):
    return {"sigmoid": sigmoid(z), "tanh": tanh(z), "relu": relu(z), "softplus": np.logaddexp(0.0, z)}


def activation_derivatives(z):
    return {"sigmoid_grad": sigmoid_grad(z), "tanh_grad": tanh_grad(z), "relu_grad": relu_grad(z),
            "softplus_grad": sigmoid(z)}


def cross_entropy_from_logits(Z, Y):
    """[mean cross-entropy, its gradient (softmax(Z) - Y) / N] for rows of Y that sum to 1."""
    return [np_cross_entropy_from_logits(Z, Y), (softmax(Z, axis=1) - Y) / len(Z)]


def softmax_jacobian(z):
    """d softmax(z)_i / d z_j = s_i (delta_ij - s_j), for every row of z."""
    s = softmax(z, axis=-1)
    return s[..., :, None] * (np.eye(s.shape[-1]) - s[..., None, :])


def _pre_activations(scales):
    def make(rng, n):
        cases = []
        for i in range(n):
            shape = [(), (int(rng.integers(1, 9)),), (int(rng.integers(1, 4)), int(rng.integers(1, 6)))][i % 3]
            z = rng.standard_normal(shape) * scales[i % len(scales)]
            if z.size and i % 4 == 0:
                z.flat[0] = 0.0  # the kink of ReLU
            cases.append((z,))
        return cases + [(np.array([-1000.0, -745.0, -40.0, 0.0, 40.0, 745.0, 1000.0]),), (np.array(0.0),),
                        (np.zeros((0,)),), (np.array([[-710.0, -709.0], [709.0, 710.0]]),)]
    return make


def _jacobian_logits(rng, n):
    cases = []
    for i in range(n):
        shape = (int(rng.integers(1, 6)),) if i % 2 else (int(rng.integers(1, 4)), int(rng.integers(1, 5)))
        cases.append((rng.standard_normal(shape) * [1.0, 10.0, 100.0][i % 3] + float(rng.choice([0.0, 1000.0, -1000.0])),))
    return cases + [(Z,) for Z in FAR_APART_LOGITS + TIED_LOGITS]


def _logits_and_targets(rng, n):
    cases = []
    for i in range(n):
        m, k = int(rng.integers(1, 8)), int(rng.integers(2, 6))
        Z = rng.standard_normal((m, k)) * [1.0, 10.0, 300.0][i % 3] + float(rng.choice([0.0, 1000.0]))
        Y = np.eye(k)[rng.integers(0, k, m)] if i % 4 else softmax(rng.standard_normal((m, k)))
        cases.append((Z, Y))
    for Z in FAR_APART_LOGITS + TIED_LOGITS:
        cases.extend((Z, Y) for Y in _onehot_and_soft(Z))
    return cases


CASES = {
    "stable_softmax": (stable_softmax, _logits),
    "binary_cross_entropy": (binary_cross_entropy, _binary),
    "binary_cross_entropy_saturated": (binary_cross_entropy, _saturated),
    "categorical_cross_entropy": (categorical_cross_entropy, _categorical),
    "best_constant": (loss_at_best_constant, _samples),
    "step_network": (step_network, _knots),
    "cross_entropy_from_logits": (cross_entropy_from_logits, _logits_and_targets),
    "activations": (activations, _pre_activations([0.5, 3.0, 30.0])),
    "activations_extreme": (activations, _pre_activations([300.0, 1000.0])),
    "activation_derivatives": (activation_derivatives, _pre_activations([0.5, 3.0, 30.0, 1000.0])),
    "softmax_jacobian": (softmax_jacobian, _jacobian_logits),
}
