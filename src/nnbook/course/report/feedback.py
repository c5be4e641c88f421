"""Feedback HTML per student, rendered from the autograded notebook, never from its source.

nbgrader's own ``generate_feedback`` renders the whole autograded notebook, hidden tests
included (nbgrader#917, #1363). Here a report lists each test cell: points, pass/fail and
the failure *message* (exception name and text only: a traceback quotes the failing line
of the test, which may be a hidden one). Nothing of a test cell's source is written.
"""

from __future__ import annotations

import html
from pathlib import Path

import nbformat

from nnbook.course.grade.grading import recorded_grades
from nnbook.course.state import GradingState

MAX_MESSAGE = 2000
STYLE = """body{font-family:system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.4rem;vertical-align:top;text-align:left}
.pass{color:#0a6b2d;font-weight:bold}.fail{color:#a3120b;font-weight:bold}pre{white-space:pre-wrap;margin:0;font-size:.9em}
.note{background:#fff6d6;border:1px solid #e5c450;padding:.5rem 1rem}"""


def _message(outputs: list) -> str:
    for out in outputs:
        if out.get("output_type") == "error":
            text = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}".strip()
            return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + " [...]"
    return ""


def render(student: str, assignment: str, notebook: nbformat.NotebookNode, result: dict | None,
           scores: dict[str, dict[str, dict]]) -> str:
    """The page; ``scores`` from the gradebook, ``result`` (the grading record) for the reasons."""
    rows = []
    flat = {gid: entry for nb in scores.values() for gid, entry in nb.items()}
    total = maximum = 0.0
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not (meta.get("grade") and cell.cell_type == "code"):
            continue
        gid = meta["grade_id"]
        entry = flat.get(gid, {"score": 0.0, "max": float(meta.get("points", 0))})
        total, maximum = total + entry["score"], maximum + entry["max"]
        message = _message(cell.get("outputs", []))
        passed = entry["score"] >= entry["max"] and entry["max"] > 0
        status = "pass" if passed else ("partial" if entry["score"] > 0 else "fail")
        rows.append(f"<tr><td>{html.escape(gid)}</td><td class=\"{'pass' if passed else 'fail'}\">{status}</td>"
                    f"<td>{entry['score']:g} / {entry['max']:g}</td><td><pre>{html.escape(message)}</pre></td></tr>")
    reasons = (result or {}).get("reasons", [])
    note = ""
    if reasons:
        items = "".join(f"<li>{html.escape(r)}</li>" for r in reasons)
        note = f"<div class=\"note\"><p>While grading:</p><ul>{items}</ul></div>"
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Feedback {html.escape(assignment)} "
            f"{html.escape(student)}</title><style>{STYLE}</style></head><body>"
            f"<h1>Feedback: {html.escape(assignment)}</h1><p>Student: <b>{html.escape(student)}</b>. "
            f"Score: <b>{total:g} / {maximum:g}</b></p>{note}"
            f"<table><tr><th>test</th><th>result</th><th>points</th><th>message</th></tr>{''.join(rows)}</table>"
            "<p>Hidden tests are not shown; their messages say what went wrong.</p></body></html>")


def generate(course: Path, assignment: str, students: list[str] | None = None) -> list[Path]:
    """Write ``feedback/<student>/<assignment>/<notebook>.html`` for every graded student."""
    state = GradingState(course, assignment)
    written = []
    for folder in sorted((course / "autograded").glob(f"*/{assignment}")):
        student = folder.parent.name
        if students and student not in students:
            continue
        result = state.done_record(student)
        scores = recorded_grades(course, assignment, student)
        for path in sorted(folder.glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            target = course / "feedback" / student / assignment / f"{path.stem}.html"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(render(student, assignment, nb, result, scores))
            written.append(target)
    return written
