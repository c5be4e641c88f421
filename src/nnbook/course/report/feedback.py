"""Feedback HTML per student: nbgrader's ``GenerateFeedback``, with the test sources blanked.

nbgrader renders the whole autograded notebook, and on its own that includes the hidden
tests (nbgrader#917, #1363): the autograded notebook holds every grade cell as released by
the instructor, hidden part and all. Two preprocessors go first in ``GenerateFeedback``'s
list:

* :class:`BlankTestSources` replaces each grade cell's source with one line naming it and
  keeps only what its outputs *say*: printed text and each error's name and message (a
  traceback quotes the failing line, which may be a hidden one). The message of a failed
  hidden test names the failing input and the expected value, which is the point.
* :class:`GradingNotes` puts what happened while grading (a timeout, a dead kernel, a name
  that is not the student's own) in a note at the top.

nbgrader's own ``GetGrades`` then reads the scores from the gradebook, manual grades
included: feedback, export and report all read that one record.
"""

from __future__ import annotations

from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat.notebooknode import from_dict
from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor
from traitlets import Unicode
from traitlets.config import Config

from nnbook.course.grade import limits
from nnbook.course.grade.gradebook import db_url
from nnbook.kit.cells import is_grade
from nnbook.course.state import GradingState

MAX_MESSAGE = limits.MAX_FEEDBACK_MESSAGE_CHARS


def _short(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + " [...]"


class BlankTestSources(NbGraderPreprocessor):
    """Grade cells show their name and their messages, never their source."""

    def preprocess_cell(self, cell, resources, index):
        if not is_grade(cell):
            return cell, resources
        cell.source = f"# test cell {cell.metadata['nbgrader'].get('grade_id', '')}: its code is not shown"
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                kept.append(from_dict({"output_type": "stream", "name": out.get("name", "stdout"),
                                       "text": _short(out.get("text", ""))}))
            elif out.get("output_type") == "error":
                message = _short(f"{out.get('ename', 'Error')}: {out.get('evalue', '')}".strip())
                kept.append(from_dict({"output_type": "error", "ename": out.get("ename", "Error"),
                                       "evalue": out.get("evalue", ""), "traceback": [message]}))
        cell.outputs = kept
        return cell, resources


class GradingNotes(NbGraderPreprocessor):
    """A note on top of the page with what happened while grading, if anything did."""

    course = Unicode("", help="the grading root").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        record = GradingState(Path(self.course), info["assignment"]).done_record(info["student"]) or {}
        reasons = record.get("reasons", [])
        if reasons:
            items = "\n".join(f"- {r}" for r in reasons)
            nb.cells.insert(0, from_dict({"cell_type": "markdown", "metadata": {}, "id": "nnbook-grading-notes",
                                          "source": f"**While grading:**\n\n{items}"}))
        nb.cells.insert(0 if not reasons else 1, from_dict({
            "cell_type": "markdown", "metadata": {}, "id": "nnbook-hidden-note",
            "source": "Test cells are shown by name: their code is not shown; their messages say what went wrong."}))
        return nb, resources


def feedback_config(course: Path) -> Config:
    c = Config()
    c.CourseDirectory.root = str(course)
    c.CourseDirectory.db_url = db_url(course)
    c.GenerateFeedback.preprocessors = [BlankTestSources, GradingNotes, GetGrades, CSSHTMLHeaderPreprocessor]
    c.GradingNotes.course = str(course)
    return c


def generate(course: Path, assignment: str, students: list[str] | None = None, log=print) -> list[Path]:
    """Write ``feedback/<student>/<assignment>/<notebook>.html`` for every graded student,
    saying which student it is at as it goes (about 2 s each)."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory

    from nnbook.course.paths import CourseError

    course = course.resolve()
    graded = sorted(p.parent.name for p in (course / "autograded").glob(f"*/{assignment}") if p.is_dir())
    unknown = sorted(set(students or []) - set(graded))
    if unknown:
        raise CourseError(f"no graded submission of {assignment} from {', '.join(unknown)}: run `nnbook-course grade "
                          f"{assignment}` first ({len(graded)} student(s) graded)")
    if not graded:
        raise CourseError(f"no graded submission of {assignment} yet: run `nnbook-course grade {assignment}` first")
    chosen = [s for s in graded if not students or s in students]
    written = []
    for number, student in enumerate(chosen, start=1):
        config = feedback_config(course)
        coursedir = CourseDirectory(config=config)
        coursedir.assignment_id, coursedir.student_id = assignment, student
        app = GenerateFeedback(coursedir=coursedir, config=config)
        app.force = True
        app.start()
        written += sorted((course / "feedback" / student / assignment).glob("*.html"))
        log(f"[nnbook] feedback {number}/{len(chosen)} {student}")
    return written
