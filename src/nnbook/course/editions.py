"""Versions of a chapter notebook generated from its source in ``chapters/``.

The source holds everything: prose, reference answers between ``### BEGIN SOLUTION`` /
``### END SOLUTION`` and hidden tests between ``### BEGIN HIDDEN TESTS`` / ``### END
HIDDEN TESTS``. The student edition is made with nbgrader's own preprocessors, so the book
shows exactly the stub that the released assignment contains.
"""

from __future__ import annotations

import copy

import nbformat
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions



def _is_solution(cell) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def student_edition(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Solutions replaced by nbgrader's stubs, hidden tests removed, outputs kept."""
    nb = copy.deepcopy(nb)
    resources = {"language": "python"}
    nb, resources = ClearSolutions().preprocess(nb, resources)
    nb, resources = ClearHiddenTests().preprocess(nb, resources)
    nb.cells = [c for c in nb.cells if "instructor-only" not in c.metadata.get("tags", [])]
    return nb


def instructor_edition(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Everything shown; each reference answer folded behind a toggle."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if _is_solution(cell) and cell.cell_type == "code":
            tags = cell.metadata.setdefault("tags", [])
            if "hide-input" not in tags:
                tags.append("hide-input")
    return nb
