"""Two image classifiers for 28x28 grey-scale images (MNIST, Fashion-MNIST), in PyTorch.

Both return **logits**: one unnormalised score per class, shape (N, 10). They apply no
softmax. Pair them with ``F.cross_entropy(logits, labels)``, which computes
``log_softmax`` and the negative log-likelihood in one numerically stable step; take
``logits.softmax(dim=1)`` only when you want probabilities to look at.

torch is imported at module level here (unlike ``nnbook.torchutil``): a model module
is useless without it.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

__all__ = ["MLP784", "SmallCNN", "count_parameters", "conv_output_size"]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalar parameters (weights and biases) in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Side length after a convolution or pooling layer (PyTorch's formula, floor division).

    ``out = floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1``
    """
    for name, value in (("size", size), ("kernel", kernel), ("stride", stride), ("dilation", dilation)):
        if int(value) < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if int(padding) < 0:
        raise ValueError(f"padding must be >= 0, got {padding!r}")
    out = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    if out < 1:
        raise ValueError(f"a {kernel}x{kernel} window does not fit in {size} pixels (padding {padding})")
    return int(out)


class MLP784(nn.Module):
    """Fully connected network 784 -> hidden[0] -> ... -> 10 with ReLU, returning logits.

    Accepts images of shape (N, 1, 28, 28), (N, 28, 28) or already flat (N, 784).
    The default ``hidden=(512, 512)`` has 669,706 parameters.
    """

    def __init__(self, hidden=(512, 512), n_classes: int = 10, in_features: int = 784):
        super().__init__()
        hidden = tuple(int(h) for h in hidden)
        if any(h < 1 for h in hidden):
            raise ValueError(f"hidden layer sizes must be positive, got {hidden}")
        sizes = (int(in_features), *hidden)
        layers: list[nn.Module] = [nn.Flatten()]
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
        layers.append(nn.Linear(sizes[-1], int(n_classes)))  # no softmax: logits
        self.net = nn.Sequential(*layers)
        self.hidden = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SmallCNN(nn.Sequential):
    """Two stages of (3x3 convolution, padding 1 -> ReLU -> 2x2 max-pool), then linear -> ReLU -> linear.

    A small LeNet-style network (LeCun et al. 1998). The padded convolutions keep the side,
    each pool halves it: 28 -> 14 -> 7, so the first linear layer sees
    ``channels[1] * 7 * 7`` features. Returns logits, shape (N, n_classes).
    Defaults (``channels=(16, 32)``, ``hidden=64``) give 105,866 parameters, 100,416 of
    them in ``fc1``: the convolutions are cheap in weights (4,800) but do most of the
    arithmetic. ``dropout > 0`` adds one ``nn.Dropout`` before ``fc1`` (none by default).
    Layers are named (``conv1``, ..., ``fc2``), so the ``state_dict`` keys say what they are.
    """

    def __init__(self, channels=(16, 32), hidden: int = 64, n_classes: int = 10,
                 dropout: float = 0.0):  # fmt: skip
        c1, c2 = (int(c) for c in channels)
        if min(c1, c2, int(hidden)) < 1:
            raise ValueError(f"channels and hidden must be positive, got {channels}, {hidden}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        side = 28
        for _ in range(2):  # a padded 3x3 convolution keeps the side, the pool halves it (floor)
            side = conv_output_size(conv_output_size(side, 3, padding=1), 2, stride=2)
        layers = OrderedDict(
            conv1=nn.Conv2d(1, c1, kernel_size=3, padding=1), relu1=nn.ReLU(), pool1=nn.MaxPool2d(2),
            conv2=nn.Conv2d(c1, c2, kernel_size=3, padding=1), relu2=nn.ReLU(), pool2=nn.MaxPool2d(2),
            flatten=nn.Flatten(),
        )
        if dropout > 0:
            layers["dropout"] = nn.Dropout(float(dropout))  # active in train mode only
        layers.update(fc1=nn.Linear(c2 * side * side, int(hidden)), relu3=nn.ReLU(),
                      fc2=nn.Linear(int(hidden), int(n_classes)))  # no softmax: logits
        super().__init__(layers)
        self.channels, self.hidden = (c1, c2), int(hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:  # (N, H, W) -> (N, 1, H, W)
            x = x.unsqueeze(1)
        return super().forward(x)
