"""Two image classifiers for 28x28 grey-scale images (MNIST, Fashion-MNIST), in PyTorch.

Both return **logits**: one unnormalised score per class, shape (N, 10). They apply no
softmax. Pair them with ``F.cross_entropy(logits, labels)``, which computes
``log_softmax`` and the negative log-likelihood in one numerically stable step; take
``logits.softmax(dim=1)`` only when you want probabilities to look at.

torch is imported at module level here (unlike ``nnbook.torchutil``): a model module
is useless without it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MLP784", "SmallCNN", "count_parameters", "conv_output_size"]


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of scalar parameters (weights and biases) in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


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


class SmallCNN(nn.Module):
    """conv3x3 -> ReLU -> conv3x3 -> ReLU -> maxpool 2x2 -> [dropout] -> linear -> ReLU -> [dropout] -> linear.

    The layout of PyTorch's ``examples/mnist`` network. With 28x28 inputs and no padding
    the sides go 28 -> 26 -> 24 -> 12, so the first linear layer sees
    ``channels[1] * 12 * 12`` features. Returns logits, shape (N, n_classes).
    Defaults (``channels=(32, 64)``, ``hidden=128``) give 1,199,882 parameters.
    """

    def __init__(self, channels=(32, 64), hidden: int = 128, n_classes: int = 10,
                 dropout: float = 0.0, image_size: int = 28):  # fmt: skip
        super().__init__()
        c1, c2 = (int(c) for c in channels)
        if min(c1, c2, int(hidden)) < 1:
            raise ValueError(f"channels and hidden must be positive, got {channels}, {hidden}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.conv1 = nn.Conv2d(1, c1, kernel_size=3)
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=3)
        side = conv_output_size(conv_output_size(conv_output_size(image_size, 3), 3), 2, stride=2)
        self.fc1 = nn.Linear(c2 * side * side, int(hidden))
        self.fc2 = nn.Linear(int(hidden), int(n_classes))
        self.dropout = nn.Dropout(float(dropout))  # identity when p = 0, and in eval mode
        self.channels, self.hidden = (c1, c2), int(hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:  # (N, H, W) -> (N, 1, H, W)
            x = x.unsqueeze(1)
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout(torch.flatten(x, 1))
        x = self.dropout(F.relu(self.fc1(x)))
        return self.fc2(x)  # logits
