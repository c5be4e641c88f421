"""The leak scanner finds solution code and hidden-test text, and student artefacts have none."""

import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from nnbook.course.report import leaks
from nnbook.course.paths import repo_root

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import grading_support as gs  # noqa: E402

ROOT = repo_root()


def test_secrets_are_solution_and_hidden_lines_not_public_ones():
    found = leaks.secrets(gs.FIXTURE_ROOT)
    assert any("solution-square-marker" in s for s in found)
    assert any("hidden-add-marker" in s for s in found)
    assert not any("raise NotImplementedError" in s or "assert_close(add(1.0, 2.0)" in s for s in found)


def test_scanner_fails_on_a_leak_in_html_notebook_and_zip(tmp_path):
    secret = next(s for s in leaks.secrets(gs.FIXTURE_ROOT) if "hidden-square-marker" in s)
    # syntax-highlighted HTML splits the line into spans; the scanner must still see it
    words = secret.split(" ")
    (tmp_path / "page.html").write_text("<pre>" + " ".join(f"<span class='n'>{w}</span>" for w in words) + "</pre>")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(secret)])
    nbformat.write(nb, tmp_path / "x.ipynb")
    with zipfile.ZipFile(tmp_path / "d.zip", "w") as zf:
        zf.writestr("inner/code.py", secret)
    hits = leaks.scan(gs.FIXTURE_ROOT, [tmp_path])
    assert {Path(h.artefact).name for h in hits} == {"page.html", "x.ipynb", "d.zip"}
    assert leaks.scan(gs.FIXTURE_ROOT, [tmp_path / "page.html"], {"never there": "x"}) == []


def _release_like(nb):
    """What nbgrader's generate_assignment removes (in-process, no nbgrader run)."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    nb, _ = ClearSolutions(code_stub={"python": "# YOUR CODE HERE\nraise NotImplementedError()"},
                           text_stub="YOUR ANSWER HERE").preprocess(nb, {})
    nb, _ = ClearHiddenTests().preprocess(nb, {})
    return nb


@pytest.mark.parametrize("path", sorted((ROOT / "chapters").glob("ch*.ipynb")), ids=lambda p: p.stem)
def test_chapter_release_and_student_edition_do_not_leak(path, tmp_path):
    from nnbook.course.build import editions

    nb = nbformat.read(path, as_version=4)
    nbformat.write(_release_like(nbformat.from_dict(nb)), tmp_path / f"release-{path.name}")
    nbformat.write(editions.student_edition(nbformat.from_dict(nb)), tmp_path / f"student-{path.name}")
    assert leaks.scan(ROOT, [tmp_path]) == []


@pytest.mark.skipif(not (ROOT / "_build" / "html" / "index.html").is_file(), reason="student site not built")
def test_built_student_site_does_not_leak():
    hits = leaks.scan(ROOT, [ROOT / "_build" / "html"])
    assert hits == [], "\n".join(f"{h.artefact}: {h.secret[:80]}" for h in hits[:20])
