"""Cell roles and cell parsing, defined once for the kit and the course pipeline.

A chapter is an nbgrader source notebook; a cell's role is in its ``nbgrader`` metadata:

* an **answer** cell (``solution: true``, ``grade: false``): the student writes it;
* a **grade** cell (a code cell with ``grade: true``): tests, scored all or nothing;
* a grade cell with **hidden** tests (between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``);
* a **locked** cell (``locked: true``, and every grade cell): the student may not change it.

A cell's source is read as Python the way IPython runs it: magics (``%matplotlib``,
``!pip``) are transformed first, so every reader sees the same code.
"""

from __future__ import annotations

import ast

# nbgrader finds its markers anywhere in a line (``### BEGIN SOLUTION``, ``<!-- BEGIN SOLUTION -->``)
SOLUTION_MARKERS = ("BEGIN SOLUTION", "END SOLUTION")
HIDDEN_MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def nbgrader(cell) -> dict:
    """The cell's ``nbgrader`` metadata ({} for a plain cell)."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_id(cell) -> str | None:
    return nbgrader(cell).get("grade_id")


def is_answer(cell) -> bool:
    """A cell the student answers in (code or markdown): ``solution`` and not ``grade``."""
    meta = nbgrader(cell)
    return bool(meta.get("solution")) and not meta.get("grade")


def is_answer_code(cell) -> bool:
    return cell.get("cell_type") == "code" and is_answer(cell)


def is_grade(cell) -> bool:
    """A test cell nbgrader scores: a code cell with ``grade: true``."""
    return cell.get("cell_type") == "code" and bool(nbgrader(cell).get("grade"))


def is_graded(cell) -> bool:
    """An answer or a test: any cell nbgrader grades or the student answers."""
    meta = nbgrader(cell)
    return bool(meta.get("grade") or meta.get("solution"))


def is_hidden(cell) -> bool:
    """A grade cell whose source holds hidden tests."""
    return is_grade(cell) and has_hidden_tests(cell.get("source", ""))


def has_hidden_tests(text: str) -> bool:
    return HIDDEN_MARKERS[0] in text


def has_solution(text: str) -> bool:
    return SOLUTION_MARKERS[0] in text


def has_marker(text: str) -> bool:
    """Any solution or hidden-test marker in ``text``: what must never reach a student."""
    return any(marker in text for marker in SOLUTION_MARKERS + HIDDEN_MARKERS)


def is_locked(cell) -> bool:
    """A cell the student may not change: ``locked`` or a grade cell."""
    meta = nbgrader(cell)
    return bool(meta.get("locked") or meta.get("grade"))


def is_student_code(cell) -> bool:
    """A code cell the student may edit: answer cells and any cell they added."""
    return cell.get("cell_type") == "code" and not is_locked(cell)


def python_source(source: str) -> str:
    """``source`` as the Python IPython runs (magics transformed); the raw text if IPython
    is missing or its transformer fails."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # IPython missing or a transformer bug: the raw text
        return source


def parse(source: str) -> ast.Module | None:
    """The cell as Python (magics transformed first), or None if it does not compile."""
    try:
        return ast.parse(python_source(source))
    except SyntaxError:
        return None
