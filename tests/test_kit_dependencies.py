"""nnbook.kit.dependencies: a skipped demonstration never takes away what an answer or test reads."""

from pathlib import Path

import nbformat
import pytest

from nnbook.kit.dependencies import cell_names, needed_skipped_cells
from nnbook.course.grade.preprocessors import SkipHeavyCells, record

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("ch*.ipynb"))


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    for source, tags, nbgrader in cells:
        cell = nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        if nbgrader:
            cell.metadata["nbgrader"] = nbgrader
        nb.cells.append(cell)
    return nb


ANSWER = {"solution": True, "grade": False, "grade_id": "answer"}
TEST = {"solution": False, "grade": True, "grade_id": "test", "points": 1}


def test_cell_names_sees_blocks_nested_scopes_and_magics():
    bound, reads = cell_names("import numpy as np\nfor n in range(3):\n    model = f(n)\n"
                              "def g(x):\n    return x + alpha\n%matplotlib inline\n")
    assert {"np", "n", "model", "g"} <= bound
    assert {"f", "alpha", "range"} <= reads and "x" not in reads


def test_a_demo_no_answer_reads_is_skippable():
    nb = _nb(("rng = make_rng()\ndef height(w):\n    return w", [], None),
             ("path = [height(w) for w in rng.random(9)]\nplot(path)", ["heavy"], None),
             ("def descend(w):\n    return height(w)", [], ANSWER),
             ("assert descend(1.0) == 1.0", [], TEST))
    assert needed_skipped_cells(nb, {"heavy"}) == {1: set()}


@pytest.mark.parametrize("answer, needed", [
    ("def descend(w):\n    return w * alpha", {"alpha"}),  # a variable the demo binds
    ("def descend(w):\n    return rng.random()", {"rng"}),  # an object the demo changes (draws from)
])
def test_a_demo_an_answer_reads_from_is_needed(answer, needed):
    nb = _nb(("rng = make_rng()", [], None), ("alpha = 0.1\nrng.random(5)", ["heavy"], None),
             (answer, [], ANSWER), ("assert descend(1.0) is not None", [], TEST))
    assert needed_skipped_cells(nb, {"heavy"}) == {1: needed}
    graded, _ = SkipHeavyCells().preprocess(nb, {})
    assert graded.cells[1].source.startswith("alpha = 0.1")  # it runs while grading


def test_the_grader_blanks_an_unneeded_demo():
    nb = _nb(("x = 1", ["heavy"], None), ("def f():\n    return 2", [], ANSWER))
    graded, resources = SkipHeavyCells().preprocess(nb, {})
    assert graded.cells[0].source.startswith("# skipped while grading")
    assert record(resources).skipped == ["cell 0"] and record(resources).blanked(graded.cells[0])


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_no_answer_or_test_of_a_chapter_reads_from_a_heavy_cell(chapter):
    nb = nbformat.read(chapter, as_version=4)
    needed = {i: names for i, names in needed_skipped_cells(nb, {"heavy", "skip-execution"}).items() if names}
    assert not needed, f"{chapter.name}: graded cells read what these heavy cells bind or change: {needed}"
