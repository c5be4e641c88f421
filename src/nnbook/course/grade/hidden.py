"""Hidden tests graded outside the kernel: the kernel gets inputs, the grader keeps the answers.

A hidden test calls ``compare_with_reference(fn, "chNN.key")`` (:mod:`nnbook.kit.checks`).
While a submission is graded:

1. :class:`GiveHiddenInputs` (before execution) finds each such call in the grade cells
   with :mod:`ast`, draws this submission's inputs (seeded by the key and the student id,
   so grading again reproduces them), runs the reference from ``solutions/`` on them in the
   grading process (:mod:`nnbook.course.grade.reference`), keeps the expected outputs in nbgrader's ``resources`` (memory of this
   process, never a file the kernel could read) and writes only the inputs into the call
   (``inputs=r'''...'''``).
2. In the kernel the student's function runs on the inputs and its outputs are displayed
   as one record of plain data (``nnbook.kit.checks.OUTPUTS_MIME``).
3. :class:`CompareHiddenOutputs` (after execution) takes the records out of the grade
   cell's outputs and compares them with the expected values (:func:`compare_outputs`,
   the tolerances of the call); a mismatch becomes the cell's error output, with the
   failing input and the expected value, so nbgrader scores the cell 0.

These are nbgrader preprocessors configured through traitlets
(``c.GiveHiddenInputs.course_root`` names the repository with ``solutions/``).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from nbformat.notebooknode import from_dict
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, Unicode

from nnbook.course.grade import reference
from nnbook.kit import cells, checks

CALL = "compare_with_reference"
RESOURCE_KEY = "nnbook_hidden_cases"


def hidden_calls(source: str) -> list[dict]:
    """Each ``compare_with_reference(fn, "key", ...)`` call in ``source``, in order:
    its key, tolerances and where its closing parenthesis is (a character offset)."""
    tree = cells.parse(source)
    if tree is None:
        return []
    python = cells.python_source(source).splitlines()
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    calls = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == CALL):
            continue
        if len(node.args) < 2 or not isinstance(node.args[1], ast.Constant) or not isinstance(node.args[1].value, str):
            continue
        row = node.end_lineno - 1
        if row >= min(len(lines), len(python)) or python[row] != lines[row].rstrip("\r\n"):
            continue  # a line IPython rewrote (a magic): no offset into the source to write at
        keywords = {k.arg: k.value for k in node.keywords}
        if "inputs" in keywords:
            continue
        tolerances = {name: ast.literal_eval(keywords[name]) for name in ("rtol", "atol") if name in keywords}
        end = starts[row] + len(lines[row].encode()[:node.end_col_offset].decode()) - 1
        calls.append({"key": node.args[1].value, "end": end, **tolerances})
    return sorted(calls, key=lambda c: c["end"])


def compare_outputs(key: str, record: dict | None, cases: list[tuple[tuple, Any]], rtol: float = 1e-6,
                    atol: float = 1e-9) -> str | None:
    """Why a hidden test's recorded outputs differ from the expected ones (None if they agree)."""
    if not isinstance(record, dict) or record.get("key") != key or not isinstance(record.get("outputs"), list):
        return f"{key}: the hidden test reported no results (was its output suppressed?)"
    if len(record["outputs"]) != len(cases):
        return f"{key}: the hidden test reported {len(record['outputs'])} results for {len(cases)} cases"
    for (args, expected), output in zip(cases, record["outputs"]):
        if not isinstance(output, dict) or ("value" not in output and "not_plain" not in output):
            return f"{key}: the hidden test's results are malformed"
        if "not_plain" in output:
            return checks.case_message(key, args, f"returned {output['not_plain']}; return plain numbers, "
                                                  "strings, lists, tuples, dicts or numpy arrays")
        problem = checks._mismatch(checks._decode(output["value"]), expected, rtol, atol)
        if problem:
            return checks.case_message(key, args, problem)
    return None


class GiveHiddenInputs(NbGraderPreprocessor):
    """Write each hidden test's inputs for this submission; keep the expected outputs."""

    course_root = Unicode("", help="the course repository, whose solutions/ holds the references").tag(config=True)
    n_cases = Integer(reference.DEFAULT_CASES, help="random cases per hidden test").tag(config=True)

    def preprocess(self, nb, resources):
        student = resources["nbgrader"]["student"]
        root = Path(self.course_root) if self.course_root else None
        kept = resources.setdefault(RESOURCE_KEY, {})
        for index, cell in enumerate(nb.cells):
            if not cells.is_grade(cell):
                continue
            calls = hidden_calls(cell.source)
            source = cell.source
            for number, call in reversed(list(enumerate(calls))):
                cases = reference.reference_cases(call["key"], self.n_cases,
                                                  seed=reference.case_seed(call["key"], student), root=root)
                inputs = checks.encode_cases([(args, None) for args, _ in cases])
                head = source[:call["end"]].rstrip()
                comma = "" if head.endswith((",", "(")) else ", "
                source = f"{head}{comma}inputs=r'''{inputs}'''{source[call['end']:]}"
                kept[(cells.grade_id(cell), number)] = {**call, "cases": cases}
            cell.source = source
        return nb, resources


class CompareHiddenOutputs(NbGraderPreprocessor):
    """Compare the outputs each hidden test recorded with the expected ones kept aside."""

    def preprocess(self, nb, resources):
        kept = resources.get(RESOURCE_KEY, {})
        for cell in nb.cells:
            if not cells.is_grade(cell):
                continue
            gid = cells.grade_id(cell)
            records = [o.data[checks.OUTPUTS_MIME] for o in cell.get("outputs", [])
                       if o.get("output_type") == "display_data" and checks.OUTPUTS_MIME in o.get("data", {})]
            cell.outputs = [o for o in cell.get("outputs", []) if not (
                o.get("output_type") == "display_data" and checks.OUTPUTS_MIME in o.get("data", {}))]
            calls = sorted((number, call) for (grade_id, number), call in kept.items() if grade_id == gid)
            if not calls or any(o.get("output_type") == "error" for o in cell.outputs):
                continue  # no hidden test here, or the cell failed already
            for number, call in calls:
                record = records[number] if number < len(records) else None
                problem = compare_outputs(call["key"], record, call["cases"], call.get("rtol", 1e-6),
                                                 call.get("atol", 1e-9))
                if problem:
                    cell.outputs.append(from_dict({"output_type": "error", "ename": "AssertionError",
                                                   "evalue": problem, "traceback": [f"AssertionError: {problem}"]}))
                    break
        return nb, resources
