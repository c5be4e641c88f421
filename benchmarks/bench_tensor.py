"""How fast is `nnbook.tensor.Tensor`, and does it agree with `Value`?

Prints figures measured in this one run; asserts nothing about time (speed
depends on the machine and on what else runs on it).

(a) The micrograd moons demo (MLP 2-16-16-1, max-margin loss + L2 1e-4,
    full batch of 100, lr 1 - 0.9 k/100): Tensor training steps per second,
    and the largest difference between the Tensor and the scalar `Value`
    loss trajectories started from identical weights.
(b) An MNIST-shaped MLP 784-128-10, batch 128, float32 random data:
    time per training step of Tensor against PyTorch on the CPU, both on one
    thread.

    python benchmarks/bench_tensor.py [--value-steps 100] [--seconds 3]
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread for numpy and torch alike, set before either loads:
# the comparison is per core, and the course machines share their cores.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from nnbook.losses import l2_penalty  # noqa: E402  (one contract: Values or Tensors)
from nnbook.tensor import Tensor, cross_entropy, max_margin_loss  # noqa: E402
from nnbook.tensor_nn import TensorMLP  # noqa: E402

ALPHA = 1e-4


def moons():
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=100, noise=0.1, random_state=1)
    return X, (2.0 * y - 1.0)  # labels in {-1, +1}


def demo_lr(k: int) -> float:
    # The demo's schedule; repeated every 100 steps so long timing runs never
    # reach a negative learning rate.
    return 1.0 - 0.9 * (k % 100) / 100


def tensor_moons(model: TensorMLP, X, y, steps: int) -> np.ndarray:
    Xt = Tensor(X)
    params = model.parameters()
    losses = np.empty(steps)
    for k in range(steps):
        loss = max_margin_loss(model(Xt), y) + l2_penalty(params, ALPHA)
        model.zero_grad()
        loss.backward()
        lr = demo_lr(k)
        for p in params:
            p.data -= lr * p.grad
        losses[k] = loss.item()
    return losses


def value_moons(mlp, X, y, steps: int) -> np.ndarray:
    from nnbook.engine import Value
    from nnbook.losses import max_margin

    inputs = [[Value(float(v)) for v in row] for row in X]
    labels = [float(v) for v in y]
    params = mlp.parameters()
    losses = np.empty(steps)
    for k in range(steps):
        scores = [mlp(x) for x in inputs]
        loss = max_margin(scores, labels) + l2_penalty(params, ALPHA)
        mlp.zero_grad()
        loss.backward()
        lr = demo_lr(k)
        for p in params:
            p.data -= lr * p.grad
        losses[k] = loss.data
    return losses


def bench_moons(value_steps: int, seconds: float) -> None:
    print("(a) micrograd moons demo, MLP 2-16-16-1, 100 points, full batch")
    X, y = moons()
    model = TensorMLP(2, [16, 16, 1], seed=1337)
    tensor_moons(model, X, y, 50)  # warm-up
    # Rounds of 200 steps: the median is the typical speed, the best round
    # the speed when nothing else on the machine got in the way.  CPU time
    # (process_time) is less disturbed than wall time by other processes
    # competing for the cores, so it is printed as well.
    wall, cpu = [], []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(wall) < 3:
        start, start_cpu = time.perf_counter(), time.process_time()
        tensor_moons(model, X, y, 200)
        wall.append((time.perf_counter() - start) / 200)
        cpu.append((time.process_time() - start_cpu) / 200)
    median, best, median_cpu = float(np.median(wall)), min(wall), float(np.median(cpu))
    print(f"    Tensor: {1 / median:,.0f} steps/s median, {1 / best:,.0f} best round, "
          f"{1 / median_cpu:,.0f} per CPU-second ({1e6 * median:.0f} us/step; "
          f"{200 * len(wall)} steps in {len(wall)} rounds)")

    try:
        from nnbook.value_nn import MLP
    except ImportError:
        print("    Value engine not available: trajectory comparison skipped")
        return
    if value_steps <= 0:
        return
    mlp = MLP(2, [16, 16, 1], seed=1337)
    model = TensorMLP.from_mlp(mlp)
    start = time.perf_counter()
    lv = value_moons(mlp, X, y, value_steps)
    value_time = time.perf_counter() - start
    lt = tensor_moons(model, X, y, value_steps)
    print(f"    Value : {value_steps / value_time:,.2f} steps/s "
          f"({value_steps} steps in {value_time:.1f} s)")
    print(f"    loss {lv[0]:.6f} -> {lv[-1]:.6f} over {value_steps} steps; "
          f"max |loss_tensor - loss_value| = {np.abs(lt - lv).max():.2e}")


def bench_mnist(seconds: float) -> None:
    import torch

    torch.set_num_threads(1)
    print("(b) MNIST-shaped MLP 784-128-10, batch 128, float32, SGD lr 0.1, one thread")
    rng = np.random.default_rng(0)
    n_batches, batch = 16, 128
    xs = rng.standard_normal((n_batches, batch, 784)).astype(np.float32)
    ts = rng.integers(0, 10, (n_batches, batch))
    lr = 0.1

    model = TensorMLP(784, [128, 10], seed=0, init="kaiming", dtype=np.float32)
    params = model.parameters()
    x_tensors = [Tensor(x, dtype=np.float32) for x in xs]

    def tensor_step(i):
        loss = cross_entropy(model(x_tensors[i]), ts[i])
        model.zero_grad()
        loss.backward()
        for p in params:
            p.data -= lr * p.grad
        return loss

    net = model.to_torch()
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    x_torch = [torch.from_numpy(x) for x in xs]
    t_torch = [torch.from_numpy(t) for t in ts]

    def torch_step(i):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x_torch[i]), t_torch[i])
        loss.backward()
        opt.step()
        return loss

    # Alternate short rounds of each and keep each side's best round, so the
    # machine's other load penalises neither side systematically.
    for i in range(20):  # warm-up
        tensor_step(i % n_batches)
        torch_step(i % n_batches)
    best = {tensor_step: float("inf"), torch_step: float("inf")}
    cpu = {tensor_step: [], torch_step: []}
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for step in best:
            start, start_cpu = time.perf_counter(), time.process_time()
            for i in range(25):
                step(i % n_batches)
            best[step] = min(best[step], (time.perf_counter() - start) / 25)
            cpu[step].append((time.process_time() - start_cpu) / 25)
    t_tensor, t_torch = best[tensor_step], best[torch_step]
    c_tensor, c_torch = float(np.median(cpu[tensor_step])), float(np.median(cpu[torch_step]))
    print(f"    Tensor : {1e3 * t_tensor:.3f} ms/step best round, "
          f"{1e3 * c_tensor:.3f} ms CPU/step median")
    print(f"    PyTorch: {1e3 * t_torch:.3f} ms/step best round, "
          f"{1e3 * c_torch:.3f} ms CPU/step median (torch {torch.__version__})")
    print(f"    ratio Tensor / PyTorch = {t_tensor / t_torch:.2f} (best rounds), "
          f"{c_tensor / c_torch:.2f} (median CPU time)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--value-steps", type=int, default=100,
                        help="steps of the (slow) Value comparison; 0 skips it")
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="time spent measuring each speed figure")
    args = parser.parse_args()
    bench_moons(args.value_steps, args.seconds)
    bench_mnist(args.seconds)


if __name__ == "__main__":
    main()
