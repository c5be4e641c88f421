"""Reference answers for chapter 3 (computational graphs and backpropagation), with their randomised inputs."""

import numpy as np

from nnbook.activations import tanh_grad
from nnbook.engine import Value
from nnbook.finite_differences import numerical_grad


def toy_gradients(w, b, x, y):
    """dL/dw and dL/db of L = (w x + b - y)^2, by the library's backpropagation."""
    w, b = Value(w), Value(b)
    loss = (w * x + b - y) ** 2
    loss.backward()
    return (w.grad, b.grad)


def tanh_backward(x, upstream):
    return np.asarray(upstream, dtype=float) * tanh_grad(x)


def _test_function(A, c):
    def f(v):
        return 0.5 * v @ A @ v + c @ v + np.sum(np.sin(v))
    return f


def gradient_of_test_function(A, c, x, h):
    return numerical_grad(_test_function(A, c), x, eps=h)


def fd_evaluations(n_params, scheme):
    # forward: f(w) once, then f(w + h e_i) for each i; centred: f(w +- h e_i) for each i.
    return n_params + 1 if scheme == "forward" else 2 * n_params


def _toy_inputs(rng, n):
    return [tuple(float(v) for v in rng.uniform(-5, 5, 4)) for _ in range(n)] + [(3.0, 2.0, 4.0, 5.0)]


def _tanh_inputs(rng, n):
    cases = []
    for i in range(n):
        shape = (int(rng.integers(1, 6)),) if i % 2 else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        cases.append((rng.standard_normal(shape) * [0.5, 3, 30][i % 3], rng.standard_normal(shape)))
    return cases


def _vector_functions(rng, n):
    cases = []
    for _ in range(n):
        d = int(rng.integers(1, 7))
        M = rng.standard_normal((d, d))
        cases.append((M + M.T, rng.standard_normal(d), rng.standard_normal(d), 1e-3))
    return cases


def _counts(rng, n):
    return [(int(k), s) for k, s in zip(rng.integers(1, 10**6, n), rng.choice(["forward", "centred"], n))] + [
        (1, "forward"), (1, "centred")]


CASES = {
    "toy_gradients": (toy_gradients, _toy_inputs),
    "tanh_backward": (tanh_backward, _tanh_inputs),
    "numerical_gradient": (gradient_of_test_function, _vector_functions),
    "fd_evaluations": (fd_evaluations, _counts),
}
