"""nnbook.torch_models: shapes, parameter counts, logits (not probabilities), device selection."""

from unittest import mock

import pytest
import torch

from nnbook.torch_models import MLP784, SmallCNN, conv_output_size, count_parameters
from nnbook.torchutil import get_device


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.mark.parametrize("shape", [(4, 1, 28, 28), (4, 28, 28), (4, 784)])
def test_mlp_accepts_images_or_flat_vectors(shape):
    assert MLP784()(torch.zeros(shape)).shape == (4, 10)


def test_mlp_parameter_count_and_layers():
    model = MLP784(hidden=(512, 512))
    # 784*512+512 + 512*512+512 + 512*10+10
    assert count_parameters(model) == 669_706
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 512), (512, 512), (512, 10)]
    assert count_parameters(MLP784(hidden=(32,))) == 784 * 32 + 32 + 32 * 10 + 10


@pytest.mark.parametrize("shape", [(3, 1, 28, 28), (3, 28, 28)])
def test_cnn_output_shape(shape):
    assert SmallCNN(channels=(4, 8), hidden=16)(torch.zeros(shape)).shape == (3, 10)


def test_cnn_parameter_counts():
    # two padded 3x3 stages: conv1 16*9+16, conv2 32*16*9+32, fc1 32*7*7*64+64, fc2 64*10+10
    assert count_parameters(SmallCNN()) == 160 + 4_640 + 100_416 + 650 == 105_866
    assert count_parameters(SmallCNN(channels=(4, 8), hidden=16)) == 40 + 296 + 6_288 + 170
    assert count_parameters(SmallCNN(channels=(8, 16), hidden=64, dropout=0.5)) == 80 + 1_168 + 50_240 + 650


def test_cnn_layers_are_named_and_shown():
    model = SmallCNN(channels=(4, 8), hidden=16)
    names = [name for name, _ in model.named_children()]
    assert names == ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3", "fc2"]
    assert "Dropout" not in repr(model), "no dropout layer unless one is asked for"
    assert list(model.state_dict())[:2] == ["conv1.weight", "conv1.bias"]
    assert "dropout" in dict(SmallCNN(dropout=0.25).named_children())
    x = torch.zeros(2, 1, 28, 28)
    assert model.pool1(model.conv1(x)).shape == (2, 4, 14, 14)  # padded conv keeps 28, the pool halves it


def test_outputs_are_logits_not_probabilities():
    torch.manual_seed(0)
    x = torch.randn(16, 1, 28, 28) * 3
    for model in (MLP784(hidden=(64,)), SmallCNN(channels=(4, 8), hidden=16)):
        out = model(x)
        assert not torch.allclose(out.sum(dim=1), torch.ones(16)), "rows sum to 1: a softmax is applied"
        assert (out < 0).any(), "logits are unbounded; all-nonnegative outputs suggest probabilities"
        assert not any(isinstance(m, (torch.nn.Softmax, torch.nn.LogSoftmax)) for m in model.modules())


def test_dropout_only_in_training_mode():
    torch.manual_seed(0)
    model = SmallCNN(channels=(2, 4), hidden=32, dropout=0.5)
    x = torch.randn(2, 1, 28, 28)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))


def test_invalid_arguments():
    with pytest.raises(ValueError):
        MLP784(hidden=(0,))
    with pytest.raises(ValueError):
        SmallCNN(dropout=1.0)
    with pytest.raises(ValueError):
        SmallCNN(channels=(0, 4))


@pytest.mark.parametrize("args, expected", [((28, 3), 26), ((26, 3), 24), ((24, 2, 2), 12), ((25, 2, 2), 12),
                                            ((28, 5, 1, 2), 28), ((28, 3, 2, 1), 14), ((7, 7), 1)])
def test_conv_output_size_matches_formula(args, expected):
    assert conv_output_size(*args) == expected


def test_conv_output_size_matches_torch():
    for size, kernel, stride, padding in [(28, 3, 1, 0), (17, 4, 3, 1), (9, 2, 2, 0), (30, 5, 2, 2)]:
        conv = torch.nn.Conv2d(1, 1, kernel, stride=stride, padding=padding)
        assert conv(torch.zeros(1, 1, size, size)).shape[-1] == conv_output_size(size, kernel, stride, padding)


def test_conv_output_size_rejects_a_window_that_does_not_fit():
    with pytest.raises(ValueError):
        conv_output_size(2, 3)


def test_device_is_cpu_without_cuda(monkeypatch):
    monkeypatch.delenv("NNBOOK_DEVICE", raising=False)
    with mock.patch("torch.cuda.is_available", return_value=False):
        assert get_device().type == "cpu"


def test_device_is_cuda_when_present(monkeypatch):
    monkeypatch.delenv("NNBOOK_DEVICE", raising=False)
    with mock.patch("torch.cuda.is_available", return_value=True):
        assert get_device().type == "cuda"


def test_models_move_to_the_selected_device(monkeypatch):
    monkeypatch.setenv("NNBOOK_DEVICE", "cpu")
    device = get_device()
    model = SmallCNN(channels=(2, 4), hidden=8).to(device)
    assert all(p.device.type == "cpu" for p in model.parameters())
