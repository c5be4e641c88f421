"""Scalar reverse-mode automatic differentiation: the ``Value`` class.

A ``Value`` wraps one float. Every arithmetic operation on Values returns a new
Value that remembers its inputs (``_prev``), the operation that produced it
(``_op``) and how to push a gradient back to those inputs (its rule, ``_rule``).
Calling ``backward()`` on the final result walks that graph from the output
to the inputs and fills in ``.grad`` of every node with d(output)/d(node).

Design choices (they matter for speed and for teaching):

* The constructor is micrograd's (and chapter 3's): ``Value(data, _children=(),
  _op="", label="")``, so ``Value(2.0, (a, b), "+")`` means the same here as in
  the engine you write in chapter 3.
* Each op's backward rule is a static method written right under its
  forward method. It takes the output node as its only argument, and the
  node stores a reference to that shared function (``_rule``). micrograd
  instead stores on ``out`` a closure that captures ``out`` itself: a
  reference cycle, so every graph must be found and freed by Python's cyclic
  garbage collector, which walks the whole (huge) graph again and again.
  Without cycles, plain reference counting frees a graph the moment the loss
  goes out of scope. ``out._backward()`` still runs one node's rule alone, as
  in micrograd: it is made on demand and never stored.
* ``__slots__`` makes each node small and attribute access fast.
* The topological sort (``topological_order``, shared with ``nnbook.tensor``)
  is iterative, so a chain 100,000 nodes deep works (a recursive sort would
  hit Python's recursion limit at ~1,000).
* ``dot(w, x, b)`` computes a neuron's ``b + sum(w_i * x_i)`` as one node
  instead of 2n, which is what makes ``nnbook.value_nn.MLP`` fast.
* Even without cycles, the collector still scans the growing graph from
  time to time while it is being built (it is triggered by the number of
  objects allocated). ``with gc_paused(): ...`` around a training loop
  switches it off; safe here because our graphs never need it, and about
  twice as fast when big libraries such as torch are loaded. (In micrograd
  the same trick would leak every graph until the block ends.)

Gradient semantics (the same as PyTorch):

* ``backward()`` seeds the output with gradient 1.0.
* Leaves (Values made by you, not by an op) ACCUMULATE: calling
  ``backward()`` twice on the same graph doubles their ``.grad``. Reset them
  with ``zero_grad()`` (or ``nnbook.value_nn.Module.zero_grad()`` for a model)
  before each new backward pass.
* Intermediate nodes hold the gradient of the most recent ``backward()``
  only; it is kept so ``nnbook.graph.draw_graph`` can show it.

Numbers: an operand may be an ``int``, a ``float``, a ``bool`` (Python treats
it as the int 0 or 1, and so do we) or a numpy scalar such as ``np.float64``
or ``np.int64``. Anything else raises ``TypeError`` naming its type.
"""

from __future__ import annotations

import gc
import math
import numbers
from contextlib import contextmanager

from . import activations

__all__ = ["Value", "dot", "gc_paused", "topological_order"]


def _check_number(x, what="operand"):
    """Return ``x`` as a float, or raise TypeError saying what it was."""
    # The fast path covers int, float, bool and np.float64 (a float subclass);
    # numbers.Real also admits np.int64, np.float32, fractions, ...
    if isinstance(x, (float, int)) or isinstance(x, numbers.Real):
        return float(x)
    raise TypeError(
        f"Value {what} must be a number (int, float or numpy scalar) or a Value, "
        f"got {type(x).__name__}: {x!r}"
    )


def _no_rule():
    """The backward rule of a node that has nothing to propagate (a leaf)."""


def _inputs(node):
    return node._prev


def topological_order(root, inputs=_inputs):
    """Every node ``root`` depends on, each after all of its inputs, ``root`` last.

    ``inputs(node)`` gives the nodes ``node`` was computed from: a ``Value``'s
    ``_prev`` by default (chapter 3's ``topological_order(root)``), a ``Tensor``'s
    ``_parents`` for ``nnbook.tensor``. Iterative depth-first search: each stack
    entry carries a flag saying whether its inputs have already been pushed, and a
    node is emitted when it comes back off the stack with that flag set, i.e. after
    all of them.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            for child in inputs(node):
                if child not in visited:
                    stack.append((child, False))
    return order


class Value:
    """One scalar in a computation graph, with its gradient.

    >>> a = Value(2.0, label="a"); b = Value(-3.0, label="b")
    >>> c = a * b + a ** 2
    >>> c.backward()
    >>> a.grad, b.grad   # dc/da = b + 2a, dc/db = a
    (1.0, 2.0)
    """

    __slots__ = ("data", "grad", "label", "_prev", "_op", "_rule", "_aux")

    def __init__(self, data, _children=(), _op="", label=""):
        self.data = data if type(data) is float else _check_number(data, "data")
        self.grad = 0.0
        self._prev = tuple(_children)  # a tuple, so a*a keeps both uses of a
        self._op = _op
        self.label = label
        self._rule = None  # a node made here has no rule: nothing to propagate
        self._aux = None  # extra forward information a backward rule needs

    @staticmethod
    def _node(data, children, op, rule, aux=None):
        """Make an op's output node (internal: skips input validation)."""
        out = Value.__new__(Value)
        out.data = data
        out.grad = 0.0
        out.label = ""
        out._prev = children
        out._op = op
        out._rule = rule
        out._aux = aux
        return out

    @property
    def _backward(self):
        """This node's backward rule as a call without arguments, as in micrograd.

        ``out._backward()`` adds ``out``'s share to its inputs' gradients (nothing for a
        leaf). Made on each access and never stored, so no node refers to itself.
        """
        rule = self._rule
        if rule is None:
            return _no_rule
        return lambda: rule(self)

    def __repr__(self):
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    # ------------------------------------------------------------------
    # Operations. Each forward is followed by its backward rule: given the
    # output node ``out`` (whose .grad is already d(root)/d(out)), add each
    # input's share by the chain rule. ``+=``, not ``=``, because an input
    # used twice (a*a, a+a) must get both shares.
    # ------------------------------------------------------------------

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(_check_number(other))
        return Value._node(self.data + other.data, (self, other), "+", Value._add_backward)

    @staticmethod
    def _add_backward(out):
        a, b = out._prev
        a.grad += out.grad
        b.grad += out.grad

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(_check_number(other))
        return Value._node(self.data * other.data, (self, other), "*", Value._mul_backward)

    @staticmethod
    def _mul_backward(out):
        a, b = out._prev
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad

    def __sub__(self, other):
        other = other if isinstance(other, Value) else Value(_check_number(other))
        return Value._node(self.data - other.data, (self, other), "-", Value._sub_backward)

    @staticmethod
    def _sub_backward(out):
        a, b = out._prev
        a.grad += out.grad
        b.grad -= out.grad

    def __truediv__(self, other):
        other = other if isinstance(other, Value) else Value(_check_number(other))
        if other.data == 0.0:
            raise ZeroDivisionError(f"division by zero: {self!r} / {other!r}")
        return Value._node(self.data / other.data, (self, other), "/", Value._div_backward)

    @staticmethod
    def _div_backward(out):
        a, b = out._prev
        a.grad += out.grad / b.data  # d(a/b)/da = 1/b
        b.grad -= out.grad * a.data / (b.data * b.data)  # d(a/b)/db = -a/b^2

    def __pow__(self, exponent):
        if isinstance(exponent, Value):
            raise TypeError(
                "the exponent of ** must be an int or float constant, got a Value; "
                "for a variable exponent write (b * a.log()).exp()"
            )
        n = _check_number(exponent, "exponent")
        if self.data < 0 and not n.is_integer():
            # Python would return a complex number here
            raise ValueError(f"cannot raise negative {self!r} to the non-integer power {n}")
        if self.data == 0 and n < 0:
            raise ZeroDivisionError(f"cannot raise {self!r} to the negative power {n}")
        return Value._node(self.data**n, (self,), f"**{n:g}", Value._pow_backward, n)

    @staticmethod
    def _pow_backward(out):
        (a,) = out._prev
        n = out._aux
        if n != 0.0:  # x**0 is constant; skipping also avoids 0.0 ** -1
            a.grad += n * a.data ** (n - 1) * out.grad

    # Reflected versions: Python calls these for `2 + v`, `2 * v`, ...
    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return Value(_check_number(other)) - self

    def __rtruediv__(self, other):
        return Value(_check_number(other)) / self

    def __neg__(self):
        return Value._node(-self.data, (self,), "neg", Value._neg_backward)

    @staticmethod
    def _neg_backward(out):
        out._prev[0].grad -= out.grad

    def __abs__(self):
        return Value._node(abs(self.data), (self,), "abs", Value._abs_backward)

    @staticmethod
    def _abs_backward(out):
        # d|x|/dx = sign(x); at exactly 0 we take 0 (a valid subgradient, as PyTorch).
        a = out._prev[0]
        if a.data > 0:
            a.grad += out.grad
        elif a.data < 0:
            a.grad -= out.grad

    def exp(self):
        try:
            y = math.exp(self.data)
        except OverflowError:
            raise OverflowError(f"exp overflows for {self!r} (data > ~709.78)") from None
        return Value._node(y, (self,), "exp", Value._exp_backward)

    @staticmethod
    def _exp_backward(out):
        out._prev[0].grad += out.data * out.grad  # d/dx e^x = e^x, the output

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log is only defined for positive numbers, got {self!r}")
        return Value._node(math.log(self.data), (self,), "log", Value._log_backward)

    @staticmethod
    def _log_backward(out):
        a = out._prev[0]
        a.grad += out.grad / a.data

    def tanh(self):
        # math.tanh saturates to +-1 instead of overflowing, unlike the
        # textbook (e^2x - 1) / (e^2x + 1) which fails at x = 1000.
        return Value._node(math.tanh(self.data), (self,), "tanh", Value._tanh_backward)

    @staticmethod
    def _tanh_backward(out):
        out._prev[0].grad += (1.0 - out.data * out.data) * out.grad

    def sigmoid(self):
        # The library's one stable sigmoid (numpy's, on one number): exp never overflows.
        s = float(activations.sigmoid(self.data))
        return Value._node(s, (self,), "sigmoid", Value._sigmoid_backward)

    @staticmethod
    def _sigmoid_backward(out):
        s = out.data
        out._prev[0].grad += s * (1.0 - s) * out.grad

    def relu(self):
        x = self.data
        return Value._node(x if x > 0 else 0.0, (self,), "relu", Value._relu_backward)

    @staticmethod
    def _relu_backward(out):
        # The derivative at exactly 0 is taken as 0, as PyTorch does.
        if out.data > 0:
            out._prev[0].grad += out.grad

    # ------------------------------------------------------------------
    # Backpropagation.
    # ------------------------------------------------------------------

    def backward(self):
        """Fill ``.grad`` of every node with d(self)/d(node).

        Leaf gradients accumulate across calls (see the module docstring);
        intermediate gradients are recomputed from zero on each call.
        """
        order = topological_order(self)
        for node in order:
            if node._prev:  # intermediate node: forget an earlier pass
                node.grad = 0.0
        self.grad += 1.0  # for a leaf this accumulates, like PyTorch
        for node in reversed(order):
            if node._rule is not None:
                node._rule(node)

    def zero_grad(self):
        """Set ``.grad`` to 0 on this Value and on every node it depends on."""
        for node in topological_order(self):
            node.grad = 0.0


# ----------------------------------------------------------------------
# A fused op for neurons.
# ----------------------------------------------------------------------

def dot(weights, inputs, bias=0.0):
    """``bias + w[0]*x[0] + w[1]*x[1] + ...`` as ONE node of the graph.

    The same number as the chain of ``+`` and ``*`` nodes (summed in the same
    order, so bit for bit equal), but one node instead of 2n: a neuron of a
    wide layer builds a graph ~2n times smaller, so building it, sorting it
    and sweeping it backwards are all that much faster. Inputs may be Values
    or numbers; numbers become constant leaves.
    """
    weights = [w if isinstance(w, Value) else Value(w) for w in weights]
    inputs = [x if isinstance(x, Value) else Value(x) for x in inputs]
    if len(weights) != len(inputs):
        raise ValueError(
            f"dot needs as many weights as inputs, got {len(weights)} and {len(inputs)}"
        )
    bias = bias if isinstance(bias, Value) else Value(bias)
    return _dot(weights, inputs, bias)


def _dot(weights, inputs, bias):
    """``dot`` for callers that already hold Values only (a Layer's hot loop)."""
    total = bias.data
    for w, x in zip(weights, inputs):
        total += w.data * x.data
    # children: bias, then all weights, then all inputs; _aux remembers n
    children = (bias, *weights, *inputs)
    return Value._node(total, children, "dot", _dot_backward, len(weights))


def _dot_backward(out):
    g, n, prev = out.grad, out._aux, out._prev
    prev[0].grad += g  # d/db = 1
    for i in range(1, n + 1):
        w, x = prev[i], prev[i + n]
        w.grad += x.data * g  # d/dw_i = x_i
        x.grad += w.data * g  # d/dx_i = w_i


@contextmanager
def gc_paused():
    """Switch off Python's cyclic garbage collector inside a ``with`` block.

    Reference counting still frees every graph as soon as it is dropped;
    only the periodic cycle search (which our acyclic graphs never need) is
    paused. The collector's previous state is restored on exit.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
