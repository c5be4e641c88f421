"""CSV export and the instructor's summary report.

``export``: one row per student and assignment, one column per graded cell (its score),
then ``score``, ``max_score``, ``flagged`` and ``reason`` (timeout, memory limit, kernel
died, unreadable, integrity flag, truncated output; empty when nothing was unusual).
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

from nnbook.course.grade.grading import db_url, grade_cells
from nnbook.course.state import GradingState


def rows(course: Path, assignment: str, gradebook=None) -> tuple[list[str], list[dict]]:
    """The export's header and rows for ``assignment`` (read from ``gradebook`` if given)."""
    from nbgrader.api import Gradebook

    if gradebook is None:
        with Gradebook(db_url(course)) as gb:
            return rows(course, assignment, gb)
    cells = grade_cells(course, assignment)
    columns = [gid for nb in cells.values() for gid in nb]
    state = GradingState(course, assignment)
    out = []
    gb = gradebook
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for sub in sorted(gb.assignment_submissions(assignment), key=lambda s: s.student.id):
            row = {"student": sub.student.id, "assignment": assignment}
            for nb in sub.notebooks:
                for grade in nb.grades:
                    row[grade.name] = float(grade.score or 0.0)
            done = state.done_record(sub.student.id) or {}
            row["score"] = float(sub.score or 0.0)
            row["max_score"] = float(sub.max_score or 0.0)
            row["flagged"] = bool(done.get("flags")) or any(nb.flagged for nb in sub.notebooks)
            reasons = list(done.get("reasons", []))
            if not done:
                reasons.append("not graded by nnbook-course")
            row["reason"] = "; ".join(reasons)
            row["findings"] = "; ".join(f"{f['cell']}: {', '.join(f['findings'])}" for f in done.get("flags", []))
            out.append(row)
    return ["student", "assignment", *columns, "score", "max_score", "flagged", "reason", "findings"], out


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
                writer.writerow({k: (f"{v:g}" if isinstance(v, float) else v) for k, v in row.items()})


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
    _, rs = rows(course, assignment)
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
