"""Tests for nnbook.engine.Value: random graphs against PyTorch and finite
differences, graph-shape corner cases, gradient semantics and error messages."""

import gc
import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nnbook.engine import Value, dot, gc_paused, topological_order

# ----------------------------------------------------------------------
# Random expression graphs
# ----------------------------------------------------------------------
# A program is a list of (op, i, j): node i and j are earlier nodes (leaves
# or results), so nodes get reused and the graph is a DAG, not a tree. Every
# op is written once and runs unchanged on Values and on torch tensors
# (both have + - * / ** abs and .tanh() .sigmoid() .relu() .exp() .log()).
# Ops with a restricted domain are guarded (log of a*a + 0.5, ...) so any
# random program is well defined.

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1.0),
    "raw_div": lambda a, b: a / b,  # only used when |b| is not tiny, see below
}
UNARY = {
    "neg": lambda a: -a,
    "radd": lambda a: 2.0 + a,
    "rsub": lambda a: 2.0 - a,
    "rmul": lambda a: 3.0 * a,
    "rdiv": lambda a: 2.0 / (a * a + 1.0),
    "sq": lambda a: a**2,
    "cube": lambda a: a**3,
    "sqrt": lambda a: (a * a + 1.0) ** 0.5,
    "invpow": lambda a: (a * a + 1.0) ** -1.5,
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "relu": lambda a: a.relu(),
    "abs": lambda a: abs(a),
    "exp": lambda a: a.tanh().exp(),
    "log": lambda a: (a * a + 0.5).log(),
}
KINKED = {"relu", "abs"}  # not differentiable at 0: finite differences fail there


@st.composite
def programs(draw):
    n_leaves = draw(st.integers(1, 4))
    leaves = draw(st.lists(st.floats(-2, 2), min_size=n_leaves, max_size=n_leaves))
    n_ops = draw(st.integers(1, 14))
    prog = []
    for k in range(n_ops):
        n_nodes = n_leaves + k
        op = draw(st.sampled_from(sorted(BINARY) + sorted(UNARY)))
        # bias towards the latest nodes so graphs get deep, but allow reuse of any
        i = draw(st.integers(0, n_nodes - 1) | st.just(n_nodes - 1))
        j = draw(st.integers(0, n_nodes - 1))
        prog.append((op, i, j))
    return leaves, prog


def run(prog, leaves):
    """Execute a program; return all nodes (leaves first)."""
    nodes = list(leaves)
    for op, i, j in prog:
        if op in BINARY:
            nodes.append(BINARY[op](nodes[i], nodes[j]))
        else:
            nodes.append(UNARY[op](nodes[i]))
    return nodes


def safe(prog, values):
    """False if the program divides by ~0, overflows, or sits on a kink."""
    for (op, i, j), out in zip(prog, values[-len(prog):]):
        if op == "raw_div" and abs(values[j]) < 1e-2:
            return False
        if op in KINKED and abs(values[i]) < 1e-4:
            return False
        if not math.isfinite(out) or abs(out) > 1e6:
            return False
    return True


def float_values(prog, leaves):
    """Forward pass on plain Values, only the numbers, with exceptions caught."""
    try:
        return [v.data for v in run(prog, [Value(x) for x in leaves])]
    except (ZeroDivisionError, OverflowError, ValueError):
        return None


@settings(max_examples=150, deadline=None)
@given(programs())
def test_random_graphs_match_torch_float64(case):
    leaves, prog = case
    values = float_values(prog, leaves)
    assume(values is not None and safe(prog, values))

    ours = [Value(x) for x in leaves]
    out = run(prog, ours)[-1]
    out.backward()

    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in leaves]
    t_out = run(prog, theirs)[-1]
    if t_out.requires_grad:  # a program may not depend on any leaf... it always does; guard anyway
        t_out.backward()
    assert out.data == pytest.approx(t_out.item(), rel=1e-12, abs=1e-12)
    for v, t in zip(ours, theirs):
        expected = 0.0 if t.grad is None else t.grad.item()
        assert v.grad == pytest.approx(expected, rel=1e-9, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(programs())
def test_random_graphs_match_finite_differences(case):
    leaves, prog = case
    values = float_values(prog, leaves)
    assume(values is not None and safe(prog, values))
    # Stay away from kinks by more than the finite-difference step can move us.
    assume(all(not (op in KINKED and abs(values[i]) < 1e-3) for op, i, _ in prog))

    ours = [Value(x) for x in leaves]
    out = run(prog, ours)[-1]
    out.backward()

    eps = 1e-6
    for k, x in enumerate(leaves):
        plus, minus = list(leaves), list(leaves)
        plus[k], minus[k] = x + eps, x - eps
        vp, vm = float_values(prog, plus), float_values(prog, minus)
        assume(vp is not None and vm is not None)
        numeric = (vp[-1] - vm[-1]) / (2 * eps)
        scale = max(1.0, abs(out.data))
        assert ours[k].grad == pytest.approx(numeric, rel=1e-4, abs=1e-6 * scale)


# ----------------------------------------------------------------------
# Hand-checked gradients and graph shapes
# ----------------------------------------------------------------------

def test_simple_expression_by_hand():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b + a**2  # dc/da = b + 2a = 1, dc/db = a = 2
    c.backward()
    assert (c.data, a.grad, b.grad) == (-2.0, 1.0, 2.0)
    assert c.grad == 1.0  # the seed


def test_reused_node_a_times_a():
    a = Value(3.0)
    b = a * a
    b.backward()
    assert b._prev == (a, a)
    assert a.grad == 6.0


def test_reused_node_a_plus_a():
    a = Value(3.0)
    (a + a).backward()
    assert a.grad == 2.0


def test_diamond_graph():
    a = Value(2.0)
    b, c = a * 3.0, a.tanh()  # two paths from a to d
    d = b * c
    d.backward()
    t = math.tanh(2.0)
    assert a.grad == pytest.approx(3.0 * t + 3.0 * 2.0 * (1 - t * t), rel=1e-15)
    assert b.grad == pytest.approx(t) and c.grad == pytest.approx(6.0)


def test_deep_chain_of_100k_nodes():
    x = Value(0.5)
    y = x
    for _ in range(100_000):
        y = -y  # each node depends only on the one before: depth 100,000
    y.backward()  # a recursive topological sort would raise RecursionError
    assert x.grad == 1.0  # (-1) ** 100000
    assert y.data == 0.5
    y.zero_grad()  # also iterative
    assert x.grad == 0.0
    del y  # freeing a deep chain must not crash either


def test_second_backward_accumulates_in_leaves_only():
    a, b = Value(2.0), Value(3.0)
    h = a * b  # intermediate
    out = h.tanh() + a
    out.backward()
    first = (a.grad, b.grad, h.grad)
    out.backward()
    # leaves: doubled, as in PyTorch; intermediate: recomputed, not doubled
    assert a.grad == pytest.approx(2 * first[0]) and b.grad == pytest.approx(2 * first[1])
    assert h.grad == first[2]
    out.zero_grad()
    assert a.grad == b.grad == h.grad == out.grad == 0.0
    out.backward()
    assert (a.grad, b.grad, h.grad) == first


def test_backward_on_a_leaf_accumulates_one():
    a = Value(4.0)
    a.backward()
    a.backward()
    assert a.grad == 2.0


def test_graphs_have_no_reference_cycles():
    # Without cycles, reference counting frees a graph as soon as it is
    # dropped, and the cyclic garbage collector finds nothing to do.
    gc.collect()
    gc.disable()
    try:
        a = Value(1.5)
        out = ((a * a).tanh() + a.exp() / 2 - a.sigmoid() ** 2).relu()
        out.backward()
        del out
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_dot_matches_the_chain_of_binary_ops():
    rng = np.random.default_rng(3)
    wv, xv = rng.normal(size=5), rng.normal(size=5)
    w1, x1, b1 = [Value(v) for v in wv], [Value(v) for v in xv], Value(0.3)
    w2, x2, b2 = [Value(v) for v in wv], [Value(v) for v in xv], Value(0.3)
    fused = dot(w1, x1, b1).tanh()
    chain = b2
    for w, x in zip(w2, x2):
        chain = chain + w * x
    chain = chain.tanh()
    fused.backward()
    chain.backward()
    assert fused.data == chain.data  # same summation order: bit for bit
    for p, q in zip(w1 + x1 + [b1], w2 + x2 + [b2]):
        assert p.grad == pytest.approx(q.grad, rel=1e-15)
    assert fused._prev[0]._op == "dot" and len(fused._prev[0]._prev) == 11


def test_dot_errors_and_constants():
    out = dot([Value(2.0)], [3.0], 1.0)  # numbers become constant leaves
    assert out.data == 7.0
    with pytest.raises(ValueError, match="as many weights as inputs, got 2 and 1"):
        dot([Value(1.0), Value(2.0)], [1.0])


# ----------------------------------------------------------------------
# Operations, numbers and stability
# ----------------------------------------------------------------------

def test_reflected_ops():
    v = Value(4.0)
    assert (2 + v).data == 6.0
    assert (2 * v).data == 8.0
    assert (2 - v).data == -2.0
    assert (2 / v).data == 0.5
    assert (-v).data == -4.0
    r = 2 / v
    r.backward()
    assert v.grad == pytest.approx(-2 / 16)


def test_numpy_scalars_and_bools_are_numbers():
    v = Value(np.float64(1.5)) + np.int64(2)
    assert v.data == 3.5 and type(v.data) is float
    assert (Value(np.float32(0.5)) * np.int32(4)).data == 2.0
    assert Value(True).data == 1.0  # bool is an int in Python; we accept it


@pytest.mark.parametrize("x", [1000.0, -1000.0, 1e308, -1e308])
def test_tanh_and_sigmoid_are_stable(x):
    t, s = Value(x), Value(x)
    yt, ys = t.tanh(), s.sigmoid()
    assert yt.data == math.copysign(1.0, x)
    assert ys.data == (1.0 if x > 0 else 0.0)
    yt.backward()
    ys.backward()
    assert t.grad == 0.0 and s.grad == 0.0


def test_sigmoid_values():
    for x in [-30.0, -2.0, 0.0, 0.5, 30.0]:
        assert Value(x).sigmoid().data == pytest.approx(1 / (1 + math.exp(-x)), rel=1e-14)


def test_relu_gradient_at_zero_is_zero_like_torch():
    a = Value(0.0)
    a.relu().backward()
    assert a.grad == 0.0


def test_repr():
    assert repr(Value(0.5)) == "Value(data=0.5, grad=0.0)"
    assert repr(Value(2, label="w")) == "Value(data=2.0, grad=0.0, label='w')"


def test_pow_variants():
    a = Value(4.0)
    y = a**0.5 + a**-1 + a**0
    y.backward()
    assert y.data == pytest.approx(2.0 + 0.25 + 1.0)
    assert a.grad == pytest.approx(0.5 / 2.0 - 1 / 16)
    assert (Value(-2.0) ** 3).data == -8.0
    assert (Value(-2.0) ** 2.0).data == 4.0  # integral float exponent is fine


# ----------------------------------------------------------------------
# Error messages
# ----------------------------------------------------------------------

@pytest.mark.parametrize(
    "bad, name", [("abc", "str"), ([1.0], "list"), (None, "NoneType"), (1j, "complex")]
)
def test_non_numeric_operands_name_their_type(bad, name):
    v = Value(1.0)
    for op in (lambda: v + bad, lambda: v * bad, lambda: v - bad, lambda: v / bad,
               lambda: bad - v, lambda: bad / v, lambda: Value(bad)):
        with pytest.raises(TypeError, match=rf"must be a number .*got {name}"):
            op()


def test_numpy_array_operand_is_rejected():
    with pytest.raises(TypeError, match="got ndarray"):
        Value(np.array([1.0, 2.0]))


def test_pow_with_value_exponent_is_a_type_error():
    with pytest.raises(TypeError, match=r"exponent of \*\* must be an int or float constant, got a Value"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(TypeError, match="exponent must be a number .*got str"):
        Value(2.0) ** "3"


def test_pow_domain_errors():
    with pytest.raises(ValueError, match=r"cannot raise negative Value\(data=-8.0.*non-integer power 0.5"):
        Value(-8.0) ** 0.5
    with pytest.raises(ZeroDivisionError, match="negative power"):
        Value(0.0) ** -1


def test_log_of_non_positive_names_the_value():
    with pytest.raises(ValueError, match=r"log is only defined for positive numbers, got Value\(data=-1.0"):
        Value(-1.0).log()
    with pytest.raises(ValueError, match=r"got Value\(data=0.0, grad=0.0, label='x'\)"):
        Value(0.0, label="x").log()


def test_division_by_zero():
    with pytest.raises(ZeroDivisionError, match=r"division by zero: Value\(data=1.0"):
        Value(1.0) / 0
    with pytest.raises(ZeroDivisionError):
        1 / Value(0.0)


def test_exp_overflow_names_the_value():
    with pytest.raises(OverflowError, match=r"exp overflows for Value\(data=1000.0"):
        Value(1000.0).exp()


def test_backward_rules_are_module_functions_not_closures():
    # The design decision that avoids cycles: each node points at a shared
    # function, never at a closure over itself.
    a = Value(1.0)
    assert (a * 2)._rule is Value._mul_backward
    assert a._rule is None
    assert not hasattr(a, "__dict__")  # __slots__


def test_backward_runs_one_rule_without_arguments_as_in_micrograd():
    a, b = Value(2.0), Value(-3.0)
    out = a * b
    out.grad = 2.0
    out._backward()  # micrograd's (and chapter 3's) call: no argument
    assert (a.grad, b.grad) == (-6.0, 4.0)
    a._backward()  # a leaf's rule does nothing
    assert a.grad == -6.0


def test_constructor_takes_micrograd_and_chapter_3_order():
    # Value(data, _children, _op, label): Value(2.0, (a, b), "+") means the same as in chapter 3
    a, b = Value(1.0), Value(1.0)
    c = Value(2.0, (a, b), "+", "c")
    assert (c.data, c._prev, c._op, c.label) == (2.0, (a, b), "+", "c")
    c.backward()  # made by hand, not by an op: no rule, nothing reaches a and b
    assert (c.grad, a.grad, b.grad) == (1.0, 0.0, 0.0)
    assert Value(3.0, label="x").label == "x" and Value(3.0)._prev == ()


def test_topological_order_lists_inputs_first_and_each_node_once():
    a = Value(0.5)
    d = a.tanh() * a.exp()
    order = topological_order(d)
    assert len(order) == 4 and order[0] is a and order[-1] is d
    position = {id(n): k for k, n in enumerate(order)}
    assert all(position[id(c)] < position[id(n)] for n in order for c in n._prev)


def test_gc_paused_restores_the_collector_state():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nesting keeps it off
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with gc_paused():
            raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # was off before, stays off
    finally:
        gc.enable()


def _chapter_3_value():
    """The ``Value`` class students write in chapter 3, with the reference answers in place."""
    import json
    from pathlib import Path

    notebook = Path(__file__).resolve().parents[1] / "chapters" / "ch03_backpropagation.ipynb"
    cells = json.loads(notebook.read_text())["cells"]
    namespace = {"math": math, "np": np}
    for cell in cells:  # the class, and the topological_order its backward() calls
        if cell["metadata"].get("nbgrader", {}).get("grade_id") in ("ch03-value", "ch03-topological-order"):
            exec(compile("".join(cell["source"]), str(notebook), "exec"), namespace)
    return namespace["Value"]


def test_chapter_3_engine_and_the_library_are_interchangeable():
    student_value = _chapter_3_value()
    results = []
    for V in (student_value, Value):
        a, b = V(1.0), V(-2.0)
        c = V(2.0, (a, b), "+")  # the student's (and micrograd's) positional order
        assert (c.data, c._prev, c._op, c.label) == (2.0, (a, b), "+", "")
        assert V(3.0, (), "", "w").label == "w" and V(3.0, label="w").label == "w"
        out = a * b
        out.grad = 2.0
        out._backward()  # one node's rule alone, called without arguments
        assert (a.grad, b.grad) == (-4.0, 2.0)

        x, y = V(0.7), V(-1.3)
        z = (x * y).tanh() + x**2 - y.exp() * 0.5 + (x - y) / (x + 2.0) + (2.0 - x).relu()
        z.backward()
        results.append([z.data, x.grad, y.grad])
    np.testing.assert_allclose(results[0], results[1], rtol=1e-14)
