"""Reference answers for chapter 10 (normalisation, regularisation and debugging a network),
with their randomised inputs.

Batch normalisation is graded against PyTorch's own (``torch.nn.functional.batch_norm`` in
float64, gradients by autograd): the students' NumPy answers meet the library. The others are
short NumPy references written from the chapter's stated rules. Every ``make_inputs`` appends
fixed cases after its random ones: they separate the plausible wrong answers for every student.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

KINDS = ("relu", "tanh", "sigmoid")


# ---------------------------------------------------------------- activation statistics
def activation_stats(H, kind):
    H = np.asarray(H, dtype=float)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "tanh":
        saturated = np.mean(np.abs(H) > 0.97)
    elif kind == "sigmoid":
        saturated = np.mean((H < 0.03) | (H > 0.97))
    else:
        saturated = 0.0
    dead = float(np.mean(np.all(H == 0, axis=0))) if kind == "relu" else 0.0
    return {"mean": float(H.mean()), "std": float(H.std()), "saturated": float(saturated), "dead": dead}


def _activations(rng, n):
    cases = []
    for i in range(n):
        kind = KINDS[i % 3]
        N, units = int(rng.integers(1, 8)), int(rng.integers(1, 7))
        Z = rng.normal(scale=float(rng.choice([0.5, 2.0, 5.0])), size=(N, units))
        Z[:, rng.random(units) < 0.3] -= 20.0  # some units far below zero for every sample
        H = {"relu": np.maximum(Z, 0.0), "tanh": np.tanh(Z), "sigmoid": 1 / (1 + np.exp(-Z))}[kind]
        cases.append((H, kind))
    # zeros scattered over live units (a dead unit is zero for EVERY sample, a column);
    # sigmoid saturated at both ends; values exactly at the thresholds do not count
    cases.append((np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.5, 0.0]]), "relu"))
    cases.append((np.array([[0.01, 0.99, 0.5], [0.02, 0.3, 0.985]]), "sigmoid"))
    cases.append((np.array([[0.97, -0.97, 0.98], [-0.99, 0.1, 0.0]]), "tanh"))
    cases.append((np.array([[0.03, 0.97, 0.5, 0.0]]), "sigmoid"))
    return cases


# ---------------------------------------------------------------- batch normalisation
def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """PyTorch's batch norm in float64; returns (out, new running mean, new running var)."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float64))
    rm = torch.tensor(np.asarray(running_mean, dtype=np.float64))
    rv = torch.tensor(np.asarray(running_var, dtype=np.float64))
    out = F.batch_norm(x, rm, rv, torch.as_tensor(np.asarray(gamma, dtype=np.float64)),
                       torch.as_tensor(np.asarray(beta, dtype=np.float64)), training=bool(training),
                       momentum=float(momentum), eps=float(eps))
    return out.numpy(), rm.numpy(), rv.numpy()


def batchnorm_running_case(x, gamma, beta, running_mean, running_var, training, momentum, eps):
    """[new running mean, new running var] in training mode; [out, mean, var] in evaluation mode."""
    out, mean, var = batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum, eps)
    return [mean, var] if training else [out, mean, var]


def _bn_problem(rng, N, D):
    x = rng.normal(loc=rng.normal(scale=3.0, size=D), scale=rng.uniform(0.2, 4.0, size=D), size=(N, D))
    return (x, rng.normal(size=D), rng.normal(size=D), rng.normal(size=D), rng.uniform(0.3, 3.0, size=D))


def _bn_train_inputs(rng, n):
    cases = []
    for _ in range(n):
        N, D = int(rng.integers(2, 9)), int(rng.integers(1, 6))
        cases.append(_bn_problem(rng, N, D) + (True, float(rng.choice([0.1, 0.2, 0.7])), float(rng.choice([1e-5, 1e-3]))))
    # two samples (biased variance 1/4 of (a-b)^2, unbiased twice that); a feature almost
    # constant over the batch (where the place of eps matters); running statistics far
    # from the batch's (a training output must not depend on them)
    cases.append((np.array([[1.0, 5.0], [3.0, 5.001]]), np.array([1.0, 2.0]), np.array([0.0, -1.0]),
                  np.array([10.0, -10.0]), np.array([100.0, 0.01]), True, 0.1, 1e-5))
    cases.append((np.array([[2.0, 0.0, 1.0], [2.002, 1.0, 1.0], [1.999, 4.0, 1.0]]), np.ones(3), np.zeros(3),
                  np.zeros(3), np.ones(3), True, 0.3, 1e-5))
    return cases


def _bn_running_inputs(rng, n):
    cases = []
    for i in range(n):
        N, D = int(rng.integers(2, 7)), int(rng.integers(1, 5))
        training = i % 2 == 0
        cases.append(_bn_problem(rng, N, D) + (training, float(rng.choice([0.1, 0.25, 0.9])), 1e-5))
    # evaluation mode: the running statistics come back unchanged; training: torch's momentum
    # convention, unbiased variance, with a momentum that is not 1/2
    x = np.array([[1.0, -2.0], [3.0, 0.0], [8.0, 4.0]])
    cases.append((x, np.ones(2), np.zeros(2), np.array([1.0, 1.0]), np.array([2.0, 3.0]), False, 0.1, 1e-5))
    cases.append((x, np.ones(2), np.zeros(2), np.array([1.0, 1.0]), np.array([2.0, 3.0]), True, 0.1, 1e-5))
    cases.append((x[:2], np.full(2, 2.0), np.ones(2), np.zeros(2), np.ones(2), True, 0.8, 1e-5))
    return cases


def batchnorm_backward(dout, x, gamma, eps=1e-5):
    """(dx, dgamma, dbeta) of sum(dout * batch_norm(x)) in training mode, by torch's autograd."""
    xt = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    gt = torch.tensor(np.asarray(gamma, dtype=np.float64), requires_grad=True)
    bt = torch.zeros(xt.shape[1], dtype=torch.float64, requires_grad=True)
    out = F.batch_norm(xt, None, None, gt, bt, training=True, eps=float(eps))
    out.backward(torch.as_tensor(np.asarray(dout, dtype=np.float64)))
    return xt.grad.numpy(), gt.grad.numpy(), bt.grad.numpy()


def _bn_backward_inputs(rng, n):
    cases = []
    for _ in range(n):
        N, D = int(rng.integers(2, 9)), int(rng.integers(1, 6))
        x, gamma = _bn_problem(rng, N, D)[:2]
        cases.append((rng.normal(size=(N, D)), x, gamma, float(rng.choice([1e-5, 1e-3]))))
    # two samples; a feature almost constant over the batch (eps inside the square root
    # matters there); an upstream gradient that is the same for every sample (dx is then 0)
    cases.append((np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([[1.0, 5.0], [3.0, 5.001]]), np.array([2.0, 1.0]), 1e-5))
    cases.append((np.array([[0.3, 1.0], [-1.2, 1.0], [2.0, 1.0]]), np.array([[2.0, 0.0], [2.002, 1.0], [1.999, 4.0]]),
                  np.array([1.5, -0.5]), 1e-5))
    return cases


# ---------------------------------------------------------------- dropout
def dropout_forward(x, p, training, rng):
    x = np.asarray(x, dtype=float)
    if not 0.0 <= p < 1.0:
        raise ValueError(f"the dropout probability p must be in [0, 1), got {p}")
    if not training:
        return x.copy(), np.ones_like(x)
    mask = (rng.random(x.shape) >= p) / (1.0 - p)
    return x * mask, mask


def dropout_case(x, p, training, seed):
    """[out, mask, the generator's next number] (the last shows how many numbers were drawn)."""
    rng = np.random.default_rng(seed)
    out, mask = dropout_forward(x, p, training, rng)
    return [out, mask, rng.random()]


def _dropout_inputs(rng, n, training=None):
    cases = []
    for i in range(n):
        shape = tuple(int(s) for s in rng.integers(1, 6, size=int(rng.integers(1, 4))))
        mode = (i % 2 == 0) if training is None else training
        cases.append((rng.normal(size=shape), float(rng.choice([0.0, 0.1, 0.3, 0.5, 0.8])), mode,
                      int(rng.integers(0, 10**6))))
    # p is the probability of DROPPING a unit (not of keeping it), with p != 1/2
    cases.append((np.arange(1.0, 13.0).reshape(3, 4), 0.2, True, 7))
    cases.append((np.arange(1.0, 13.0).reshape(3, 4), 0.75, True, 8))
    cases.append((np.ones((2, 3)), 0.4, False, 9))
    return cases


def _dropout_train_inputs(rng, n):
    return _dropout_inputs(rng, n, training=True)


def _dropout_eval_inputs(rng, n):
    return _dropout_inputs(rng, 6, training=False) + _dropout_inputs(rng, 4, training=True)


def dropout_backward(dout, mask):
    return np.asarray(dout, dtype=float) * mask


def _dropout_backward_inputs(rng, n):
    cases = []
    for _ in range(n):
        shape = tuple(int(s) for s in rng.integers(1, 6, size=2))
        p = float(rng.choice([0.2, 0.5]))
        cases.append((rng.normal(size=shape), (rng.random(shape) >= p) / (1 - p)))
    return cases


# ---------------------------------------------------------------- augmentation
def shift_image(image, dy, dx):
    image = np.asarray(image, dtype=float)
    H, W = image.shape
    out = np.zeros_like(image)
    for i in range(H):
        for j in range(W):
            if 0 <= i - dy < H and 0 <= j - dx < W:
                out[i, j] = image[i - dy, j - dx]
    return out


def _shifts(rng, n):
    cases = []
    for _ in range(n):
        H, W = int(rng.integers(1, 7)), int(rng.integers(1, 7))
        cases.append((rng.normal(size=(H, W)), int(rng.integers(-H - 1, H + 2)), int(rng.integers(-W - 1, W + 2))))
    # negative shifts, shifts of the whole size or more, a non-square image with content at
    # its borders (wrapping around would show)
    full = np.arange(1.0, 13.0).reshape(3, 4)
    cases += [(full, -1, 0), (full, 0, -2), (full, -2, 3), (full, 1, 1), (full, 3, 0), (full, 0, -5), (full, 0, 0)]
    return cases


def augment_draws(images, max_shift, rng):
    """The stated draws: flips for all images, then all shifts."""
    N = len(images)
    flips = rng.random(N) < 0.5
    shifts = rng.integers(-max_shift, max_shift + 1, size=(N, 2))
    return flips, shifts


def augment_batch(images, max_shift, rng):
    images = np.asarray(images, dtype=float)
    flips, shifts = augment_draws(images, max_shift, rng)
    out = np.empty_like(images)
    for k, image in enumerate(images):
        flipped = image[:, ::-1] if flips[k] else image
        out[k] = shift_image(flipped, int(shifts[k, 0]), int(shifts[k, 1]))
    return out, flips, shifts


def augment_case(images, max_shift, seed):
    rng = np.random.default_rng(seed)
    return [augment_batch(images, max_shift, rng)[0], rng.random()]


def _batches(rng, n):
    cases = []
    for _ in range(n):
        N, H, W = int(rng.integers(1, 6)), int(rng.integers(2, 6)), int(rng.integers(2, 6))
        cases.append((rng.normal(size=(N, H, W)), int(rng.integers(0, 3)), int(rng.integers(0, 10**6))))
    # several identical images: each image gets its own flip and shift
    cases.append((np.tile(np.arange(1.0, 10.0).reshape(1, 3, 3), (6, 1, 1)), 1, 11))
    cases.append((np.tile(np.arange(1.0, 13.0).reshape(1, 3, 4), (5, 1, 1)), 2, 12))
    return cases


# ---------------------------------------------------------------- the loss at initialisation
def loss_at_init(logits, y):
    """(mean cross-entropy of the labels y under softmax(logits), ln C for C = logits.shape[1])."""
    logits = np.asarray(logits, dtype=float)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean()), math.log(logits.shape[1])


def _initial_logits(rng, n):
    cases = []
    for _ in range(n):
        N, C = int(rng.integers(1, 12)), int(rng.integers(2, 12))
        cases.append((rng.normal(scale=float(rng.choice([0.01, 1.0, 10.0])), size=(N, C)), rng.integers(0, C, size=N)))
    # labels that use only some of the classes (C is the number of outputs, not of labels seen);
    # logits of 1000 (a stable log-softmax)
    cases.append((np.zeros((3, 10)), np.array([1, 1, 4])))
    cases.append((np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]]), np.array([2, 0])))
    return cases


# ---------------------------------------------------------------- clipping and update ratios
def clip_grad_norm(grads, max_norm):
    grads = [np.asarray(g, dtype=float) for g in grads]
    total = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
    scale = max_norm / total if total > max_norm else 1.0
    return [g * scale for g in grads], total


def clip_case(grads, max_norm):
    clipped, total = clip_grad_norm(list(grads), max_norm)
    return [list(clipped), total]


def _gradient_lists(rng, n):
    cases = []
    for _ in range(n):
        k = int(rng.integers(1, 5))
        grads = [rng.normal(scale=float(rng.choice([0.1, 1.0, 10.0])), size=tuple(int(s) for s in rng.integers(1, 4, size=int(rng.integers(1, 3)))))
                 for _ in range(k)]
        cases.append((grads, float(rng.choice([0.5, 1.0, 5.0]))))
    # several parameters, each below the limit but together above it (the norm is global);
    # exactly at the limit (unchanged); all zero
    cases.append(([np.array([3.0, 0.0]), np.array([[0.0], [4.0]])], 4.0))
    cases.append(([np.array([0.6]), np.array([0.8, 0.0])], 1.0))
    cases.append(([np.array([0.6]), np.array([0.8, 0.0])], 2.0))
    cases.append(([np.zeros(3), np.zeros((2, 2))], 1.0))
    return cases


def update_ratios(before, after):
    ratios = []
    for w0, w1 in zip(before, after):
        norm = float(np.linalg.norm(np.asarray(w0, dtype=float)))
        if norm == 0.0:
            raise ValueError("a weight array is all zero: its update-to-weight ratio is undefined")
        ratios.append(float(np.linalg.norm(np.asarray(w1, dtype=float) - w0)) / norm)
    return ratios


def _weight_pairs(rng, n):
    cases = []
    for _ in range(n):
        before = [rng.normal(size=tuple(int(s) for s in rng.integers(1, 5, size=2))) for _ in range(int(rng.integers(1, 4)))]
        lr = float(rng.choice([1e-4, 1e-2, 1.0]))
        cases.append((before, [w - lr * rng.normal(size=w.shape) for w in before]))
    cases.append(([np.array([[3.0, 4.0]])], [np.array([[3.0, 4.5]])]))
    cases.append(([np.array([1.0, 0.0]), np.array([[2.0]])], [np.array([0.0, 0.0]), np.array([[2.0]])]))
    return cases


# ---------------------------------------------------------------- the diagnosis
def diagnose(records, losses):
    if not records or not losses:
        raise ValueError("diagnose needs at least one layer record and one loss")
    grads = [r["grad_norm"] for r in records]
    if not all(math.isfinite(v) for v in list(losses) + grads):
        return "exploding"
    if grads[0] > 100 * grads[-1]:
        return "exploding"
    if any(r["activation"] == "relu" and r["dead"] > 0.5 for r in records):
        return "dead_relu"
    if any(r["activation"] in ("tanh", "sigmoid") and r["saturated"] > 0.5 for r in records):
        return "saturated"
    if grads[0] < 0.01 * grads[-1]:
        return "vanishing"
    ratios = [r["update_ratio"] for r in records]
    if max(ratios) > 0.05 or losses[-1] > losses[0]:
        return "lr_too_high"
    if max(ratios) < 1e-5:
        return "lr_too_low"
    return "ok"


def _record(activation, saturated=0.0, dead=0.0, grad_norm=1.0, update_ratio=1e-3):
    return {"activation": activation, "saturated": float(saturated), "dead": float(dead),
            "grad_norm": float(grad_norm), "update_ratio": float(update_ratio)}


def _random_records(rng):
    depth = int(rng.integers(2, 6))
    kind = str(rng.choice(KINDS))
    records = []
    for _ in range(depth - 1):
        records.append(_record(kind, saturated=rng.choice([0.0, rng.uniform(0, 1)]) if kind != "relu" else 0.0,
                               dead=rng.choice([0.0, rng.uniform(0, 1)]) if kind == "relu" else 0.0,
                               grad_norm=10 ** rng.uniform(-4, 4), update_ratio=10 ** rng.uniform(-7, 0)))
    records.append(_record("linear", grad_norm=10 ** rng.uniform(-2, 2), update_ratio=10 ** rng.uniform(-7, 0)))
    return records


def _diagnosis_inputs(rng, n):
    cases = []
    for _ in range(n):
        losses = list(np.abs(rng.normal(size=int(rng.integers(1, 6)))) + 0.1)
        cases.append((_random_records(rng), losses))
    return cases + _single_rules()


OK = [_record("relu"), _record("relu"), _record("linear")]
FALLING = [2.3, 1.5, 0.9]


def _single_rules():
    """Each rule alone, well away from its threshold."""
    falling = FALLING
    return [(OK, falling),
            ([_record("relu", grad_norm=200.0), _record("linear", grad_norm=1.0)], falling),
            ([_record("tanh"), _record("linear")], [2.3, float("nan")]),
            ([_record("relu", dead=0.6), _record("relu"), _record("linear")], falling),
            ([_record("tanh", saturated=0.7), _record("linear")], falling),
            ([_record("sigmoid", grad_norm=1e-3), _record("sigmoid"), _record("linear")], falling),
            ([_record("relu", update_ratio=0.2), _record("linear")], falling),
            ([_record("relu"), _record("linear")], [1.0, 0.8, 1.2]),
            ([_record("relu", update_ratio=1e-6), _record("linear", update_ratio=1e-6)], falling)]


def _diagnosis_edges(rng, n):
    return _fixed_diagnoses()


def _fixed_diagnoses():
    """Each rule at its threshold, and pairs that only the stated order separates."""
    falling = FALLING
    cases = []
    cases.append(([_record("relu", grad_norm=100.0), _record("linear", grad_norm=1.0)], falling))  # exactly 100: not
    cases.append(([_record("tanh"), _record("linear")], [2.3, float("nan")]))                     # nan loss
    cases.append(([_record("tanh", grad_norm=float("inf")), _record("linear")], falling))
    cases.append(([_record("relu", dead=0.6), _record("relu"), _record("linear")], falling))      # dead
    cases.append(([_record("relu", dead=0.5), _record("linear")], falling))                       # exactly 0.5: not
    cases.append(([_record("sigmoid", dead=0.9), _record("linear")], falling))                    # dead counts for relu only
    cases.append(([_record("tanh", saturated=0.7), _record("linear")], falling))                  # saturated
    cases.append(([_record("relu", saturated=0.9), _record("linear")], falling))                  # saturation: tanh/sigmoid only
    cases.append(([_record("sigmoid", saturated=0.5), _record("linear")], falling))               # exactly 0.5: not
    cases.append(([_record("sigmoid", grad_norm=1e-3), _record("sigmoid"), _record("linear")], falling))  # vanishing
    cases.append(([_record("sigmoid", grad_norm=0.01), _record("linear")], falling))              # exactly 1/100: not
    cases.append(([_record("relu", dead=0.8, grad_norm=1e-4), _record("linear")], falling))       # dead before vanishing
    cases.append(([_record("tanh", saturated=0.9, grad_norm=1e-4), _record("linear")], falling))  # saturated before vanishing
    cases.append(([_record("relu", dead=0.9, grad_norm=1e4), _record("linear")], falling))        # exploding first
    cases.append(([_record("relu", update_ratio=0.06), _record("linear")], falling))              # lr too high
    cases.append(([_record("relu", update_ratio=0.05), _record("linear")], falling))              # exactly 0.05: not
    cases.append(([_record("relu"), _record("linear")], [1.0, 0.8, 1.2]))                          # the loss rose
    cases.append(([_record("relu"), _record("linear")], [1.0, 1.2, 0.9]))                          # it rose, then fell
    cases.append(([_record("relu", update_ratio=1e-6), _record("linear", update_ratio=1e-6)], falling))  # lr too low
    cases.append(([_record("relu", update_ratio=1e-6), _record("linear", update_ratio=1e-3)], falling))  # one layer moves
    cases.append(([_record("tanh", saturated=0.6, update_ratio=0.5), _record("linear")], [1.0, 2.0]))   # saturated first
    cases.append(([_record("relu", grad_norm=1e-3, update_ratio=0.5), _record("linear")], falling))     # vanishing first
    return cases


CASES = {
    "activation_stats": (activation_stats, _activations),
    "batchnorm_train": (lambda *case: batchnorm_forward(*case)[0], _bn_train_inputs),
    "batchnorm_running": (batchnorm_running_case, _bn_running_inputs),
    "batchnorm_backward_params": (lambda dout, x, gamma, eps: list(batchnorm_backward(dout, x, gamma, eps)[1:]),
                                  _bn_backward_inputs),
    "batchnorm_backward_input": (lambda dout, x, gamma, eps: batchnorm_backward(dout, x, gamma, eps)[0],
                                 _bn_backward_inputs),
    "dropout_train": (dropout_case, _dropout_train_inputs),
    "dropout_modes": (dropout_case, _dropout_eval_inputs),
    "dropout_backward": (dropout_backward, _dropout_backward_inputs),
    "shift_image": (shift_image, _shifts),
    "augment_draws": (lambda images, max_shift, seed: list(augment_draws(images, max_shift, np.random.default_rng(seed))),
                      _batches),
    "augment_batch": (augment_case, _batches),
    "loss_at_init": (lambda logits, y: list(loss_at_init(logits, y)), _initial_logits),
    "clip_grad_norm": (clip_case, _gradient_lists),
    "update_ratios": (update_ratios, _weight_pairs),
    "diagnose_rules": (diagnose, _diagnosis_inputs),
    "diagnose_edges": (diagnose, _diagnosis_edges),
}
