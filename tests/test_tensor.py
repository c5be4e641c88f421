"""Tests for nnbook.tensor: gradients against PyTorch (float64) and finite
differences, on hand-picked cases and on randomly generated graphs."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbook.tensor import (
    Tensor,
    cross_entropy,
    l2_penalty,
    linear,
    max_margin_loss,
    mse_loss,
    nll_loss,
)

torch.set_num_threads(1)
F = torch.nn.functional


def tt(a, grad=True):
    """A float64 torch leaf with the same numbers as numpy array `a`."""
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def close(a, b, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------
# Random expression graphs.  Every op is written twice, once for Tensor and
# once for torch, and the same random program runs on both.  Shapes are all
# broadcast-compatible with (3, 4), so any two nodes can be combined.
# ---------------------------------------------------------------------------

SHAPES = [(3, 4), (3, 1), (1, 4), (4,), (1,), ()]

UNARY = {
    "neg": (lambda t: -t, lambda t: -t),
    "tanh": (Tensor.tanh, torch.tanh),
    "sigmoid": (Tensor.sigmoid, torch.sigmoid),
    "relu": (Tensor.relu, torch.relu),
    # exp of a bounded value and log of a positive one keep numbers finite.
    "exp": (lambda t: t.tanh().exp(), lambda t: t.tanh().exp()),
    "log": (lambda t: (t * t + 1.0).log(), lambda t: (t * t + 1.0).log()),
    "square": (lambda t: t**2, lambda t: t**2),
    "pow": (lambda t: (t * t + 0.5) ** 1.5, lambda t: (t * t + 0.5) ** 1.5),
    "rsub": (lambda t: 2.0 - t, lambda t: 2.0 - t),
    "rdiv": (lambda t: 1.0 / (t * t + 1.0), lambda t: 1.0 / (t * t + 1.0)),
    "scale": (lambda t: 1.7 * t - 0.3, lambda t: 1.7 * t - 0.3),
    "sum_all": (lambda t: t.sum(), lambda t: t.sum()),
    "mean_all": (lambda t: t.mean(), lambda t: t.mean()),
}
# Reductions over an axis need at least one axis; results stay compatible.
AXIS_OPS = {
    "sum0": (lambda t: t.sum(axis=0), lambda t: t.sum(dim=0)),
    "sum0k": (lambda t: t.sum(axis=0, keepdims=True), lambda t: t.sum(dim=0, keepdim=True)),
    "sum-1k": (lambda t: t.sum(axis=-1, keepdims=True), lambda t: t.sum(dim=-1, keepdim=True)),
    "mean0": (lambda t: t.mean(axis=0), lambda t: t.mean(dim=0)),
    "mean-1k": (lambda t: t.mean(axis=-1, keepdims=True), lambda t: t.mean(dim=-1, keepdim=True)),
}
# Reshapes between shapes that broadcast the same way.
RESHAPE = {(1, 4): (4,), (4,): (1, 4), (1,): (), (): (1,), (3, 1): (1, 3, 1)}
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / (b * b + 1.0), lambda a, b: a / (b * b + 1.0)),
}
SMOOTH = [k for k in list(UNARY) + list(AXIS_OPS) + list(BINARY) if k != "relu"]
ALL_OPS = list(UNARY) + list(AXIS_OPS) + list(BINARY) + ["reshape", "add_const", "const_mul"]


def run_program(leaves, program, consts, use_torch):
    """Apply `program` (a list of (op, i, j)) to a growing pool of nodes.

    Operands are picked by index from everything computed so far, so the
    same node is often used several times (a*a, a+f(a), ...).
    """
    k = 1 if use_torch else 0
    pool = list(leaves)
    for op, i, j in program:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        if op in UNARY:
            pool.append(UNARY[op][k](a))
        elif op in AXIS_OPS:
            pool.append(AXIS_OPS[op][k](a) if a.ndim >= 1 else UNARY["tanh"][k](a))
        elif op in BINARY:
            pool.append(BINARY[op][k](a, b))
        elif op == "reshape":
            shape = RESHAPE.get(tuple(a.shape))
            pool.append(a.reshape(shape) if shape is not None else -a)
        elif op in ("add_const", "const_mul"):
            c = consts[j % len(consts)]
            c = torch.tensor(c) if use_torch else c
            # ndarray on the left exercises the reflected operators.
            pool.append(c + a if op == "add_const" else c * a)
    # Every node contributes to the output with its own weights, so each
    # one receives a gradient through several paths.
    out = 0.0
    for n, node in enumerate(pool):
        w = consts[n % len(consts)]
        out = out + (node * (torch.tensor(w) if use_torch else w)).sum()
    return out


@st.composite
def programs(draw, ops=ALL_OPS):
    n_leaves = draw(st.integers(1, 3))
    shapes = [draw(st.sampled_from(SHAPES)) for _ in range(n_leaves)]
    program = draw(
        st.lists(
            st.tuples(st.sampled_from(ops), st.integers(0, 50), st.integers(0, 50)),
            min_size=1,
            max_size=8,
        )
    )
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    values = [rng.uniform(-1.5, 1.5, s) for s in shapes]
    consts = [rng.uniform(-1, 1, draw(st.sampled_from(SHAPES))) for _ in range(3)]
    return values, program, consts


@settings(max_examples=120, deadline=None, database=None)
@given(programs())
def test_random_graphs_match_torch(case):
    values, program, consts = case
    ours = [Tensor(v, requires_grad=True) for v in values]
    theirs = [tt(v) for v in values]
    out = run_program(ours, program, consts, use_torch=False)
    ref = run_program(theirs, program, consts, use_torch=True)
    close(out.data, ref.detach().numpy())
    out.backward()
    ref.backward()
    for a, b in zip(ours, theirs):
        assert a.grad.shape == a.shape
        close(a.grad, b.grad.numpy(), rtol=1e-9, atol=1e-10)


@settings(max_examples=25, deadline=None, database=None)
@given(programs(ops=SMOOTH))
def test_random_graphs_match_finite_differences(case):
    values, program, consts = case
    leaves = [Tensor(v, requires_grad=True) for v in values]
    run_program(leaves, program, consts, use_torch=False).backward()

    def f(vals):
        return run_program([Tensor(v) for v in vals], program, consts, False).item()

    eps = 1e-6
    for n, v in enumerate(values):
        numeric = np.zeros_like(v)
        for idx in np.ndindex(v.shape):
            plus = [x.copy() for x in values]
            minus = [x.copy() for x in values]
            plus[n][idx] += eps
            minus[n][idx] -= eps
            numeric[idx] = (f(plus) - f(minus)) / (2 * eps)
        # Differences lose digits in proportion to the size of the numbers.
        scale = max(1.0, np.abs(numeric).max())
        close(leaves[n].grad, numeric, rtol=1e-5, atol=1e-6 * scale)


# ---------------------------------------------------------------------------
# Individual operations.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sa, sb", [((3, 4), (4, 5)), ((1, 4), (4, 1)), ((2, 3, 4), (4, 5)), ((5, 1), (1, 3))]
)
def test_matmul_matches_torch(sa, sb):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    A, B = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    TA, TB = tt(a), tt(b)
    out, ref = A @ B, TA @ TB
    close(out.data, ref.detach().numpy())
    g = rng.standard_normal(out.shape)
    out.backward(g)
    ref.backward(torch.tensor(g))
    close(A.grad, TA.grad.numpy())
    close(B.grad, TB.grad.numpy())


def test_matmul_with_constant_operand_only_grads_the_parameter():
    W = Tensor(np.ones((3, 2)), requires_grad=True)
    out = np.arange(6.0).reshape(2, 3) @ W  # reflected: ndarray @ Tensor
    out.sum().backward()
    close(W.grad, np.array([[3.0, 3], [5, 5], [7, 7]]))


def test_linear_matches_matmul_plus_bias():
    rng = np.random.default_rng(1)
    x, W, b = rng.standard_normal((5, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4)
    leaves = [Tensor(v, requires_grad=True) for v in (x, W, b)]
    refs = [tt(v) for v in (x, W, b)]
    g = rng.standard_normal((5, 4))
    out = linear(*leaves)  # W is (nout, nin): x @ W.T + b, like torch.nn.functional.linear
    ref = refs[0] @ refs[1].T + refs[2]
    close(out.data, ref.detach().numpy())
    out.backward(g)
    ref.backward(torch.tensor(g))
    for a, r in zip(leaves, refs):
        close(a.grad, r.grad.numpy())


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_reductions_match_torch(axis, keepdims, reduction):
    a = np.random.default_rng(2).standard_normal((2, 3, 4))
    A, TA = Tensor(a, requires_grad=True), tt(a)
    out = getattr(A, reduction)(axis=axis, keepdims=keepdims)
    dim = tuple(range(3)) if axis is None else axis
    ref = getattr(TA, reduction)(dim=dim, keepdim=keepdims)
    close(out.data, ref.detach().numpy())
    assert out.shape == tuple(ref.shape)
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    close(A.grad, TA.grad.numpy())


def test_reshape_and_transpose_grads():
    a = np.random.default_rng(3).standard_normal((2, 3, 4))
    A, TA = Tensor(a, requires_grad=True), tt(a)
    w = np.random.default_rng(4).standard_normal((4, 6))
    out = (A.transpose(2, 0, 1).reshape(4, 6) * w).sum() + (
        A.reshape(6, 4).T @ w.T[:, :1]
    ).sum()
    ref = (TA.permute(2, 0, 1).reshape(4, 6) * torch.tensor(w)).sum() + (
        TA.reshape(6, 4).T @ torch.tensor(w.T[:, :1])
    ).sum()
    out.backward()
    ref.backward()
    close(A.grad, TA.grad.numpy())


def test_transpose_accepts_negative_axes():
    A = Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    out = A.transpose(-1, 0, 1)
    assert out.shape == (4, 2, 3)
    (out * np.arange(24.0).reshape(4, 2, 3)).sum().backward()
    close(A.grad, np.arange(24.0).reshape(4, 2, 3).transpose(1, 2, 0))
    with pytest.raises(ValueError, match="not a permutation"):
        A.transpose(0, 0, 1)


def test_indexing_accumulates_repeated_indices():
    A = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    A[np.array([0, 0, 2])].sum().backward()
    close(A.grad, [2.0, 0.0, 1.0])


def test_log_softmax_and_cross_entropy_are_stable_for_large_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 999.0], [5.0, 5.0, 5.0]])
    targets = np.array([2, 1, 0])
    # Any overflow or nan would raise here (underflow to 0 is harmless).
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        A = Tensor(logits, requires_grad=True)
        loss = cross_entropy(A, targets)
        loss.backward()
        B = Tensor(logits, requires_grad=True)
        loss2 = nll_loss(B.log_softmax(axis=-1), targets)
        loss2.backward()
    TA = tt(logits)
    ref = F.cross_entropy(TA, torch.tensor(targets))
    ref.backward()
    assert np.isfinite(loss.item()) and loss.item() > 600  # class 2 of row 0 is hopeless
    close(loss.data, ref.item())
    close(loss2.data, ref.item())
    close(A.grad, TA.grad.numpy())
    close(B.grad, TA.grad.numpy())
    close(Tensor(logits).log_softmax().data, F.log_softmax(TA, dim=-1).detach().numpy())


def test_log_softmax_other_axis_matches_torch():
    x = np.random.default_rng(5).standard_normal((4, 3)) * 30
    g = np.random.default_rng(6).standard_normal((4, 3))
    A, TA = Tensor(x, requires_grad=True), tt(x)
    A.log_softmax(axis=0).backward(g)
    F.log_softmax(TA, dim=0).backward(torch.tensor(g))
    close(A.grad, TA.grad.numpy())


def test_sigmoid_is_stable_and_exact_at_extremes():
    x = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out = Tensor(x).sigmoid().data
    close(out, torch.sigmoid(torch.tensor(x)).numpy(), rtol=1e-15, atol=0)


def test_losses_match_torch():
    rng = np.random.default_rng(7)
    pred, target = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    P, TP = Tensor(pred, requires_grad=True), tt(pred)
    mse_loss(P, target).backward()
    F.mse_loss(TP, torch.tensor(target)).backward()
    close(P.grad, TP.grad.numpy())

    s, y = rng.standard_normal((8, 1)), rng.choice([-1.0, 1.0], 8)
    S, TS = Tensor(s, requires_grad=True), tt(s)
    loss = max_margin_loss(S, y)
    assert max_margin_loss(S, y[:, None]).item() == loss.item()  # (N, 1) labels too
    ref = torch.relu(1 - torch.tensor(y)[:, None] * TS).mean()
    close(loss.data, ref.item())
    loss.backward()
    ref.backward()
    close(S.grad, TS.grad.numpy())

    ws = [rng.standard_normal(sh) for sh in [(3, 2), (2,), (2, 1)]]
    ours, theirs = [Tensor(w, requires_grad=True) for w in ws], [tt(w) for w in ws]
    pen = l2_penalty(ours, 0.01)
    ref = 0.01 * sum((w**2).sum() for w in theirs)
    close(pen.data, ref.item())
    pen.backward()
    ref.backward()
    for a, b in zip(ours, theirs):
        close(a.grad, b.grad.numpy())


FUSED = {
    # name: (shapes of the inputs, scalar function of Tensors)
    "cross_entropy": ([(4, 3)], lambda z: cross_entropy(z, [0, 2, 1, 2])),
    "nll_log_softmax": ([(4, 3)], lambda z: nll_loss(z.log_softmax(axis=1), [1, 1, 0, 2])),
    "linear": ([(5, 3), (2, 3), (2,)], lambda x, W, b: linear(x, W, b).tanh().sum()),
    "batched_matmul": ([(2, 3, 4), (4, 2)], lambda a, b: ((a @ b) ** 2).mean()),
    "softmax": ([(3, 4)], lambda z: (z.softmax(axis=0) * np.arange(12.0).reshape(3, 4)).sum()),
    "mse": ([(4, 2), (4, 2)], lambda p, q: mse_loss(p.sigmoid(), q)),
    "max_margin": ([(6, 1)], lambda s: max_margin_loss(s * 0.3, [1, -1, 1, 1, -1, -1])),
    "l2": ([(3, 2), (2,)], lambda a, b: l2_penalty([a, b], 0.5)),
}


@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_ops_match_finite_differences(name):
    from nnbook.finite_differences import numerical_grad

    shapes, fn = FUSED[name]
    rng = np.random.default_rng(8)
    values = [rng.uniform(-2, 2, s) for s in shapes]
    leaves = [Tensor(v, requires_grad=True) for v in values]
    fn(*leaves).backward()
    for n, leaf in enumerate(leaves):

        def f(x, n=n):
            args = [Tensor(x if k == n else v) for k, v in enumerate(values)]
            return fn(*args).item()

        close(leaf.grad, numerical_grad(f, values[n]), rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------------
# Backward semantics.
# ---------------------------------------------------------------------------


def test_gradients_accumulate_across_backward_calls():
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    close(x.grad, [2.0, -4.0, 6.0])
    y.backward()  # same graph again: leaves add up, like PyTorch
    close(x.grad, [4.0, -8.0, 12.0])
    x.zero_grad()
    close(x.grad, [0.0, 0.0, 0.0])


def test_intermediate_gradient_is_per_pass_and_reuse_adds_up():
    x = Tensor(2.0, requires_grad=True)
    h = x * 3.0  # used three times below
    y = h * h + h
    y.backward()
    y.backward()
    assert h.grad == pytest.approx(2 * 6.0 + 1)  # this pass only, not doubled
    assert x.grad == pytest.approx(2 * 3 * 13.0)


def test_deep_graph_needs_no_recursion():
    x = Tensor(0.5, requires_grad=True)
    y = x
    for _ in range(5_000):  # 10,000 nodes, far past the recursion limit
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0)


def test_backward_needs_grad_for_non_scalar():
    y = Tensor(np.ones((2, 2)), requires_grad=True) * 2.0
    with pytest.raises(ValueError, match=r"scalar output.*\(2, 2\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"grad has shape \(3,\), expected \(2, 2\)"):
        y.backward(np.ones(3))
    with pytest.raises(ValueError, match="does not require grad"):
        Tensor(1.0).exp().backward()


def test_no_graph_is_kept_without_requires_grad():
    out = Tensor([1.0, 2.0]) * Tensor([3.0, 4.0])
    assert not out.requires_grad and out._parents == ()


def test_backward_on_leaf_and_with_explicit_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.backward(np.array([3.0, 4.0]))
    close(x.grad, [3.0, 4.0])


def test_float32_stays_float32():
    x = Tensor(np.ones((4, 3)), requires_grad=True, dtype=np.float32)
    W = Tensor(np.ones((3, 2)), requires_grad=True, dtype=np.float32)
    loss = cross_entropy((x @ W * 0.5 + 1.0).tanh(), [0, 1, 1, 0])
    assert loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == np.float32 and W.grad.dtype == np.float32


def test_construction_copies_and_converts():
    a = np.array([1, 2, 3])
    t = Tensor(a)
    assert t.dtype == np.float64 and t.shape == (3,)
    t.data[0] = 10
    assert a[0] == 1  # the caller's array is untouched
    assert Tensor(2).item() == 2.0
    assert Tensor([[1, 2]]).shape == (1, 2)
    assert "requires_grad=True" in repr(Tensor([1.0], requires_grad=True, label="w"))


# ---------------------------------------------------------------------------
# Errors.
# ---------------------------------------------------------------------------


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match="real numbers"):
        Tensor("abc")
    with pytest.raises(TypeError, match="real numbers"):
        Tensor([1.0, None])
    with pytest.raises(TypeError, match="real numbers"):
        Tensor([1.0]) + "x"
    with pytest.raises(TypeError, match="constant real exponent"):
        Tensor([1.0]) ** Tensor([2.0])


def test_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) @ \(4, 5\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"reshape 1-D"):
        Tensor(np.ones(3)) @ Tensor(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4,\)"):
        Tensor(np.ones((2, 3))) + Tensor(np.ones(4))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(7,\)"):
        Tensor(np.ones((2, 3))).reshape(7)
    with pytest.raises(ValueError, match=r"positive inputs"):
        Tensor([1.0, 0.0]).log()
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(3,\)"):
        max_margin_loss(Tensor(np.ones((4, 1))), np.ones(3))
    with pytest.raises(ValueError, match="at least one parameter"):
        l2_penalty([], 0.1)
    with pytest.raises(TypeError, match="expects Tensors"):
        l2_penalty([np.ones(2)], 0.1)
    with pytest.raises(ValueError, match=r"\(2, 3\) != target shape \(3, 2\)"):
        mse_loss(Tensor(np.ones((2, 3))), np.ones((3, 2)))


@pytest.mark.parametrize("loss", [cross_entropy, nll_loss])
def test_target_errors(loss):
    logits = Tensor(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"class targets must have shape \(3,\), got \(2,\)"):
        loss(logits, [0, 1])
    with pytest.raises(ValueError, match=r"\[0, 3\] for 4 classes; got range \[0, 4\]"):
        loss(logits, [0, 1, 4])
    with pytest.raises(ValueError, match=r"\[0, 3\]"):
        loss(logits, [0, -1, 2])
    with pytest.raises(TypeError, match="integer class indices"):
        loss(logits, [0.5, 1, 2])
    with pytest.raises(ValueError, match=r"2-D"):
        loss(Tensor(np.zeros(4)), [0])
