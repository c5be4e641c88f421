"""Grading is trustworthy: each case from issue 6 graded once, as a class, in parallel.

One module-scoped class of synthetic submissions of the fixture assignment (1+1+2 points)
is released, graded by ``nnbook-course grade --workers 2 --timeout 4``, then each test
checks one promise on the gradebook, the grading state, the CSV, the feedback or the report.
"""

import csv
import json
import re
import socket
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import grading_support as gs  # noqa: E402

EXPECTED = {  # student -> (score, reason fragment or None, flagged)
    "pristine": (0, None, False),
    "reference": (4, None, False),
    "partial": (1, None, False),
    "loop": (3, "timeout in ch90-square-tests", False),
    "sysexit": (3, None, False),
    "osexit": (1, "kernel died in ch90-square", False),
    "killed": (2, "kernel died in ch90-scale", False),
    "crash": (1, "kernel died in ch90-square", False),
    "membomb": (3, "memory limit in ch90-square-tests", False),
    "huge": (4, "output truncated", False),
    "monkeypatch": (2, "integrity flag", True),
    "sneaky": (1, "integrity flag (runtime check)", True),
    "tamper_locked": (3, None, False),
    "tamper_deleted": (3, None, False),
    "snoop": (4, "integrity flag (static check)", True),  # the scan flags, the sandbox prevents
    "emptied": (0, "not the student's own in ch90-add-tests: add is not defined by your answer cell", False),
    "imported": (3, "add must be your own, but your answer imports assert_close from nnbook.kit.checks", False),
    "wrapper": (2, "uses the library's nnbook.kit.checks.scale", False),
    "rebound": (3, "square is bound again outside its answer cell", False),
    "stealer": (3, "integrity flag (static check)", True),
    "forged": (1, "integrity flag: no credit from ch90-square-tests on", True),
    "silenced": (1, "integrity flag: no credit from ch90-square-tests on", True),
    "network": (4, None, False),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("trust") / "course"
    released = gs.release(course, gs.shared_dir(tmp_path_factory))
    for student, nb in gs.submissions(released).items():
        gs.submit(course, student, nb)
    gs.submit(course, "snoop", gs.snoop(course))
    listener = socket.create_server(("127.0.0.1", 0))
    gs.submit(course, "network", gs.network(course, listener.getsockname()[1]))
    listener.settimeout(0.1)
    connections = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                connections.append(listener.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    out = gs.cli("grade", gs.ASSIGNMENT, "--course", str(course), "--workers", "2", "--timeout", "4",
                 "--memory-mb", "2048")
    gs.cli("feedback", gs.ASSIGNMENT, "--course", str(course))
    gs.cli("export", "--course", str(course))
    report = gs.cli("report", gs.ASSIGNMENT, "--course", str(course))
    stop.set()
    thread.join(5)
    listener.close()
    with open(course / "exports" / "grades.csv") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    return {"course": course, "rows": rows, "log": out.stdout, "report": report.stdout, "connections": connections}


def done(graded, student):
    return json.loads((graded["course"] / ".grading" / gs.ASSIGNMENT / "done" / f"{student}.json").read_text())


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_score_reason_and_flag(graded, student):
    score, reason, flagged = EXPECTED[student]
    row = graded["rows"][student]
    assert float(row["score"]) == score, f"{student}: {row}"
    assert float(row["max_score"]) == 4, f"{student}: tampered metadata must not change the maximum: {row}"
    if reason:
        assert reason in row["reason"], f"{student}: reason {row['reason']!r}"
    elif student != "sysexit":
        assert row["reason"] == "", f"{student}: unexpected reason {row['reason']!r}"
    assert (row["flagged"] == "True") == flagged, row


def test_every_kernel_ran_as_this_module_asked(graded):
    # the adversarial class above ran each kernel in a new bubblewrap sandbox (the default);
    # test_grading_trust_forked.py grades it again with forked kernels
    kinds = {student: done(graded, student).get("kernel") for student in EXPECTED}
    assert set(kinds.values()) == {"bwrap"}, kinds


def test_partial_credit_per_cell(graded):
    row = graded["rows"]["partial"]
    assert (row["ch90-add-tests"], row["ch90-square-tests"], row["ch90-scale-tests"]) == ("1", "0", "0")


def test_dead_kernel_never_passes_what_did_not_run(graded):
    for student in ("osexit", "crash"):
        row = graded["rows"][student]
        assert row["ch90-square-tests"] == "0" and row["ch90-scale-tests"] == "0", row


def test_timeout_costs_only_that_exercise(graded):
    row = graded["rows"]["loop"]
    assert (row["ch90-add-tests"], row["ch90-square-tests"], row["ch90-scale-tests"]) == ("1", "0", "2")


def test_heavy_cells_are_skipped(graded):
    # the fixture's heavy cell sleeps 60 s: with a 4 s timeout it would be a timeout reason
    assert "timeout" not in graded["rows"]["reference"]["reason"]
    nb = json.loads((graded["course"] / "autograded" / "reference" / gs.ASSIGNMENT / gs.NOTEBOOK).read_text())
    assert any("skipped while grading" in "".join(c["source"]) for c in nb["cells"])


def test_sentinel_reports_stay_out_of_the_graded_notebooks(graded):
    # the sentinel reports in each grade cell's output; the grader removes every report line
    for student in EXPECTED:
        path = graded["course"] / "autograded" / student / gs.ASSIGNMENT / gs.NOTEBOOK
        if not path.is_file():
            continue
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                text = "".join(out.get("text", ""))
                assert not re.search(r"^S[0-9a-f]{16} ", text, re.M), (student, text[:200])
    findings = [f for f in done(graded, "silenced")["flags"] if f["kind"] == "runtime"]
    assert findings and "could not run" in findings[0]["findings"][0], findings


def test_sandbox_hides_course_files(graded):
    nb = json.loads((graded["course"] / "autograded" / "snoop" / gs.ASSIGNMENT / gs.NOTEBOOK).read_text())
    printed = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert printed.count("SNOOP BLOCKED") == 8 and "SNOOP READ" not in printed, printed
    findings = " ".join(" ".join(f["findings"]) for f in done(graded, "snoop")["flags"])
    assert "imports the reference solutions" in findings


def test_hidden_tests_get_inputs_only_and_each_student_other_ones(graded):
    from nnbook.kit.checks import decode_cases

    def inputs(student):
        nb = json.loads((graded["course"] / "autograded" / student / gs.ASSIGNMENT / gs.NOTEBOOK).read_text())
        source = "".join("".join(c["source"]) for c in nb["cells"] if "ch90.square" in "".join(c["source"]))
        assert "inputs=r'''" in source, source
        return decode_cases(source.split("inputs=r'''")[1].split("'''")[0])

    mine, theirs = inputs("reference"), inputs("partial")
    assert len(mine) == 25 and all(expected is None for _, expected in mine), "the kernel got expected values"
    assert str(mine) != str(theirs), "two students got the same hidden inputs"


def test_kernel_has_no_network_and_is_still_graded(graded):
    nb = json.loads((graded["course"] / "autograded" / "network" / gs.ASSIGNMENT / gs.NOTEBOOK).read_text())
    printed = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert "NETWORK BLOCKED" in printed and "NETWORK OPEN" not in printed, printed
    assert graded["connections"] == [], "the grading kernel reached a server on the host's loopback"


def test_monkeypatching_is_detected_statically_and_at_runtime(graded):
    kinds = {f["kind"] for f in done(graded, "monkeypatch")["flags"]}
    assert kinds == {"static", "runtime"}
    sneaky = done(graded, "sneaky")["flags"]
    assert {f["kind"] for f in sneaky} == {"runtime"}
    assert any("nnbook.kit.checks._mismatch" in f["findings"] for f in sneaky)


def test_huge_output_is_truncated_and_feedback_renders(graded):
    course = graded["course"]
    path = course / "autograded" / "huge" / gs.ASSIGNMENT / gs.NOTEBOOK
    assert path.stat().st_size < 1_000_000
    html = (course / "feedback" / "huge" / gs.ASSIGNMENT / "ch90_tiny.html").read_text()
    assert "Score: 4.0 / 4.0" in html and "output truncated" in html


def test_feedback_shows_messages_never_hidden_tests(graded):
    course = graded["course"]
    pages = sorted((course / "feedback").rglob("*.html"))
    assert len(pages) == len(EXPECTED)
    partial = (course / "feedback" / "partial" / gs.ASSIGNMENT / "ch90_tiny.html").read_text()
    assert "not implemented yet" in partial or "NotImplementedError" in partial
    for page in pages:
        text = page.read_text()
        assert not any(f"hidden-{name}-marker" in text for name in ("add", "square", "scale")), page
        assert "BEGIN HIDDEN" not in text and "inputs=" not in text, page
        assert 'compare_with_reference(add' not in text and "assert_close(add(1.0" not in text, page  # no test source


def test_no_leaks_in_student_artefacts(graded):
    from nnbook.course.report import leaks

    course = graded["course"]
    found = leaks.scan(gs.FIXTURE_ROOT, [course / "release", course / "feedback", course / "downloads"])
    assert found == []


def test_report_lists_flagged_and_hardest(graded):
    course = graded["course"]
    report = (course / "reports" / gs.ASSIGNMENT / "report.md").read_text()
    assert (course / "reports" / gs.ASSIGNMENT / "scores.png").stat().st_size > 1000
    for student in ("snoop", "monkeypatch", "sneaky", "loop", "osexit"):
        assert f"| {student} |" in report
    assert "## Hardest exercises" in report and "ch90-square-tests" in report
    assert "## Similar answers (for review, never a verdict)" in report


def test_student_kit_has_package_without_course_or_solutions(graded):
    import zipfile

    names = zipfile.ZipFile(graded["course"] / "downloads" / "nnbook-student.zip").namelist()
    assert "nnbook-student/src/nnbook/kit/checks.py" in names and "nnbook-student/requirements.txt" in names
    assert "nnbook-student/src/nnbook/kit/selfcheck.py" in names
    assert not any("/course/" in n or "solutions" in n or n.endswith(".ipynb") for n in names)
