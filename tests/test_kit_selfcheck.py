"""Tests for nnbook.kit.selfcheck: what a student sees before submitting."""


import nbformat
import pytest

from nnbook.kit import selfcheck


def _graded(source, grade_id, points=1):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "points": points}
    return cell


@pytest.fixture
def notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    heavy = nbformat.v4.new_code_cell("raise SystemExit('heavy cells are skipped with --skip-heavy')")
    heavy.metadata["tags"] = ["heavy"]
    nb.cells = [
        nbformat.v4.new_code_cell("def square(x):\n    raise NotImplementedError()"),
        _graded("assert 1 + 1 == 2", "passes"),
        _graded("square(2)", "stub"),
        _graded("assert 2 + 2 == 5, 'arithmetic is off'", "fails", points=2),
        heavy,
    ]
    path = tmp_path / "ch99_tiny.ipynb"
    nbformat.write(nb, path)
    return path


def test_results_name_each_test_cell_and_why_it_failed(notebook):
    results = {r["test"]: r for r in selfcheck.run(notebook, timeout=60, skip_heavy=True, kernel="python3")}
    assert list(results) == ["passes", "stub", "fails"]
    assert results["passes"]["passed"] and results["passes"]["message"] == ""
    assert results["stub"]["message"].startswith("NotImplementedError (not answered yet")
    assert results["fails"] == {"test": "fails", "points": 2, "passed": False,
                                "message": "AssertionError: arithmetic is off"}


def test_main_prints_a_summary_and_exits_1_on_failure(notebook, capsys):
    assert selfcheck.main([str(notebook), "--skip-heavy"]) == 1
    out = capsys.readouterr().out
    assert "[PASS] passes (1 pt)" in out and "[FAIL] fails (2 pt)" in out
    assert "1/3 public test cells pass." in out


def test_main_refuses_a_missing_notebook(tmp_path, capsys):
    assert selfcheck.main([str(tmp_path / "nope.ipynb")]) == 2
    assert "no such notebook" in capsys.readouterr().err


def test_main_refuses_a_folder_and_a_file_that_is_no_notebook(tmp_path, capsys):
    assert selfcheck.main([str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    bad = tmp_path / "ch01_x.ipynb"
    bad.write_text("this is not json {")
    assert selfcheck.main([str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not a readable notebook" in err and "Traceback" not in err


def test_progress_and_no_tcp_warning(notebook, capfd):
    assert selfcheck.main([str(notebook), "--skip-heavy"]) == 1
    out, err = capfd.readouterr()
    assert "ran test cell passes" in out and "ran test cell fails" in out
    assert "over TCP" not in out + err
