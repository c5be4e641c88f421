"""Reference answers for chapter 3 (computational graphs and backpropagation), with their randomised inputs.

The student writes a class, ``Value``, so its hidden tests cannot compare objects. Each test
cell instead defines a small *fingerprint*: it builds a graph from plain inputs (numbers and
lists of operation specs) with the student's class, runs it, and returns plain numbers. The
fingerprints here do the same with the library's ``nnbook.engine.Value``.

A *program* is a list of leaf values and a list of operations ``[op, i, arg]``; each
operation appends one node computed from node ``i`` (leaves first, then earlier results):

* ``"+" "-" "*" "/"``: node ``i`` with node ``arg`` (``arg == i`` reuses a node);
* ``"+c"`` ...: node ``i`` with the constant ``arg``; ``"c+"`` ...: the constant first
  (Python's reflected operators, ``2 - a``);
* ``"**"``: node ``i`` to the constant power ``arg``;
* ``"neg" "exp" "tanh" "relu"``: one-input operations (``arg`` unused);
* ``"detach"``: a new leaf holding node ``i``'s number, the classic way to cut a graph.
"""

import numpy as np

from nnbook.engine import Value, topological_order
from nnbook.finite_differences import numerical_grad

_BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b}


def _apply(nodes, op, i, arg):
    a = nodes[i]
    if op in _BINARY:
        return _BINARY[op](a, nodes[arg])
    if op[0] == "c":
        return _BINARY[op[1]](arg, a)
    if op[-1] == "c":
        return _BINARY[op[0]](a, arg)
    if op == "**":
        return a ** arg
    if op == "neg":
        return -a
    if op == "detach":
        return Value(a.data)
    return getattr(a, op)()


def _build(leaves, ops):
    nodes = [Value(x) for x in leaves]
    for op, i, arg in ops:
        nodes.append(_apply(nodes, op, i, arg))
    return nodes


# ---------------------------------------------------------------- fingerprints
def local_rule(op, a, b, upstream, same):
    """One node's forward value and what its backward rule adds to its inputs' gradients."""
    x = Value(a)
    y = x if same else Value(b)
    if op in _BINARY:
        out = _BINARY[op](x, y)
    elif op[0] == "c":
        out = _BINARY[op[1]](b, x)
    elif op[-1] == "c":
        out = _BINARY[op[0]](x, b)
    elif op == "**":
        out = x ** b
    else:
        out = getattr(x, op)()
    out.grad = upstream
    out._backward()
    return [out.data, x.grad, y.grad]


def run_program(leaves, ops):
    """Every node's data and gradient after backward() from the last node."""
    nodes = _build(leaves, ops)
    nodes[-1].backward()
    return [[n.data for n in nodes], [n.grad for n in nodes]]


def topological_check(leaves, ops):
    """Whether an order lists every reachable node once, each after its inputs, the root last."""
    nodes = _build(leaves, ops)
    order = topological_order(nodes[-1])
    return order_properties(nodes[-1], order)


def order_properties(root, order):
    reachable, stack = set(), [root]
    while stack:
        node = stack.pop()
        if id(node) not in reachable:
            reachable.add(id(node))
            stack.extend(node._prev)
    position = {id(n): k for k, n in enumerate(order)}
    complete = len(order) == len(position) and set(position) == reachable
    inputs_first = all(position.get(id(c), len(order)) < position[id(n)] for n in order for c in n._prev)
    return [complete, inputs_first, len(order) > 0 and order[-1] is root]


def deep_chain(x0, depth, a):
    """A chain `depth` steps deep in which every step reuses its input twice."""
    x = Value(x0)
    v = x
    for _ in range(depth):
        v = v + (v * 0.5).tanh() * a
    v.backward()
    return [v.data, x.grad]


def _analytic_and_numeric(leaves, ops, h):
    leaf_nodes = _build(leaves, ops)
    leaf_nodes[-1].backward()
    analytic = np.array([n.grad for n in leaf_nodes[:len(leaves)]])
    numeric = numerical_grad(lambda v: _build(list(v), ops)[-1].data, np.array(leaves, dtype=float), eps=h)
    return analytic, numeric


def gradient_check_program(leaves, ops, h):
    """The gradient check of a program: analytic and numeric gradients, and the worst relative error (a number)."""
    analytic, numeric = _analytic_and_numeric(leaves, ops, h)
    errors = np.abs(analytic - numeric) / np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), 1e-8)
    return [analytic, numeric, float(errors.max(initial=0.0))]


def _test_function(A, c):
    def f(v):
        return 0.5 * v @ A @ v + c @ v + np.sum(np.sin(v))
    return f


def gradient_of_test_function(A, c, x, h):
    return numerical_grad(_test_function(A, c), x, eps=h)


# ---------------------------------------------------------------- random inputs
# Local rules at their edges, in every student's cases (op, a, b, upstream, same).
FIXED_LOCAL = {
    "+": [("+", 0.0, 0.0, 1.0, False), ("+", 2.5, 0.0, -3.0, True)],
    "*": [("*", 0.0, 4.0, 2.0, False), ("*", -1.5, 0.0, 0.5, True)],
    "+c": [("+c", 1.0, 0.0, 2.0, False)],
    "*c": [("*c", 3.0, 0.0, -1.0, False)],
    "**": [("**", -2.0, 3.0, 1.5, False), ("**", 4.0, 0.5, -2.0, False), ("**", 5.0, 1.0, 3.0, False)],
    "exp": [("exp", -800.0, 0.0, 1.0, False), ("exp", 700.0, 0.0, 1e-300, False), ("exp", 0.0, 0.0, -4.0, False)],
    "tanh": [("tanh", 20.0, 0.0, 3.0, False), ("tanh", -1000.0, 0.0, 1.0, False), ("tanh", 0.0, 0.0, -2.0, False)],
    "relu": [("relu", 0.0, 0.0, 5.0, False), ("relu", 1e-300, 0.0, 2.0, False), ("relu", -1e-300, 0.0, 2.0, False)],
}


def _local_cases(ops):
    def make(rng, n):
        cases = []
        for k in range(n):
            op = ops[k % len(ops)]
            a = float(rng.uniform(-3, 3))
            if op == "**":
                b = float(rng.choice([2.0, 3.0, -1.0, 0.5, 1.5]))
                if b != int(b):
                    a = abs(a) + 0.1  # a fractional power of a negative number is complex
                elif b < 0:
                    a = a if abs(a) > 0.3 else 1.7
            else:
                b = float(rng.uniform(-3, 3))
            same = bool(k % 3 == 0) and op in _BINARY
            cases.append((op, a, b, float(rng.choice([1.0, -2.5, 0.3]) * rng.uniform(0.5, 2)), same))
        return cases + [case for op in ops for case in FIXED_LOCAL[op]]
    return make


def _random_program(rng, ops, n_leaves, n_ops, away_from_kinks=0.0):
    """A program whose every step is well defined and of moderate size (checked on the library's engine)."""
    leaves = [float(v) for v in rng.uniform(-2, 2, n_leaves)]
    nodes = [Value(x) for x in leaves]
    program = []
    while len(program) < n_ops:
        op = str(rng.choice(ops))
        # prefer recent nodes, so the graph grows deep as well as wide
        i = int(len(nodes) - 1 - min(rng.geometric(0.4) - 1, len(nodes) - 1))
        j = i if rng.random() < 0.25 else int(rng.integers(0, len(nodes)))
        if op in _BINARY:
            arg = j
            if op == "/" and abs(nodes[j].data) < 0.3:
                continue
        elif op == "**":
            arg = float(rng.choice([2.0, 3.0, -1.0, 0.5]))
            if (arg < 0 and abs(nodes[i].data) < 0.3) or (arg == 0.5 and nodes[i].data < 0.1):
                continue
        elif op[0] == "c" or op[-1] == "c":
            arg = float(rng.choice([-1, 1]) * rng.uniform(0.5, 3))
            if op == "c/" and abs(nodes[i].data) < 0.3:
                continue
        else:
            arg = 0
            if op == "relu" and abs(nodes[i].data) < away_from_kinks:
                continue
        out = _apply(nodes, op, i, arg)
        if not abs(out.data) < 20:
            continue
        nodes.append(out)
        program.append([op, i, arg])
    return leaves, program


_ALL_OPS = ["+", "-", "*", "/", "+c", "c+", "-c", "c-", "*c", "c*", "/c", "c/", "**", "neg", "exp", "tanh", "relu"]


def _reused(op, arg=0, x=0.7):
    """``op`` on a leaf that the output uses again: a rule that sets its input's grad with = instead of += loses
    the other use's share, whichever order a correct backward pass runs them in."""
    return [x], [[op, 0, arg], ["*", 1, 0], ["+", 2, 0]]


# In every student's cases: each operation on a node that is used again, a node used twice by one operation,
# a constant 0 and a ReLU at exactly 0.
FIXED_GRAPHS = [_reused(op, arg) for op, arg in [("exp", 0), ("tanh", 0), ("relu", 0), ("**", 2.0), ("**", 3.0),
                                                   ("+c", 1.5), ("*c", -2.0), ("neg", 0), ("+", 0), ("*", 0)]] + [
    ([1.3, -0.4], [["*", 0, 0], ["*", 2, 1], ["+", 3, 0]]),
    ([0.0, 2.0], [["relu", 0, 0], ["*", 2, 1], ["+", 3, 1]]),
    ([0.9], [["*c", 0, 0.0], ["+", 1, 0], ["tanh", 2, 0]]),
]
FIXED_DERIVED = [_reused(op, arg) for op, arg in [("-", 0), ("/", 0), ("-c", 2.0), ("c-", 2.0), ("/c", 4.0),
                                                    ("c/", 3.0), ("neg", 0)]] + [([2.0, -0.5], [["/", 0, 1], ["-", 2, 1]])]


def _programs(ops, sizes, fixed=()):
    def make(rng, n):
        cases = []
        for k in range(n):
            n_leaves, n_ops = sizes[k % len(sizes)]
            cases.append(_random_program(rng, ops, n_leaves, n_ops))
        return cases + list(fixed)
    return make


def _deep_chains(rng, n):
    return [(float(rng.uniform(-1, 1)), int(rng.integers(1500, 3000)), float(rng.uniform(-0.01, 0.01)))
            for _ in range(min(n, 4))]


# Gradient checks in every student's cases. The relative error of a correct engine is round-off and truncation;
# these cases keep it far from the errors that the plausible wrong formulas give (an absolute error, a relative
# error over |a| + |n|, no floor): gradients far below and far above 1, and cut graphs whose analytic gradient is
# too small, too large, or 0.
FIXED_CHECKS = [
    ([0.7], [["tanh", 0, 0], ["*c", 1, 1e-6]], 1e-4),  # gradient 6e-7, correct
    ([15.0], [["exp", 0, 0]], 1e-4),  # gradient 3.3e6, correct: absolute error ~5e-3, relative ~2e-9
    ([0.4], [["*c", 0, 1e-6], ["detach", 1, 0], ["*", 2, 0]], 1e-4),  # cut, tiny: analytic half the numeric
    ([2.0], [["*c", 0, 1e3], ["*", 1, 1], ["detach", 1, 0], ["*", 3, 1], ["-", 2, 4]], 1e-4),  # cut: numeric 0, analytic 2e6
    ([1.5], [["*", 0, 0], ["+", 1, 1], ["detach", 0, 0], ["*", 3, 0], ["-", 2, 4]], 1e-4),  # cut: analytic 3x, numeric 2x
    ([1.5], [["detach", 0, 0], ["*c", 1, 2.0], ["*", 2, 0]], 1e-6),  # the public example: analytic 3, numeric 6
    ([0.3, 2.0], [["tanh", 0, 0], ["*c", 2, 3.0]], 1e-4),  # the second leaf is unused: 0 and 0
    ([-0.5, 1.2], [["relu", 0, 0], ["*", 2, 1], ["+", 3, 1]], 1e-4),  # a closed ReLU gate: 0 and 0 for the first leaf
    ([1.0], [["**", 0, 3.0]], 0.1),  # h = 0.1 given: numeric 3.01, relative error 0.0033
    ([3.0, -2.0], [["*", 0, 1], ["*c", 2, 1e5], ["tanh", 0, 0], ["+", 3, 4]], 1e-4),  # gradients 2e5 and 3e5
]


def _leaves_in_value(n_leaves, program):
    """Which leaves the output's number depends on (through detach too): only those can move the numeric gradient."""
    inputs = [[] for _ in range(n_leaves)] + [[i, arg] if op in _BINARY else [i] for op, i, arg in program]
    used, stack = set(), [len(inputs) - 1]
    while stack:
        node = stack.pop()
        if node not in used:
            used.add(node)
            stack.extend(inputs[node])
    return [k in used for k in range(n_leaves)]


def _well_conditioned(leaves, program, h):
    """A random check whose relative error is the same for every correct engine: for each leaf the output's number
    depends on, a numeric gradient well above the round-off of the centred difference (about 1e-16 |f| / h) and an
    analytic one that is 0 (a cut path) or as large; the other leaves give 0 and 0 in every engine."""
    analytic, numeric = _analytic_and_numeric(leaves, program, h)
    used = np.array(_leaves_in_value(len(leaves), program))
    fine = (np.abs(numeric) > 1e-2) & ((analytic == 0) | (np.abs(analytic) > 1e-2))
    return bool(np.all(fine[used]))


def _checked_programs(rng, n):
    cases = []
    while len(cases) < n:
        ops = _ALL_OPS + (["detach", "detach"] if len(cases) % 2 else [])
        leaves, program = _random_program(rng, ops, int(rng.integers(1, 5)), int(rng.integers(3, 15)),
                                          away_from_kinks=0.05)
        h = float(rng.choice([1e-4, 1e-3]))
        if _well_conditioned(leaves, program, h):
            cases.append((leaves, program, h))
    return cases + FIXED_CHECKS


def _vector_functions(rng, n):
    cases = []
    for _ in range(n):
        d = int(rng.integers(1, 7))
        M = rng.standard_normal((d, d))
        cases.append((M + M.T, rng.standard_normal(d), rng.standard_normal(d), 1e-3))
    # a large step (forward and centred differences far apart), one parameter, a point at 0, no parameters
    return cases + [(np.array([[2.0, 1.0], [1.0, -3.0]]), np.array([1.0, 0.5]), np.array([0.3, -1.2]), 0.5),
                    (np.array([[4.0]]), np.array([-1.0]), np.array([0.0]), 1e-3),
                    (np.zeros((0, 0)), np.zeros(0), np.zeros(0), 1e-3)]


CASES = {
    "value_add_mul": (local_rule, _local_cases(["+", "*", "+c", "*c"])),
    "value_pow_exp": (local_rule, _local_cases(["**", "exp"])),
    "value_tanh_relu": (local_rule, _local_cases(["tanh", "relu"])),
    "topological_order": (topological_check, _programs(_ALL_OPS, [(1, 4), (3, 12), (5, 40)], [
        ([0.5], []), ([0.5], [["*", 0, 0]]), ([0.5], [["tanh", 0, 0], ["exp", 0, 0], ["*", 1, 2]]),
        ([1.0, 2.0], [["+c", 0, 1.0]]), ([1.0, 2.0, 3.0], [["+", 0, 1], ["*", 3, 3], ["detach", 4, 0], ["*", 5, 2]])])),
    "value_derived": (run_program, _programs(["-", "/", "-c", "c-", "/c", "c/", "neg", "+", "*"], [(2, 3), (3, 8)],
                                             FIXED_DERIVED)),
    "value_graphs": (run_program, _programs(_ALL_OPS, [(1, 5), (2, 10), (4, 30), (6, 80)], FIXED_GRAPHS)),
    "deep_chain": (deep_chain, _deep_chains),
    "numerical_gradient": (gradient_of_test_function, _vector_functions),
    "gradient_check": (gradient_check_program, _checked_programs),
}
