"""Reference answers for chapter 9 (optimisers and learning rates), with their inputs.

The optimisers are graded against ``torch.optim`` itself (float64): the references below
run torch's SGD (also with ``nesterov=True``), RMSprop, Adam and AdamW on the same parameters
and gradient sequences the student's classes get. The numpy classes are the chapter's reference answers, kept here so
that tests can check they agree with torch.
"""

import functools
import math

import numpy as np
import torch


# ----------------------------------------------------------- the chapter's answers
class Param:
    """What the optimisers update: float64 arrays .data and .grad of one shape."""

    def __init__(self, data):
        self.data = np.array(data, dtype=float)
        self.grad = np.zeros_like(self.data)


class SGD:
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        self.params, self.lr = list(params), lr
        self.momentum, self.weight_decay = momentum, weight_decay
        self.buffers = [None] * len(self.params)

    def _accumulate(self, i, g):
        """The momentum buffer of parameter i after adding g (created at the first step as g)."""
        b = self.buffers[i]
        self.buffers[i] = g.copy() if b is None else self.momentum * b + g
        return self.buffers[i]

    def step(self):
        for i, p in enumerate(self.params):
            g = p.grad + self.weight_decay * p.data
            if self.momentum:
                g = self._accumulate(i, g)
            p.data -= self.lr * g

    def zero_grad(self):
        for p in self.params:
            p.grad = np.zeros_like(p.data)


class NesterovSGD(SGD):
    """torch.optim.SGD(nesterov=True): the step follows g + momentum * b, b the buffer after adding g."""

    def __init__(self, params, lr, momentum=0.9, weight_decay=0.0):
        super().__init__(params, lr, momentum, weight_decay)

    def step(self):
        for i, p in enumerate(self.params):
            g = p.grad + self.weight_decay * p.data
            p.data -= self.lr * (g + self.momentum * self._accumulate(i, g))


class RMSProp:
    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0):
        self.params, self.lr, self.alpha = list(params), lr, alpha
        self.eps, self.weight_decay = eps, weight_decay
        self.squares = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        for p, s in zip(self.params, self.squares):
            g = p.grad + self.weight_decay * p.data
            s *= self.alpha
            s += (1 - self.alpha) * g * g
            p.data -= self.lr * g / (np.sqrt(s) + self.eps)

    def zero_grad(self):
        for p in self.params:
            p.grad = np.zeros_like(p.data)


class Adam:
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False):
        self.params, self.lr, self.betas, self.eps = list(params), lr, betas, eps
        self.weight_decay, self.decoupled = weight_decay, decoupled_weight_decay
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self.t = 0

    def step(self):
        beta1, beta2 = self.betas
        self.t += 1
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad
            if self.decoupled:
                p.data *= 1 - self.lr * self.weight_decay
            else:
                g = g + self.weight_decay * p.data
            m[...] = beta1 * m + (1 - beta1) * g
            v[...] = beta2 * v + (1 - beta2) * g * g
            m_hat = m / (1 - beta1 ** self.t)
            v_hat = v / (1 - beta2 ** self.t)
            p.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def zero_grad(self):
        for p in self.params:
            p.grad = np.zeros_like(p.data)


def run_optimiser(optimizer, loss_fn, steps, schedule=None):
    losses = np.full(steps + 1, np.inf)
    for k in range(steps + 1):
        optimizer.zero_grad()
        loss = float(loss_fn())
        if not math.isfinite(loss):
            break
        losses[k] = loss
        if k < steps:
            if schedule is not None:
                optimizer.lr = schedule(k)
            optimizer.step()
    return losses


def tune_rate(make_optimizer, make_problem, rates, steps):
    best_rate, best_losses = None, None
    for rate in rates:
        params, loss_fn = make_problem()
        losses = run_optimiser(make_optimizer(params, rate), loss_fn, steps)
        if best_losses is None or losses[-1] < best_losses[-1]:
            best_rate, best_losses = float(rate), losses
    return best_rate, best_losses


def step_schedule(step, lr0, factor, every):
    return lr0 * factor ** (step // every)


def cosine_schedule(step, lr0, total_steps, lr_min=0.0):
    t = min(step, total_steps) / total_steps
    return lr_min + (lr0 - lr_min) * (1 + math.cos(math.pi * t)) / 2


def warmup_cosine(step, lr0, warmup_steps, total_steps, lr_min=0.0):
    if step < warmup_steps:
        return lr0 * step / warmup_steps
    t = min(step - warmup_steps, total_steps - warmup_steps) / (total_steps - warmup_steps)
    return lr_min + (lr0 - lr_min) * (1 + math.cos(math.pi * t)) / 2


def lr_range_test(optimizer, loss_fn, lr_min, lr_max, num_steps, diverge_factor=4.0):
    rates, losses = [], []
    for k in range(num_steps):
        rate = lr_min * (lr_max / lr_min) ** (k / (num_steps - 1))
        optimizer.lr = rate
        optimizer.zero_grad()
        loss = float(loss_fn())
        rates.append(rate)
        losses.append(loss)
        if not math.isfinite(loss) or loss > diverge_factor * min(losses):
            break
        optimizer.step()
    return np.array(rates), np.array(losses)


def smooth_losses(losses, beta=0.9):
    smoothed, average = [], 0.0
    for k, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        smoothed.append(average / (1 - beta ** (k + 1)))
    return np.array(smoothed)


def suggest_lr(rates, losses, beta=0.9):
    return float(rates[int(np.argmin(smooth_losses(losses, beta)))] / 10)


# ------------------------------------------------------- references run by torch
_TORCH = {"sgd": torch.optim.SGD, "nesterov": functools.partial(torch.optim.SGD, nesterov=True),
          "rmsprop": torch.optim.RMSprop, "adam": torch.optim.Adam}
_NUMPY = {"sgd": SGD, "nesterov": NesterovSGD, "rmsprop": RMSProp, "adam": Adam}


def torch_path(kind, hyper, initial, grads, lrs):
    """The parameters after each step of torch.optim on the given gradients: an array of
    shape (steps, total size), each row all parameters flattened in order."""
    hyper = dict(hyper)
    if kind == "adam" and hyper.pop("decoupled_weight_decay", False):
        cls = torch.optim.AdamW
    else:
        cls = _TORCH[kind]
    if "betas" in hyper:
        hyper["betas"] = tuple(float(b) for b in hyper["betas"])
    tensors = [torch.tensor(np.asarray(x, dtype=float), dtype=torch.float64, requires_grad=True) for x in initial]
    optimizer = cls(tensors, **{k: (float(v) if not isinstance(v, tuple) else v) for k, v in hyper.items()})
    path = []
    for step_grads, lr in zip(grads, lrs):
        for group in optimizer.param_groups:
            group["lr"] = float(lr)
        for t, g in zip(tensors, step_grads):
            t.grad = torch.tensor(np.asarray(g, dtype=float), dtype=torch.float64)
        optimizer.step()
        path.append(torch.cat([t.detach().reshape(-1) for t in tensors]).numpy().copy())
    return np.array(path)


def numpy_path(kind, hyper, initial, grads, lrs):
    """The same run with the chapter's numpy classes (what the hidden tests' adapters do)."""
    params = [Param(x) for x in initial]
    optimizer = _NUMPY[kind](params, **hyper)
    path = []
    for step_grads, lr in zip(grads, lrs):
        optimizer.lr = lr
        optimizer.zero_grad()
        for p, g in zip(params, step_grads):
            p.grad += g
        optimizer.step()
        path.append(np.concatenate([p.data.ravel() for p in params]))
    return np.array(path)


def _sgd_path(hyper, initial, grads, lrs):
    return torch_path("sgd", hyper, initial, grads, lrs)


def _nesterov_path(hyper, initial, grads, lrs):
    return torch_path("nesterov", hyper, initial, grads, lrs)


def _rmsprop_path(hyper, initial, grads, lrs):
    return torch_path("rmsprop", hyper, initial, grads, lrs)


def _adam_path(hyper, initial, grads, lrs):
    return torch_path("adam", hyper, initial, grads, lrs)


# ------------------------------------------------------------------- the inputs
def _run(rng, steps=None, scale=1.0, lr_range=(0.01, 0.3), vary_lr=True):
    """Random parameters of a few shapes, a sequence of gradients and the rate of each step."""
    shapes = [tuple(int(s) for s in rng.integers(1, 4, size=int(rng.integers(0, 3))))
              for _ in range(int(rng.integers(1, 4)))]
    steps = int(rng.integers(2, 7)) if steps is None else steps
    initial = [rng.normal(size=shape) for shape in shapes]
    grads = [[scale * rng.normal(size=shape) for shape in shapes] for _ in range(steps)]
    lr = float(rng.uniform(*lr_range))
    lrs = [float(lr * rng.uniform(0.3, 1.0)) if vary_lr and k else lr for k in range(steps)]
    return initial, grads, lrs


def _fixed(initial, grads, lrs):
    return ([np.asarray(x, dtype=float) for x in initial],
            [[np.asarray(g, dtype=float) for g in step] for step in grads], [float(v) for v in lrs])


def _constant_run(value, steps, lr):
    """One parameter [1, -2], the same gradient [value, -value] at every step."""
    return _fixed([[1.0, -2.0]], [[[value, -value]]] * steps, [lr] * steps)


# a gradient that changes sign, and a rate that changes: the buffer holds gradients, not steps
_SIGN_CHANGES = _fixed([[0.5, 1.5]], [[[1.0, 2.0]], [[-3.0, 0.5]], [[2.0, -1.0]], [[0.5, 0.5]]], [0.1, 0.1, 0.05, 0.2])


def _momentum_cases(momenta, decays, fixed):
    """SGD's and Nesterov's cases: random runs, each with a momentum from ``momenta`` and a
    weight decay from ``decays``, then the fixed ``(hyper, run)`` pairs every student gets."""
    def make(rng, n):
        cases = []
        for _ in range(n):
            hyper = {"lr": 0.1, "momentum": float(rng.choice(momenta)),
                     "weight_decay": float(rng.choice(decays)) if len(decays) > 1 else decays[0]}
            cases.append((hyper, *_run(rng)))
        return cases + [(dict(hyper), *run) for hyper, run in fixed]
    return make


def _hyper(momentum, weight_decay):
    return {"lr": 0.1, "momentum": momentum, "weight_decay": weight_decay}


_sgd_cases = _momentum_cases([0.0, 0.5, 0.9], [0.0], [(_hyper(0.9, 0.0), _SIGN_CHANGES)])
# momentum and weight decay together: the decay belongs inside the momentum buffer
_sgd_decay_cases = _momentum_cases([0.0, 0.5, 0.9], [1e-3, 0.05, 0.3], [
    (_hyper(0.9, 0.3), _constant_run(1.0, 4, 0.1)),
    (_hyper(0.5, 0.1), _fixed([[2.0], [[1.0, -1.0]]], [[[0.0], [[0.0, 0.0]]]] * 3, [0.2, 0.2, 0.2]))])
# Nesterov: besides, a rate that jumps up and falls (each step takes the rate of its own call)
_nesterov_cases = _momentum_cases([0.5, 0.9, 0.99], [0.0], [
    (_hyper(0.9, 0.0), _SIGN_CHANGES),
    (_hyper(0.5, 0.0), _fixed([[1.0, -2.0]], [[[1.0, -1.0]]] * 4, [0.1, 0.5, 0.02, 0.3]))])
# the decay enters the gradient before the buffer, and the rate changes between steps
_nesterov_decay_cases = _momentum_cases([0.5, 0.9, 0.99], [1e-3, 0.05, 0.3], [
    (_hyper(0.9, 0.3), _constant_run(1.0, 4, 0.1)),
    (_hyper(0.5, 0.1), _fixed([[2.0], [[1.0, -1.0]]], [[[0.0], [[0.0, 0.0]]]] * 4, [0.2, 0.5, 0.05, 0.3]))])


def _rmsprop_cases(rng, n):
    cases = []
    for _ in range(n):
        hyper = {"lr": 0.01, "alpha": float(rng.choice([0.9, 0.99])), "eps": float(rng.choice([1e-8, 1e-3])),
                 "weight_decay": 0.0}
        cases.append((hyper, *_run(rng, scale=float(rng.choice([1e-3, 1.0, 100.0])), lr_range=(1e-3, 0.05))))
    # gradients far below and far above 1, and an eps that matters
    cases.append(({"lr": 0.01, "alpha": 0.9, "eps": 1e-4, "weight_decay": 0.0}, *_constant_run(1e-4, 3, 0.01)))
    cases.append(({"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0}, *_constant_run(1e3, 3, 0.01)))
    return cases


def _rmsprop_decay_cases(rng, n):
    cases = []
    for _ in range(n):
        hyper = {"lr": 0.01, "alpha": float(rng.choice([0.9, 0.99])), "eps": 1e-8,
                 "weight_decay": float(rng.choice([1e-2, 0.1, 1.0]))}
        cases.append((hyper, *_run(rng, lr_range=(1e-3, 0.05))))
    # a zero gradient: only the decay moves the parameters, through the square average too
    cases.append(({"lr": 0.01, "alpha": 0.9, "eps": 1e-8, "weight_decay": 0.5},
                  *_fixed([[1.0, -3.0]], [[[0.0, 0.0]]] * 3, [0.01] * 3)))
    cases.append(({"lr": 0.02, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.1}, *_constant_run(2.0, 4, 0.02)))
    return cases


_BETAS = [(0.9, 0.999), (0.8, 0.99), (0.5, 0.9)]


def _adam_hyper(rng, weight_decay, decoupled):
    return {"lr": 0.01, "betas": _BETAS[int(rng.integers(len(_BETAS)))], "eps": float(rng.choice([1e-8, 1e-6])),
            "weight_decay": weight_decay, "decoupled_weight_decay": decoupled}


def _adam_cases(rng, n):
    cases = []
    for _ in range(n):
        hyper = _adam_hyper(rng, 0.0, False)
        cases.append((hyper, *_run(rng, scale=float(rng.choice([1e-3, 1.0, 100.0])), lr_range=(1e-3, 0.1))))
    # tiny gradients where eps matters: eps is added to sqrt(v_hat), after the bias correction
    cases.append(({"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-6, "weight_decay": 0.0,
                   "decoupled_weight_decay": False}, *_constant_run(1e-6, 3, 0.01)))
    cases.append(({"lr": 0.1, "betas": (0.5, 0.9), "eps": 1e-3, "weight_decay": 0.0,
                   "decoupled_weight_decay": False},
                  *_fixed([[0.5, -0.5]], [[[1e-3, -2e-3]], [[3e-3, 1e-3]], [[-1e-3, 1e-3]]], [0.1, 0.05, 0.1])))
    return cases


def _adam_decay_cases(decoupled, lr, weight_decay, value, steps):
    """Adam's cases with weight decay (L2 in the gradient, or decoupled as AdamW), then a fixed
    run (rate ``lr``, ``steps`` constant gradients ``value``) that every student gets."""
    def make(rng, n):
        cases = []
        for _ in range(n):
            hyper = _adam_hyper(rng, float(rng.choice([1e-2, 0.1, 1.0])), decoupled)
            cases.append((hyper, *_run(rng, lr_range=(1e-3, 0.1))))
        cases.append(({"lr": lr, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": weight_decay,
                       "decoupled_weight_decay": decoupled}, *_constant_run(value, steps, lr)))
        return cases
    return make


_adam_l2_cases = _adam_decay_cases(False, lr=0.05, weight_decay=0.5, value=0.3, steps=4)
# a large lr * weight_decay: the decay comes first, from the parameters before the update
_adamw_cases = _adam_decay_cases(True, lr=0.2, weight_decay=0.5, value=1.0, steps=4)


class _HeavyBall:
    """Gradient descent with momentum on one Param: what the harness's hidden tests drive."""

    def __init__(self, p, lr, momentum):
        self.p, self.lr, self.momentum = p, lr, momentum
        self.velocity = np.zeros_like(p.data)
        self.taken = 0  # steps taken

    def zero_grad(self):
        self.p.grad = np.zeros_like(self.p.data)

    def step(self):
        self.taken += 1
        self.velocity = self.momentum * self.velocity + self.p.grad
        self.p.data -= self.lr * self.velocity


def _quadratic_problem(curvatures, centre, x0, floor=0.0):
    """One Param at x0 and the loss sum(a * (x - c)**2) / 2 + floor, which adds its gradient."""
    a, c = np.asarray(curvatures, dtype=float), np.asarray(centre, dtype=float)
    p = Param(x0)

    def loss_fn():
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run overflows to inf
            p.grad += a * (p.data - c)
            return 0.5 * float(np.sum(a * (p.data - c) ** 2)) + floor
    return p, loss_fn


def _curve_case(curvatures, centre, x0, lr, momentum, steps, rates):
    p, loss_fn = _quadratic_problem(curvatures, centre, x0)
    schedule = None if rates is None else (lambda k: rates[k])
    optimizer = _HeavyBall(p, lr, momentum)
    losses = run_optimiser(optimizer, loss_fn, steps, schedule)
    return {"losses": losses, "steps_taken": optimizer.taken}


def _tune_case(curvatures, centre, x0, momentum, rates, steps):
    def make_problem():
        p, loss_fn = _quadratic_problem(curvatures, centre, x0)
        return [p], loss_fn
    return tune_rate(lambda params, rate: _HeavyBall(params[0], rate, momentum), make_problem, rates, steps)


def _bowl(rng):
    d = int(rng.integers(1, 4))
    return rng.uniform(0.5, 10.0, size=d), rng.normal(size=d), rng.normal(size=d) * 2


def _curve_cases(rng, n):
    cases = []
    for _ in range(n):
        steps = int(rng.integers(0, 30))
        rates = [float(r) for r in rng.uniform(0.01, 0.2, size=steps)] if rng.random() < 0.5 else None
        cases.append((*_bowl(rng), float(rng.uniform(0.01, 0.2)), float(rng.choice([0.0, 0.5, 0.9])), steps, rates))
    # a schedule whose rates differ at every step: step k takes schedule(k)
    cases.append(([1.0, 4.0], [0.5, -0.5], [2.0, 1.0], 0.01, 0.0, 5, [0.3, 0.02, 0.4, 0.05, 0.2]))
    # a rate far too large: the loss overflows to inf mid-run and the rest is inf
    cases.append(([100.0], [0.0], [1.0], 2.0, 0.0, 100, None))
    # no step at all: the initial loss only
    cases.append(([2.0], [1.0], [3.0], 0.1, 0.9, 0, None))
    return cases


def _tune_cases(rng, n):
    cases = []
    for _ in range(n):
        rates = [float(r) for r in 10 ** rng.uniform(-3, 0, size=int(rng.integers(1, 6)))]
        cases.append((*_bowl(rng), float(rng.choice([0.0, 0.5, 0.9])), rates, int(rng.integers(1, 30))))
    # a flat loss: every rate ties, the first wins
    cases.append(([0.0, 0.0], [1.0, 1.0], [3.0, -1.0], 0.5, [0.3, 0.1, 0.2], 5))
    # every rate diverges: all end at inf, the first wins
    cases.append(([100.0], [0.0], [1.0], 0.0, [3.0, 5.0], 200))
    # momentum overshoots: the best final loss is not the lowest loss along the way
    cases.append(([1.0], [0.0], [1.0], 0.9, [0.5, 0.05], 12))
    return cases


def _steps(rng, n, extra):
    cases = []
    for _ in range(n):
        cases.append(extra(rng, int(rng.integers(0, 400))))
    return cases


def _step_schedule_cases(rng, n):
    cases = [(int(rng.integers(0, 300)), float(rng.uniform(0.01, 1.0)), float(rng.choice([0.1, 0.5, 0.9])),
              int(rng.integers(1, 60))) for _ in range(n)]
    # just before and at a drop
    return cases + [(9, 1.0, 0.5, 10), (10, 1.0, 0.5, 10), (29, 0.3, 0.1, 10), (0, 0.5, 0.1, 1)]


def _cosine_cases(rng, n):
    cases = []
    for _ in range(n):
        total = int(rng.integers(1, 200))
        cases.append((int(rng.integers(0, total + 20)), float(rng.uniform(0.01, 1.0)), total,
                      float(rng.choice([0.0, 1e-3]))))
    # the first step, the last, a quarter of the way and past the end
    return cases + [(0, 1.0, 100, 0.0), (100, 1.0, 100, 0.0), (25, 1.0, 100, 0.1), (130, 0.5, 100, 0.01),
                    (1, 1.0, 1, 0.0), (7, 0.2, 5, 0.0)]


def _warmup_cases(rng, n):
    cases = []
    for _ in range(n):
        warmup = int(rng.integers(0, 30))
        total = warmup + int(rng.integers(1, 200))
        cases.append((int(rng.integers(0, total + 20)), float(rng.uniform(0.01, 1.0)), warmup, total,
                      float(rng.choice([0.0, 1e-3]))))
    # the warm-up starts at 0, is half-way at half the warm-up, and ends at lr0; then the cosine
    return cases + [(0, 1.0, 10, 100, 0.0), (5, 1.0, 10, 100, 0.0), (1, 0.4, 4, 20, 0.0), (10, 1.0, 10, 100, 0.0),
                    (55, 1.0, 10, 100, 0.0), (100, 1.0, 10, 100, 0.1), (150, 1.0, 10, 100, 0.1),
                    (0, 0.3, 0, 50, 0.0), (3, 0.3, 0, 50, 0.0)]


def _quadratic_range_case(curvatures, centre, x0, floor, lr_min, lr_max, num_steps, diverge_factor):
    """The range test of plain gradient descent on sum(a * (x - c)**2) / 2 + floor."""
    p, loss_fn = _quadratic_problem(curvatures, centre, x0, floor)
    rates, losses = lr_range_test(_HeavyBall(p, None, 0.0), loss_fn, lr_min, lr_max, num_steps, diverge_factor)
    return {"rates": rates, "losses": losses}


def _range_cases(rng, n):
    cases = []
    for _ in range(8):
        d = int(rng.integers(1, 5))
        cases.append((rng.uniform(0.5, 5.0, size=d), rng.normal(size=d), rng.normal(size=d) * 3, float(rng.uniform(0.1, 1.0)),
                      float(10 ** rng.uniform(-4, -2)), float(10 ** rng.uniform(0.3, 1.0)), int(rng.integers(5, 60)),
                      float(rng.choice([2.0, 4.0]))))
    return cases


def _range_fixed_cases(rng, n):
    cases = _range_cases(rng, n)
    # the loss falls far below its first value, then climbs past 4x its minimum but not past
    # 4x its first value: the test stops there
    cases.append((np.array([1.0]), np.array([0.0]), np.array([3.0]), 1.0, 1.5, 4.0, 7, 4.0))
    # two steps only: the first and the last rate
    cases.append((np.array([2.0, 1.0]), np.array([1.0, -1.0]), np.array([0.0, 0.0]), 0.1, 0.01, 0.1, 2, 4.0))
    return cases


def _curves(rng, n):
    cases = []
    for _ in range(n):
        length = int(rng.integers(1, 60))
        rates = 10 ** np.linspace(-4, 0, length)
        t = np.linspace(0, 1, length)
        curve = 2.0 - 1.5 * np.sin(np.pi * t * 0.9) + 3 * t ** 8 + rng.normal(scale=0.2, size=length)
        cases.append((rates, np.round(curve, 3), float(rng.choice([0.5, 0.8, 0.9, 0.98]))))
    # a single noisy dip early on that a smoothed curve discounts
    dip = np.array([2.0, 1.9, 0.5, 1.8, 1.6, 1.4, 1.2, 1.0, 0.9, 0.85, 3.0, 9.0])
    cases.append((10 ** np.linspace(-3, 0, len(dip)), dip, 0.9))
    cases.append((np.array([0.1]), np.array([5.0]), 0.9))
    return cases


def _smoothing_curves(rng, n):
    return [(losses, beta) for _, losses, beta in _curves(rng, n)]


CASES = {
    "sgd": (_sgd_path, _sgd_cases),
    "sgd_weight_decay": (_sgd_path, _sgd_decay_cases),
    "nesterov": (_nesterov_path, _nesterov_cases),
    "nesterov_weight_decay": (_nesterov_path, _nesterov_decay_cases),
    "rmsprop": (_rmsprop_path, _rmsprop_cases),
    "rmsprop_weight_decay": (_rmsprop_path, _rmsprop_decay_cases),
    "adam": (_adam_path, _adam_cases),
    "adam_l2": (_adam_path, _adam_l2_cases),
    "adamw": (_adam_path, _adamw_cases),
    "run_optimiser": (_curve_case, _curve_cases),
    "tune_rate": (_tune_case, _tune_cases),
    "step_schedule": (step_schedule, _step_schedule_cases),
    "cosine_schedule": (cosine_schedule, _cosine_cases),
    "warmup_cosine": (warmup_cosine, _warmup_cases),
    "lr_range_test": (_quadratic_range_case, _range_fixed_cases),
    "smooth_losses": (smooth_losses, _smoothing_curves),
    "suggest_lr": (suggest_lr, _curves),
}
