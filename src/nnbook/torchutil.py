"""Small PyTorch helpers: reproducible seeds, device choice, thread limits.

torch is imported inside each function, not at the top: importing torch takes
seconds, and chapters that never touch torch still import ``nnbook``.
"""

from __future__ import annotations

import os
import random
import sys

import numpy as np

__all__ = ["seed_everything", "get_device", "limit_threads"]


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's ``random``, numpy's legacy global RNG and torch (CPU and CUDA).

    Also asks torch for deterministic algorithms. ``warn_only=True`` because a few
    operations have no deterministic implementation: we would rather be warned
    than have a chapter crash on an unusual GPU.

    Returns a fresh ``numpy.random.Generator`` seeded with ``seed``: the course's
    own code takes explicit generators rather than relying on global state.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # the legacy API only takes 32-bit seeds
    # cuBLAS is only deterministic with a fixed workspace; the variable must be set
    # before CUDA initialises, and setdefault respects a user's own choice.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

    import torch

    torch.manual_seed(seed)  # seeds every CUDA device as well
    _use_deterministic_algorithms(torch)
    if hasattr(torch.backends, "cudnn"):
        torch.backends.cudnn.benchmark = False  # autotuning picks kernels nondeterministically
    return np.random.default_rng(seed)


def _use_deterministic_algorithms(torch) -> None:
    """``torch.use_deterministic_algorithms(True, warn_only=True)``, without its import of
    ``torch._inductor`` (and with it TorchDynamo: 2 s, more than importing torch) when the
    compiler is not loaded yet: the compiler's own deterministic flag is then set through
    its environment variable, which it reads when it is first imported. Same flags either
    way (tests/test_torchutil.py); the public call when torch lacks the direct one."""
    set_flag = getattr(torch._C, "_set_deterministic_algorithms", None)
    if "torch._inductor.config" in sys.modules or set_flag is None:
        torch.use_deterministic_algorithms(True, warn_only=True)
        return
    os.environ["TORCHINDUCTOR_DETERMINISTIC"] = "1"
    set_flag(True, warn_only=True)


def get_device():
    """The ``torch.device`` to train on: CUDA if present, else CPU.

    ``NNBOOK_DEVICE`` (e.g. ``cpu``, ``cuda:1``) overrides the automatic choice.
    Asking for CUDA without a GPU is an error
    rather than a silent fallback, so a misconfigured machine is noticed.
    """
    import torch

    wanted = os.environ.get("NNBOOK_DEVICE", "").strip()
    if not wanted:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(wanted)
    except RuntimeError as err:
        raise ValueError(f"invalid device {wanted!r} (from NNBOOK_DEVICE): {err}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {wanted!r} requested but torch sees no CUDA GPU; use 'cpu'")
    return device


def limit_threads(n: int = 1) -> None:
    """Use at most ``n`` threads in torch (and numpy's BLAS, if threadpoolctl is present).

    On a small machine, several processes each starting one thread per core
    oversubscribe the CPU and everything runs many times slower.
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    n = int(n)
    import torch

    torch.set_num_threads(n)
    try:
        # Only allowed before the first parallel region runs; later calls raise.
        torch.set_num_interop_threads(n)
    except RuntimeError:
        pass
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=n)
