import random
import subprocess
import sys

import numpy as np
import pytest

from nnbook import torchutil


def test_import_does_not_load_torch():
    # A fresh interpreter: importing the module must not pay torch's import cost.
    code = "import sys, nnbook.torchutil; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_seed_everything_repeats_all_generators():
    torch = pytest.importorskip("torch")

    def draw():
        rng = torchutil.seed_everything(123)
        return random.random(), np.random.rand(), torch.rand(3).tolist(), rng.random()

    assert draw() == draw()
    assert torch.are_deterministic_algorithms_enabled()
    first = draw()
    torchutil.seed_everything(124)
    assert torch.rand(3).tolist() != first[2]
    with pytest.raises(TypeError):
        torchutil.seed_everything(1.5)


def test_seed_everything_sets_torchs_deterministic_flags_without_loading_its_compiler():
    # torch.use_deterministic_algorithms imports torch._inductor (2 s per grading kernel);
    # seed_everything sets the same flags, the compiler's through its environment variable
    pytest.importorskip("torch")
    code = ("import os, sys, torch, nnbook.torchutil as t; os.environ.pop('TORCHINDUCTOR_DETERMINISTIC', None); "
            "t.seed_everything(0); loaded = 'torch._inductor' in sys.modules; "
            "import torch._inductor.config as c; "
            "print(loaded, torch.are_deterministic_algorithms_enabled(), "
            "torch.is_deterministic_algorithms_warn_only_enabled(), c.deterministic)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True", "True"]


def test_get_device_default_and_override(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.delenv("NNBOOK_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert torchutil.get_device().type == expected
    monkeypatch.setenv("NNBOOK_DEVICE", "cpu")
    assert torchutil.get_device() == torch.device("cpu")
    monkeypatch.setenv("NNBOOK_DEVICE", "not-a-device")
    with pytest.raises(ValueError, match="not-a-device"):
        torchutil.get_device()
    if not torch.cuda.is_available():
        monkeypatch.setenv("NNBOOK_DEVICE", "cuda")
        with pytest.raises(ValueError, match="CUDA"):
            torchutil.get_device()


def test_limit_threads():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        torchutil.limit_threads(1)
        assert torch.get_num_threads() == 1
        torchutil.limit_threads(1)  # second call: interop setting is guarded, must not raise
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError):
        torchutil.limit_threads(0)
