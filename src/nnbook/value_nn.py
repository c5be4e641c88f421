"""Layers and networks made of scalar ``Value``s: Neuron -> Layer -> MLP.

Initialisation (deterministic, documented so results can be reproduced):
each weight is drawn from ``numpy.random.default_rng(seed).uniform(-1, 1)``
and each bias starts at 0, as in micrograd. An ``MLP`` creates one generator
from its ``seed`` and hands it to its layers in order, so ``MLP(..., seed=0)``
always builds the same network; every ``seed``/``rng`` argument follows one
contract, ``as_rng`` (also used by ``nnbook.tensor_nn``). Activation names are those
of ``nnbook.activations.LAYER_ACTIVATIONS``. Weights are easy to copy in and out as
numpy arrays with ``get_weights()`` / ``set_weights()``.
"""

from __future__ import annotations

import numpy as np

from .activations import ACTIVATIONS, check_activation
from .engine import Value, _dot
from .optim import zero_grads

__all__ = ["Module", "Neuron", "Layer", "MLP", "LayeredNetwork", "as_rng", "checked_weights"]


def _as_values(xs):
    """Inputs as Values: numbers become constant leaves of the graph."""
    return [x if isinstance(x, Value) else Value(x) for x in xs]


def as_rng(rng=None) -> np.random.Generator:
    """The random generator a layer draws its weights from.

    The one contract of the library: a ``numpy.random.Generator`` is used as it is (so
    layers sharing one draw in turn from it), an int is a seed for a new generator, and
    None means seed 0. Anything else raises TypeError.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng(0)
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)):
        raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}")
    return np.random.default_rng(rng)


def checked_weights(layer, W, b):
    """``W``, ``b`` as float arrays, if they fit ``layer``: (nout, nin) and (nout,)."""
    W, b = np.asarray(W, dtype=float), np.asarray(b, dtype=float)
    if W.shape != (layer.nout, layer.nin) or b.shape != (layer.nout,):
        raise ValueError(
            f"{type(layer).__name__}({layer.nin} -> {layer.nout}) needs W of shape {(layer.nout, layer.nin)} "
            f"and b of shape {(layer.nout,)}, got {W.shape} and {b.shape}"
        )
    return W, b


class Module:
    """Anything with parameters: knows how to list and reset them."""

    def parameters(self):
        return []

    def zero_grad(self):
        zero_grads(self.parameters())

    def num_parameters(self):
        return int(sum(np.size(p.data) for p in self.parameters()))


class Neuron(Module):
    """out = activation(w . x + b) for one output.

    ``fused=True`` (the default) computes ``w . x + b`` as a single ``dot``
    node, which makes training several times faster; ``fused=False`` builds
    it from ``+`` and ``*`` nodes, as you would by hand, which is nicer to
    draw with ``nnbook.graph.draw_graph``. Both give the same numbers.
    """

    def __init__(self, nin, activation="relu", rng=None, fused=True):
        self.nin = int(nin)
        self.fused = bool(fused)
        self.activation = check_activation(activation)
        rng = as_rng(rng)
        self.w = [Value(float(v)) for v in rng.uniform(-1.0, 1.0, self.nin)]
        self.b = Value(0.0)
        method = ACTIVATIONS[activation].method  # None: a linear neuron
        self._act = None if method is None else getattr(Value, method)

    def __call__(self, x):
        if len(x) != self.nin:
            raise ValueError(f"Neuron expected {self.nin} inputs, got {len(x)}")
        return self._forward(_as_values(x))

    def _forward(self, x):
        """The neuron on a list of Values (its caller checked the length)."""
        if self.fused:
            act = _dot(self.w, x, self.b)
        else:  # the same sum, b + w0*x0 + w1*x1 + ..., one op at a time
            act = self.b
            for wi, xi in zip(self.w, x):
                act = act + wi * xi
        return act if self._act is None else self._act(act)

    def parameters(self):
        return self.w + [self.b]

    def __repr__(self):
        return f"Neuron({self.nin} inputs, {self.activation})"


class Layer(Module):
    """``nout`` independent neurons reading the same inputs."""

    def __init__(self, nin, nout, activation="relu", rng=None, fused=True):
        self.nin, self.nout = int(nin), int(nout)
        self.activation = check_activation(activation)
        rng = as_rng(rng)
        self.neurons = [Neuron(nin, activation, rng, fused) for _ in range(self.nout)]

    def __call__(self, x):
        if len(x) != self.nin:
            raise ValueError(f"Layer expected {self.nin} inputs, got {len(x)}")
        x = _as_values(x)  # once here rather than once per neuron
        out = [n._forward(x) for n in self.neurons]
        # A single output comes back as a Value (handy for the loss), as in micrograd.
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]

    def get_weights(self):
        """(W, b) as numpy arrays of shapes (nout, nin) and (nout,)."""
        W = np.array([[w.data for w in n.w] for n in self.neurons], dtype=float)
        b = np.array([n.b.data for n in self.neurons], dtype=float)
        return W, b

    def set_weights(self, W, b):
        W, b = checked_weights(self, W, b)
        for n, row, bias in zip(self.neurons, W, b):
            for w, v in zip(n.w, row):
                w.data = float(v)
            n.b.data = float(bias)

    def __repr__(self):
        return f"Layer({self.nin} -> {self.nout} {self.activation})"


class LayeredNetwork(Module):
    """What every network of layers applied in turn shares (``MLP``, ``TensorMLP``):
    ``self.nin`` and ``self.layers``, each layer with ``nout``, ``activation``,
    ``parameters()`` and ``get_weights``/``set_weights``.

    ``activations``: None (relu on hidden layers, linear on the last), one name for
    every layer, or a list with one name per layer. ``make_layer(nin, nout, activation,
    rng)`` builds one layer; the layers draw their weights in turn from one generator,
    ``as_rng(seed)``, so the same seed gives the same weights in every engine.
    """

    def __init__(self, nin, nouts, activations, seed, make_layer):
        nouts = [int(n) for n in nouts]
        owner = type(self).__name__
        if not nouts:
            raise ValueError(f"{owner} needs at least one layer size in nouts, got []")
        if activations is None:
            activations = ["relu"] * (len(nouts) - 1) + ["linear"]
        elif isinstance(activations, str):
            activations = [activations] * len(nouts)
        else:
            activations = list(activations)
            if len(activations) != len(nouts):
                raise ValueError(f"{owner} got {len(nouts)} layer sizes but {len(activations)} activations")
        rng = as_rng(seed)
        sizes = [int(nin)] + nouts
        self.nin = sizes[0]
        self.layers = [make_layer(n_in, n_out, act, rng)
                       for n_in, n_out, act in zip(sizes[:-1], sizes[1:], activations)]

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def get_weights(self):
        """One (W (nout, nin), b (nout,)) pair of numpy arrays per layer."""
        return [layer.get_weights() for layer in self.layers]

    def set_weights(self, weights):
        weights = list(weights)
        if len(weights) != len(self.layers):
            raise ValueError(
                f"{type(self).__name__} has {len(self.layers)} layers, got weights for {len(weights)}"
            )
        for layer, (W, b) in zip(self.layers, weights):
            layer.set_weights(W, b)

    def __repr__(self):
        body = ", ".join(f"{layer.nout} {layer.activation}" for layer in self.layers)
        return f"{type(self).__name__}({self.nin} -> [{body}], {self.num_parameters()} parameters)"


class MLP(LayeredNetwork):
    """A multi-layer perceptron: layers of ``Value`` neurons applied one after the other.

    ``activations`` and ``seed``: see ``LayeredNetwork``; ``fused``: see ``Neuron``.
    """

    def __init__(self, nin, nouts, activations=None, seed=0, fused=True):
        super().__init__(nin, nouts, activations, seed,
                         lambda n_in, n_out, act, rng: Layer(n_in, n_out, act, rng, fused))

    def __call__(self, x):
        if len(x) != self.nin:
            raise ValueError(f"MLP expected {self.nin} inputs, got {len(x)}")
        # Hidden layers pass lists on (a width-1 hidden layer included); only the
        # network's final single output is unwrapped to a Value.
        x = _as_values(x)
        for layer in self.layers:
            x = [n._forward(x) for n in layer.neurons]
        return x[0] if len(x) == 1 else x

