"""Hidden tests must catch what public tests miss.

For each case a plausible wrong answer (the reference answer with one classic mistake) is
put into a chapter's answer cell. The chapter's graded cells then run in order, as while
grading: the wrong answer must pass the public part of the target test cell and fail once
its hidden part runs. Only the first code cell (imports) and the nbgrader cells run, so a
case costs seconds. Other chapters can add their cases to MUTANTS.

While grading, each submission gets hidden inputs of its own (``reference.case_seed(key,
student)``), so a mistake that only some draws expose would keep full marks for the other
students. The second test grades every mutant's target cell as 30 different students would
see it: the mistake must lose the cell for each of them (fixed edge cases appended to the
random draws are how an exercise guarantees this).
"""

from __future__ import annotations

import contextlib
import io

import nbformat
import pytest

from nnbook.course.grade import reference
from nnbook.course.paths import chapters, repo_root

ROOT = repo_root()
PATHS = {c.assignment: c.path for c in chapters(ROOT)}

# ch09's AdamW mistake moves a line: the decoupled decay applied after the update.
ADAMW_DECAY = "p.data *= 1 - self.lr * self.weight_decay  # from the weights before this update"
ADAMW_BLOCK = (ADAMW_DECAY + "\n            else:\n                g = g + self.weight_decay * p.data  # L2: the decay goes "
               "through the averages\n            m[...] = beta1 * m + (1 - beta1) * g\n"
               "            v[...] = beta2 * v + (1 - beta2) * g * g\n            m_hat = m / (1 - beta1 ** self.t)\n"
               "            v_hat = v / (1 - beta2 ** self.t)\n"
               "            p.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)")
ADAMW_AFTER = "\n            if self.decoupled:\n                p.data *= 1 - self.lr * self.weight_decay"

# ch09's Nesterov step, and Sutskever's form transcribed: the buffer holds steps, the rate inside.
NESTEROV_STEP = ("b *= self.momentum\n            b += g\n"
                 "            p.data -= self.lr * (g + self.momentum * b)")
NESTEROV_VELOCITY = ("b *= self.momentum\n            b -= self.lr * g  # a velocity: -lr * gradients\n"
                     "            p.data += self.momentum * b - self.lr * g")

# (chapter, answer cell, text of the reference answer, the mistake, test cell that must catch it)
MUTANTS = [
    ("ch01", "ch01-descend", "if np.linalg.norm(g) <= tol:", "if np.abs(g).max() <= tol:",
     "ch01-descend-stopping-tests"),
    ("ch01", "ch01-stable-learning-rate", "eigenvalues = np.linalg.eigvalsh(H)", "eigenvalues = np.linalg.eigvals(H).real",
     "ch01-stable-learning-rate-tests"),
    ("ch01", "ch01-stable-learning-rate", "if not lam_min > 1e-12 * lam_max:", "if not lam_min > 1e-12:",
     "ch01-stable-learning-rate-errors-tests"),  # an absolute threshold for round-off
    ("ch01", "ch01-descend", "if not np.linalg.norm(w) <= 1e6:", "if not np.linalg.norm(w) < 1e6:",
     "ch01-descend-stopping-tests"),  # stops ON 1e6, not above it
    ("ch02", "ch02-cross-entropy-from-logits", "grad = (np.exp(log_p) - Y) / len(Z)",
     "grad = np.exp(log_p)\n    grad[np.arange(len(Z)), Y.argmax(axis=1)] -= 1.0  # assumes one-hot targets\n"
     "    grad = grad / len(Z)", "ch02-cross-entropy-from-logits-tests"),
    ("ch02", "ch02-cross-entropy-from-logits", "shifted = Z - np.max(Z, axis=1, keepdims=True)", "shifted = Z - np.max(Z)",
     "ch02-cross-entropy-from-logits-tests"),  # the batch's maximum instead of each row's
    ("ch03", "ch03-value", "self.grad += out.data * out.grad", "self.grad = out.data * out.grad",
     "ch03-value-graphs-tests"),
    ("ch03", "ch03-gradient-check", "worst = float(np.max(np.abs(analytic - numeric) / scale, initial=0.0))",
     "worst = float(np.max(np.abs(analytic - numeric), initial=0.0))", "ch03-gradient-check-tests"),  # absolute error
    ("ch03", "ch03-gradient-check", "scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), 1e-8)",
     "scale = np.maximum(np.abs(analytic) + np.abs(numeric), 1e-8)", "ch03-gradient-check-tests"),  # over |a| + |n|
    ("ch04", "ch04-separable", '"or": True, "nand": True, "nor": True,', '"or": False, "nand": True, "nor": False,',
     "ch04-separable-tests"),
    ("ch04", "ch04-mlp", "            activations = [activations] * len(nouts)",
     "            activations = [activations] * (len(nouts) - 1) + [\"linear\"]  # the name only for hidden layers",
     "ch04-mlp-tests"),
    ("ch04", "ch04-init-weights", "return rng.uniform(-limit, limit, size)",
     "return rng.uniform(-limit, limit, (n_in, n_out)).T  # drawn as (n_in, n_out)", "ch04-init-weights-tests"),
    ("ch05", "ch05-xor-best-bce", "XOR_BEST_BCE = math.log(2)", "XOR_BEST_BCE = round(math.log(2), 2)",
     "ch05-xor-best-bce-tests"),
    ("ch05", "ch05-stopping-epoch", "        else:\n            waited += 1",
     "        elif loss == best_loss:  # a tie restarts the count\n            waited = 0\n        else:\n            waited += 1",
     "ch05-stopping-epoch-tests"),
    ("ch06", "ch06-numerical-gradient", "errors[name] = float(np.max(", "errors[name] = float(np.mean(",
     "ch06-gradient-errors-tests"),
    ("ch06", "ch06-matmul-backward", "return dY @ W.T, X.T @ dY", "return np.squeeze(dY @ W.T), np.squeeze(X.T @ dY)",
     "ch06-matmul-backward-tests"),
    ("ch06", "ch06-unbroadcast", "grad = grad.sum(axis=stretched, keepdims=True)",
     "grad = grad.sum(axis=stretched[0], keepdims=True)  # only the first stretched axis", "ch06-unbroadcast-tests"),
    ("ch06", "ch06-reductions", "axes = range(len(shape)) if axis is None else np.atleast_1d(axis)",
     "axes = range(len(shape)) if axis is None else [axis]  # forgets that axis may be a tuple",
     "ch06-sum-backward-tests"),
    ("ch06", "ch06-log-softmax", "loss = float(-A[rows, y].mean())", "loss = float(-A[:, y].mean())",
     "ch06-softmax-cross-entropy-tests"),
    ("ch06", "ch06-numerical-gradient", "x = np.array(x, dtype=float)  # a private copy we may perturb",
     "x = np.array(x)  # an integer array stays integer", "ch06-numerical-gradient-tests"),
    ("ch06", "ch06-numerical-gradient", "scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), 1e-8)",
     "scale = 1.0  # the absolute error", "ch06-gradient-errors-tests"),
    ("ch06", "ch06-log-softmax", "shifted = Z - Z.max(axis=1, keepdims=True)", "shifted = Z - Z.max()  # the global maximum",
     "ch06-log-softmax-tests"),
    ("ch06", "ch06-log-softmax", "p = np.exp(log_softmax(Z))", "p = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)",
     "ch06-log-softmax-backward-tests"),  # softmax without the shift overflows
    ("ch06", "ch06-tiny-network", "z = W @ x + bh", "z = W @ x  # forgets the hidden biases",
     "ch06-tiny-network-tests"),
    ("ch06", "ch06-two-layer", "reg * (np.sum(W1 * W1) + np.sum(W2 * W2))",
     "reg * (np.sum(W1 * W1) + np.sum(W2 * W2) + np.sum(b1 * b1) + np.sum(b2 * b2))", "ch06-two-layer-reg-tests"),
    ("ch06", "ch06-train-two-layer",
     "    W1 = rng.normal(0.0, np.sqrt(2 / n_in), size=(n_hidden, n_in))\n"
     "    W2 = rng.normal(0.0, np.sqrt(2 / n_hidden), size=(n_classes, n_hidden))",
     "    W2 = rng.normal(0.0, np.sqrt(2 / n_hidden), size=(n_classes, n_hidden))  # drawn first\n"
     "    W1 = rng.normal(0.0, np.sqrt(2 / n_in), size=(n_hidden, n_in))", "ch06-train-two-layer-init-tests"),
    ("ch07", "ch07-autograd-derivative", "dtype=torch.float64, requires_grad=True)",
     "dtype=torch.float32, requires_grad=True)", "ch07-autograd-derivative-tests"),
    ("ch07", "ch07-autograd-derivative",
     "    if not y.requires_grad:  # a constant function: no graph leads back to x\n        return np.zeros(x.shape)\n",
     "", "ch07-autograd-derivative-tests"),
    ("ch07", "ch07-evaluate", "predictions = model(X).argmax(dim=1)",
     "predictions = torch.softmax(model(X), dim=0).argmax(dim=1)  # softmax over the batch",
     "ch07-evaluate-accuracy-tests"),
    ("ch07", "ch07-make-classifier", "for h in hidden:", "for h in reversed(hidden):",
     "ch07-make-classifier-tests"),
    ("ch07", "ch07-train-epoch", "total += loss.item() * len(xb)\n        count += len(xb)",
     "total += loss.item()  # the mean of the batch means\n        count += 1", "ch07-train-epoch-loss-tests"),
    ("ch07", "ch07-residual", "return x + self.fc2(self.dropout(torch.relu(self.fc1(x))))",
     "return x + self.dropout(self.fc2(torch.relu(self.fc1(x))))", "ch07-residual-block-dropout-tests"),
    ("ch08", "ch08-validation-split", "n_val = round(fraction * len(members))", "n_val = int(fraction * len(members))",
     "ch08-validation-split-random-tests"),
    ("ch08", "ch08-validation-split", "n_val = round(fraction * len(members))",
     "n_val = int(fraction * len(members) + 0.5)", "ch08-validation-split-random-tests"),  # halves rounded up
    ("ch08", "ch08-conv2d", "j * stride:j * stride + kw]", "j * stride:j * stride + kh]",  # square kernels only
     "ch08-conv2d-single-tests"),
    ("ch08", "ch08-max-pool2d", "h_out, w_out = conv_output_size(height, k, stride), conv_output_size(width, k, stride)",
     "h_out = w_out = conv_output_size(height, k, stride)", "ch08-max-pool2d-tests"),  # square images only
    ("ch08", "ch08-conv2d-backward", "padding:padding + height, padding:padding + width]",
     "padding:padding + height, padding:padding + height]", "ch08-conv2d-backward-input-tests"),
    ("ch08", "ch08-max-pool2d-backward",
     "h_out, w_out = conv_output_size(height, k, stride), conv_output_size(width, k, stride)",
     "h_out = w_out = conv_output_size(height, k, stride)", "ch08-max-pool2d-backward-overlap-tests"),  # square only
    ("ch08", "ch08-make-cnn", "nn.Conv2d(c1, c2, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),",
     "nn.Conv2d(c1, c2, kernel_size=3, padding=1), nn.MaxPool2d(2),", "ch08-make-cnn-tests"),  # a ReLU forgotten
    ("ch08", "ch08-buggy-loss", "shifted = z - z.max(axis=1, keepdims=True)", "shifted = z - z.max()",
     "ch08-buggy-loss-tests"),  # the batch's maximum instead of each row's
    ("ch08", "ch08-most-confident-mistakes", 'order = np.argsort(-confidence, kind="stable")',
     "order = np.argsort(confidence)[::-1]", "ch08-most-confident-mistakes-tests"),  # ties broken by the larger index
    ("ch09", "ch09-sgd", "g = p.grad + self.weight_decay * p.data\n            if self.momentum:",
     "g = p.grad\n            p.data -= self.lr * self.weight_decay * p.data  # the decay outside the buffer\n"
     "            if self.momentum:", "ch09-sgd-weight-decay-tests"),
    ("ch09", "ch09-nesterov", NESTEROV_STEP, NESTEROV_VELOCITY,
     "ch09-nesterov-tests"),  # equal while lr is constant; a new lr reaches the steps late
    ("ch09", "ch09-nesterov", NESTEROV_STEP, NESTEROV_VELOCITY, "ch09-nesterov-weight-decay-tests"),
    ("ch09", "ch09-rmsprop", "g = p.grad + self.weight_decay * p.data",
     "g = p.grad\n            p.data -= self.lr * self.weight_decay * p.data  # the decay bypasses the scaling",
     "ch09-rmsprop-weight-decay-tests"),
    ("ch09", "ch09-adam", "p.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)",
     "p.data -= self.lr * math.sqrt(1 - beta2 ** self.t) / (1 - beta1 ** self.t) * m / (np.sqrt(v) + self.eps)",
     "ch09-adam-tests"),  # the paper's rearranged form: eps before the bias correction
    ("ch09", "ch09-adam", "g = g + self.weight_decay * p.data  # L2", "g = g + 2 * self.weight_decay * p.data  # L2",
     "ch09-adam-l2-tests"),  # the gradient of weight_decay * |p|**2 instead of weight_decay / 2 * |p|**2
    ("ch09", "ch09-adam", ADAMW_BLOCK, ADAMW_BLOCK.replace(ADAMW_DECAY, "pass") + ADAMW_AFTER,
     "ch09-adamw-tests"),  # the decay taken from the weights after this step's update
    ("ch09", "ch09-comparison", "optimizer.lr = schedule(k)", "optimizer.lr = schedule(min(k + 1, steps - 1))",
     "ch09-run-optimiser-tests"),  # the schedule one step ahead
    ("ch09", "ch09-comparison", "if best_curve is None or curve[-1] < best_curve[-1]:",
     "if best_curve is None or curve.min() < best_curve.min():", "ch09-tune-rate-tests"),  # the lowest point, not the end
    ("ch09", "ch09-comparison", "if best_curve is None or curve[-1] < best_curve[-1]:",
     "if best_curve is None or curve[-1] <= best_curve[-1]:", "ch09-tune-rate-tests"),  # the last of tied rates
    ("ch09", "ch09-schedules", "return lr0 * factor ** (step // every)", "return lr0 * factor ** round(step / every)",
     "ch09-step-schedule-tests"),
    ("ch09", "ch09-schedules", "t = min(step, total_steps) / total_steps", "t = step / total_steps  # not clamped",
     "ch09-cosine-schedule-tests"),
    ("ch09", "ch09-schedules", "return lr0 * step / warmup_steps", "return lr0 * (step + 1) / warmup_steps",
     "ch09-warmup-cosine-tests"),  # the warm-up starts at lr0 / warmup_steps, not at 0
    ("ch09", "ch09-lr-range-test", "loss > diverge_factor * min(losses)", "loss > diverge_factor * losses[0]",
     "ch09-lr-range-test-tests"),
    ("ch09", "ch09-suggest-lr", "rates[int(np.argmin(smooth_losses(losses, beta)))]", "rates[int(np.argmin(losses))]",
     "ch09-suggest-lr-tests"),  # the raw losses, not the smoothed ones
    ("ch10", "ch10-activation-stats", "saturated = np.mean(np.abs(H) > 0.97)",
     "saturated = np.mean(np.abs(H) >= 0.97)", "ch10-activation-stats-tests"),  # the threshold counted in
    ("ch10", "ch10-batchnorm-forward",
     "new_mean, new_var = np.array(running_mean, dtype=float), np.array(running_var, dtype=float)",
     "new_mean = (1 - momentum) * running_mean + momentum * x.mean(axis=0)  # updated in evaluation too\n"
     "        new_var = (1 - momentum) * running_var + momentum * x.var(axis=0, ddof=1)",
     "ch10-batchnorm-running-tests"),
    ("ch10", "ch10-batchnorm-backward", "inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)",
     "inv_std = 1.0 / np.sqrt(x.var(axis=0))  # eps forgotten in the backward pass",
     "ch10-batchnorm-backward-input-tests"),
    ("ch10", "ch10-dropout", "mask = (rng.random(x.shape) >= p) / (1.0 - p)",
     "mask = (rng.random(x.shape) < p) / p  # p taken as the probability of keeping", "ch10-dropout-train-tests"),
    ("ch10", "ch10-augment", "shifts = rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))",
     "shifts = np.tile(rng.integers(-max_shift, max_shift + 1, size=2), (len(images), 1))  # one for the batch",
     "ch10-augment-draws-tests"),
    ("ch10", "ch10-loss-at-init", "return loss, math.log(logits.shape[1])",
     "return loss, math.log(len(np.unique(y)))  # the classes seen in the batch", "ch10-loss-at-init-tests"),
    ("ch10", "ch10-clipping", "return [g * scale for g in grads], total",
     "return [g * min(1.0, max_norm / max(float(np.linalg.norm(g)), 1e-300)) for g in grads], total  # each alone",
     "ch10-clip-grad-norm-tests"),
    ("ch10", "ch10-diagnose", '    for r in records:\n        if r["activation"] == "relu" and r["dead"] > 0.5:',
     '    if grads[0] < 0.01 * grads[-1]:  # a symptom checked before its causes\n        return "vanishing"\n'
     '    for r in records:\n        if r["activation"] == "relu" and r["dead"] > 0.5:', "ch10-diagnose-edges-tests"),
]


HIDDEN = "### BEGIN HIDDEN TESTS"
STUDENT_IDS = [f"student{i:02d}" for i in range(30)]


def _cells_before(nb, target: str) -> tuple[dict, str]:
    """Run the imports and the graded cells before ``target`` (as grading does, an earlier
    cell failing does not stop the run); return the namespace and the target cell's source."""
    namespace: dict = {}
    first = next(c for c in nb.cells if c.cell_type == "code")
    with contextlib.redirect_stdout(io.StringIO()):
        exec(first.source, namespace)
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell is first or cell.cell_type != "code" or not grade_id:
                continue
            if grade_id == target:
                return namespace, cell.source
            try:
                exec(cell.source, namespace)
            except Exception:  # noqa: BLE001 - an earlier cell failing does not stop grading either
                pass
    raise AssertionError(f"no test cell {target!r}")


def _failure(source: str, namespace: dict) -> str | None:
    """Why ``source`` failed when run in ``namespace``, or None when it passed."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(source, namespace)
    except Exception as exc:  # noqa: BLE001 - any failure is the signal
        return f"{type(exc).__name__}: {exc}"
    return None


def _mutated(monkeypatch, chapter, answer, right, wrong):
    monkeypatch.setenv("NNBOOK_COURSE_ROOT", str(ROOT))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(PATHS[chapter], as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == answer]
    assert cell.source.count(right) == 1, f"{answer}: the reference answer no longer contains {right!r}"
    cell.source = cell.source.replace(right, wrong)
    return nb


IDS = [m[1] + ":" + m[4] for m in MUTANTS]


# several wrong answers are the unstable formulas a student might write (log of 0, exp
# overflowing): numpy's warnings about them are the point, not news
WRONG_ANSWERS_WARN = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@WRONG_ANSWERS_WARN
@pytest.mark.parametrize("chapter, answer, right, wrong, target", MUTANTS, ids=IDS)
def test_a_plausible_wrong_answer_passes_the_public_tests_and_fails_a_hidden_one(monkeypatch, chapter, answer, right,
                                                                                wrong, target):
    namespace, source = _cells_before(_mutated(monkeypatch, chapter, answer, right, wrong), target)
    public = _failure(source.partition(HIDDEN)[0], namespace)
    assert public is None, f"{target}: the public tests already catch the mistake ({public}); pick a subtler one"
    hidden = _failure(source, namespace)
    assert hidden is not None, f"{target}: the hidden tests do not catch {wrong!r} in {answer}"


@WRONG_ANSWERS_WARN
@pytest.mark.parametrize("chapter, answer, right, wrong, target", MUTANTS, ids=IDS)
def test_a_plausible_wrong_answer_loses_the_cell_for_every_student(monkeypatch, chapter, answer, right, wrong, target):
    namespace, source = _cells_before(_mutated(monkeypatch, chapter, answer, right, wrong), target)
    assert HIDDEN in source, f"{target} has no hidden tests"
    real = reference.case_seed
    escaped = []
    for student in STUDENT_IDS:
        # grading seeds each hidden test with the key and the student (GiveHiddenInputs)
        monkeypatch.setattr(reference, "case_seed", lambda key, submission=None, _student=student: real(key, _student))
        if _failure(source, namespace) is None:
            escaped.append(student)
    assert not escaped, (f"{target}: {wrong!r} in {answer} keeps full marks for {len(escaped)} of "
                         f"{len(STUDENT_IDS)} students ({', '.join(escaped[:5])}...): append the edge case "
                         f"that exposes it to every student's cases")
