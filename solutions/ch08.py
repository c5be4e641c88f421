"""Reference answers for chapter 8 (convolutions and MNIST), with their randomised inputs.

Convolution and pooling references are PyTorch's own (``torch.nn.functional`` in float64,
gradients by autograd): the students' NumPy loops are graded against the library. The
others call nnbook's implementations (one source of truth); hidden tests in the chapter
wrap the students' functions in adapters that take the same plain arguments.
"""

import numpy as np
import torch
import torch.nn.functional as F

from nnbook.activations import softmax
from nnbook.losses import np_cross_entropy_from_logits, np_nll
from nnbook.torch_models import SmallCNN, conv_output_size
from nnbook.training import most_confident_mistakes


# ---------------------------------------------------------------- validation_split
def validation_split(labels, fraction, seed):
    """Stratified split: per class, round(fraction * count) random members go to validation."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        n_val = round(fraction * len(members))
        val.append(members[:n_val])
        train.append(members[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def split_facts(split_fn, labels, fraction, seed):
    """What the hidden test checks of a split (any correct random choice passes):
    [each index exactly once, both parts sorted, validation count per class, same split again]."""
    labels = np.asarray(labels)
    train, val = (np.asarray(part).astype(np.int64) for part in split_fn(labels, fraction, seed))
    again = [np.asarray(part) for part in split_fn(labels, fraction, seed)]
    return [np.sort(np.concatenate([train, val])).tolist() == list(range(len(labels))),
            bool(np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)),
            np.bincount(labels[val], minlength=int(labels.max()) + 1).tolist(),
            bool(np.array_equal(again[0], train) and np.array_equal(again[1], val))]  # fmt: skip


def _split_facts(labels, fraction, seed):
    return split_facts(validation_split, labels, fraction, seed)


def _label_sets(rng, n):
    cases = []
    for _ in range(n):
        classes = int(rng.integers(2, 8))
        counts = rng.integers(1, 40, size=classes)
        labels = rng.permutation(np.repeat(np.arange(classes), counts))
        # fractions drawn at random almost never put fraction * count on a tie (x.5)
        cases.append((labels, float(rng.uniform(0.05, 0.6)), int(rng.integers(0, 10**6))))
    return cases + _FIXED_SPLITS


_fixed = np.random.default_rng(0)
# Every student gets these too: halves that Python's round sends to the even side (5, 3.5 -> 4,
# 2.5 -> 2, 0.5 -> 0: rounding half up or truncating differs) and fractions of .9 and .7 (int() truncates).
_FIXED_SPLITS = [
    (_fixed.permutation(np.repeat(np.arange(4), [10, 7, 5, 1])), 0.5, 3),
    (_fixed.permutation(np.repeat(np.arange(3), [10, 30, 5])), 0.29, 11),
    (_fixed.permutation(np.repeat(np.arange(2), [10, 6])), 0.25, 5),
]


# ---------------------------------------------------------------- conv_output_size
def _conv_sizes(rng, n):
    cases = []
    while len(cases) < n:
        size, kernel = int(rng.integers(1, 65)), int(rng.integers(1, 8))
        stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 4))
        if size + 2 * padding >= kernel:
            cases.append((size, kernel, stride, padding))
    # the chapter's own layers, and strides that do not divide evenly (floor!)
    return cases + [(28, 3, 1, 1), (28, 2, 2, 0), (14, 2, 2, 0), (25, 2, 2, 0), (28, 5, 2, 2), (7, 7, 1, 0)]


# ---------------------------------------------------------------- conv2d and max_pool2d
def conv2d(x, w, b, stride=1, padding=0):
    """PyTorch's cross-correlation in float64."""
    t = (torch.as_tensor(np.asarray(a, dtype=np.float64)) for a in (x, w, b))
    return F.conv2d(*t, stride=int(stride), padding=int(padding)).numpy()


def _conv_problem(rng, c_in, c_out, stride, padding, n_max=2):
    kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    # the input must hold at least one window: H + 2p >= kh
    h = int(rng.integers(max(1, kh - 2 * padding), 10))
    wd = int(rng.integers(max(1, kw - 2 * padding), 10))
    x = rng.normal(size=(int(rng.integers(1, n_max + 1)), c_in, h, wd))
    w = rng.normal(size=(c_out, c_in, kh, kw))
    return x, w, rng.normal(size=c_out), stride, padding


def _fixed_conv(shape_x, shape_w, stride, padding):
    """A fixed problem every student gets (its numbers from a fixed seed, not the student's)."""
    g = np.random.default_rng(sum(shape_x) * 100 + sum(shape_w) * 10 + stride + padding)
    return g.normal(size=shape_x), g.normal(size=shape_w), g.normal(size=shape_w[0]), stride, padding


# rectangular kernels and images both ways round (kh and kw, or H and W, swapped), with the floor
_FIXED_SINGLE = [_fixed_conv((1, 1, 5, 7), (1, 1, 2, 3), 1, 0), _fixed_conv((2, 1, 7, 5), (1, 1, 3, 2), 1, 0)]
_FIXED_STRIDED = [_fixed_conv((1, 1, 7, 6), (1, 1, 3, 2), 2, 1), _fixed_conv((1, 1, 8, 9), (1, 1, 2, 3), 3, 2)]
_FIXED_MULTI = [_fixed_conv((2, 3, 6, 9), (4, 3, 3, 2), 2, 1), _fixed_conv((1, 2, 9, 5), (3, 2, 2, 4), 1, 2)]


def _single_channel(rng, n):
    return [_conv_problem(rng, 1, 1, 1, 0, n_max=3) for _ in range(n)] + _FIXED_SINGLE


def _strided_padded(rng, n):
    return [_conv_problem(rng, 1, 1, int(rng.integers(1, 4)), int(rng.integers(0, 3))) for _ in range(n)] + _FIXED_STRIDED


def _multi_channel(rng, n):
    return [_conv_problem(rng, int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.integers(1, 4)),
                          int(rng.integers(0, 3))) for _ in range(n)] + _FIXED_MULTI  # fmt: skip


def max_pool2d(x, k, stride=None):
    """PyTorch's max-pooling in float64 (stride defaults to the window, as in PyTorch)."""
    return F.max_pool2d(torch.as_tensor(np.asarray(x, dtype=np.float64)), int(k),
                        stride=None if stride is None else int(stride)).numpy()  # fmt: skip


def _pool_problems(rng, n):
    cases = []
    for _ in range(n):
        k = int(rng.integers(1, 4))
        h, w = int(rng.integers(k, 10)), int(rng.integers(k, 10))
        stride = None if rng.random() < 0.3 else int(rng.integers(1, 4))
        x = rng.normal(size=(int(rng.integers(1, 3)), int(rng.integers(1, 4)), h, w)) - 1.0  # mostly negative
        cases.append((x, k, stride))
    g = np.random.default_rng(7)  # every student: images wider than tall and taller than wide, all negative
    return cases + [(g.normal(size=(1, 2, 4, 7)) - 3.0, 2, None), (g.normal(size=(2, 1, 7, 4)) - 3.0, 3, 2)]


# ---------------------------------------------------------------- max_pool2d_backward
def max_pool2d_gradient(dout, x, k, stride=None):
    """dL/dx of sum(dout * max_pool2d(x)) by PyTorch's autograd in float64 (ties: the first maximum)."""
    x = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    F.max_pool2d(x, int(k), stride=None if stride is None else int(stride)).backward(
        torch.as_tensor(np.asarray(dout, dtype=np.float64)))
    return x.grad.numpy()


def _with_dout(rng, x, k, stride):
    s = k if stride is None else stride
    shape = x.shape[:2] + (conv_output_size(x.shape[2], k, s), conv_output_size(x.shape[3], k, s))
    return rng.normal(size=shape), x, k, stride


def _pool_backward_problems(rng, n, overlap):
    cases = []
    for _ in range(n):
        k = int(rng.integers(2, 4))
        stride = int(rng.integers(1, k)) if overlap else (None if rng.random() < 0.5 else k)
        x = rng.normal(size=(int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(k, 10)),
                             int(rng.integers(k, 10))))  # fmt: skip
        if overlap and rng.random() < 0.5:
            x = np.maximum(x, 0.0)  # as after a ReLU: windows of tied zeros
        cases.append(_with_dout(rng, x, k, stride))
    g = np.random.default_rng(8)  # every student: non-square images both ways round, ties, shared maxima
    fixed = [_with_dout(g, g.normal(size=(1, 2, 4, 7)), 2, None), _with_dout(g, g.normal(size=(2, 1, 7, 4)), 2, 2)]
    if overlap:
        shared = np.zeros((1, 1, 5, 6))
        shared[0, 0, 2, 2], shared[0, 0, 1, 4] = 5.0, 4.0  # maxima of several windows; zeros tie elsewhere
        fixed += [_with_dout(g, shared, 3, 1), _with_dout(g, np.maximum(g.normal(size=(2, 2, 6, 9)), 0), 3, 2),
                  _with_dout(g, np.maximum(g.normal(size=(1, 3, 8, 5)), 0), 2, 1)]
    return cases + fixed


def _pool_backward_plain(rng, n):
    return _pool_backward_problems(rng, n, overlap=False)


def _pool_backward_overlap(rng, n):
    return _pool_backward_problems(rng, n, overlap=True)


# ---------------------------------------------------------------- conv2d_backward
def conv2d_gradients(dout, x, w, stride=1, padding=0):
    """(dx, dw, db) of sum(dout * conv2d(x, w, b)), by PyTorch's autograd in float64."""
    x, w = (torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in (x, w))
    b = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
    F.conv2d(x, w, b, stride=int(stride), padding=int(padding)).backward(torch.as_tensor(np.asarray(dout, float)))
    return x.grad.numpy(), w.grad.numpy(), b.grad.numpy()


def conv2d_param_gradients(dout, x, w, stride, padding):
    return list(conv2d_gradients(dout, x, w, stride, padding)[1:])


def conv2d_input_gradient(dout, x, w, stride, padding):
    return conv2d_gradients(dout, x, w, stride, padding)[0]


def _backward_problems(rng, n):
    cases = []
    for x, w, _, stride, padding in _multi_channel(rng, n):
        h_out = conv_output_size(x.shape[2], w.shape[2], stride, padding)
        w_out = conv_output_size(x.shape[3], w.shape[3], stride, padding)
        dout = rng.normal(size=(x.shape[0], w.shape[0], h_out, w_out))
        cases.append((dout, x, w, stride, padding))
    return cases


def _backward_cases(rng, n):
    g = np.random.default_rng(9)  # every student: images wider than tall and taller than wide, padded or not
    fixed = []
    for x, w, _, stride, padding in (_fixed_conv((2, 2, 5, 8), (3, 2, 3, 2), 1, 1),
                                      _fixed_conv((1, 3, 8, 5), (2, 3, 2, 3), 2, 1),
                                      _fixed_conv((2, 1, 4, 7), (2, 1, 3, 3), 1, 0)):
        h_out = conv_output_size(x.shape[2], w.shape[2], stride, padding)
        w_out = conv_output_size(x.shape[3], w.shape[3], stride, padding)
        fixed.append((g.normal(size=(x.shape[0], w.shape[0], h_out, w_out)), x, w, stride, padding))
    return _backward_problems(rng, n) + fixed


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
            for _ in range(n)] + [(3, 5, 7, 123)]  # fmt: skip


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


# ---------------------------------------------------------------- the buggy loss
def buggy_and_true_cross_entropy(logits, targets):
    """(what F.nll_loss(softmax(logits), targets) computes, the real cross-entropy)."""
    return [np_nll(softmax(np.asarray(logits, dtype=float), axis=1), targets),
            np_cross_entropy_from_logits(logits, targets)]  # fmt: skip


def _logit_problems(rng, n):
    cases = []
    for _ in range(n):
        m, c = int(rng.integers(1, 20)), int(rng.integers(2, 11))
        cases.append((rng.normal(scale=float(rng.uniform(0.5, 20)), size=(m, c)), rng.integers(0, c, size=m)))
    cases.append((np.array([[1000.0, 0.0, -1000.0]]), np.array([2])))  # must not overflow
    cases.append((np.array([[1000.0, 0.0], [0.0, 1.0]]), np.array([1, 0])))  # each ROW's maximum, not the batch's
    return cases


CASES = {
    "validation_split": (_split_facts, _label_sets),
    "conv_output_size": (conv_output_size, _conv_sizes),
    "conv2d_single": (conv2d, _single_channel),
    "conv2d_stride_padding": (conv2d, _strided_padded),
    "conv2d": (conv2d, _multi_channel),
    "max_pool2d": (max_pool2d, _pool_problems),
    "max_pool2d_backward_plain": (max_pool2d_gradient, _pool_backward_plain),
    "max_pool2d_backward": (max_pool2d_gradient, _pool_backward_overlap),
    "conv2d_backward_params": (conv2d_param_gradients, _backward_cases),
    "conv2d_backward_input": (conv2d_input_gradient, _backward_cases),
    "make_cnn": (cnn_fingerprint, _cnn_specs),
    "buggy_loss": (buggy_and_true_cross_entropy, _logit_problems),
    "most_confident_mistakes": (most_confident_mistakes, _mistake_problems),
}
