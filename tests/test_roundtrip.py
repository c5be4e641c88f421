"""Every chapter's assignment survives the nbgrader round trip with real scores.

Release the chapter, submit the pristine release as one student and the instructor's
source (with reference answers) as another, autograde both, and read the scores from the
gradebook: the release must score 0 and the source full marks.
"""

import shutil

import nbformat
import pytest
from nbgrader.api import Gradebook

from nnbook.course import assignments
from nnbook.course.paths import chapters, repo_root

ROOT = repo_root()
CHAPTERS = chapters(ROOT)


def submit(course, student, chapter, notebook_path):
    target = course / "submitted" / student / chapter.assignment / chapter.path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(notebook_path, target)


def scores(course, chapter):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        out = {}
        for sub in gb.assignment_submissions(chapter.assignment):
            out[sub.student.id] = (sub.score, sub.max_score)
        return out


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.assignment for c in CHAPTERS])
def test_release_scores_zero_and_source_scores_full(tmp_path, chapter):
    course = tmp_path / "course"
    (released,) = assignments.release(ROOT, course, [chapter])

    text = released.read_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "raise NotImplementedError()" in text

    submit(course, "pristine", chapter, released)
    submit(course, "reference", chapter, chapter.path)
    for student in ("pristine", "reference"):
        assignments.nbgrader(ROOT, course, "autograde", chapter.assignment, f"--student={student}")

    result = scores(course, chapter)
    score, max_score = result["reference"]
    assert max_score > 0
    assert score == max_score, f"the reference answers score {score}/{max_score}"
    assert result["pristine"][0] == 0, f"the untouched release scores {result['pristine']}"


def test_hidden_tests_are_baked_and_never_import_solutions(tmp_path):
    chapter = CHAPTERS[0]
    source = assignments.write_source(ROOT, tmp_path, chapter)
    nb = nbformat.read(source, as_version=4)
    hidden = [c.source for c in nb.cells if "BEGIN HIDDEN TESTS" in c.source]
    assert hidden, "chapter 1 has hidden tests"
    assert all("cases=r'''" in src for src in hidden if "compare_with_reference(" in src)
    assert not any("solutions" in src for src in hidden)
