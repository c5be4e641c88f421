"""CSV export and the instructor's summary report.

``export``: one row per student and assignment, one column per graded cell (its score),
then ``score`` (after the late penalty), ``max_score``, ``late_penalty`` (nbgrader's, from the
assignment's due date: ``nnbook-course due``), ``status``, ``flagged`` and ``reason`` (timeout, memory limit, kernel
died, unreadable, integrity flag, truncated output; empty when nothing was unusual).
``status`` is ``graded``, or ``grading failed: <cause>`` for a submission the grader could
not grade (a failure of the machinery, not a grade: its scores are empty, or, when an earlier
grading exists, that one's; ``grade`` tries it again).
Scores are read from the gradebook (manual grades included); reasons from the grading state.
It is an nbgrader ``ExportPlugin`` (:class:`CellScoresExport`): ``nnbook-course export``
runs it, and so does ``nbgrader export --exporter=nnbook.course.report.export.CellScoresExport``.

``report``: ``reports/<assignment>/report.md`` with a score-distribution plot per
exercise (``scores.png``), the hardest exercises and the submissions to review.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

from nbgrader.plugins import ExportPlugin
from traitlets import Unicode

from nnbook.course.grade.gradebook import db_url, grade_cells, hide_add_submission_warning
from nnbook.course.state import GradingState


HEADER_TAIL = ["score", "max_score", "late_penalty", "status", "flagged", "reason", "findings"]


def rows(course: Path, assignment: str, gradebook=None) -> tuple[list[str], list[dict]]:
    """The export's header and rows for ``assignment`` (read from ``gradebook`` if given):
    the gradebook's submissions, then those whose grading failed and have no grade at all."""
    from nbgrader.api import Gradebook

    if gradebook is None:
        with Gradebook(db_url(course)) as gb:
            return rows(course, assignment, gb)
    cells = grade_cells(course, assignment)
    columns = [gid for nb in cells.values() for gid in nb]
    state = GradingState(course, assignment)
    failures = state.failures()
    out = []
    with warnings.catch_warnings():
        hide_add_submission_warning()
        for sub in sorted(gradebook.assignment_submissions(assignment), key=lambda s: s.student.id):
            out.append(_row(sub, assignment, state.done_record(sub.student.id) or {}, failures.pop(sub.student.id, None)))
    for student, failure in sorted(failures.items()):
        out.append({"student": student, "assignment": assignment, "score": None, "max_score": None,
                    "status": f"grading failed: {failure.get('failed', '')}", "flagged": False,
                    "reason": "", "findings": ""})
    return ["student", "assignment", *columns, *HEADER_TAIL], out


def _row(sub, assignment: str, done: dict, failure: dict | None) -> dict:
    row = {"student": sub.student.id, "assignment": assignment}
    for nb in sub.notebooks:
        for grade in nb.grades:
            row[grade.name] = float(grade.score or 0.0)
    penalty = float(sub.late_submission_penalty or 0.0)  # nbgrader's, kept in the gradebook
    row["score"] = float(sub.score or 0.0) - penalty
    row["late_penalty"] = penalty
    row["max_score"] = float(sub.max_score or 0.0)
    row["status"] = "graded" if failure is None else \
        f"grading failed: {failure.get('failed', '')} (the scores are from an earlier grading)"
    row["flagged"] = bool(done.get("flags")) or any(nb.flagged for nb in sub.notebooks)
    reasons = list(done.get("reasons", []))
    if not done:
        reasons.append("not graded by nnbook-course")
    row["reason"] = "; ".join(reasons)
    row["findings"] = "; ".join(f"{f['cell']}: {', '.join(f['findings'])}" for f in done.get("flags", []))
    return row


class CellScoresExport(ExportPlugin):
    """nbgrader export plugin: per-cell scores, totals, flags and reasons, one CSV row each."""

    course = Unicode("", help="the grading root (default: the gradebook's folder)").tag(config=True)

    def export(self, gradebook) -> None:
        course = Path(self.course or Path(gradebook.engine.url.database).parent).resolve()
        names = self.assignment or [a.name for a in gradebook.assignments]
        all_rows, header = [], ["student", "assignment"]
        for a in names:
            cols, rs = rows(course, a, gradebook)
            header += [c for c in cols if c not in header]
            all_rows += [r for r in rs if not self.student or r["student"] in self.student]
        target = Path(self.to or "grades.csv")
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=header, restval="")
            writer.writeheader()
            for row in all_rows:
                writer.writerow({k: (f"{v:g}" if isinstance(v, float) else "" if v is None else v)
                                 for k, v in row.items()})


def export_csv(course: Path, assignments: list[str], target: Path) -> Path:
    from nbgrader.api import Gradebook

    with Gradebook(db_url(course)) as gb:
        CellScoresExport(course=str(course), to=str(target), assignment=list(assignments)).export(gb)
    return target


def report(course: Path, assignment: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cells = grade_cells(course, assignment)
    points = {gid: pts for nb in cells.values() for gid, pts in nb.items()}
    _, all_rows = rows(course, assignment)
    failed = [r for r in all_rows if r["status"] != "graded"]
    rs = [r for r in all_rows if r["score"] is not None]  # failed gradings without a grade are no score
    folder = course / "reports" / assignment
    folder.mkdir(parents=True, exist_ok=True)
    fractions = {gid: np.array([r.get(gid, 0.0) / pts for r in rs]) if rs else np.zeros(0)
                 for gid, pts in points.items() if pts > 0}
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(fractions)), 3.5))
    ax.boxplot([v if len(v) else [0.0] for v in fractions.values()], showmeans=True)
    for i, v in enumerate(fractions.values(), start=1):
        ax.scatter(np.full(len(v), i) + np.linspace(-0.15, 0.15, len(v)) if len(v) else [], v, s=8, alpha=0.5)
    ax.set_xticks(range(1, len(fractions) + 1), list(fractions), rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("fraction of points")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(f"{assignment}: score distribution per exercise ({len(rs)} submissions)")
    fig.tight_layout()
    fig.savefig(folder / "scores.png", dpi=110)
    plt.close(fig)

    hardest = sorted(fractions.items(), key=lambda kv: kv[1].mean() if len(kv[1]) else 0.0)
    totals = [r["score"] for r in rs]
    lines = [f"# Grading report: {assignment}", "",
             f"{len(rs)} submissions; mean score {np.mean(totals) if totals else 0:.2f} / "
             f"{sum(points.values()):g}, median {np.median(totals) if totals else 0:.2f}.", "",
             "![score distribution per exercise](scores.png)", "", "## Hardest exercises", "",
             "| grade cell | mean fraction | full marks |", "| --- | --- | --- |"]
    for gid, v in hardest[:10]:
        lines.append(f"| {gid} | {v.mean() if len(v) else 0:.2f} | {int((v >= 1).sum())}/{len(v)} |")
    lines += _failures_section(failed)
    lines += ["", "## Flagged for review", "", "| student | score | reason | findings |", "| --- | --- | --- | --- |"]
    flagged = [r for r in rs if r["flagged"] or r["reason"]]
    for r in flagged:
        lines.append(f"| {r['student']} | {r['score']:g} | {r['reason'] or '-'} | {r['findings'] or '-'} |")
    if not flagged:
        lines.append("| (none) | | | |")
    lines += _similar_section(course, assignment)
    files = GradingState(course, assignment).collect_record().get("files", {})
    if files:
        lines += ["", "## Files collect could not attribute to a student", ""]
        lines += [f"- `{name}`: {why}" for name, why in sorted(files.items())]
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _failures_section(failed: list[dict]) -> list[str]:
    """Submissions the grader could not grade (no grade, or an earlier one): run ``grade`` again."""
    if not failed:
        return []
    lines = ["", "## Grading failed (not a grade: fix the cause, then run `nnbook-course grade` again)", "",
             "| student | status |", "| --- | --- |"]
    return lines + [f"| {r['student']} | {r['status']} |" for r in failed]


def _similar_section(course: Path, assignment: str) -> list[str]:
    """Answers near-identical to another student's or to the library's (for review only)."""
    import nnbook
    from nnbook.course.report import similarity

    answers, stubs = similarity.answer_cells(course, assignment)
    library = similarity.library_fingerprints(Path(nnbook.__file__).resolve().parent)
    pairs = similarity.similar_answers(answers, stubs, library)
    lines = ["", "## Similar answers (for review, never a verdict)", "",
             f"Answer cells sharing at least {similarity.THRESHOLD:.0%} of their token fingerprints "
             "(names and literals normalised) with another submission or with the library's source.", "",
             "| answer cell | submission | similar to | share |", "| --- | --- | --- | --- |"]
    lines += [f"| {p['cell']} | {p['a']} | {p['b']} | {p['score']:.0%} |" for p in pairs] or ["| (none) | | | |"]
    return lines
