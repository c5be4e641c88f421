"""Versions of a chapter notebook generated from its source in ``chapters/``.

The source holds everything: prose, reference answers between ``### BEGIN SOLUTION`` /
``### END SOLUTION`` and hidden tests between ``### BEGIN HIDDEN TESTS`` / ``### END
HIDDEN TESTS``. The student edition is made with nbgrader's own preprocessors, so the book
shows exactly the stub that the released assignment contains; outputs are kept, so a reader
sees what a correct answer produces.
"""

from __future__ import annotations

import copy

import nbformat
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

from nnbook.kit import cells

# Cells tagged like this are dropped from the student edition (notes for instructors).
INSTRUCTOR_ONLY = "instructor-only"


def _stub_config():
    """The stubs nbgrader_config.py sets for released assignments (kept in step by a test)."""
    return {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}, "YOUR ANSWER HERE"


def student_edition(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Solutions replaced by nbgrader's stubs, hidden tests removed, outputs kept."""
    nb = copy.deepcopy(nb)
    code_stub, text_stub = _stub_config()
    resources = {"language": "python"}
    nb, resources = ClearSolutions(code_stub=code_stub, text_stub=text_stub).preprocess(nb, resources)
    nb, resources = ClearHiddenTests().preprocess(nb, resources)
    nb.cells = [c for c in nb.cells if INSTRUCTOR_ONLY not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        text = cell.source
        if cells.has_marker(text):
            # nbgrader only clears cells marked as solution/grade cells; a marker anywhere
            # else means a cell is missing its metadata, and the answer would leak.
            raise ValueError(f"a cell still contains a solution or hidden-test marker after "
                             f"clearing (missing nbgrader metadata?): {text[:120]!r}")
    return nb


def instructor_edition(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Everything shown: each reference answer folded behind a toggle, hidden tests visible."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cells.is_answer(cell) and cell.cell_type == "code":
            tags = cell.metadata.setdefault("tags", [])
            if "hide-input" not in tags:
                tags.append("hide-input")
            mystnb = cell.metadata.setdefault("mystnb", {})
            mystnb.setdefault("code_prompt_show", "Show the reference answer")
            mystnb.setdefault("code_prompt_hide", "Hide the reference answer")
        elif cells.is_answer(cell) and cell.cell_type == "markdown":
            # A written answer: fold the whole cell in a dropdown admonition.
            cell.source = (":::{admonition} Reference answer\n:class: dropdown\n\n"
                           + cell.source + "\n:::\n")
    return nb
