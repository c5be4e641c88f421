"""nnbook.engine.Value against the PyPI ``micrograd`` package on its moons demo.

Both train the same 2-16-16-1 relu MLP (our MLP gets a copy of micrograd's
initial weights) on the same 100 moons, with the same loss (max-margin +
L2 1e-4, full batch) and the same schedule (lr = 1.0 - 0.9 k / 100). We
check that the losses agree at every step micrograd runs, time both in this
one run, and measure our peak memory in a fresh subprocess.

    python benchmarks/bench_value.py [--mg-steps 8] [--steps 100]

Needs ``pip install micrograd`` (0.1.0) and scikit-learn.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
if str(SRC) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(SRC))

import numpy as np  # noqa: E402
from sklearn.datasets import make_moons  # noqa: E402

from nnbook.engine import Value, gc_paused  # noqa: E402
from nnbook.losses import l2_penalty, max_margin  # noqa: E402
from nnbook.value_nn import MLP  # noqa: E402
from nnbook.optim import SGD, linear_decay  # noqa: E402

ALPHA = 1e-4


def moons():
    X, y = make_moons(n_samples=100, noise=0.1, random_state=1)
    return X.tolist(), (y * 2 - 1).astype(float).tolist()  # labels -1 / +1


# ----------------------------------------------------------------------
# micrograd, exactly as in its demo notebook
# ----------------------------------------------------------------------

def micrograd_model(seed=1337):
    from micrograd.nn import MLP as MgMLP

    random.seed(seed)  # micrograd draws its weights from the random module
    return MgMLP(2, [16, 16, 1])


def micrograd_weights(model):
    """micrograd's weights as our get_weights() format: [(W, b), ...]."""
    return [
        (np.array([[w.data for w in n.w] for n in layer.neurons]),
         np.array([n.b.data for n in layer.neurons], dtype=float))
        for layer in model.layers
    ]


def micrograd_train(model, X, y, steps):
    from micrograd.engine import Value as MgValue

    losses, times = [], []
    for k in range(steps):
        t0 = time.perf_counter()
        inputs = [list(map(MgValue, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        data_loss = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        data_loss = sum(data_loss) * (1.0 / len(data_loss))
        reg_loss = ALPHA * sum(p * p for p in model.parameters())
        total = data_loss + reg_loss
        model.zero_grad()
        total.backward()
        lr = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= lr * p.grad
        times.append(time.perf_counter() - t0)
        losses.append(total.data)
    return losses, times


# ----------------------------------------------------------------------
# nnbook
# ----------------------------------------------------------------------

def ours_step(model, opt, X, y):
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = [model(x) for x in inputs]
    total = max_margin(scores, y) + l2_penalty(model.parameters(), ALPHA)
    opt.zero_grad()
    total.backward()
    opt.step()
    return total.data


def ours_train(model, X, y, steps, pause_gc=False):
    opt = SGD(model.parameters(), schedule=linear_decay(1.0, 0.1, 100))
    losses, times = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        if pause_gc:  # the collector is back on between steps
            with gc_paused():
                losses.append(ours_step(model, opt, X, y))
        else:
            losses.append(ours_step(model, opt, X, y))
        times.append(time.perf_counter() - t0)
    accuracy = np.mean([(model(x).data > 0) == (yi > 0) for x, yi in zip(X, y)])
    return losses, times, accuracy


def ours_model_like_micrograd():
    model = MLP(2, [16, 16, 1])
    model.set_weights(micrograd_weights(micrograd_model()))
    return model


def peak_rss_mib():
    # VmHWM is this process's own high-water mark; ru_maxrss would also count
    # the parent's memory at fork time, since Linux keeps it across exec.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def memory_child(steps):
    """Run only our training; print peak RSS and the training's own Python peak."""
    import tracemalloc

    X, y = moons()
    model = ours_model_like_micrograd()
    tracemalloc.start()
    ours_train(model, X, y, steps)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{peak_rss_mib():.1f} {traced_peak / 2**20:.1f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mg-steps", type=int, default=8, help="micrograd steps (~1 s each)")
    ap.add_argument("--steps", type=int, default=100, help="our steps")
    ap.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        memory_child(args.steps)
        return

    X, y = moons()
    mg = micrograd_model()
    ours = ours_model_like_micrograd()
    for (W, b), (W2, b2) in zip(micrograd_weights(mg), ours.get_weights()):
        assert np.array_equal(W, W2) and np.array_equal(b, b2)

    mg_losses, mg_times = micrograd_train(mg, X, y, args.mg_steps)
    n = max(args.steps, args.mg_steps)
    our_losses, our_times, accuracy = ours_train(ours, X, y, n)
    ours2 = ours_model_like_micrograd()
    gc_losses, gc_times, _ = ours_train(ours2, X, y, n, pause_gc=True)
    assert gc_losses == our_losses  # pausing the collector changes no number

    worst = max(abs(a - b) for a, b in zip(mg_losses, our_losses))
    print(f"losses, first {args.mg_steps} steps (micrograd | nnbook):")
    for k, (a, b) in enumerate(zip(mg_losses, our_losses)):
        print(f"  step {k:3d}  {a:.15f}  {b:.15f}")
    print(f"largest loss difference: {worst:.3g}")
    assert worst <= 1e-9, f"losses disagree by {worst}"

    mg_rate = len(mg_times) / sum(mg_times)
    our_rate = len(our_times) / sum(our_times)
    print(f"micrograd: {mg_rate:8.2f} steps/s  ({len(mg_times)} steps)")
    print(f"nnbook   : {our_rate:8.2f} steps/s  ({len(our_times)} steps, "
          f"final loss {our_losses[-1]:.4f}, training accuracy {accuracy:.0%})")
    gc_rate = len(gc_times) / sum(gc_times)
    print(f"nnbook with engine.gc_paused() around each step: {gc_rate:8.2f} steps/s")
    print(f"speed-up : {our_rate / mg_rate:8.1f}x  (with gc_paused: {gc_rate / mg_rate:.1f}x)")

    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", "--steps", str(args.steps)],
        capture_output=True, text=True, check=True, env=env,
    )
    peak, traced = map(float, out.stdout.split())
    print(f"nnbook peak memory: {peak:.0f} MiB peak RSS of a process running {args.steps} steps "
          f"(numpy + scikit-learn imports included), {traced:.1f} MiB allocated by training")
    assert peak < 1024, f"peak memory {peak:.0f} MiB >= 1 GiB"


if __name__ == "__main__":
    main()
