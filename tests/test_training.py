"""nnbook.training on a tiny real subset: training lowers the loss, test() is graph-free, save/load round-trips."""

import numpy as np
import pytest
import torch
from torch import nn, optim

from nnbook.data import digits, make_dataloader
from nnbook.torch_models import MLP784, SmallCNN
from nnbook.torchutil import seed_everything
from nnbook.training import confusion_matrix, load, most_confident_mistakes, predict, save, train
from nnbook.training import test as evaluate  # named so pytest does not collect it as a test

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def tiny_digits():
    """512 real handwritten digits (scikit-learn's 8x8 set), upscaled to 28x28 by nearest neighbour."""
    torch.set_num_threads(1)
    X, y = digits()  # (1797, 64) in [0, 1]
    images = X[:512].reshape(-1, 8, 8)
    big = np.zeros((512, 28, 28), dtype=np.float32)
    big[:, 2:26, 2:26] = np.kron(images, np.ones((3, 3)))  # 8x8 -> 24x24, padded to 28x28
    big = (big - 0.13) / 0.31
    return big[:, None], y[:512]


def _loaders(data, batch_size=64):
    X, y = data
    return (make_dataloader(X, y, batch_size=batch_size, shuffle=True, seed=0),
            make_dataloader(X, y, batch_size=128, shuffle=False))  # fmt: skip


def test_training_lowers_the_loss(tiny_digits):
    seed_everything(0)
    train_loader, eval_loader = _loaders(tiny_digits, batch_size=32)
    model = SmallCNN(channels=(4, 8), hidden=32)
    before, acc_before = evaluate(model, eval_loader, CPU)
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4 * len(train_loader))
    losses = []
    for epoch in (1, 2, 3, 4):
        losses += train(model, train_loader, optimizer, CPU, scheduler, epoch=epoch, progress=False)
    after, acc_after = evaluate(model, eval_loader, CPU)
    assert len(losses) == 4 * len(train_loader) and all(isinstance(v, float) for v in losses)
    assert after < 0.5 * before, (before, after)
    assert acc_after > max(acc_before, 0.6)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)  # cosine reached its end
    assert model.training  # train() leaves the model in training mode


def test_training_is_deterministic(tiny_digits):
    results = []
    for _ in range(2):
        seed_everything(3)
        train_loader, _ = _loaders(tiny_digits)
        model = MLP784(hidden=(32,))
        optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        results.append(train(model, train_loader, optimizer, CPU, progress=False))
    assert results[0] == results[1]


def test_progress_bar_goes_to_stderr(tiny_digits, capsys):
    train_loader, _ = _loaders(tiny_digits, batch_size=256)
    model = MLP784(hidden=(8,))
    train(model, train_loader, optim.SGD(model.parameters(), lr=0.01), CPU, epoch=7, progress=True)
    err = capsys.readouterr().err
    assert "epoch 7" in err and "2/2" in err


def test_test_returns_loss_and_accuracy_without_building_graphs(tiny_digits):
    _, eval_loader = _loaders(tiny_digits)
    seen = []

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = SmallCNN(channels=(2, 4), hidden=8, dropout=0.5)

        def forward(self, x):
            out = self.net(x)
            seen.append((torch.is_grad_enabled(), out.requires_grad, self.training))
            return out

    model = Spy().train()
    loss, acc = evaluate(model, eval_loader, CPU)
    assert isinstance(loss, float) and loss > 0
    assert isinstance(acc, float) and 0.0 <= acc <= 1.0
    assert seen and all(not grad and not requires and not training for grad, requires, training in seen)
    assert model.training, "test() must restore training mode"


def test_test_accuracy_is_exact_on_a_known_classifier():
    X = np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 0.0], [3.0, 1.0]], dtype=np.float32)
    y = np.array([0, 1, 1, 1])
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
        model.bias.zero_()
    loss, acc = evaluate(model, make_dataloader(X, y, batch_size=3, shuffle=False), CPU)
    assert acc == 0.5
    logits = torch.tensor(X)
    assert loss == pytest.approx(nn.functional.cross_entropy(logits, torch.tensor(y)).item(), rel=1e-6)


def test_save_load_round_trip_gives_identical_outputs(tiny_digits, tmp_path):
    seed_everything(1)
    model = SmallCNN(channels=(4, 8), hidden=16)
    path = save(model, tmp_path / "sub" / "weights.pt")
    assert path.is_file()
    seed_everything(2)
    fresh = SmallCNN(channels=(4, 8), hidden=16)
    x = torch.tensor(tiny_digits[0][:8])
    assert not torch.equal(fresh(x), model(x))
    load(fresh, path, device=CPU)
    model.eval(), fresh.eval()
    assert torch.equal(fresh(x), model(x))
    with pytest.raises(RuntimeError):
        load(SmallCNN(channels=(2, 8), hidden=16), path)  # different architecture


def test_predict_and_confusion_matrix(tiny_digits):
    _, eval_loader = _loaders(tiny_digits)
    seed_everything(0)
    probs, labels = predict(MLP784(hidden=(16,)), eval_loader, CPU)
    assert probs.shape == (512, 10) and labels.shape == (512,)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(labels, tiny_digits[1])
    cm = confusion_matrix(labels, probs.argmax(axis=1), n_classes=10)
    assert cm.shape == (10, 10) and cm.sum() == 512
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(labels, minlength=10))


def test_confusion_matrix_counts():
    cm = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], n_classes=3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    with pytest.raises(ValueError):
        confusion_matrix([0, 1], [0])
    with pytest.raises(ValueError):
        confusion_matrix([0, 3], [0, 1], n_classes=3)


def test_most_confident_mistakes():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.7, 0.3]])
    labels = np.array([1, 1, 1, 0, 1])
    np.testing.assert_array_equal(most_confident_mistakes(probs, labels, 10), [0, 3, 4, 2])  # 0.7 tie -> index
    np.testing.assert_array_equal(most_confident_mistakes(probs, labels, 2), [0, 3])
    assert most_confident_mistakes(probs, probs.argmax(axis=1), 3).size == 0
    with pytest.raises(ValueError):
        most_confident_mistakes(probs, labels[:3], 1)


def test_random_shift_moves_each_image_and_is_reproducible():
    from nnbook.training import RandomShift

    x = torch.full((16, 1, 9, 9), -0.5)
    x[:, 0, 4, 4] = 3.0  # one bright pixel in the middle of a dark background
    shifted = RandomShift(max_shift=2, seed=0)(x)
    assert shifted.shape == x.shape
    bright = [tuple(int(v) for v in torch.nonzero(img[0] == 3.0)[0]) for img in shifted]
    assert all(abs(r - 4) <= 2 and abs(c - 4) <= 2 for r, c in bright)
    assert len(set(bright)) > 3, "different images get different shifts"
    assert torch.all((shifted == 3.0).sum(dim=(1, 2, 3)) == 1), "the pixel moves, it is not lost or copied"
    assert torch.all(shifted[shifted != 3.0] == -0.5), "the border is filled with the background value"
    assert torch.equal(RandomShift(2, seed=0)(x), shifted)
    assert torch.equal(RandomShift(0)(x), x)
    with pytest.raises(ValueError):
        RandomShift(-1)
    with pytest.raises(ValueError):
        RandomShift(1)(x[0])


def test_train_applies_the_transform_to_training_batches_only(tiny_digits):
    seen = []

    def spy(batch):
        seen.append(batch.shape)
        return batch

    train_loader, _ = _loaders(tiny_digits)
    model = MLP784(hidden=(8,))
    train(model, train_loader, optim.SGD(model.parameters(), lr=0.01), CPU, progress=False, transform=spy)
    assert len(seen) == len(train_loader)
