"""nbgrader's gradebook, as the grader and the reports read and write it.

One sqlite file per grading root (:func:`db_url`): the course's ``gradebook.db``, and the
throw-away copy each submission is graded against. Only the main process writes the course
gradebook (:func:`merge`); workers grade against a snapshot (:func:`snapshot`).
"""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

import nbformat

from nnbook.kit.cells import grade_id
from nnbook.course.paths import CourseError

FILE_NAME = "gradebook.db"


def db_url(root: Path) -> str:
    """The SQLAlchemy URL of the gradebook of the grading root ``root``."""
    return f"sqlite:///{Path(root) / FILE_NAME}"


def hide_add_submission_warning() -> None:
    """Hide, in this process, the one warning that writing nbgrader's gradebook prints.

    nbgrader's ``Gradebook.add_submission`` builds a SubmittedAssignment with its student before
    adding it to the session, and SQLAlchemy 2 warns that the backref does not cascade the add
    (harmless: nbgrader adds it on the next line). Not ours to change; every other warning shows.
    """
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", message=r"Object of type <\w+> not in session", category=SAWarning)


def read_errors() -> tuple[type[BaseException], ...]:
    """What reading or writing a gradebook raises when the file is locked or broken."""
    import sqlalchemy.exc

    return sqlite3.Error, sqlalchemy.exc.SQLAlchemyError


def grade_cells(course: Path, assignment: str) -> dict[str, dict[str, float]]:
    """notebook -> {grade_id: points}, in notebook order."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url(course)) as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(f"assignment {assignment} is not in {course / FILE_NAME}; "
                              f"run `nnbook-course release --chapter {assignment}` first") from None
        out = {}
        for nb in a.notebooks:
            source = nbformat.read(course / "source" / assignment / f"{nb.name}.ipynb", as_version=4)
            order = [grade_id(c) for c in source.cells]
            cells = {c.name: float(c.max_score) for c in nb.grade_cells}
            out[nb.name] = {k: cells[k] for k in sorted(cells, key=lambda g: order.index(g) if g in order else 1e9)}
        return out


def submission_grades(root: Path, assignment: str, student: str) -> dict | None:
    """The submission as the gradebook of ``root`` has it: ``grades`` (notebook -> {grade_id:
    {"score", "max", "needs_manual_grade"}}), ``timestamp`` (ISO or None) and ``late_penalty``
    (notebook -> nbgrader's penalty, only where there is one); None: no such submission."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url(root)) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        grades = {nb.name: {g.name: {"score": float(g.score or 0.0), "max": float(g.max_score),
                                     "needs_manual_grade": bool(g.needs_manual_grade)} for g in nb.grades}
                  for nb in sub.notebooks}
        penalties = {nb.name: float(nb.late_submission_penalty) for nb in sub.notebooks if nb.late_submission_penalty}
        return {"grades": grades, "timestamp": sub.timestamp.isoformat() if sub.timestamp else None,
                "late_penalty": penalties}


def snapshot(course: Path, target: Path) -> None:
    """A consistent copy of the course gradebook (sqlite's backup API, safe while open)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    src = sqlite3.connect(course / FILE_NAME)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def read_for_grading(course: Path, assignment: str, template: Path) -> dict:
    """The assignment's grade cells, and the snapshot each grading starts from; a gradebook
    that cannot be read (locked by another process, say) is a :class:`CourseError`."""
    try:
        cells = grade_cells(course, assignment)
        snapshot(course, template)
    except read_errors() as exc:
        raise CourseError(f"cannot read the gradebook {course / FILE_NAME} ({str(exc).splitlines()[0][:160]}); "
                          "if another program is writing it, run the same command again when it is done") from None
    return cells


def merge(course: Path, result: dict) -> None:
    """Write one graded submission into the course gradebook (main process only)."""
    from nbgrader.api import Gradebook

    assignment, student = result["assignment"], result["student"]
    with warnings.catch_warnings(), Gradebook(db_url(course)) as gb:
        hide_add_submission_warning()
        gb.update_or_create_student(student)
        kwargs = {"timestamp": result["timestamp"]} if result.get("timestamp") else {}
        sub = gb.update_or_create_submission(assignment, student, **kwargs)
        for nb in sub.notebooks:
            scores = result["grades"].get(nb.name, {})
            nb.flagged = bool(result.get("flags"))
            for grade in nb.grades:
                entry = scores.get(grade.name)
                grade.auto_score = float(entry["score"]) if entry else 0.0
                grade.needs_manual_grade = bool(entry and entry.get("needs_manual_grade"))
            # nbgrader's late penalty (AssignLatePenalties, from the assignment's due date and
            # timestamp.txt) is the worker's to compute and the gradebook's to keep
            nb.late_submission_penalty = result.get("late_penalty", {}).get(nb.name)
        gb.db.commit()
