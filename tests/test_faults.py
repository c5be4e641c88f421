"""The instructor's path under faults: a failure of the machinery is never a grade.

Each test breaks something (the configuration, the disk, the gradebook's lock, a grading
process, the whole run), checks that `grade` says so and exits non-zero without recording a
grade, removes the fault, runs `grade` again and checks that every submission then has
exactly one correct grade: nothing graded twice (events.log), nothing lost.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import grading_support as gs  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
EXPECTED = {"reference": 4.0, "partial": 1.0, "pristine": 0.0}


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    course = tmp_path_factory.mktemp("faults") / "course"
    path = gs.release(course, gs.shared_dir(tmp_path_factory))
    return course, path


def _class(released, tmp_path, students=tuple(EXPECTED)) -> Path:
    base, rel = released
    course = gs.copy_course(base, tmp_path / "course")
    subs = gs.submissions(rel)
    for student in students:
        gs.submit(course, student, subs[student])
    return course


def _own_root(tmp_path) -> Path:
    """A copy of the fixture's repository (its configuration can be broken without harm)."""
    root = tmp_path / "root"
    shutil.copytree(gs.FIXTURE_ROOT, root)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    return root


def _grade(course: Path, *extra: str, root: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = dict(env or gs.env(), **({"NNBOOK_COURSE_ROOT": str(root)} if root else {}))
    return subprocess.run([sys.executable, "-m", "nnbook.course", "grade", gs.ASSIGNMENT, "--course", str(course),
                           "--workers", "2", "--timeout", "10", *extra], env=environment, capture_output=True, text=True)


def _totals(course: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student.id: float(s.score) for s in gb.assignment_submissions(gs.ASSIGNMENT)}


def _gradings(course: Path) -> list[str]:
    log = course / ".grading" / gs.ASSIGNMENT / "events.log"
    return sorted(line.split()[2] for line in log.read_text().splitlines() if " graded " in line) if log.exists() else []


def _all_graded_once(course: Path, students=tuple(EXPECTED)) -> None:
    assert _totals(course) == {s: EXPECTED[s] for s in students}
    assert _gradings(course) == sorted(students), "each submission graded exactly once"
    assert not list((course / ".grading" / gs.ASSIGNMENT / "failed").glob("*.json"))


def test_configuration_missing_then_fixed(released, tmp_path):
    course, root = _class(released, tmp_path), _own_root(tmp_path)
    (root / "nbgrader_config.py").rename(root / "saved_config.py")
    first = _grade(course, root=root)
    assert first.returncode == 1 and "nbgrader_config.py is missing" in first.stderr, first.stderr
    assert "Traceback" not in first.stderr and _totals(course) == {} and _gradings(course) == []
    (root / "saved_config.py").rename(root / "nbgrader_config.py")
    second = _grade(course, root=root)
    assert second.returncode == 0, second.stdout + second.stderr
    _all_graded_once(course)
    record = tmp_path.parent / "faults-configuration-scenario.txt"  # the two runs, for the notes
    record.write_text("\n".join(f"$ nnbook-course grade ch90  (exit {r.returncode})\n{r.stdout}{r.stderr}"
                                for r in (first, second)))


def test_disk_full_for_the_results_folder(released, tmp_path):
    course = _class(released, tmp_path)
    results = course / ".grading" / gs.ASSIGNMENT / "results"
    results.mkdir(parents=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", str(results)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        subprocess.run(["dd", "if=/dev/zero", f"of={results / 'filler'}", "bs=1k", "count=64"], capture_output=True)
        first = _grade(course)
    finally:
        subprocess.run(["umount", str(results)], check=True)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "No space left on device" in first.stdout and "grading failed 3" in first.stdout
    assert first.stdout.count("No space left on device") == 1, "the shared cause is said once"
    assert _totals(course) == {}, "a failed grading is never a grade"
    failed = {p.stem for p in (course / ".grading" / gs.ASSIGNMENT / "failed").glob("*.json")}
    assert failed == set(EXPECTED)
    gs.cli("export", "--course", str(course))
    assert (course / "exports" / "grades.csv").read_text().count("grading failed: OSError") == 3
    second = _grade(course)
    assert second.returncode == 0, second.stdout + second.stderr
    _all_graded_once(course)


def test_gradebook_locked_by_another_process(released, tmp_path):
    course = _class(released, tmp_path)
    locker = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time\n"
        f"db = sqlite3.connect({str(course / 'gradebook.db')!r}, isolation_level=None)\n"
        "db.execute('BEGIN IMMEDIATE')\nprint('locked', flush=True)\nsys.stdin.read()\n")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout.readline().strip() == "locked"
        first = _grade(course)
    finally:
        locker.communicate("", timeout=30)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "the gradebook could not be written" in first.stdout and "locked" in first.stdout
    assert _totals(course) == {}
    second = _grade(course)
    assert second.returncode == 0 and "merged 3" in second.stdout, second.stdout + second.stderr
    _all_graded_once(course)


def _grading_folders(scratch: Path) -> list[Path]:
    return [p for p in scratch.glob("nnz-*") if (p / "nng").is_dir()]


def test_a_worker_killed_mid_submission_and_the_run_interrupted(released, tmp_path):
    import tempfile

    course = _class(released, tmp_path)
    scratch = Path(tempfile.mkdtemp(prefix="nnf", dir="/tmp"))  # short: the kernel's socket paths
    env = dict(gs.env(), TMPDIR=str(scratch))
    cmd = [sys.executable, "-m", "nnbook.course", "grade", gs.ASSIGNMENT, "--course", str(course),
           "--workers", "1", "--timeout", "10"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not _grading_folders(scratch) and proc.poll() is None:
        time.sleep(0.05)
    assert _grading_folders(scratch), proc.communicate(timeout=60)[0]
    victim = int(_grading_folders(scratch)[0].name[4:])
    os.kill(victim, signal.SIGKILL)  # the grading worker, mid-submission
    done = course / ".grading" / gs.ASSIGNMENT / "done"
    while time.time() < deadline and not list(done.glob("*.json")):
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)  # then the whole run
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, out
    assert "the grading process died" in (course / ".grading" / gs.ASSIGNMENT / "events.log").read_text()
    assert set(_totals(course)) < set(EXPECTED), out
    again = _grade(course, env=env)
    shutil.rmtree(scratch, ignore_errors=True)
    assert again.returncode == 0, again.stdout + again.stderr
    _all_graded_once(course)


def test_regrade_grades_again_and_keeps_the_events_log(released, tmp_path):
    course = _class(released, tmp_path, students=("reference", "partial"))
    assert _grade(course).returncode == 0
    again = _grade(course, "--regrade", "--student", "partial")
    assert again.returncode == 0 and "grading 1 submission(s)" in again.stdout, again.stdout
    assert _gradings(course) == ["partial", "partial", "reference"]
    assert _totals(course) == {"reference": 4.0, "partial": 1.0}


def test_bad_inputs_are_one_line_errors(released, tmp_path):
    course = _class(released, tmp_path, students=("partial",))
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["collect", gs.ASSIGNMENT, str(tmp_path / "nonexistent"), "--course", str(course)], 1, "not a folder"),
        (["collect", "ch99", str(empty), "--course", str(course)], 1, "no assignment ch99 released"),
        (["feedback", "ch99", "--course", str(course)], 1, "no assignment ch99 released"),
        (["export", "--course", str(empty)], 1, "nothing released"),
        (["leaks", str(tmp_path / "typo_site")], 2, "no such file or folder"),
        (["grade", gs.ASSIGNMENT, "--workers", "0", "--course", str(course)], 2, "must be at least 1"),
        (["grade", gs.ASSIGNMENT, "--student", "nobody", "--course", str(course)], 1, "from nobody"),
        (["collect", gs.ASSIGNMENT, str(empty), "--timezone", "Mars/Olympus", "--course", str(course)], 1,
         "unknown time zone"),
    ]
    for args, status, message in cases:
        done = gs.cli(*args, check=False)
        assert done.returncode == status and message in done.stderr, (args, done.stderr)
        last = done.stderr.strip().splitlines()[-1]  # argparse puts its usage lines first
        assert "Traceback" not in done.stderr and message in last, done.stderr


def test_a_corrupt_bulk_zip_is_a_file_not_a_student(released, tmp_path):
    course = _class(released, tmp_path, students=())
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "moodle_bulk.zip").write_bytes(b"PK\x03\x04 truncated")
    gs.cli("collect", gs.ASSIGNMENT, str(inbox), "--course", str(course))
    record = json.loads((course / ".grading" / gs.ASSIGNMENT / "collect.json").read_text())
    assert record["students"] == {} and "moodle_bulk.zip" in record["files"]


def test_zip_times_are_read_in_the_stated_time_zone():
    from datetime import timezone

    from nnbook.course.grade.collect import local_time, zone

    when = local_time((2026, 1, 10, 12, 30, 0), zone("Europe/Paris"))
    assert when.astimezone(timezone.utc).hour == 11  # CET is UTC+1 in January
    assert local_time((2026, 1, 10, 12, 30, 0), zone("UTC")).astimezone(timezone.utc).hour == 12


def test_release_loads_the_repositorys_nbgrader_config(tmp_path):
    root = _own_root(tmp_path)
    with open(root / "nbgrader_config.py", "a") as fh:
        fh.write('\nc.ClearSolutions.code_stub = {"python": "# WRITE YOUR ANSWER HERE\\nraise NotImplementedError()"}\n')
    done = subprocess.run([sys.executable, "-m", "nnbook.course", "release", "--course", str(tmp_path / "course")],
                          env=dict(gs.env(), NNBOOK_COURSE_ROOT=str(root)), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "WRITE YOUR ANSWER HERE" in (tmp_path / "course" / "release" / gs.ASSIGNMENT / gs.NOTEBOOK).read_text()


def test_a_late_penalty_reaches_the_gradebook_with_zip_times_in_the_stated_zone(released, tmp_path):
    """Due 12:00 in Paris (11:00 UTC); two zipped copies of the reference answer dated 11:30 and
    12:30 Paris time. Read in Paris, only the second is late and loses its 4 points to the
    'zero' penalty; read as UTC (the old bug), both would have been late."""
    import csv
    import zipfile

    root = _own_root(tmp_path)
    with open(root / "nbgrader_config.py", "a") as fh:
        fh.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    course = _class(released, tmp_path, students=())
    env = dict(gs.env(), NNBOOK_COURSE_ROOT=str(root))

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "nnbook.course", *args, "--course", str(course)],
                              env=env, capture_output=True, text=True)

    due = cli("due", gs.ASSIGNMENT, "2026-01-10T12:00", "--timezone", "Europe/Paris")
    assert due.returncode == 0 and "due 2026-01-10 11:00 UTC" in due.stdout, due.stdout + due.stderr
    assert cli("due", gs.ASSIGNMENT, "next friday").returncode == 1
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    answer = nbformat_bytes(gs.submissions(released[1])["reference"])
    for student, hour in (("ontime", 11), ("late", 12)):
        with zipfile.ZipFile(inbox / f"{student}.zip", "w") as zf:
            zf.writestr(zipfile.ZipInfo(gs.NOTEBOOK, date_time=(2026, 1, 10, hour, 30, 0)), answer)
    assert cli("collect", gs.ASSIGNMENT, str(inbox), "--timezone", "Europe/Paris").returncode == 0
    graded = _grade(course, root=root)
    assert graded.returncode == 0, graded.stderr
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        subs = {s.student.id: (float(s.score), float(s.late_submission_penalty or 0))
                for s in gb.assignment_submissions(gs.ASSIGNMENT)}
    assert subs == {"ontime": (4.0, 0.0), "late": (4.0, 4.0)}, subs
    assert cli("export", gs.ASSIGNMENT, "-o", str(tmp_path / "grades.csv")).returncode == 0
    rows = {r["student"]: r for r in csv.DictReader(open(tmp_path / "grades.csv"))}
    assert (rows["ontime"]["score"], rows["ontime"]["late_penalty"]) == ("4", "0")
    assert (rows["late"]["score"], rows["late"]["late_penalty"]) == ("0", "4")


def nbformat_bytes(nb) -> bytes:
    import nbformat

    return nbformat.writes(nb).encode()
