"""`Tensor`: reverse-mode autograd on whole numpy arrays.

The scalar engine (`nnbook.engine.Value`) makes one graph node per number,
which is ideal for seeing how backpropagation works and hopeless for speed.
`Tensor` keeps exactly the same idea -- every operation records its inputs and
a rule for pushing the output gradient back to them -- but one node now holds
a whole numpy array, so a layer of a network is a handful of nodes instead of
thousands.

How to read this module
-----------------------
* Every operation builds its result with `_result(data, parents, backward)`.
  `backward` is a small function that receives the gradient of the final
  output with respect to this result (same shape as the result) and returns
  one gradient per parent, or ``None`` for a parent that needs none.  The
  forward and backward rules of each operation sit next to each other.
* `Tensor.backward` orders the graph (iteratively, so deep graphs cannot hit
  Python's recursion limit) and walks it from the output to the leaves,
  adding up the gradients each node receives from all the places it is used.
* Leaves that ``requires_grad`` (the parameters) *accumulate* into ``.grad``
  across calls, as in PyTorch; call `zero_grad` between optimisation steps.
  Intermediate nodes keep the gradient of the latest pass, for inspection.
* At the end, `linear` and the losses (`cross_entropy`, `nll_loss`,
  `mse_loss`, `max_margin_loss`, `l2_penalty`) are *fused*: one node with a
  hand-derived backward rule instead of a chain of small ones.  That is
  faster (Python overhead per node dominates small networks) and, for
  cross-entropy, numerically safer.

Broadcasting
------------
numpy lets ``(3, 1) + (4,)`` produce a ``(3, 4)`` result.  The gradient that
comes back has the shape of the result, so before handing it to an operand we
sum it over every axis along which that operand was stretched
(`unbroadcast`).  Forgetting this step is the classic bug of hand-written
autograd engines.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import activations
from .engine import topological_order

__all__ = [
    "Tensor",
    "linear",
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "max_margin_loss",
    "l2_penalty",
    "class_targets",
]

# Kinds of numpy dtype we accept as numbers: bool, signed, unsigned, float.
_NUMERIC_KINDS = "biuf"


def _as_array(data, dtype) -> np.ndarray:
    """Turn user input into a float array, with a clear error for non-numbers."""
    if isinstance(data, Tensor):
        data = data.data
    try:
        arr = np.asarray(data)
    except ValueError as exc:  # e.g. ragged nested lists
        raise ValueError(f"cannot build a Tensor from {type(data).__name__}: {exc}") from None
    if arr.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(
            f"Tensor data must be real numbers, got {type(data).__name__} "
            f"with numpy dtype {arr.dtype}"
        )
    # np.array (not asarray) so a Tensor never shares memory with the caller's
    # array: an optimiser updating `.data` in place must not change user data.
    return np.array(arr, dtype=dtype)


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `grad` down to `shape`, undoing numpy broadcasting.

    Broadcasting (a) prepends axes to the smaller operand and (b) stretches
    its size-1 axes.  An operand used in many positions receives the sum of
    the gradients from all of them, so we sum over exactly those axes.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=0) if extra == 1 else grad.sum(axis=tuple(range(extra)))
        if grad.shape == shape:  # the common bias case: (batch, n) -> (n,)
            return np.asarray(grad)
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    # Summing everything yields a numpy scalar; keep gradients as arrays.
    return np.asarray(grad)


def _broadcasting(a: np.ndarray, b: np.ndarray, ufunc, symbol: str) -> np.ndarray:
    """Apply a binary ufunc, turning numpy's broadcast error into a clear one."""
    try:
        return ufunc(a, b)
    except ValueError:
        raise ValueError(
            f"cannot broadcast shapes {a.shape} and {b.shape} for '{symbol}'"
        ) from None


def _result(data, parents: tuple, backward, op: str) -> "Tensor":
    """Build the output node of an operation without re-validating `data`.

    The graph is only recorded when some parent needs a gradient: inference
    on constant inputs keeps no references and costs no memory.
    """
    if type(data) is not np.ndarray:
        # numpy returns scalars, not 0-d arrays, from arithmetic on 0-d arrays.
        data = np.asarray(data)
    out = Tensor.__new__(Tensor)
    out.data = data
    out.grad = None
    out.label = ""
    out._op = op
    needs = False
    for p in parents:
        if p.requires_grad:
            needs = True
            break
    out.requires_grad = needs
    if needs:
        out._parents = parents
        out._backward = backward
    else:
        out._parents = ()
        out._backward = None
    return out


def _parents(node):
    return node._parents


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    Parameters
    ----------
    data : number, nested list or numpy array of real numbers.
    requires_grad : whether gradients should flow to this tensor.  Set it on
        parameters; inputs and targets usually leave it False.
    label : a name used in `repr` and error messages.
    dtype : float64 by default (exact comparisons with the scalar engine);
        pass ``np.float32`` for speed on larger data such as MNIST.
    """

    __slots__ = ("data", "grad", "requires_grad", "label", "_parents", "_backward", "_op")

    # Make numpy hand `ndarray <op> Tensor` to our reflected methods instead
    # of looping over the Tensor as if it were an object array.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad: bool = False, label: str = "", dtype=np.float64):
        self.data = _as_array(data, dtype)
        if self.data.dtype.kind != "f":
            raise TypeError(f"Tensor dtype must be floating point, got {self.data.dtype}")
        self.requires_grad = bool(requires_grad)
        self.label = label
        # Parameters get a zero gradient right away so an optimiser can always
        # read `p.grad`, even before the first backward pass.
        self.grad = np.zeros_like(self.data) if self.requires_grad else None
        self._parents = ()
        self._backward = None
        self._op = ""

    # ----------------------------------------------------------------- basics
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    def __len__(self) -> int:
        return len(self.data)

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        return self.data

    def detach(self) -> "Tensor":
        """The same numbers, cut off from the graph (no gradient flows back)."""
        return Tensor(self.data, dtype=self.data.dtype)

    def __repr__(self) -> str:
        name = f", label={self.label!r}" if self.label else ""
        grad = ", requires_grad=True" if self.requires_grad else ""
        if self.data.size <= 6:
            body = np.array2string(self.data, precision=4, separator=", ")
        else:
            body = f"<array shape={self.shape}>"
        return f"Tensor({body}, dtype={self.data.dtype}{grad}{name})"

    def _lift(self, other) -> "Tensor":
        """Wrap a constant operand (number or array) as a Tensor without grad."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (float, int)):
            arr = np.array(other, dtype=self.data.dtype)  # fast path for numbers
        else:
            # Constants adopt our dtype so a float32 graph stays float32.
            arr = _as_array(other, self.data.dtype)
        return _result(arr, (), None, "const")  # a leaf that needs no gradient


    # ------------------------------------------------------ elementwise binary
    def __add__(self, other) -> "Tensor":
        other = self._lift(other)
        a, b = self.data, other.data
        out = _broadcasting(a, b, np.add, "+")
        x, y = self, other

        def backward(g):
            return (
                unbroadcast(g, a.shape) if x.requires_grad else None,
                unbroadcast(g, b.shape) if y.requires_grad else None,
            )

        return _result(out, (self, other), backward, "+")

    def __radd__(self, other) -> "Tensor":
        return self.__add__(other)

    def __sub__(self, other) -> "Tensor":
        other = self._lift(other)
        a, b = self.data, other.data
        out = _broadcasting(a, b, np.subtract, "-")
        x, y = self, other

        def backward(g):
            return (
                unbroadcast(g, a.shape) if x.requires_grad else None,
                unbroadcast(-g, b.shape) if y.requires_grad else None,
            )

        return _result(out, (self, other), backward, "-")

    def __rsub__(self, other) -> "Tensor":
        return self._lift(other).__sub__(self)

    def __mul__(self, other) -> "Tensor":
        other = self._lift(other)
        a, b = self.data, other.data
        out = _broadcasting(a, b, np.multiply, "*")
        x, y = self, other

        def backward(g):
            # d(ab)/da = b and d(ab)/db = a, each then summed back to shape.
            return (
                unbroadcast(g * b, a.shape) if x.requires_grad else None,
                unbroadcast(g * a, b.shape) if y.requires_grad else None,
            )

        return _result(out, (self, other), backward, "*")

    def __rmul__(self, other) -> "Tensor":
        return self.__mul__(other)

    def __truediv__(self, other) -> "Tensor":
        other = self._lift(other)
        a, b = self.data, other.data
        out = _broadcasting(a, b, np.divide, "/")
        x, y = self, other

        def backward(g):
            # d(a/b)/da = 1/b ; d(a/b)/db = -a/b^2 = -(a/b)/b, reusing the output.
            return (
                unbroadcast(g / b, a.shape) if x.requires_grad else None,
                unbroadcast(-g * out / b, b.shape) if y.requires_grad else None,
            )

        return _result(out, (self, other), backward, "/")

    def __rtruediv__(self, other) -> "Tensor":
        return self._lift(other).__truediv__(self)

    def __neg__(self) -> "Tensor":
        return _result(-self.data, (self,), lambda g: (-g,), "neg")

    def __pow__(self, exponent) -> "Tensor":
        if isinstance(exponent, Tensor) or not isinstance(exponent, numbers.Real):
            raise TypeError(
                f"Tensor ** only supports a constant real exponent, got {type(exponent).__name__}"
            )
        a = self.data
        if exponent == 2:  # the common case (squared errors), without pow()
            return _result(a * a, (self,), lambda g: (2.0 * a * g,), "**2")
        exponent = float(exponent)

        def backward(g):
            return (exponent * a ** (exponent - 1.0) * g,)

        return _result(a**exponent, (self,), backward, f"**{exponent:g}")

    # ----------------------------------------------------------- linear algebra
    def __matmul__(self, other) -> "Tensor":
        other = self._lift(other)
        a, b = self.data, other.data
        # Vectors make the transposes in the backward rule ambiguous; asking
        # for an explicit reshape keeps the gradient code (and shapes) simple.
        if a.ndim < 2 or b.ndim != 2:
            raise ValueError(
                f"matmul supports (..., n, k) @ (k, m); got shapes {a.shape} and {b.shape} "
                "(reshape 1-D vectors to 2-D first)"
            )
        if a.shape[-1] != b.shape[0]:
            raise ValueError(
                f"matmul shape mismatch: {a.shape} @ {b.shape} "
                f"(inner sizes {a.shape[-1]} and {b.shape[0]} differ)"
            )
        x, y = self, other

        def backward(g):
            ga = g @ b.T if x.requires_grad else None
            gb = None
            if y.requires_grad:
                if a.ndim == 2:
                    gb = a.T @ g
                else:
                    # A batched input reuses the same matrix for every batch
                    # entry: fold the batch axes into the rows and sum.
                    gb = a.reshape(-1, a.shape[-1]).T @ g.reshape(-1, g.shape[-1])
            return ga, gb

        return _result(a @ b, (self, other), backward, "@")

    def __rmatmul__(self, other) -> "Tensor":
        return self._lift(other).__matmul__(self)

    # -------------------------------------------------------------- reductions
    def sum(self, axis=None, keepdims: bool = False) -> "Tensor":
        a = self.data
        out = np.asarray(a.sum(axis=axis, keepdims=keepdims))

        def backward(g):
            # Every summed element gets the same gradient: re-insert the
            # reduced axes (if they were dropped) and broadcast back.
            if not keepdims and axis is not None:
                g = np.expand_dims(g, axis)
            return (np.broadcast_to(g, a.shape),)

        return _result(out, (self,), backward, "sum")

    def mean(self, axis=None, keepdims: bool = False) -> "Tensor":
        a = self.data
        out = np.asarray(a.mean(axis=axis, keepdims=keepdims))
        count = a.size // max(out.size, 1) if a.size else 1

        def backward(g):
            if not keepdims and axis is not None:
                g = np.expand_dims(g, axis)
            return (np.broadcast_to(g / count, a.shape),)

        return _result(out, (self,), backward, "mean")

    # ------------------------------------------------------------ shape moves
    def reshape(self, *shape) -> "Tensor":
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        a = self.data
        try:
            out = a.reshape(shape)
        except ValueError:
            raise ValueError(f"cannot reshape tensor of shape {a.shape} into {shape}") from None
        return _result(out, (self,), lambda g: (g.reshape(a.shape),), "reshape")

    def transpose(self, *axes) -> "Tensor":
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if axes:
            if sorted(ax % self.ndim for ax in axes) != list(range(self.ndim)):
                raise ValueError(
                    f"transpose axes {axes} are not a permutation for shape {self.shape}"
                )
            axes = tuple(ax % self.ndim for ax in axes)
        else:
            axes = None  # reverse all axes, like numpy
        out = np.transpose(self.data, axes)
        # The inverse permutation sends gradient axes back where they came from.
        inverse = None if axes is None else tuple(np.argsort(axes))
        return _result(out, (self,), lambda g: (np.transpose(g, inverse),), "transpose")

    @property
    def T(self) -> "Tensor":
        return self.transpose()

    def __getitem__(self, index) -> "Tensor":
        if isinstance(index, Tensor):
            index = index.data.astype(np.intp)
        a = self.data
        out = a[index]

        def backward(g):
            full = np.zeros_like(a)
            # add.at (not `full[index] += g`) so repeated indices accumulate.
            np.add.at(full, index, g)
            return (full,)

        return _result(np.array(out), (self,), backward, "getitem")

    # ------------------------------------------------------ elementwise unary
    def relu(self) -> "Tensor":
        a = self.data
        # The mask is kept for backward (cheaper than recomputing it there).
        # Gradient 0 at exactly 0, the same convention as Value and PyTorch.
        mask = a > 0
        return _result(np.maximum(a, 0.0), (self,), lambda g: (g * mask,), "relu")

    def tanh(self) -> "Tensor":
        out = np.tanh(self.data)
        return _result(out, (self,), lambda g: (g * (1.0 - out * out),), "tanh")

    def sigmoid(self) -> "Tensor":
        out = activations.sigmoid(self.data)  # the stable form, exp never overflows
        return _result(out, (self,), lambda g: (g * out * (1.0 - out),), "sigmoid")

    def exp(self) -> "Tensor":
        out = np.exp(self.data)
        return _result(out, (self,), lambda g: (g * out,), "exp")

    def log(self) -> "Tensor":
        a = self.data
        if np.any(a <= 0):
            raise ValueError(
                f"log needs positive inputs; got minimum {a.min():g} in tensor of shape {a.shape}"
            )
        return _result(np.log(a), (self,), lambda g: (g / a,), "log")

    def log_softmax(self, axis: int = -1) -> "Tensor":
        out = activations.log_softmax(self.data, axis)  # stable for logits of 1000

        def backward(g):
            # y = x - logsumexp(x): dy_i/dx_j = [i=j] - softmax_j.
            return (g - np.exp(out) * g.sum(axis=axis, keepdims=True),)

        return _result(out, (self,), backward, "log_softmax")

    def softmax(self, axis: int = -1) -> "Tensor":
        return self.log_softmax(axis).exp()

    # --------------------------------------------------------------- backward
    # Tensor deliberately does not define __eq__, so nodes hash by identity
    # and can be set members (topological_order) and dict keys (backward).

    def backward(self, grad=None) -> None:
        """Fill `.grad` of every tensor this one depends on.

        `grad` is d(final)/d(self); it may be omitted for a one-element
        output, where it is 1.  Leaf tensors add to their `.grad` (call
        `zero_grad` to reset); intermediate nodes keep this pass's gradient.
        """
        if not self.requires_grad:
            raise ValueError(
                "backward() on a tensor that does not require grad: "
                "no input of this computation has requires_grad=True"
            )
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    "backward() without a grad argument needs a scalar output, "
                    f"got shape {self.shape}"
                )
            grad = np.ones(self.data.shape, dtype=self.data.dtype)
        else:
            grad = grad.data if isinstance(grad, Tensor) else grad
            grad = np.asarray(grad, dtype=self.data.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward grad has shape {grad.shape}, expected {self.shape}")
        if not self._parents:  # backward() called on a leaf itself
            self._accumulate(grad)
            return

        # Gradients of interior nodes live in a dict for this pass only, so a
        # node used by several operations sums its contributions here before
        # passing them on, and a second backward() starts from a clean slate.
        pending = {self: grad}
        # The same order as the scalar engine's. Leaves need no place in it: their
        # gradients are added as soon as they arrive, so they are skipped here.
        order = topological_order(self, _parents)
        for i in range(len(order) - 1, -1, -1):
            node = order[i]
            if not node._parents:
                continue
            g = pending.pop(node)  # every operation node in `order` leads to self
            node.grad = g
            for parent, pg in zip(node._parents, node._backward(g)):
                if pg is None:
                    continue
                if not parent._parents:
                    parent._accumulate(pg)
                    continue
                prev = pending.get(parent)
                # `prev + pg` allocates: gradients may be shared arrays (both
                # inputs of `+` receive the very same `g`), so we never add
                # in place into an array we did not allocate.
                pending[parent] = pg if prev is None else prev + pg

    def _accumulate(self, g) -> None:
        """Add `g` to a leaf's `.grad`, in memory the leaf owns."""
        if self.grad is None or self.grad.shape != self.data.shape:
            self.grad = np.zeros_like(self.data)
        self.grad += g

    def zero_grad(self) -> None:
        """Reset the accumulated gradient to zeros (in place when possible)."""
        if self.grad is None or self.grad.shape != self.data.shape:
            self.grad = np.zeros_like(self.data)
        else:
            self.grad.fill(0.0)


# ---------------------------------------------------------------------------
# Fused layer operation.
# ---------------------------------------------------------------------------


def linear(x: Tensor, W: Tensor, b: Tensor = None) -> Tensor:
    """``x @ W.T + b`` as one graph node, with ``W`` of shape (nout, nin).

    ``W`` has one row per output unit, the course's layout (and that of
    ``torch.nn.functional.linear``).  Same numbers as writing it out, but one
    node instead of three: the bias is added in place into the fresh matmul
    result and the backward pass skips intermediate gradients.  Python
    overhead per node dominates small networks, so this is the cheapest
    speed-up there is.
    """
    if not isinstance(x, Tensor):
        x = W._lift(x)
    xd, Wd = x.data, W.data
    if Wd.ndim != 2 or xd.ndim < 1 or xd.shape[-1] != Wd.shape[1]:
        raise ValueError(
            f"linear: inputs of shape {xd.shape} do not fit weights of shape {Wd.shape} "
            f"(W is (nout, nin))"
        )
    if xd.ndim == 1:
        raise ValueError(
            f"linear: expected a batch of shape (batch, {Wd.shape[1]}), got {xd.shape}"
        )
    out = xd @ Wd.T
    parents = (x, W)
    if b is not None:
        if b.shape != (Wd.shape[0],):
            raise ValueError(
                f"linear: bias of shape {b.shape} does not fit weights of shape {Wd.shape}"
            )
        out += b.data
        parents = (x, W, b)

    def backward(g):
        # Z = X W^T: dX = G W and dW = G^T X (the matmul rule with W^T in place of W).
        gx = g @ Wd if x.requires_grad else None
        rows_x, rows_g = xd, g
        if xd.ndim > 2:  # batched input: fold the batch axes into rows, as in matmul
            rows_x, rows_g = xd.reshape(-1, xd.shape[-1]), g.reshape(-1, g.shape[-1])
        gW = rows_g.T @ rows_x if W.requires_grad else None
        gb = rows_g.sum(axis=0) if b is not None and b.requires_grad else None
        return (gx, gW) if b is None else (gx, gW, gb)

    return _result(out, parents, backward, "linear")


# ---------------------------------------------------------------------------
# Losses.  Each is one graph node with a hand-derived backward rule: fewer
# nodes is faster, and the fused rules avoid intermediate overflow.
# ---------------------------------------------------------------------------


def class_targets(targets, n: int, num_classes: int, who: str) -> np.ndarray:
    """``targets`` as an int array of ``n`` class indices, each in [0, num_classes).

    The one rule for class targets, used by the Tensor losses here and by
    ``nnbook.losses``' numpy ones: integers, or floats that are whole numbers (a
    ``Tensor`` holds floats), in a vector of shape (n,). A fractional value is a
    TypeError; a wrong shape or a class out of range a ValueError naming ``who``.
    """
    t = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    if t.dtype.kind not in "iu":
        if t.dtype.kind == "f" and np.all(t == np.round(t)):
            t = t.astype(np.intp)
        else:
            raise TypeError(f"{who}: targets must be integer class indices, got dtype {t.dtype}")
    if t.shape != (n,):
        raise ValueError(f"{who}: class targets must have shape ({n},), got {t.shape}")
    if n and (t.min() < 0 or t.max() >= num_classes):
        raise ValueError(
            f"{who}: target classes must lie in [0, {num_classes - 1}] for {num_classes} classes; "
            f"got range [{t.min()}, {t.max()}]"
        )
    return t


def _check_2d(x: Tensor, who: str) -> None:
    if x.ndim != 2:
        raise ValueError(f"{who}: expected a 2-D (batch, classes) tensor, got shape {x.shape}")


def cross_entropy(logits: Tensor, targets) -> Tensor:
    """Mean negative log-likelihood of integer `targets` under softmax(`logits`).

    Same value as ``nll_loss(logits.log_softmax(), targets)`` but one node,
    whose gradient is the famous ``(softmax - onehot) / N``.
    """
    if not isinstance(logits, Tensor):
        logits = Tensor(logits)
    _check_2d(logits, "cross_entropy")
    n, c = logits.shape
    t = class_targets(targets, n, c, "cross_entropy")
    log_probs = activations.log_softmax(logits.data, axis=1)
    rows = np.arange(n)
    loss = np.asarray(-log_probs[rows, t].mean())

    def backward(g):
        grad = np.exp(log_probs)  # softmax
        grad[rows, t] -= 1.0
        grad *= g / n
        return (grad,)

    return _result(loss, (logits,), backward, "cross_entropy")


def nll_loss(log_probs: Tensor, targets) -> Tensor:
    """Mean of ``-log_probs[i, targets[i]]`` (inputs are log-probabilities)."""
    if not isinstance(log_probs, Tensor):
        log_probs = Tensor(log_probs)
    _check_2d(log_probs, "nll_loss")
    n, c = log_probs.shape
    t = class_targets(targets, n, c, "nll_loss")
    rows = np.arange(n)
    a = log_probs.data
    loss = np.asarray(-a[rows, t].mean())

    def backward(g):
        grad = np.zeros_like(a)
        # Each row picks one entry, so plain assignment cannot collide.
        grad[rows, t] = -g / n
        return (grad,)

    return _result(loss, (log_probs,), backward, "nll_loss")


def mse_loss(pred: Tensor, target) -> Tensor:
    """Mean squared error; shapes must match exactly (no silent broadcasting)."""
    if not isinstance(pred, Tensor):
        pred = Tensor(pred)
    target = pred._lift(target)
    if pred.shape != target.shape:
        raise ValueError(f"mse_loss: prediction shape {pred.shape} != target shape {target.shape}")
    diff = pred.data - target.data
    n = max(diff.size, 1)
    loss = np.asarray((diff * diff).mean())
    p, q = pred, target

    def backward(g):
        d = (2.0 / n) * g * diff
        return (d if p.requires_grad else None, -d if q.requires_grad else None)

    return _result(loss, (pred, target), backward, "mse_loss")


def _is_column(shape) -> bool:
    """(N,) or (N, 1): one number per sample."""
    return len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)


def max_margin_loss(scores: Tensor, y) -> Tensor:
    """Mean hinge loss ``mean(relu(1 - y * s))`` for labels y in {-1, +1}.

    `scores` may be (N,) or (N, 1) -- the output of a one-unit network --
    and is matched to the N labels elementwise.  (Letting numpy broadcast
    (N, 1) against (N,) would silently build an N x N matrix.)
    """
    if not isinstance(scores, Tensor):
        scores = Tensor(scores)
    labels = y.data if isinstance(y, Tensor) else np.asarray(y, dtype=scores.dtype)
    if not (_is_column(scores.shape) and _is_column(labels.shape)) or scores.size != labels.size:
        raise ValueError(
            f"max_margin_loss: scores of shape {scores.shape} do not match labels of shape "
            f"{labels.shape}; expected (N,) or (N, 1) for both"
        )
    labels = labels.reshape(-1)
    s = scores.data.reshape(-1)
    margins = 1.0 - labels * s
    n = max(s.size, 1)
    loss = np.asarray(np.maximum(margins, 0.0).sum() / n)
    shape = scores.shape

    def backward(g):
        # Only samples inside the margin push on their score, by -y / N.
        grad = (margins > 0) * labels * (-g / n)
        return (grad.reshape(shape),)

    return _result(loss, (scores,), backward, "max_margin_loss")


def l2_penalty(params, alpha: float) -> Tensor:
    """``alpha * sum of squares of all params`` as a single graph node.

    ``nnbook.losses.l2_penalty``'s contract (it hands Tensors to this function).
    """
    params = tuple(params)
    if not params:
        raise ValueError("l2_penalty needs at least one parameter")
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"l2_penalty expects Tensors, got {type(p).__name__}")
    alpha = float(alpha)
    total = 0.0
    for p in params:
        total += float(np.vdot(p.data, p.data))  # sum of squares, no temporary
    out = np.asarray(alpha * total, dtype=params[0].dtype)

    def backward(g):
        scale = 2.0 * alpha * g
        return tuple(scale * p.data if p.requires_grad else None for p in params)

    return _result(out, params, backward, "l2_penalty")
