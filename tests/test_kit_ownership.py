"""A graded name must be the student's own (nnbook.kit.ownership), and every chapter obeys it."""

import nbformat
import pytest

from nnbook.kit import cells, ownership
from nnbook.course.paths import chapters

GRADED = {"ch01-gd": {"gradient_descent"}, "ch04-separable": {"SEPARABLE"}}
OWN = {"ch01-gd": "def gradient_descent(f, x0):\n    return [x0]", "ch04-separable": "SEPARABLE = {'and': True}"}


@pytest.mark.parametrize("answer, others, why", [
    ("", [], "is not defined by your answer cell"),
    ("from nnbook.descent import gradient_descent", [], "imports gradient_descent from nnbook.descent"),
    ("from nnbook.descent import central_difference as gradient_descent", [], "imports central_difference"),
    ("import nnbook.descent as o\ngradient_descent = o.gradient_descent", [], "an alias of the library's"),
    ("from nnbook import descent\ngradient_descent = descent.estimate_direction", [], "an alias of the library's"),
    ("import nnbook\ndef gradient_descent(f, x0):\n    return nnbook.descent.gradient_descent(f, x0)", [],
     "uses the library's nnbook.descent.gradient_descent"),
    ("from nnbook.descent import gradient_descent as gd\ndef gradient_descent(f, x0):\n    return gd(f, x0)", [],
     "imports gradient_descent"),
    ("h = __import__('nnbook.descent')\ndef gradient_descent(f, x0):\n    return h(f, x0)", [], "imports 'nnbook.descent'"),
    ("def gradient_descent(f, x0:\n", [], "does not compile"),
    (OWN["ch01-gd"], ["gradient_descent = lambda f, x0: [x0]"], "bound again outside its answer cell"),
    (OWN["ch01-gd"], ["from nnbook.descent import gradient_descent"], "a cell imports gradient_descent"),
])
def test_a_name_that_is_not_the_students_own_is_named_with_the_reason(answer, others, why):
    problems = ownership.not_own({**OWN, "ch01-gd": answer}, GRADED, others)
    assert set(problems) == {"gradient_descent"} and why in problems["gradient_descent"], problems


@pytest.mark.parametrize("answer, others", [
    (OWN["ch01-gd"], []),
    ("%time x = 1\n" + OWN["ch01-gd"], []),  # IPython magics are fine
    (OWN["ch01-gd"], ["path = gradient_descent(lambda x: x * x, 1.0)\nfrom nnbook.plots import plot_curves"]),
    ("import numpy as np\nfrom nnbook.data import landscape\n\ndef gradient_descent(f, x0):\n    return [x0]", []),
])
def test_own_answers_and_demos_that_call_them_pass(answer, others):
    assert ownership.not_own({**OWN, "ch01-gd": answer}, GRADED, others) == {}


def _split(nb):
    graded, answers, others = {}, {}, []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade") or meta.get("locked"):
            continue
        if meta.get("solution"):
            graded[meta["grade_id"]] = ownership.defined_names(cells.parse(cell.source))
            answers[meta["grade_id"]] = cell.source
        else:
            others.append(cell.source)
    return graded, answers, others


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: c.assignment)
def test_no_chapter_cell_imports_or_rebinds_a_name_its_exercises_ask_for(chapter):
    graded, answers, others = _split(nbformat.read(chapter.path, as_version=4))
    assert ownership.not_own(answers, graded, others) == {}
