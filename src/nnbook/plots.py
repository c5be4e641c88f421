"""Figures used throughout the course. Every function returns the matplotlib ``Figure``.

Conventions, so all chapters look alike and stay readable:
- every axes has its labels (a plot without units or names teaches little);
- colour maps are perceptually uniform and colour-blind safe: ``viridis`` /
  ``cividis`` for ordered values, ``RdBu_r`` for values around zero, the
  Okabe-Ito palette for classes, and classes also get different markers so
  colour is never the only cue. Never ``jet`` (it invents edges that are not
  in the data, and red-green blindness makes it ambiguous);
- pass ``ax=`` to draw into an existing axes; otherwise a new figure is made
  with pyplot so notebooks show it. Write ``fig = plot_...(...)`` (or end the
  line with ``;``) to avoid Jupyter drawing it a second time.

No backend is chosen here: that is the notebook's or the test runner's business.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap


__all__ = [
    "OKABE_ITO",
    "plot_decision_boundary",
    "plot_curves",
    "plot_image_grid",
    "plot_maps",
    "plot_confusion_matrix",
]

# Okabe & Ito (2008), "Color Universal Design": distinguishable with any common colour blindness.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def _new_axes(ax, figsize=(5, 4)):
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def _as_float_array(values) -> np.ndarray:
    """Numbers from a model's output: arrays, lists of floats, or lists of autograd ``Value``s."""
    arr = np.asarray(values)
    if arr.dtype == object:
        arr = np.array([getattr(v, "data", v) for v in arr.ravel()], dtype=np.float64).reshape(arr.shape)
    return arr.astype(np.float64)


# ---------------------------------------------------------------------------


def _padded_range(values, margin: float, resolution: int):
    """``resolution`` points spanning ``values`` with ``margin`` of their range on each side."""
    pad = margin * (np.ptp(values) or 1.0)
    return np.linspace(values.min() - pad, values.max() + pad, resolution)


def _outputs_on_grid(predict_fn: Callable, gx, gy):
    """``predict_fn`` on every grid point, shaped like the grid: the argmax class for (M, C)
    scores, else the (M,) values as they are."""
    out = _as_float_array(predict_fn(np.column_stack([gx.ravel(), gy.ravel()])))
    if out.ndim == 2 and out.shape[1] > 1:
        out = out.argmax(axis=1).astype(np.float64)
    out = out.reshape(-1)
    if out.size != gx.size:
        raise ValueError(f"predict_fn returned {out.size} values for {gx.size} points")
    return out.reshape(gx.shape)


def plot_decision_boundary(
    predict_fn: Callable,
    X,
    y,
    ax=None,
    resolution: int = 200,
    margin: float = 0.25,
    threshold: float | None = None,
    xlabel: str = "$x_1$",
    ylabel: str = "$x_2$",
    title: str | None = None,
):
    """Colour the plane by a classifier's output and scatter the data on top.

    ``predict_fn`` receives an (M, 2) array of points and returns one of:
    - (M, C) class scores/probabilities: regions by argmax;
    - (M,) integer class labels: regions by label;
    - (M,) real scores: a continuous diverging map, with the decision boundary
      drawn at ``threshold`` (default 0.5 if the scores lie in [0, 1], else 0).
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary needs 2-D inputs X of shape (N, 2), got {X.shape}")
    fig, ax = _new_axes(ax)
    xs, ys = (_padded_range(X[:, k], margin, resolution) for k in (0, 1))
    gx, gy = np.meshgrid(xs, ys)
    classes = np.unique(y)
    Z = _outputs_on_grid(predict_fn, gx, gy)
    is_labels = np.allclose(Z, np.round(Z)) and len(np.unique(Z)) <= max(len(classes), 2)

    # Colours follow the position of a class among all values seen, so a region
    # and the points of the same class always share colour (labels may be -1/+1).
    values = np.union1d(classes, np.unique(Z)) if is_labels else classes
    colour = {v: OKABE_ITO[i % len(OKABE_ITO)] for i, v in enumerate(values)}
    if is_labels:
        positions = np.searchsorted(values, Z)
        cmap = ListedColormap([colour[v] for v in values])
        ax.contourf(gx, gy, positions, levels=np.arange(len(values) + 1) - 0.5, cmap=cmap, alpha=0.3)
    else:
        if threshold is None:
            threshold = 0.5 if (Z.min() >= 0 and Z.max() <= 1) else 0.0
        span = max(abs(Z.max() - threshold), abs(Z.min() - threshold)) or 1.0
        cs = ax.contourf(gx, gy, Z, levels=21, cmap="RdBu_r",
                         vmin=threshold - span, vmax=threshold + span, alpha=0.6)  # fmt: skip
        ax.contour(gx, gy, Z, levels=[threshold], colors="k", linewidths=1.5)
        fig.colorbar(cs, ax=ax, label="model output")

    for i, c in enumerate(classes):
        sel = y == c
        ax.scatter(X[sel, 0], X[sel, 1], s=25, c=colour[c], marker=_MARKERS[i % len(_MARKERS)],
                   edgecolors="k", linewidths=0.5, label=f"class {c}")  # fmt: skip
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best", fontsize="small")
    if title:
        ax.set_title(title)
    return fig


# ---------------------------------------------------------------------------


def _kind(key: str) -> str:
    k = key.lower()
    if "acc" in k:
        return "accuracy"
    if "loss" in k or "cost" in k or "error" in k:
        return "loss"
    return "value"


def plot_curves(
    history: Mapping[str, Sequence[float]],
    xlabel: str = "step",
    logy: bool = False,
    title: str | None = None,
    smooth: int = 1,
):
    """Training curves from ``{"train_loss": [...], "val_acc": [...], ...}``.

    Curves are grouped by kind (names containing "loss"/"cost"/"error", "acc",
    anything else) into side-by-side panels, each with its own y label.
    ``smooth`` > 1 overlays a moving average (noisy mini-batch losses).
    ``logy`` uses a log scale on the loss panel.
    """
    if not history:
        raise ValueError("history is empty: nothing to plot")
    groups: dict[str, list[str]] = {}
    for key in history:
        groups.setdefault(_kind(key), []).append(key)
    order = [k for k in ("loss", "accuracy", "value") if k in groups]
    fig, axes = plt.subplots(1, len(order), figsize=(5 * len(order), 3.6), squeeze=False)
    for ax, kind in zip(axes[0], order):
        for i, key in enumerate(groups[kind]):
            values = _as_float_array(list(history[key]))
            steps = np.arange(1, len(values) + 1)
            colour = OKABE_ITO[i % len(OKABE_ITO)]
            if smooth > 1 and len(values) >= smooth:
                ax.plot(steps, values, color=colour, alpha=0.3)
                avg = np.convolve(values, np.ones(smooth) / smooth, mode="valid")
                ax.plot(steps[smooth - 1 :], avg, color=colour, label=f"{key} (mean of {smooth})")
            else:
                ax.plot(steps, values, color=colour, label=key, marker="o" if len(values) <= 30 else None)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(kind)
        if kind == "loss" and logy:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------


def _tiles(axes, n: int):
    """The first ``n`` axes of a grid, without ticks, as (index, axes); the rest are hidden."""
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i < n:
            yield i, ax
        else:
            ax.set_axis_off()


def plot_image_grid(
    images,
    labels=None,
    preds=None,
    ncols: int = 8,
    classes: Sequence[str] | None = None,
    max_images: int = 64,
    title: str | None = None,
):
    """Show images in a grid (grey scale), titled with label and/or prediction.

    ``images``: (N, H, W), or (N, H*W) with square images. Wrong predictions are
    marked with a cross in the title (text, not only colour).
    """
    imgs = np.asarray(images)
    if imgs.ndim == 4 and imgs.shape[1] == 1:  # torch layout (N, 1, H, W)
        imgs = imgs[:, 0]
    if imgs.ndim == 2:
        side = int(round(np.sqrt(imgs.shape[1])))
        if side * side != imgs.shape[1]:
            raise ValueError(f"cannot reshape rows of {imgs.shape[1]} pixels into square images")
        imgs = imgs.reshape(len(imgs), side, side)
    if imgs.ndim != 3:
        raise ValueError(f"images must have shape (N, H, W) or (N, H*W), got {np.shape(images)}")
    n = min(len(imgs), max_images)
    if n == 0:
        raise ValueError("no images to show")
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    title_lines = max(1, (labels is not None) + (preds is not None))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.4 * ncols, (1.4 + 0.25 * title_lines) * nrows), squeeze=False)

    def name(k):
        k = int(k)
        return classes[k] if classes is not None else str(k)

    for i, ax in _tiles(axes, n):
        ax.imshow(imgs[i], cmap="gray")
        parts, wrong = [], False
        if labels is not None:
            parts.append(f"label {name(labels[i])}")
        if preds is not None:
            wrong = labels is not None and int(preds[i]) != int(labels[i])
            parts.append(f"pred {name(preds[i])}" + (" \u2717" if wrong else ""))
        ax.set_title("\n".join(parts) if parts else f"#{i}", fontsize=8, color="#D55E00" if wrong else "k")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_maps(
    maps,
    ncols: int = 8,
    cmap: str = "cividis",
    symmetric: bool = False,
    titles: Sequence[str] | None = None,
    colorbar_label: str = "value",
    title: str | None = None,
    size: float = 1.2,
):
    """A grid of 2-D arrays on ONE shared colour scale, with one colour bar: filters or feature maps.

    ``maps``: (N, H, W) (a leading axis of 1, as in torch's (N, 1, H, W), is dropped).
    ``symmetric=True`` centres the scale on zero (``-m..m`` with ``m`` the largest
    magnitude), for signed values such as filter weights: use a diverging map then
    (``RdBu_r``: red positive, blue negative, white zero). Otherwise the scale runs from
    the smallest to the largest value (``cividis``/``viridis`` for activations).
    A shared scale is what makes panels comparable: a bright pixel means the same in each.
    """
    arr = np.asarray(maps, dtype=np.float64)
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 3 or len(arr) == 0:
        raise ValueError(f"maps must have shape (N, H, W) with N >= 1, got {np.shape(maps)}")
    if titles is not None and len(titles) != len(arr):
        raise ValueError(f"{len(titles)} titles for {len(arr)} maps")
    n = len(arr)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    if symmetric:
        m = float(np.abs(arr).max()) or 1.0
        vmin, vmax = -m, m
    else:
        vmin, vmax = float(arr.min()), float(arr.max())
        if vmax == vmin:
            vmax = vmin + 1.0
    extra = 0.25 if titles is not None else 0.0
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols + 1.0, (size + extra) * nrows + 0.3 * bool(title)),
                             squeeze=False)  # fmt: skip
    image = None
    for i, ax in _tiles(axes, n):
        image = ax.imshow(arr[i], cmap=cmap, vmin=vmin, vmax=vmax)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    fig.colorbar(image, ax=axes.ravel().tolist(), label=colorbar_label, shrink=0.9)
    if title:
        fig.suptitle(title)
    return fig


# ---------------------------------------------------------------------------

def plot_confusion_matrix(
    cm,
    classes: Sequence[str] | None = None,
    normalize: bool = False,
    ax=None,
    cmap: str = "viridis",
    title: str | None = None,
):
    """A confusion matrix (rows: true class, columns: predicted class) with counts written in.

    ``normalize=True`` shows each row as fractions of that true class (recall on the diagonal).
    """
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {cm.shape}")
    k = cm.shape[0]
    classes = [str(c) for c in (classes if classes is not None else range(k))]
    if len(classes) != k:
        raise ValueError(f"{len(classes)} class names for a {k}x{k} matrix")
    if normalize:
        rows = cm.sum(axis=1, keepdims=True)
        cm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    fig, ax = _new_axes(ax, figsize=(1.0 + 0.55 * k, 0.6 + 0.5 * k))
    im = ax.imshow(cm, cmap=cmap, vmin=0)
    fig.colorbar(im, ax=ax, label="fraction of true class" if normalize else "count")
    ax.set_xticks(range(k), classes, rotation=45, ha="right")
    ax.set_yticks(range(k), classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    # Text colour flips with the cell's brightness so every number stays readable.
    mid = (cm.max() + cm.min()) / 2
    for i in range(k):
        for j in range(k):
            text = f"{cm[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color="k" if cm[i, j] > mid else "w")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
