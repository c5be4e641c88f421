"""Figures build, every axes is labelled, and no figure uses a misleading colour map."""

import matplotlib

matplotlib.use("Agg")  # tests only: the library itself never picks a backend

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from nnbook import data, plots  # noqa: E402

BAD_CMAPS = {"jet", "jet_r", "rainbow", "hsv", "gist_rainbow", "nipy_spectral"}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _data_axes(fig):
    """Axes that show data (colorbars are checked separately through their label)."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def _assert_labelled(fig):
    axes = _data_axes(fig)
    assert axes, "figure has no axes"
    for ax in axes:
        if not ax.axison:
            continue
        assert ax.get_xlabel().strip(), f"axes {ax} has no x label"
        assert ax.get_ylabel().strip(), f"axes {ax} has no y label"
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            assert ax.get_ylabel().strip() or ax.get_xlabel().strip(), "colorbar without label"


def _cmaps_used(fig):
    names = set()
    for ax in fig.axes:
        for artist in [*ax.images, *ax.collections]:
            cmap = getattr(artist, "get_cmap", lambda: None)()
            if cmap is not None:
                names.add(cmap.name)
    return names


def _assert_safe_cmaps(fig):
    used = _cmaps_used(fig)
    assert not used & BAD_CMAPS, f"colour-blind-unsafe colour map used: {used & BAD_CMAPS}"


def test_checker_catches_unlabelled_and_jet():
    # The helpers must be able to fail, or the tests below prove nothing.
    fig, ax = plt.subplots()
    ax.imshow(np.eye(3), cmap="jet")
    with pytest.raises(AssertionError):
        _assert_labelled(fig)
    with pytest.raises(AssertionError):
        _assert_safe_cmaps(fig)


def test_decision_boundary_labels_and_scores():
    X, y = data.moons(n=80, signed=True)
    fig = plots.plot_decision_boundary(lambda P: np.sign(P[:, 1] - 0.25), X, y, resolution=50)
    assert isinstance(fig, Figure)
    _assert_labelled(fig)
    _assert_safe_cmaps(fig)
    assert {t.get_text() for t in fig.axes[0].get_legend().get_texts()} == {"class -1", "class 1"}

    fig = plots.plot_decision_boundary(lambda P: np.tanh(P[:, 0] - P[:, 1]), X, y, resolution=50)
    _assert_labelled(fig)
    _assert_safe_cmaps(fig)
    assert "RdBu_r" in _cmaps_used(fig)


def test_decision_boundary_multiclass_scores_and_value_objects():
    X, y = data.blobs(n=90, centers=3)
    centres = np.stack([X[y == k].mean(axis=0) for k in range(3)])
    fig = plots.plot_decision_boundary(lambda P: -((P[:, None, :] - centres) ** 2).sum(-1), X, y, resolution=40)
    _assert_labelled(fig)

    class V:  # stands in for the course's scalar autograd Value
        def __init__(self, d):
            self.data = d

    fig = plots.plot_decision_boundary(lambda P: [V(p[0] + p[1]) for p in P], X, y % 2, resolution=20)
    _assert_labelled(fig)
    with pytest.raises(ValueError, match="shape"):
        plots.plot_decision_boundary(lambda P: P[:, 0], np.zeros((5, 3)), np.zeros(5))


def test_decision_boundary_into_given_axes():
    fig, (a, b) = plt.subplots(1, 2)
    X, y = data.gates("xor")
    out = plots.plot_decision_boundary(lambda P: (P.sum(1) == 1).astype(int), X, y, ax=b, resolution=20)
    assert out is fig and b.get_xlabel()


def test_curves():
    history = {"train_loss": list(np.linspace(2, 0.1, 50)), "val_loss": list(np.linspace(2, 0.3, 50)),
               "val_accuracy": list(np.linspace(0.1, 0.9, 50)), "lr": [0.1] * 50}  # fmt: skip
    fig = plots.plot_curves(history, xlabel="epoch", logy=True, smooth=5)
    axes = _data_axes(fig)
    assert [ax.get_ylabel() for ax in axes] == ["loss", "accuracy", "value"]
    assert all(ax.get_xlabel() == "epoch" for ax in axes)
    assert axes[0].get_yscale() == "log"
    _assert_labelled(fig)
    with pytest.raises(ValueError):
        plots.plot_curves({})


def test_image_grid():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)
    labels = np.arange(10)
    preds = labels.copy()
    preds[3] = 5
    fig = plots.plot_image_grid(images, labels, preds, ncols=4)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 10
    assert all(ax.images[0].get_cmap().name == "gray" for ax in shown)
    titles = [ax.get_title() for ax in shown]
    assert titles[0] == "label 0\npred 0" and "\u2717" in titles[3] and "\u2717" not in titles[4]
    fig = plots.plot_image_grid(images.reshape(10, -1)[:3], classes=list("abcdefghij"), labels=labels[:3])
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["label a", "label b", "label c"]
    with pytest.raises(ValueError, match="square"):
        plots.plot_image_grid(np.zeros((2, 10)))


def test_confusion_matrix():
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    fig = plots.plot_confusion_matrix(cm, ["a", "b", "c"])
    _assert_labelled(fig)
    _assert_safe_cmaps(fig)
    ax = _data_axes(fig)[0]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert [t.get_text() for t in ax.texts][:3] == ["5", "1", "0"]
    fig = plots.plot_confusion_matrix(cm, normalize=True)
    assert _data_axes(fig)[0].texts[0].get_text() == f"{5 / 6:.2f}"
    with pytest.raises(ValueError, match="class names"):
        plots.plot_confusion_matrix(cm, ["a", "b"])


def test_maps_share_one_scale_and_one_labelled_colorbar():
    rng = np.random.default_rng(0)
    filters = rng.normal(size=(6, 1, 3, 3))
    fig = plots.plot_maps(filters, ncols=4, cmap="RdBu_r", symmetric=True, colorbar_label="weight",
                          titles=[f"filter {i}" for i in range(6)])
    # panels are pictures (no axes to label); the colour bar says what the colours mean
    assert [ax.get_ylabel() for ax in fig.axes if ax.get_label() == "<colorbar>"] == ["weight"]
    _assert_safe_cmaps(fig)
    shown = [ax for ax in _data_axes(fig) if ax.images]
    assert len(shown) == 6 and shown[2].get_title() == "filter 2"
    m = np.abs(filters).max()
    assert all(ax.images[0].get_clim() == (-m, m) for ax in shown), "one scale, centred on zero"
    assert sum(ax.get_label() == "<colorbar>" for ax in fig.axes) == 1
    maps = np.abs(rng.normal(size=(3, 5, 5)))
    fig = plots.plot_maps(maps, colorbar_label="activation")
    assert [ax.images[0].get_clim() for ax in _data_axes(fig) if ax.images][0] == (maps.min(), maps.max())
    plots.plot_maps(np.zeros((2, 4, 4)))  # a constant map still gets a valid scale
    with pytest.raises(ValueError, match="shape"):
        plots.plot_maps(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="titles"):
        plots.plot_maps(maps, titles=["a"])
