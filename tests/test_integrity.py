"""The static scan and the runtime sentinel (nnbook.course.grade.integrity): genuine findings, none on the course's own code."""

import nbformat
import pytest

from nnbook.course.grade import integrity
from nnbook.course.grade.integrity import scan_cell
from nnbook.course.paths import chapters


@pytest.fixture(autouse=True)
def _no_solutions_loaded_by_other_tests(monkeypatch):
    """The sentinel reports ``solutions`` in sys.modules; tests of other files in this worker
    may have imported it, which a grading kernel never has."""
    import sys
    for name in [m for m in sys.modules if m == "solutions" or m.startswith("solutions.")]:
        monkeypatch.delitem(sys.modules, name)



@pytest.mark.parametrize("source, finding", [
    ("eval('1 + 1')", "calls eval()"),
    ("exec('x = 1')", "calls exec()"),
    ("code = compile('x', 'f', 'exec')", "calls compile()"),
    ("import builtins\nbuiltins.eval('2')", "calls eval()"),
    ("import builtins as b\nb.exec('2')", "calls exec()"),
    ("__builtins__.eval('2')", "uses __builtins__"),
    ("import numpy\nnumpy.allclose = lambda *a, **k: True", "modifies numpy"),
    ("import sys\nf = sys._getframe(1)", "introspects the interpreter"),
    ("def f():\n    return g.f_back", "introspects frames"),
    ("import solutions.ch01", "imports the reference solutions"),
])
def test_what_the_scan_flags(source, finding):
    assert any(finding in found for found in scan_cell(source)), scan_cell(source)


@pytest.mark.parametrize("source", [
    "model.eval()",
    "net = make_cnn(4, 8, 16).eval()",
    "import re\npattern = re.compile(r'\\d+')",
    "with torch.no_grad():\n    out = model.eval()(x)",
    "def evaluate(model):\n    model.eval()\n    return 1",
])
def test_methods_named_like_builtins_are_not_flagged(source):
    assert scan_cell(source) == []


def _student_visible_code(chapter):
    """The code a student's submission holds: answer cells with the reference answers typed
    in (markers are comments) and every unlocked demo cell."""
    nb = nbformat.read(chapter.path, as_version=4)
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and not meta.get("locked") and not meta.get("grade"):
            yield index, cell.source


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: c.assignment)
def test_every_chapters_reference_answers_and_demo_cells_scan_clean(chapter):
    findings = {index: scan_cell(source) for index, source in _student_visible_code(chapter)}
    assert {i: f for i, f in findings.items() if f} == {}


def _shell():
    from IPython.core.interactiveshell import InteractiveShell

    return InteractiveShell(user_ns={})


def test_the_sentinel_reports_at_the_start_of_each_grade_cell(capsys):
    token, grade = "S0123456789abcdef", "assert 1 + 1 == 2"
    shell = _shell()
    shell.run_cell(integrity.setup_code(token, [grade]))
    capsys.readouterr()
    reports = {}
    for name, source in (("answer", "x = 1"), ("grade", grade), ("copy", grade), ("again", grade)):
        shell.run_cell(source)
        out = [{"output_type": "stream", "name": "stdout", "text": capsys.readouterr().out}]
        reports[name] = integrity.parse_check(out, token)
        assert not "".join(o["text"] for o in integrity.without_reports(out, token))  # all was the report
    # a student's copy of a public test cell reports too, and takes nothing from the grade cell
    assert reports == {"answer": None, "grade": [], "copy": [], "again": []}


def test_the_sentinel_reports_what_was_replaced(capsys):
    import numpy

    token, grade = "S0123456789abcdef", "pass"
    shell = _shell()
    shell.run_cell(integrity.setup_code(token, [grade]))
    genuine = numpy.allclose
    try:
        shell.run_cell("import numpy\nnumpy.allclose = lambda *a, **k: True")
        capsys.readouterr()
        shell.run_cell(grade)
        found = integrity.parse_check([{"output_type": "stream", "text": capsys.readouterr().out}], token)
    finally:
        numpy.allclose = genuine
    assert found == ["numpy.allclose"]
