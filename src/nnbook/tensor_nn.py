"""Layers and MLPs built on `nnbook.tensor.Tensor`.

`TensorMLP` is the array version of `nnbook.value_nn.MLP`: same constructor, same
activation names, same initialisation stream, so ``TensorMLP(2, [16, 16, 1],
seed=0)`` starts from exactly the weights of ``MLP(2, [16, 16, 1], seed=0)``.

Weight layout
-------------
A `Linear` layer stores ``W`` with shape ``(nout, nin)``, one row per output
unit, and computes ``x @ W.T + b`` for a batch ``x`` of shape ``(batch, nin)``
(one sample per row).  That is the layout of the whole course: the scalar
`MLP`'s ``get_weights``, chapter 4's matrix form and ``torch.nn.Linear``, so
weights move between them without a transpose.
"""

from __future__ import annotations

import numpy as np

from .activations import ACTIVATIONS, LAYER_ACTIVATIONS, check_activation
from .value_nn import LayeredNetwork, Module, as_rng, checked_weights
from .tensor import Tensor, linear

__all__ = ["Linear", "TensorMLP", "INITS"]

INITS = ("uniform", "kaiming")


class Linear(Module):
    """``activation(x @ W.T + b)`` with ``W`` of shape (nout, nin), one row per unit.

    init="uniform": weights U(-1, 1), the scalar `MLP`'s scheme (drawn in its
        order, one neuron's row at a time) so both start identical.
    init="kaiming": weights N(0, 2 / nin), which keeps the scale of relu
        activations steady through deep networks.
    Biases start at zero in both cases.
    """

    def __init__(self, nin, nout, activation="linear", *, rng=None, seed=None,
                 init="uniform", dtype=np.float64):
        self.nin, self.nout = int(nin), int(nout)
        if self.nin < 1 or self.nout < 1:
            raise ValueError(f"Linear needs positive sizes, got nin={nin}, nout={nout}")
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; valid ones are {', '.join(map(repr, INITS))}")
        self.activation = check_activation(activation)
        self.init = init
        if rng is not None and seed is not None:
            raise ValueError("pass either rng or seed, not both")
        rng = as_rng(seed if rng is None else rng)
        if init == "uniform":
            rows = rng.uniform(-1.0, 1.0, (self.nout, self.nin))
        else:
            rows = rng.normal(0.0, np.sqrt(2.0 / self.nin), (self.nout, self.nin))
        self.W = Tensor(rows, requires_grad=True, label="W", dtype=dtype)
        self.b = Tensor(np.zeros(self.nout), requires_grad=True, label="b", dtype=dtype)
        method = ACTIVATIONS[activation].method  # None: a linear layer
        self._act = None if method is None else getattr(Tensor, method)

    def __call__(self, x):
        if not isinstance(x, Tensor):
            x = Tensor(x, dtype=self.W.dtype)
        if x.ndim == 0 or x.shape[-1] != self.nin:
            raise ValueError(
                f"Linear({self.nin} -> {self.nout}) expected inputs of shape (batch, {self.nin}), "
                f"got {x.shape}"
            )
        out = linear(x, self.W, self.b)  # x @ W.T + b as a single graph node
        return out if self._act is None else self._act(out)

    def parameters(self):
        return [self.W, self.b]

    def get_weights(self):
        """(W (nout, nin), b (nout,)) copies, in the scalar `MLP`'s format."""
        return self.W.data.copy(), self.b.data.copy()

    def set_weights(self, W, b):
        W, b = checked_weights(self, W, b)
        # Write into the existing arrays so optimisers holding them stay valid.
        self.W.data[...] = W
        self.b.data[...] = b

    def __repr__(self):
        return f"Linear({self.nin} -> {self.nout} {self.activation})"


class TensorMLP(LayeredNetwork):
    """Layers of `Linear` applied in turn; mirrors `nnbook.value_nn.MLP`.

    ``activations`` and ``seed``: see ``LayeredNetwork``; ``init``, ``dtype``: see ``Linear``.
    """

    def __init__(self, nin, nouts, activations=None, seed=0, *, init="uniform", dtype=np.float64):
        super().__init__(nin, nouts, activations, seed,
                         lambda n_in, n_out, act, rng: Linear(n_in, n_out, act, rng=rng, init=init, dtype=dtype))

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    @property
    def activations(self):
        return [layer.activation for layer in self.layers]

    @property
    def nouts(self):
        return [layer.nout for layer in self.layers]

    @classmethod
    def from_mlp(cls, mlp, dtype=np.float64) -> "TensorMLP":
        """A TensorMLP with the architecture and current weights of a scalar `MLP`."""
        acts = [layer.activation for layer in mlp.layers]
        model = cls(mlp.nin, [layer.nout for layer in mlp.layers], acts, dtype=dtype)
        model.set_weights(mlp.get_weights())
        return model

    def to_torch(self, dtype=None):
        """An equivalent ``torch.nn.Sequential`` holding copies of our weights."""
        import torch

        dtype = dtype or (torch.float32 if self.layers[0].W.dtype == np.float32 else torch.float64)
        modules = []
        for layer in self.layers:
            lin = torch.nn.Linear(layer.nin, layer.nout, dtype=dtype)
            W, b = layer.get_weights()
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W))
                lin.bias.copy_(torch.from_numpy(b))
            modules.append(lin)
            torch_name = ACTIVATIONS[layer.activation].torch
            if torch_name is not None:
                modules.append(getattr(torch.nn, torch_name)())
        return torch.nn.Sequential(*modules)

    @classmethod
    def from_torch(cls, seq, dtype=np.float64) -> "TensorMLP":
        """Read a ``Sequential`` of Linear layers, each optionally followed by
        ReLU / Tanh / Sigmoid, as made by `to_torch`."""
        import torch

        names = {getattr(torch.nn, ACTIVATIONS[name].torch): name
                 for name in LAYER_ACTIVATIONS if ACTIVATIONS[name].torch}
        linears, acts = [], []
        for m in seq:
            if isinstance(m, torch.nn.Linear):
                if m.bias is None:
                    raise ValueError(f"from_torch needs Linear layers with a bias, got {m!r}")
                linears.append(m)
                acts.append("linear")
            elif type(m) in names and linears and acts[-1] == "linear":
                acts[-1] = names[type(m)]
            else:
                raise ValueError(f"from_torch cannot translate module {m!r}")
        if not linears:
            raise ValueError("from_torch needs at least one torch.nn.Linear")
        model = cls(linears[0].in_features, [m.out_features for m in linears], acts, dtype=dtype)
        model.set_weights(
            [(m.weight.detach().cpu().double().numpy(),
              m.bias.detach().cpu().double().numpy()) for m in linears]
        )
        return model

