"""nnbook.kit.cells: the cell roles and the one way cells are read as Python."""

import ast

import nbformat

from nnbook.course.paths import chapters, repo_root
from nnbook.kit import cells


def _cell(kind="code", source="", **nbgrader):
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"grade_id": "x", **nbgrader}
    return cell


def test_roles():
    answer = _cell(solution=True, grade=False)
    written = _cell("markdown", solution=True, grade=False)
    tests = _cell(source="assert True\n### BEGIN HIDDEN TESTS\npass\n### END HIDDEN TESTS", grade=True, locked=True)
    locked = _cell(locked=True, grade=False, solution=False)
    plain = _cell()
    assert [cells.is_answer(c) for c in (answer, written, tests, locked, plain)] == [True, True, False, False, False]
    assert [cells.is_answer_code(c) for c in (answer, written)] == [True, False]
    assert [cells.is_grade(c) for c in (answer, tests, _cell("markdown", grade=True))] == [False, True, False]
    assert cells.is_hidden(tests) and not cells.is_hidden(_cell(source="assert True", grade=True))
    assert [cells.is_locked(c) for c in (answer, tests, locked, plain)] == [False, True, True, False]
    assert [cells.is_student_code(c) for c in (answer, tests, locked, plain, written)] == [True, False, False, True, False]
    assert [cells.is_graded(c) for c in (answer, tests, locked, plain)] == [True, True, False, False]
    assert cells.grade_id(answer) == "x" and cells.grade_id(plain) is None and cells.nbgrader(plain) == {}


def test_markers_are_found_as_nbgrader_finds_them():
    assert cells.has_marker("<!-- BEGIN SOLUTION -->") and cells.has_marker("x = 1  ### END HIDDEN TESTS")
    assert cells.has_solution("### BEGIN SOLUTION") and not cells.has_hidden_tests("### BEGIN SOLUTION")
    assert not cells.has_marker("the solution begins here")


def test_magics_are_read_as_ipython_runs_them():
    tree = cells.parse("%matplotlib inline\n!echo hi\nx = 1\n")
    assert isinstance(tree, ast.Module) and "x" in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert cells.parse("def (:") is None


def test_every_chapter_cell_has_one_role_and_parses():
    for chapter in chapters(repo_root()):
        nb = nbformat.read(chapter.path, as_version=4)
        for cell in nb.cells:
            assert not (cells.is_answer(cell) and cells.is_grade(cell)), f"{chapter.name}: {cells.grade_id(cell)}"
            if cell.cell_type == "code":
                assert cells.parse(cell.source) is not None, f"{chapter.name}: a cell does not compile"
