"""collect -> grade -> export: LMS zips and broken files, parallel == serial, resumable.

The fixture assignment is released once for the module; each test grades a copy.
"""

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import grading_support as gs  # noqa: E402


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    course = tmp_path_factory.mktemp("pipeline") / "course"
    path = gs.release(course, gs.shared_dir(tmp_path_factory))
    return course, path


def notebook_bytes(nb) -> bytes:
    return nbformat.writes(nb).encode()


def test_collect_files_and_lms_zips_and_records_unreadable(released, tmp_path):
    base, rel = released
    course = gs.copy_course(base, tmp_path / "course")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    ref = gs.answered(rel, gs.REFERENCE)
    (inbox / "alice.ipynb").write_bytes(notebook_bytes(ref))
    (inbox / "empty1.ipynb").write_bytes(b"")
    (inbox / "garbage.ipynb").write_text("this is not json {")
    (inbox / "notes.txt").write_text("hello")
    (inbox / "json2.ipynb").write_text('{"hello": 1}')
    moodle = io.BytesIO()
    with zipfile.ZipFile(moodle, "w") as zf:
        zf.writestr("Bob Builder_1001_assignsubmission_file_/ch90_tiny.ipynb", notebook_bytes(nbformat.read(rel, as_version=4)))
        zf.writestr("Carol C_1002_assignsubmission_file_/my work.ipynb", notebook_bytes(ref))
        zf.writestr("Dan D_1003_assignsubmission_file_/ch90_tiny.ipynb", b"\x00\x01binary")
        zf.writestr("Eve E_1004_assignsubmission_file_/answer.pdf", b"%PDF")
    (inbox / "moodle-bulk.zip").write_bytes(moodle.getvalue())
    single = io.BytesIO()
    with zipfile.ZipFile(single, "w") as zf:
        zf.writestr("ch90_tiny.ipynb", notebook_bytes(ref))
    (inbox / "frank.zip").write_bytes(single.getvalue())

    out = gs.cli("collect", gs.ASSIGNMENT, str(inbox), "--course", str(course))
    submitted = sorted(p.parent.name for p in (course / "submitted").glob(f"*/{gs.ASSIGNMENT}"))
    assert submitted == ["1001", "1002", "alice", "frank"], out.stdout
    assert (course / "submitted" / "1002" / gs.ASSIGNMENT / gs.NOTEBOOK).is_file()
    state = json.loads((course / ".grading" / gs.ASSIGNMENT / "collect.json").read_text())
    assert "empty file" in state["students"]["empty1"]
    assert "not JSON" in state["students"]["garbage"]
    assert "not a notebook" in state["students"]["json2"]
    assert "not JSON" in state["students"]["1003"]
    assert any("pdf" in k for k in state["files"]) and "notes.txt" in state["files"]

    gs.cli("grade", gs.ASSIGNMENT, "--course", str(course), "--workers", "2", "--timeout", "10")
    gs.cli("export", "--course", str(course))
    with open(course / "exports" / "grades.csv") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    assert rows["alice"]["score"] == "4" and rows["frank"]["score"] == "4" and rows["1001"]["score"] == "0"
    for student in ("empty1", "garbage", "json2", "1003"):
        assert rows[student]["score"] == "0" and rows[student]["reason"].startswith("unreadable"), rows[student]


def _scores(course: Path) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {(s.student.id, nb.name, g.name): (g.auto_score, g.max_score)
                for s in gb.assignment_submissions(gs.ASSIGNMENT) for nb in s.notebooks for g in nb.grades}


def test_parallel_equals_serial(released, tmp_path):
    base, rel = released
    subs = gs.submissions(rel)
    chosen = ["pristine", "partial", "tamper_deleted"]
    courses = {}
    for workers in (1, 2):
        course = gs.copy_course(base, tmp_path / f"w{workers}")
        for student in chosen:
            gs.submit(course, student, subs[student])
        gs.cli("grade", gs.ASSIGNMENT, "--course", str(course), "--workers", str(workers), "--timeout", "10")
        courses[workers] = course
    serial, parallel = _scores(courses[1]), _scores(courses[2])
    assert len(serial) == 3 * len(chosen)
    assert serial == parallel
    assert {k[0] for k, v in serial.items() if v[0] > 0} == {"partial", "tamper_deleted"}


def test_forked_kernels_grade_as_new_sandboxes_do(released, tmp_path):
    base, rel = released
    subs = gs.submissions(rel)
    chosen = ["pristine", "reference", "partial", "sysexit", "tamper_deleted"]
    courses = {}
    for name, flags in (("forked", ["--fork-server"]), ("bwrap", []), ("figures", ["--figures", "--fork-server"])):
        course = gs.copy_course(base, tmp_path / name)
        for student in chosen:
            gs.submit(course, student, subs[student])
        gs.cli("grade", gs.ASSIGNMENT, "--course", str(course), "--workers", "2", "--timeout", "10",
               "--sandbox", "bwrap", *flags)
        done = course / ".grading" / gs.ASSIGNMENT / "done"
        kinds = {json.loads((done / f"{s}.json").read_text())["kernel"] for s in chosen}
        assert kinds == {"bwrap" if name == "figures" else name}  # figures need a kernel of their own
        courses[name] = course
    assert _scores(courses["forked"]) == _scores(courses["bwrap"]) == _scores(courses["figures"])


def test_folders_of_workers_that_are_gone_are_removed(tmp_path):
    from nnbook.course.grade.pool import remove_stale_worker_folders

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale, alive = tmp_path / f"nnz-{gone.stdout.strip()}", tmp_path / f"nnz-{os.getppid()}"
    for folder in (stale, alive):
        (folder / "nng-s1").mkdir(parents=True)
    remove_stale_worker_folders(tmp_path)
    assert not stale.exists() and alive.exists()


def test_three_shards_in_three_processes_equal_one_run(released, tmp_path):
    base, rel = released
    subs = gs.submissions(rel)
    chosen = ["pristine", "reference", "partial", "emptied", "imported", "tamper_locked"]
    courses = {}
    for mode in ("one", "shards"):
        course = gs.copy_course(base, tmp_path / mode)
        for student in chosen:
            gs.submit(course, student, subs[student])
        courses[mode] = course
    gs.cli("grade", gs.ASSIGNMENT, "--course", str(courses["one"]), "--workers", "2", "--timeout", "10")
    sharded = courses["shards"]
    procs = [subprocess.Popen([sys.executable, "-m", "nnbook.course", "grade", gs.ASSIGNMENT, "--course", str(sharded),
                               "--workers", "1", "--timeout", "10", "--shard", f"{k}/3"], env=gs.env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for k in (1, 2, 3)]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert _scores(sharded) == {}, "a shard never writes the gradebook"
    folders = sorted((sharded / ".grading" / gs.ASSIGNMENT).glob("shard-*-of-3"))
    assert len(folders) == 3 and sum(len(list(f.glob("*.json"))) for f in folders) == len(chosen)
    first = gs.cli("merge", *map(str, folders), "--course", str(sharded))
    assert f"merged {len(chosen)} result(s)" in first.stdout
    again = gs.cli("merge", *map(str, folders), "--course", str(sharded))
    assert f"merged 0 result(s), {len(chosen)} already in the gradebook" in again.stdout
    assert _scores(sharded) == _scores(courses["one"]) and len(_scores(sharded)) == 3 * len(chosen)


def test_a_manual_override_shows_in_feedback_export_and_report_alike(released, tmp_path):
    from nbgrader.api import Gradebook

    base, rel = released
    course = gs.copy_course(base, tmp_path / "course")
    gs.submit(course, "partial", gs.submissions(rel)["partial"])
    gs.cli("grade", gs.ASSIGNMENT, "--course", str(course), "--workers", "1", "--timeout", "10")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade = gb.find_grade("ch90-scale-tests", gs.NOTEBOOK[:-6], gs.ASSIGNMENT, "partial")
        assert grade.score == 0
        grade.manual_score = 2.0  # the instructor gives the scale exercise full marks by hand
        gb.db.commit()
    gs.cli("feedback", gs.ASSIGNMENT, "--course", str(course))
    gs.cli("export", "--course", str(course))
    gs.cli("report", gs.ASSIGNMENT, "--course", str(course))
    page = (course / "feedback" / "partial" / gs.ASSIGNMENT / f"{gs.NOTEBOOK[:-6]}.html").read_text()
    assert "(Score: 3.0 / 4.0)" in page and "Score: 2.0 / 2.0" in page
    with open(course / "exports" / "grades.csv") as fh:
        row = next(csv.DictReader(fh))
    assert (row["ch90-scale-tests"], row["score"]) == ("2", "3")
    # the same export through nbgrader's own command, with the plugin
    done = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--exporter=nnbook.course.report.export.CellScoresExport",
                           f"--to={tmp_path / 'nbgrader.csv'}", f"--CourseDirectory.root={course}",
                           f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}"],
                          cwd=course, env=gs.env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "nbgrader.csv").read_text() == (course / "exports" / "grades.csv").read_text()
    assert "3.00 / 4" in (course / "reports" / gs.ASSIGNMENT / "report.md").read_text()


def test_shards_are_stable_and_cover_the_class_once():
    from nnbook.course.grade.plan import in_shard

    students = [f"s{i:04d}" for i in range(300)]
    slices = [[s for s in students if in_shard(s, k, 4)] for k in range(1, 5)]
    assert sorted(sum(slices, [])) == students and all(40 < len(part) < 110 for part in slices)
    assert [s for s in reversed(students) if in_shard(s, 2, 4)] == slices[1][::-1]


def test_interrupted_grading_resumes_without_regrading(released, tmp_path):
    base, rel = released
    course = gs.copy_course(base, tmp_path / "course")
    subs = gs.submissions(rel)
    students = ["pristine", "reference", "partial", "sysexit"]
    for student in students:
        gs.submit(course, student, subs[student])
    state = course / ".grading" / gs.ASSIGNMENT
    cmd = [sys.executable, "-m", "nnbook.course", "grade", gs.ASSIGNMENT, "--course", str(course),
           "--workers", "1", "--timeout", "10"]
    proc = subprocess.Popen(cmd, env=gs.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((state / "done").glob("*.json"))) < 2:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    first = {p.stem for p in (state / "done").glob("*.json")}
    assert 2 <= len(first) < len(students), out
    again = gs.cli("grade", gs.ASSIGNMENT, "--course", str(course), "--workers", "2", "--timeout", "10")
    assert f"already graded" in again.stdout
    events = [line.split()[2] for line in (state / "events.log").read_text().splitlines() if " graded " in line]
    assert sorted(events) == sorted(students), f"each submission graded exactly once: {events}"
    scores = _scores(course)
    assert {k[0] for k in scores} == set(students)
    # a third run grades nothing
    third = gs.cli("grade", gs.ASSIGNMENT, "--course", str(course))
    assert "grading 0 submission(s)" in third.stdout


def test_selfcheck_reports_failing_public_tests(released, tmp_path):
    _, rel = released
    nb = gs.answered(rel, {"ch90-add": gs.REFERENCE["ch90-add"]})
    nbformat.write(nb, tmp_path / gs.NOTEBOOK)
    done = subprocess.run([sys.executable, "-m", "nnbook.kit.selfcheck", str(tmp_path / gs.NOTEBOOK), "--skip-heavy"],
                          env=gs.env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[PASS] ch90-add-tests" in done.stdout
    assert "[FAIL] ch90-square-tests" in done.stdout and "not answered yet" in done.stdout
    assert "1/3 public test cells pass" in done.stdout


def test_nbgrader_zip_collect_with_the_lms_plugins(released, tmp_path):
    base, rel = released
    course = gs.copy_course(base, tmp_path / "course")
    archive = course / "downloaded" / gs.ASSIGNMENT / "archive"
    archive.mkdir(parents=True)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("my answers.ipynb", notebook_bytes(gs.answered(rel, gs.REFERENCE)))
    with zipfile.ZipFile(archive / "moodle-bulk.zip", "w") as zf:
        zf.writestr("Bob Builder_1001_assignsubmission_file_/ch90 final.ipynb", notebook_bytes(nbformat.read(rel, as_version=4)))
        zf.writestr("Carol C_1002_assignsubmission_file_/work.zip", inner.getvalue())
        zf.writestr("../escape_1003_assignsubmission_file_/x.ipynb", b"{}")
    done = subprocess.run([sys.executable, "-m", "nbgrader", "zip_collect", gs.ASSIGNMENT, "--force",
                           "--extractor=nnbook.course.grade.collect.LmsExtractor",
                           "--collector=nnbook.course.grade.collect.LmsFileNameCollector",
                           f"--CourseDirectory.root={course}"], cwd=course, env=gs.env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    submitted = sorted(p.relative_to(course / "submitted").as_posix() for p in (course / "submitted").rglob("*.ipynb"))
    assert submitted == [f"1001/{gs.ASSIGNMENT}/{gs.NOTEBOOK}", f"1002/{gs.ASSIGNMENT}/{gs.NOTEBOOK}"], done.stderr
    assert not list(tmp_path.rglob("escape_1003*"))  # the unsafe entry was not written anywhere


def test_a_kept_gradebook_engine_reads_a_replaced_file_anew(tmp_path, monkeypatch):
    # each submission's gradebook copy is at the same path in a worker, with one engine kept;
    # fails if an nbgrader upgrade stops calling nbgrader.api.create_engine (the patch is then dead)
    import nbgrader.api
    from nbgrader.api import Gradebook
    from sqlalchemy import text

    from nnbook.course.grade.pool import reuse_gradebook_engines

    monkeypatch.setattr(nbgrader.api, "create_engine", nbgrader.api.create_engine)  # undone after the test
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")  # alembic
    (tmp_path / "scratch").mkdir()
    reuse_gradebook_engines(tmp_path / "scratch")
    path = tmp_path / "scratch" / "gradebook.db"
    url = f"sqlite:///{path}"
    for student in ("first", "second"):
        if path.exists():
            path.unlink()
        with Gradebook(url) as gb:
            gb.add_student(student)
        with Gradebook(url) as gb:
            assert [s.id for s in gb.students] == [student]
    with Gradebook(url) as first, Gradebook(url) as second:
        assert first.engine is second.engine
    # a throw-away copy in a worker's folder does not wait for the disk; any other gradebook does
    course = f"sqlite:///{tmp_path / 'course.db'}"
    shutil.copy(path, tmp_path / "course.db")
    for db, synchronous in ((url, 0), (course, 2)):
        with Gradebook(db) as gb:
            assert gb.db.execute(text("PRAGMA synchronous")).scalar() == synchronous, db


def test_nbgraders_clear_metadata_preprocessor_changes_no_grade(released, tmp_path):
    # what one preprocessor tells the next travels in nbgrader's resources, not in cell metadata:
    # nbgrader's stock ClearMetadataPreprocessor, enabled as nbgrader's own tests enable it
    # (keeping the nbgrader metadata it needs itself), leaves every score and reason as it was
    base, rel = released
    root = tmp_path / "root"
    shutil.copytree(gs.FIXTURE_ROOT, root, ignore=shutil.ignore_patterns("nbgrader_config.py", "__pycache__"))
    repo_config = gs.FIXTURE_ROOT.parents[2] / "nbgrader_config.py"
    (root / "nbgrader_config.py").write_text(
        f"from pathlib import Path\nexec(Path({str(repo_config)!r}).read_text())\n"
        "c.ClearMetadataPreprocessor.enabled = True\n"
        "c.ClearMetadataPreprocessor.preserve_cell_metadata_mask = {'nbgrader'}\n")
    course = gs.copy_course(base, tmp_path / "course")
    expected = {"reference": (4, ""), "partial": (1, ""), "tamper_deleted": (3, ""),
                "osexit": (1, "kernel died in ch90-square"), "emptied": (0, "not the student's own in ch90-add-tests"),
                "monkeypatch": (2, "integrity flag")}
    subs = gs.submissions(rel)
    for student in expected:
        gs.submit(course, student, subs[student])
    done = subprocess.run([sys.executable, "-m", "nnbook.course", "grade", gs.ASSIGNMENT, "--course", str(course),
                           "--workers", "2", "--timeout", "10"], env=dict(gs.env(), NNBOOK_COURSE_ROOT=str(root)),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    graded = nbformat.read(course / "autograded" / "partial" / gs.ASSIGNMENT / gs.NOTEBOOK, as_version=4)
    assert not any(cell.metadata.get("tags") for cell in graded.cells), "ClearMetadataPreprocessor did not run"
    for student, (score, reason) in expected.items():
        record = json.loads((course / ".grading" / gs.ASSIGNMENT / "done" / f"{student}.json").read_text())
        total = sum(g["score"] for cells in record["grades"].values() for g in cells.values())
        assert total == score, (student, record)
        assert reason in " ".join(record["reasons"]) and (reason or not record["reasons"]), (student, record)
