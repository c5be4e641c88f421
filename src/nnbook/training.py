"""Plain training and evaluation loops for PyTorch classifiers (in the style of PyTorch's examples/mnist).

The models return logits, so the loss is ``F.cross_entropy(logits, target)`` throughout.
(Applying ``softmax`` and then ``F.nll_loss`` is a classic bug: ``nll_loss`` expects
LOG-probabilities and merely picks ``-input[target]``, so on probabilities it computes
``-p_target``, a different and badly behaved objective.)

Progress bars are text ``tqdm`` bars written to stderr: they redraw in place with ``\\r``
in a terminal and in Jupyter, and the final line (counts, elapsed time, rate) is what a
saved notebook keeps. Pass ``progress=False`` to switch them off.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.std import tqdm  # text bars everywhere (tqdm.auto would make Jupyter widgets)

__all__ = ["RandomShift", "train", "test", "predict", "confusion_matrix", "most_confident_mistakes", "save", "load"]


def _bar(iterable, total, desc, progress):
    # mininterval=0.5 s keeps the saved notebook output small; leave=True keeps the final line.
    return tqdm(iterable, total=total, desc=desc, disable=not progress, mininterval=0.5, leave=True,
                dynamic_ncols=False, ncols=100)  # fmt: skip


class RandomShift:
    """Data augmentation: move each image of a batch by up to ``max_shift`` pixels, at random.

    Called on a batch ``x`` of shape (N, C, H, W), it pads every side with ``max_shift``
    pixels of the batch's smallest value (the background of digit images, also after
    standardising) and cuts out an H x W window at a random offset per image, so each
    image moves by ``dy, dx`` in ``-max_shift..max_shift`` and keeps its shape. The offsets
    come from a private generator seeded with ``seed``: the same run gives the same shifts.
    Written here rather than taken from torchvision: its ``RandomAffine(translate=...)``,
    called on a batch, draws one shift for the whole batch, and draws it from torch's global
    generator.
    """

    def __init__(self, max_shift: int = 2, seed: int = 0):
        if int(max_shift) < 0:
            raise ValueError(f"max_shift must be >= 0, got {max_shift}")
        self.max_shift = int(max_shift)
        self.generator = torch.Generator().manual_seed(int(seed))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"expected a batch of shape (N, C, H, W), got {tuple(x.shape)}")
        p = self.max_shift
        if p == 0:
            return x
        n, _, h, w = x.shape
        padded = F.pad(x, (p, p, p, p), value=float(x.min()))
        dy, dx = (torch.randint(0, 2 * p + 1, (n,), generator=self.generator).tolist() for _ in range(2))
        return torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])

    def __repr__(self) -> str:
        return f"RandomShift(max_shift={self.max_shift})"


def train(model, loader, optimizer, device, scheduler=None, epoch: int = 1, progress: bool = True,
          transform=None) -> list[float]:  # fmt: skip
    """One epoch of mini-batch training; returns the loss of every batch (floats).

    For each batch: move it to ``device``, apply ``transform`` to the inputs if one is
    given (data augmentation, e.g. random shifts; training batches only), zero the
    gradients, compute ``F.cross_entropy`` on the model's logits, back-propagate, take an
    optimiser step, and, if a ``scheduler`` is given, step it too. The scheduler is
    stepped once per BATCH, so build it with the total number of batches (e.g.
    ``CosineAnnealingLR(optimizer, T_max=epochs * len(loader))``).
    """
    model.train()  # dropout on (and batch-norm statistics updating, if any)
    losses: list[float] = []
    bar = _bar(loader, len(loader), f"epoch {epoch}", progress)
    for data, target in bar:
        data, target = data.to(device), target.to(device)
        if transform is not None:
            data = transform(data)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(data), target)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{losses[-1]:.3f}", lr=f"{optimizer.param_groups[0]['lr']:.4f}", refresh=False)
    bar.close()
    return losses


def test(model, loader, device, progress: bool = False) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy (a fraction in [0, 1]) of ``model`` on ``loader``.

    Runs in eval mode (dropout off) and under ``torch.no_grad()`` (no graph is built,
    which saves memory and time). The two are separate things and both are needed.
    Restores the model's previous mode afterwards.
    """
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for data, target in _bar(loader, len(loader), "test", progress):
            data, target = data.to(device), target.to(device)
            logits = model(data)
            total_loss += F.cross_entropy(logits, target, reduction="sum").item()
            correct += (logits.argmax(dim=1) == target).sum().item()
            count += len(target)
    model.train(was_training)
    if count == 0:
        raise ValueError("the loader yielded no examples")
    return total_loss / count, correct / count


def predict(model, loader, device) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities (N, C) float32 and true labels (N,) int64 for every example of ``loader``.

    Probabilities are the softmax of the logits, computed in eval mode without gradients.
    Use a loader with ``shuffle=False`` so rows stay in dataset order.
    """
    was_training = model.training
    model.eval()
    probs, labels = [], []
    with torch.no_grad():
        for data, target in loader:
            probs.append(model(data.to(device)).softmax(dim=1).cpu())
            labels.append(target.cpu())
    model.train(was_training)
    return torch.cat(probs).numpy(), torch.cat(labels).numpy().astype(np.int64)


def confusion_matrix(labels, preds, n_classes: int | None = None) -> np.ndarray:
    """Counts ``cm[i, j]`` = number of examples of true class i predicted as class j (int64).

    scikit-learn's ``confusion_matrix`` with the classes fixed to ``0..n_classes - 1``
    (default: the largest class seen, plus one), so every class has its row and column
    even if it never occurs. A class outside that range is an error here; scikit-learn
    would silently leave the example out.
    """
    from sklearn.metrics import confusion_matrix as count_pairs

    labels = np.asarray(labels, dtype=np.int64).ravel()
    preds = np.asarray(preds, dtype=np.int64).ravel()
    if n_classes is None:
        n_classes = int(max(labels.max(initial=-1), preds.max(initial=-1))) + 1
    for values in (labels, preds):
        if values.size and (values.min() < 0 or values.max() >= n_classes):
            raise ValueError(f"labels and predictions must lie in 0..{n_classes - 1}")
    return count_pairs(labels, preds, labels=np.arange(n_classes)).astype(np.int64)


def most_confident_mistakes(probs, labels, k: int) -> np.ndarray:
    """Indices of the ``k`` misclassified examples the model was most sure about.

    ``probs`` (N, C) class probabilities, ``labels`` (N,) true classes. An example is a
    mistake when ``argmax(probs[i]) != labels[i]`` (ties in argmax go to the lower class,
    as ``np.argmax`` does); its confidence is ``max(probs[i])``. Returns int64 indices
    sorted by confidence, highest first, ties by index; fewer than ``k`` if there are
    fewer mistakes.
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if probs.ndim != 2 or labels.shape != (probs.shape[0],):
        raise ValueError(f"probs must be (N, C) and labels (N,), got {probs.shape} and {labels.shape}")
    if int(k) < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    preds = probs.argmax(axis=1)
    wrong = np.flatnonzero(preds != labels)
    confidence = probs[wrong, preds[wrong]]
    order = np.lexsort((wrong, -confidence))  # last key sorts first: confidence down, then index up
    return wrong[order][: int(k)].astype(np.int64)


def save(model, path: str | os.PathLike) -> Path:
    """Write the model's ``state_dict`` (its tensors only, not its code) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path


def load(model, path: str | os.PathLike, device=None):
    """Load weights saved by :func:`save` into ``model`` (same architecture) and return it.

    ``weights_only=True`` refuses to unpickle arbitrary objects: loading a file is then
    not a way to run someone else's code.
    """
    state = torch.load(Path(path), map_location=device or "cpu", weights_only=True)
    model.load_state_dict(state)
    if device is not None:
        model.to(device)
    return model
