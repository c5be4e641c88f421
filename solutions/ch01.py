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


def rates_or_error(H):
    """``stable_learning_rate``, or "ValueError" for a matrix that is not square, not symmetric or not positive
    definite (lambda_min <= 1e-12 lambda_max: round-off turns a zero eigenvalue into +-1e-17)."""
    H = np.asarray(H, dtype=float)
    if H.ndim != 2 or H.shape[0] != H.shape[1] or not np.allclose(H, H.T):
        return "ValueError"
    lam = np.linalg.eigvalsh(H)
    if not lam[0] > 1e-12 * lam[-1]:
        return "ValueError"
    return stable_learning_rate(H)


def _polynomials(rng, n):
    cases = [(rng.uniform(-3, 3, size=rng.integers(2, 5)), float(rng.uniform(-2, 2)), 1e-5) for _ in range(n)]
    # in every student's cases: large steps, where a forward difference (or a missing 2) is far off; a constant; x = 0
    return cases + [(np.array([1.0, 0.0, 0.0, 0.0]), 2.0, 0.1), (np.array([1.0, -2.0, 3.0]), 0.0, 0.5),
                    (np.array([2.0, 0.0, -1.0, 0.0, 1.0]), -1.5, 0.25), (np.array([5.0]), 1.0, 1e-3)]


def _quadratics(rng, n):
    cases = [(float(rng.uniform(0.1, 3)), float(rng.uniform(-5, 5)), float(rng.uniform(-10, 10)),
              float(rng.uniform(0.01, 0.3)), int(rng.integers(0, 30))) for _ in range(n)]
    # no step at all; one step onto the minimum; a zig-zag; a divergence; a start at the minimum
    return cases + [(1.0, 2.0, 15.0, 0.1, 0), (2.0, -1.0, 3.0, 0.25, 3), (1.0, 0.0, 1.0, 0.9, 7),
                    (1.0, 0.0, 1.0, 1.2, 12), (0.5, 3.0, 3.0, 0.5, 4)]


def _rates(rng, n):
    cases = [(float(a), float(lr)) for a, lr in zip(rng.uniform(0.1, 5, n), rng.uniform(0.001, 2, n))]
    # edge cases on both sides of the boundary lr = 1/a, exactly on it (factor -1), a tiny rate, a sharp valley
    return cases + [(2.0, 0.49), (2.0, 0.51), (0.5, 1.99), (0.5, 2.01), (0.5, 2.0), (4.0, 0.25), (1.0, 1e-9),
                    (1e6, 1.5e-6), (1e6, 2.5e-6), (1.0, 0.5)]


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
        return cases + (_stopping_edges() if stopping else [(np.eye(2), np.zeros(2), np.array([3.0, -4.0]), 0.5, 0, 0.0),
                                                            (np.eye(1), np.ones(1), np.ones(1), 0.5, 5, 0.0)])
    return make


def _stopping_edges():
    """The stopping rules at their boundaries, in every student's cases."""
    one = np.eye(1)
    return [
        (one, np.zeros(1), np.array([0.5]), 0.1, 10, 0.5),  # |gradient| == tol at w0: stop at once ("at most")
        (one, np.zeros(1), np.array([-5e5]), 3.0, 5, 0.0),  # lands on |w| == 1e6 exactly (not above), then beyond
        (one, np.zeros(1), np.array([np.nan]), 0.1, 10, 1e-3),  # a nan point: one step, then stop on the nan
        (2 * np.eye(2), np.array([1.0, -1.0]), np.array([1.0, -1.0]), 0.1, 10, 0.0),  # starts at the minimum
        (np.diag([1.0, 100.0]), np.zeros(2), np.array([1.0, 1.0]), 0.021, 400, 1e-6),  # the sharp direction diverges
    ]


def _rotation(angle):
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def _matrices(rng, n):
    # fixed: a diagonal valley, a 1 x 1 one, equal eigenvalues (a round bowl), a tiny and a huge scale
    return [(_spd(rng, int(rng.integers(1, 6)), max_condition=float(rng.choice([2.0, 50.0, 1000.0]))),)
            for _ in range(n)] + [(np.diag([1.0, 10.0]),), (np.array([[2.0]]),), (3.0 * np.eye(3),),
                                  (1e-14 * _rotation(0.3) @ np.diag([1.0, 4.0]) @ _rotation(0.3).T,),
                                  (1e8 * _rotation(1.1) @ np.diag([1.0, 1e6]) @ _rotation(1.1).T,)]


def _invalid_matrices(rng, n):
    cases = []
    for k in range(n):
        d = int(rng.integers(2, 5))
        q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        lam = rng.uniform(0.5, 10, d)
        kind = k % 5
        if kind == 0:
            lam[rng.integers(0, d)] = 0.0  # singular, not diagonal: round-off decides the sign of lambda_min
        elif kind == 1:
            lam[rng.integers(0, d)] *= -1  # indefinite
        elif kind == 2:
            lam = -lam  # negative definite
        H = (q * lam) @ q.T
        if kind == 3:
            H = H + np.triu(rng.uniform(0.5, 1.0, (d, d)), 1)  # not symmetric
        cases.append((H if kind != 4 else rng.standard_normal((d, d + 1)),))  # kind 4: not square
    # fixed: singular tilted valleys whose zero eigenvalue comes out of eigvalsh above 0 on common machines,
    # at scales where an absolute threshold fails; the zero matrix; valid matrices at tiny and huge scales
    singular = [_rotation(a) @ np.diag([lam, 0.0]) @ _rotation(a).T for a, lam in
                [(0.1, 3.0), (0.1, 7.0), (0.3, 3.0), (0.8, 10.0), (1.0, 3.0)]]
    return cases + [(H,) for H in singular] + [(1e6 * singular[3],), (np.zeros((2, 2)),), (np.ones((1, 1)),),
                                               (1e-14 * _rotation(0.3) @ np.diag([1.0, 4.0]) @ _rotation(0.3).T,),
                                               (np.diag([2.0, 1e-13]),), (np.diag([2.0, 1e-11]),)]


CASES = {
    "central_difference": (derivative_of_polynomial, _polynomials),
    "gradient_descent": (descent_on_quadratic, _quadratics),
    "converges": (converges, _rates),
    "descend": (descend_on_quadratic, _valleys(stopping=False)),
    "descend_stopping": (descend_on_quadratic, _valleys(stopping=True)),
    "stable_learning_rate": (stable_learning_rate, _matrices),
    "stable_learning_rate_errors": (rates_or_error, _invalid_matrices),
}
