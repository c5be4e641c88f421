"""Loss functions, in two flavours.

* On lists of ``Value`` (differentiable with ``loss.backward()``):
  ``mse``, ``mae``, ``binary_cross_entropy``, ``bce_with_logits``,
  ``max_margin`` (alias ``hinge``), ``l2_penalty`` (which also takes Tensors).
* On numpy arrays (plain numbers, for evaluation and for checking the
  vectorised code): the same ideas with an ``np_`` prefix:
  ``np_mse``, ``np_mae``, ``np_binary_cross_entropy``, ``np_bce_with_logits``,
  ``np_categorical_cross_entropy``, ``np_cross_entropy_from_logits``,
  ``np_nll``, ``np_hinge``.

All of them return the MEAN over samples (``l2_penalty`` is a sum). Mismatched
inputs raise ValueError showing both shapes (or lengths). Class targets follow
``nnbook.tensor.class_targets``, the rule of the Tensor losses too.
"""

from __future__ import annotations

import numpy as np

from . import tensor
from .activations import log_softmax
from .engine import Value

__all__ = [
    "mse", "mae", "binary_cross_entropy", "bce_with_logits", "max_margin", "hinge",
    "l2_penalty",
    "np_mse", "np_mae", "np_binary_cross_entropy", "np_bce_with_logits",
    "np_categorical_cross_entropy", "np_cross_entropy_from_logits", "np_nll", "np_hinge",
]

EPS = 1e-12  # probabilities are clipped to [EPS, 1 - EPS] before a log


# ----------------------------------------------------------------------
# Value losses
# ----------------------------------------------------------------------

def _pairs(preds, targets):
    """Both arguments as lists of equal length (a lone Value counts as [Value])."""
    preds = [preds] if isinstance(preds, Value) else list(preds)
    targets = [targets] if isinstance(targets, (Value, int, float)) else list(targets)
    if len(preds) != len(targets):
        raise ValueError(
            f"predictions and targets differ in length: {len(preds)} vs {len(targets)}"
        )
    if not preds:
        raise ValueError("cannot average a loss over 0 samples")
    return preds, targets


def _mean(terms):
    # Start the sum at the first term so no constant 0 node is created.
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total * (1.0 / len(terms))


def mse(preds, targets):
    """mean((p - y)^2)."""
    preds, targets = _pairs(preds, targets)
    return _mean([(p - y) ** 2 for p, y in zip(preds, targets)])


def mae(preds, targets):
    """mean(|p - y|)."""
    preds, targets = _pairs(preds, targets)
    return _mean([abs(p - y) for p, y in zip(preds, targets)])


def binary_cross_entropy(probs, targets):
    """mean(-(y log p + (1-y) log(1-p))) for probabilities p in (0, 1).

    A term whose weight y or 1-y is 0 is skipped, so p = 1 with y = 1 is fine;
    a certain wrong prediction (log 0) raises. Prefer ``bce_with_logits``
    when you have the score before the sigmoid: it never takes log 0.
    """
    probs, targets = _pairs(probs, targets)
    terms = []
    for p, y in zip(probs, targets):
        y_ = y.data if isinstance(y, Value) else y
        term = 0.0
        if y_ != 0:
            term = term - y * p.log()
        if y_ != 1:
            term = term - (1 - y) * (1 - p).log()
        terms.append(term)  # y is 0, 1 or in between, so at least one term ran
    return _mean(terms)


def bce_with_logits(logits, targets):
    """Binary cross-entropy of sigmoid(z), computed from the logit z stably.

    Per sample, loss = max(z, 0) - z*y + log(1 + e^-|z|). We branch on the
    sign of z (the value, not the graph) so each branch is smooth and exp
    only ever sees a non-positive number: no overflow, and the gradient at
    z = 0 is the true sigmoid(0) - y.
    """
    logits, targets = _pairs(logits, targets)
    terms = []
    for z, y in zip(logits, targets):
        if z.data >= 0:  # max(z,0) = z and |z| = z
            softplus = z + (1 + (-z).exp()).log()
        else:  # max(z,0) = 0 and |z| = -z
            softplus = (1 + z.exp()).log()
        terms.append(softplus - z * y)
    return _mean(terms)


def max_margin(scores, labels):
    """SVM hinge loss mean(relu(1 - y*s)) for labels y in {-1, +1}."""
    scores, labels = _pairs(scores, labels)
    for y in labels:
        if (y.data if isinstance(y, Value) else y) not in (-1, 1):
            raise ValueError(f"max_margin labels must be -1 or +1, got {y!r}")
    return _mean([(1 - s * y).relu() for s, y in zip(scores, labels)])


hinge = max_margin


def l2_penalty(params, alpha):
    """``alpha * sum(p^2)`` over every parameter: weight decay written as a loss term.

    The one contract for both engines: ``params`` a non-empty iterable of ``Value``s
    (a chain of nodes) or of ``Tensor``s (one fused node, ``nnbook.tensor.l2_penalty``);
    ``alpha`` is required; the sum of squares, not half of it, so the gradient of
    each parameter is ``2 * alpha * p``.
    """
    params = list(params)
    if not params:
        raise ValueError("l2_penalty needs at least one parameter, got none")
    if isinstance(params[0], tensor.Tensor):
        return tensor.l2_penalty(params, alpha)
    total = params[0] * params[0]
    for p in params[1:]:
        total = total + p * p
    return alpha * total


# ----------------------------------------------------------------------
# numpy losses
# ----------------------------------------------------------------------

def _same_shape(a, b, names=("predictions", "targets")):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"{names[0]} and {names[1]} differ in shape: {a.shape} vs {b.shape}")
    return a, b


def np_mse(preds, targets):
    p, y = _same_shape(preds, targets)
    return float(np.mean((p - y) ** 2))


def np_mae(preds, targets):
    p, y = _same_shape(preds, targets)
    return float(np.mean(np.abs(p - y)))


def np_binary_cross_entropy(probs, targets, eps=EPS):
    """mean over samples of -(y log p + (1-y) log(1-p)), p clipped to [eps, 1-eps]."""
    p, y = _same_shape(probs, targets, ("probs", "targets"))
    p = np.clip(p, eps, 1.0 - eps)  # log(0) would give -inf
    return float(np.mean(-(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))))


def np_bce_with_logits(logits, targets):
    """The same loss from logits z: max(z,0) - z*y + log(1 + e^-|z|), no clipping needed."""
    z, y = _same_shape(logits, targets, ("logits", "targets"))
    return float(np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def np_categorical_cross_entropy(probs, targets, eps=EPS):
    """mean over samples of -sum_k y_k log p_k; rows are samples, p clipped to [eps, 1]."""
    p, y = _same_shape(probs, targets, ("probs", "targets"))
    if p.ndim != 2:
        raise ValueError(f"probs must have shape (samples, classes), got {p.shape}")
    return float(np.mean(-np.sum(y * np.log(np.clip(p, eps, 1.0)), axis=1)))


def np_nll(log_probs, targets):
    """Negative log-likelihood: -mean(log_probs[i, targets[i]]) for int class targets."""
    lp = np.asarray(log_probs, dtype=float)
    if lp.ndim != 2:
        raise ValueError(f"log_probs must have shape (samples, classes), got {lp.shape}")
    t = tensor.class_targets(targets, *lp.shape, "np_nll")
    return float(-np.mean(lp[np.arange(len(t)), t]))


def np_cross_entropy_from_logits(logits, targets):
    """Softmax cross-entropy from raw scores, via a stable log-softmax.

    ``targets``: int class indices of shape (samples,), or per-class
    probabilities / one-hot rows of the same shape as ``logits``.
    """
    z = np.asarray(logits, dtype=float)
    if z.ndim != 2:
        raise ValueError(f"logits must have shape (samples, classes), got {z.shape}")
    log_probs = log_softmax(z, axis=1)  # the stable form: no overflow
    t = np.asarray(targets)
    if t.ndim == 2:
        _, y = _same_shape(z, t, ("logits", "targets"))
        return float(np.mean(-np.sum(y * log_probs, axis=1)))
    return np_nll(log_probs, t)


def np_hinge(scores, labels):
    """mean(max(0, 1 - y*s)) for labels y in {-1, +1}."""
    s, y = _same_shape(scores, labels, ("scores", "labels"))
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError(f"hinge labels must be -1 or +1, got values {np.unique(y)}")
    return float(np.mean(np.maximum(0.0, 1.0 - y * s)))


def sign_accuracy(scores, labels) -> float:
    """Fraction of samples whose predicted sign (+1 if score > 0, else -1) equals its label (±1).

    Chapter 5's students write this as ``accuracy``; its grade cells lend this version to the
    training loop's tests, so a slip in the helper costs only the helper's exercise.
    """
    predictions = np.where(np.asarray(scores, dtype=float) > 0, 1, -1)
    return float(np.mean(predictions == np.asarray(labels)))
