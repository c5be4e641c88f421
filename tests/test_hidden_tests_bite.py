"""Hidden tests must catch what public tests miss.

For each case a plausible wrong answer (the reference answer with one classic mistake) is
put into a chapter's answer cell. The chapter's graded cells then run in order, as while
grading: the wrong answer must pass the public part of the target test cell and fail once
its hidden part runs. Only the first code cell (imports) and the nbgrader cells run, so a
case costs seconds. Other chapters can add their cases to MUTANTS.
"""

from __future__ import annotations

import contextlib
import io

import nbformat
import pytest

from nnbook.course.paths import chapters, repo_root

ROOT = repo_root()
PATHS = {c.assignment: c.path for c in chapters(ROOT)}

# (chapter, answer cell, text of the reference answer, the mistake, test cell that must catch it)
MUTANTS = [
    ("ch01", "ch01-descend", "if np.linalg.norm(g) <= tol:", "if np.abs(g).max() <= tol:",
     "ch01-descend-stopping-tests"),
    ("ch01", "ch01-stable-learning-rate", "eigenvalues = np.linalg.eigvalsh(H)", "eigenvalues = np.linalg.eigvals(H).real",
     "ch01-stable-learning-rate-tests"),
    ("ch02", "ch02-cross-entropy-from-logits", "grad = (np.exp(log_p) - Y) / len(Z)",
     "grad = np.exp(log_p)\n    grad[np.arange(len(Z)), Y.argmax(axis=1)] -= 1.0  # assumes one-hot targets\n"
     "    grad = grad / len(Z)", "ch02-cross-entropy-from-logits-tests"),
    ("ch03", "ch03-value", "self.grad += out.data * out.grad", "self.grad = out.data * out.grad",
     "ch03-value-graphs-tests"),
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
    ("ch08", "ch08-conv2d", "j * stride:j * stride + kw]", "j * stride:j * stride + kh]",  # square kernels only
     "ch08-conv2d-single-tests"),
    ("ch08", "ch08-max-pool2d", "h_out, w_out = conv_output_size(height, k, stride), conv_output_size(width, k, stride)",
     "h_out = w_out = conv_output_size(height, k, stride)", "ch08-max-pool2d-tests"),  # square images only
    ("ch08", "ch08-conv2d-backward", "padding:padding + height, padding:padding + width]",
     "padding:padding + height, padding:padding + height]", "ch08-conv2d-backward-input-tests"),
    ("ch08", "ch08-make-cnn", "nn.Conv2d(c1, c2, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),",
     "nn.Conv2d(c1, c2, kernel_size=3, padding=1), nn.MaxPool2d(2),", "ch08-make-cnn-tests"),  # a ReLU forgotten
    ("ch08", "ch08-buggy-loss", "shifted = z - z.max(axis=1, keepdims=True)", "shifted = z - z.max()",
     "ch08-buggy-loss-tests"),  # the batch's maximum instead of each row's
    ("ch08", "ch08-most-confident-mistakes", 'order = np.argsort(-confidence, kind="stable")',
     "order = np.argsort(confidence)[::-1]", "ch08-most-confident-mistakes-tests"),  # ties broken by the larger index
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


def _graded_run(nb, target: str) -> tuple[str | None, str | None]:
    """Run the imports and graded cells up to ``target``; return why its public part and its
    whole cell failed (None when they passed)."""
    namespace: dict = {}
    first = next(c for c in nb.cells if c.cell_type == "code")
    with contextlib.redirect_stdout(io.StringIO()):
        exec(first.source, namespace)
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell is first or cell.cell_type != "code" or not grade_id:
                continue
            if grade_id != target:
                try:
                    exec(cell.source, namespace)
                except Exception:  # an earlier cell failing does not stop grading either
                    pass
                continue
            outcome = []
            for source in (cell.source.partition("### BEGIN HIDDEN TESTS")[0], cell.source):
                try:
                    exec(source, namespace)
                    outcome.append(None)
                except Exception as exc:  # noqa: BLE001 - any failure is the signal
                    outcome.append(f"{type(exc).__name__}: {exc}")
            return outcome[0], outcome[1]
    raise AssertionError(f"no test cell {target!r}")


@pytest.mark.parametrize("chapter, answer, right, wrong, target", MUTANTS, ids=[m[1] + ":" + m[4] for m in MUTANTS])
def test_a_plausible_wrong_answer_passes_the_public_tests_and_fails_a_hidden_one(monkeypatch, chapter, answer, right,
                                                                                wrong, target):
    monkeypatch.setenv("NNBOOK_COURSE_ROOT", str(ROOT))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(PATHS[chapter], as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == answer]
    assert cell.source.count(right) == 1, f"{answer}: the reference answer no longer contains {right!r}"
    cell.source = cell.source.replace(right, wrong)
    public, hidden = _graded_run(nb, target)
    assert public is None, f"{target}: the public tests already catch the mistake ({public}); pick a subtler one"
    assert hidden is not None, f"{target}: the hidden tests do not catch {wrong!r} in {answer}"
