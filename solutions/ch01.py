"""Reference answers for chapter 1 (gradient descent), with their randomised inputs."""

import numpy as np

from nnbook.descent import gradient_descent
from nnbook.finite_differences import central_difference


def derivative_of_polynomial(coeffs, x, h):
    return central_difference(np.poly1d(coeffs), x, h)


def descent_on_quadratic(a, c, x0, learning_rate, n_steps):
    """Gradient descent on f(x) = a (x - c)**2, whose gradient is 2 a (x - c)."""
    return gradient_descent(lambda x: 2 * a * (x - c), x0, learning_rate, n_steps)


def converges(a, learning_rate):
    # x_{k+1} - c = (1 - 2 a lr)(x_k - c): the error shrinks iff |1 - 2 a lr| < 1.
    return bool(abs(1 - 2 * a * learning_rate) < 1)


def descend(grad, w0, learning_rate, n_steps, tol=0.0):
    """Gradient descent in any dimension; stops where the gradient norm is <= tol or the point's norm exceeds 1e6."""
    w = np.array(w0, dtype=float)
    path = [w]
    for _ in range(n_steps):
        g = np.asarray(grad(w), dtype=float)
        if np.linalg.norm(g) <= tol:
            break
        w = w - learning_rate * g
        path.append(w)
        if not np.linalg.norm(w) <= 1e6:
            break
    return np.array(path)


def descend_on_quadratic(H, c, w0, learning_rate, n_steps, tol=0.0):
    """``descend`` on f(w) = (w - c)^T H (w - c) / 2, whose gradient is H (w - c)."""
    return descend(lambda w: H @ (w - c), w0, learning_rate, n_steps, tol)


def stable_learning_rate(H):
    """For f(w) = w^T H w / 2: the largest stable rate 2/lambda_max, the best fixed rate and the condition number."""
    lam = np.linalg.eigvalsh(np.asarray(H, dtype=float))
    return {"max_rate": 2 / lam[-1], "best_rate": 2 / (lam[0] + lam[-1]), "condition_number": lam[-1] / lam[0]}


def _polynomials(rng, n):
    return [(rng.uniform(-3, 3, size=rng.integers(2, 5)), float(rng.uniform(-2, 2)), 1e-5) for _ in range(n)]


def _quadratics(rng, n):
    return [(float(rng.uniform(0.1, 3)), float(rng.uniform(-5, 5)), float(rng.uniform(-10, 10)),
             float(rng.uniform(0.01, 0.3)), int(rng.integers(0, 30))) for _ in range(n)]


def _rates(rng, n):
    cases = [(float(a), float(lr)) for a, lr in zip(rng.uniform(0.1, 5, n), rng.uniform(0.001, 2, n))]
    # edge cases on both sides of the boundary lr = 1/a
    return cases + [(2.0, 0.49), (2.0, 0.51), (0.5, 1.99), (0.5, 2.01)]


def _spd(rng, d, max_condition=50.0):
    """A random symmetric positive definite matrix: a random rotation of random positive eigenvalues."""
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lam = rng.uniform(1.0, max_condition, d) * rng.uniform(0.05, 2)
    return (q * lam) @ q.T


def _valleys(stopping):
    def make(rng, n):
        cases = []
        for k in range(n):
            d = int(rng.integers(1, 4))
            H = _spd(rng, d)
            lam_max = np.linalg.eigvalsh(H)[-1]
            # mostly stable rates; with stopping, also rates that diverge
            factor = rng.uniform(0.05, 0.99) if not stopping or k % 3 else rng.uniform(1.05, 3.0)
            w0, c = rng.uniform(-5, 5, d), rng.uniform(-2, 2, d)
            n_steps = int(rng.integers(0, 60)) if not stopping else int(rng.integers(20, 400))
            tol = float(rng.choice([1e-1, 1e-3, 1e-6])) if stopping else 0.0
            cases.append((H, c, w0, float(factor * 2 / lam_max), n_steps, tol))
        return cases
    return make


def _matrices(rng, n):
    return [(_spd(rng, int(rng.integers(1, 6)), max_condition=float(rng.choice([2.0, 50.0, 1000.0]))),)
            for _ in range(n)] + [(np.diag([1.0, 10.0]),), (np.array([[2.0]]),)]


CASES = {
    "central_difference": (derivative_of_polynomial, _polynomials),
    "gradient_descent": (descent_on_quadratic, _quadratics),
    "converges": (converges, _rates),
    "descend": (descend_on_quadratic, _valleys(stopping=False)),
    "descend_stopping": (descend_on_quadratic, _valleys(stopping=True)),
    "stable_learning_rate": (stable_learning_rate, _matrices),
}
