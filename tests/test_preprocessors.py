"""The grading preprocessors on their own (no nbgrader app, no sandbox)."""

import nbformat

from nnbook.course.grade.limits import TRUNCATED
from nnbook.course.grade.preprocessors import SafeExecute, record


def test_safe_execute_caps_a_cells_output_as_it_arrives():
    # SafeExecute overrides nbclient's undocumented NotebookClient.output hook: this fails if an
    # nbclient upgrade stops calling it (the cap would then be silently off)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("for _ in range(200):\n    print('y' * 99)"),
                                         nbformat.v4.new_code_cell("print('after')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    resources = {"metadata": {"path": "."}}
    graded, resources = SafeExecute(max_output_chars=2_000, timeout=60).preprocess(nb, resources)
    first = "".join(o.get("text", "") for o in graded.cells[0].outputs)
    assert TRUNCATED in first and len(first) < 2_000 + 200 + len(TRUNCATED), len(first)
    assert "".join(o.get("text", "") for o in graded.cells[1].outputs) == "after\n"
    assert record(resources).ran(graded.cells[0]) is True and record(resources).ran(graded.cells[1]) is True
