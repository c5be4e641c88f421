"""Autograde a whole class: one submission per nbgrader process, in parallel, resumable.

nbgrader grades one submission at a time against one sqlite gradebook (a single writer).
Here each submission is graded in its own throw-away grading root::

    <tmp>/gradebook.db        copy of a snapshot of the course gradebook (the assignment's
                              cells and checksums: what restores locked and deleted cells)
    <tmp>/source/<a>/         the generated assignment
    <tmp>/submitted/<s>/<a>/  this student's files

by nbgrader's ``Autograde`` in one of ``--workers`` long-lived processes of a pebble
``ProcessPool`` (nbgrader is imported once per process; one torch thread each; a
submission past its wall-clock cap is stopped and its process replaced), with the sandboxed kernel of :mod:`nnbook.course.grade.sandbox`. The main process alone
writes the course gradebook: it merges each result through nbgrader's ``Gradebook`` API as
it arrives. Scores come from the same nbgrader pipeline and the same gradebook rows as
when grading one at a time, so they are identical (a test checks this).

Resumable, never twice, never lost: a worker writes ``.grading/<a>/results/<s>.json``
atomically when its grading is complete; the main process merges it, then writes
``done/<s>.json``. On a new run a student with a ``done`` marker for the same submission
(same content hash) is skipped, one with only a result is merged without being graded
again, every other one is graded. ``events.log`` records each grading, one line each.

A failure of the machinery is never a grade (:mod:`nnbook.course.state`): a submission the
grader could not grade (configuration, disk, sandbox start, a grading process that died) is
recorded in ``failed/``, reported, retried by the next run, and makes the run end with an
error; when the first failures share one cause the run stops early and says it once.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import sqlite3
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from nnbook.course import kernels
from nnbook.course.grade import sandbox as sandbox_mod
from nnbook.course.grade.outcome import Outcome, StopGrading, Summary
from nnbook.course.state import GradingState, read_json, submission_hash, write_json_atomic
from nnbook.course.paths import CourseError

# the grading kernel's sockets live in <work>/runtime (nnbook.course.kernels)
MAX_RUNTIME_PATH = kernels.MAX_SOCKET_PATH - kernels.SOCKET_SUFFIX


# ------------------------------------------------------------------------ gradebook
def db_url(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


def hide_add_submission_warning() -> None:
    """Hide, in this process, the one warning that writing nbgrader's gradebook prints.

    nbgrader's ``Gradebook.add_submission`` builds a SubmittedAssignment with its student before
    adding it to the session, and SQLAlchemy 2 warns that the backref does not cascade the add
    (harmless: nbgrader adds it on the next line). Not ours to change; every other warning shows.
    """
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", message=r"Object of type <\w+> not in session", category=SAWarning)


def grade_cells(course: Path, assignment: str) -> dict[str, dict[str, float]]:
    """notebook -> {grade_id: points}, in notebook order."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url(course)) as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(f"assignment {assignment} is not in {course / 'gradebook.db'}; "
                              f"run `nnbook-course release --chapter {assignment}` first") from None
        out = {}
        for nb in a.notebooks:
            source = nbformat.read(course / "source" / assignment / f"{nb.name}.ipynb", as_version=4)
            order = [c.metadata.get("nbgrader", {}).get("grade_id") for c in source.cells]
            cells = {c.name: float(c.max_score) for c in nb.grade_cells}
            out[nb.name] = {k: cells[k] for k in sorted(cells, key=lambda g: order.index(g) if g in order else 1e9)}
        return out


def recorded_grades(course: Path, assignment: str, student: str) -> dict[str, dict[str, dict]]:
    """notebook -> {grade_id: {"score", "max"}} as the gradebook has them: the one record of
    a score, manual overrides included (feedback, export and report all read it)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url(course)) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return {}
        return {nb.name: {g.name: {"score": float(g.score or 0.0), "max": float(g.max_score)} for g in nb.grades}
                for nb in submission.notebooks}


def snapshot_gradebook(course: Path, target: Path) -> None:
    """A consistent copy of the course gradebook (sqlite's backup API, safe while open)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    src = sqlite3.connect(course / "gradebook.db")
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def merge(course: Path, result: dict) -> None:
    """Write one graded submission into the course gradebook (main process only)."""
    from nbgrader.api import Gradebook

    assignment, student = result["assignment"], result["student"]
    with warnings.catch_warnings(), Gradebook(db_url(course)) as gb:
        hide_add_submission_warning()
        gb.update_or_create_student(student)
        kwargs = {"timestamp": result["timestamp"]} if result.get("timestamp") else {}
        sub = gb.update_or_create_submission(assignment, student, **kwargs)
        for nb in sub.notebooks:
            scores = result["grades"].get(nb.name, {})
            nb.flagged = bool(result.get("flags"))
            for grade in nb.grades:
                entry = scores.get(grade.name)
                grade.auto_score = float(entry["score"]) if entry else 0.0
                grade.needs_manual_grade = bool(entry and entry.get("needs_manual_grade"))
            # nbgrader's late penalty (AssignLatePenalties, from the assignment's due date and
            # timestamp.txt) is the worker's to compute and the gradebook's to keep
            nb.late_submission_penalty = result.get("late_penalty", {}).get(nb.name)
        gb.db.commit()


# --------------------------------------------------------------------------- worker
@dataclass
class Settings:
    root: Path
    course: Path
    assignment: str
    timeout: int = 120
    sandbox: str = "auto"  # bwrap | limits | none | auto
    memory_mb: int = sandbox_mod.DEFAULT_MEMORY_MB
    workdir: Path | None = None
    cells: dict = field(default_factory=dict)
    results: Path | None = None  # where finished results go (default .grading/<a>/results)
    template: Path | None = None  # the gradebook snapshot each grading starts from
    render_figures: bool = False  # render matplotlib figures in the kernel (slower)
    fork_server: bool = True  # bwrap: fork kernels from a pre-imported zygote (grade.forkserver)

    @property
    def results_dir(self) -> Path:
        return self.results or GradingState(self.course, self.assignment).results

    @property
    def scratch(self) -> Path:
        """Where the workers' grading folders go (``--workdir``, else the system's temporary folder)."""
        return Path(self.workdir or tempfile.gettempdir())


def _hidden(settings: Settings, work: Path) -> list[str]:
    import nnbook

    package_repo = Path(nnbook.__file__).resolve().parents[2]
    hide = {str(settings.root), str(settings.course), str(work), tempfile.gettempdir(), "/tmp", "/var/tmp"}
    if (package_repo / "solutions").is_dir() or (package_repo / "chapters").is_dir():
        hide.add(str(package_repo))
    return sorted(hide)


def _kernel_env(settings: Settings, work: Path) -> dict[str, str]:
    """What the kernel adds to its environment: a home of its own, one thread per library."""
    home = work / "home"
    env = {"HOME": str(home), "IPYTHONDIR": str(home / ".ipython"), "MPLCONFIGDIR": str(home / ".matplotlib"),
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    if not settings.render_figures:
        # figures are drawn but not rendered to PNG: ch01 runs in 3 s instead of 5 s, and no
        # graded cell looks at a rendered figure (`grade --figures` renders them)
        env["MPLBACKEND"] = "Agg"
    return env


def _view(settings: Settings, hide: list[str], writable: list[str], log: Path, **extra) -> sandbox_mod.SandboxSettings:
    """A sandbox that hides ``hide``, shows the installed package and virtualenv read-only
    and ``writable`` writable: a kernel's, or a fork server's."""
    import nnbook

    src_dir = str(Path(nnbook.__file__).resolve().parent.parent)
    return sandbox_mod.SandboxSettings(
        mode="bwrap" if settings.sandbox == "bwrap" else "limits", memory_mb=settings.memory_mb, hide=hide,
        expose_ro=[src_dir, sys.prefix], expose_rw=writable, log=str(log), **extra)


def _sandbox_settings(settings: Settings, work: Path) -> sandbox_mod.SandboxSettings:
    # rendering figures needs the kernel's own matplotlib backend, chosen as it starts: not forked
    forked = settings.sandbox == "bwrap" and settings.fork_server and not settings.render_figures
    server = _fork_server(settings, work.parent) if forked else None
    # the kernel binds its ipc sockets in the runtime folder: writable
    return _view(settings, _hidden(settings, work), [str(work / "home"), str(work / "runtime")], work / "kernel.log",
                 fork_server=str(server.socket) if server else "", fork_server_folder=str(work.parent) if server else "")


# one fork server per grading worker process (and per assignment it grades); None: not usable here
_FORK_SERVERS: dict[tuple[str, str], "forkserver.ForkServer | None"] = {}


def worker_folder(settings: Settings) -> Path:
    """This worker's grading folder: the submissions' folders and its fork server live in it
    (removed by the main process once the worker is gone: :func:`remove_stale_worker_folders`;
    the fork server dies with the worker, bubblewrap's ``--die-with-parent``)."""
    folder = settings.scratch / f"nnz-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def remove_stale_worker_folders(base: Path) -> None:
    """Remove the grading folders of workers that are gone (a stopped or replaced worker
    cannot clean up after itself)."""
    for folder in base.glob("nnz-*"):
        pid = folder.name[4:]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass  # another user's live process


def _fork_server(settings: Settings, folder: Path):
    """This worker's zygote for ``settings.assignment`` (started and probed on first use)."""
    from nnbook.course.grade import forkserver

    key = (settings.assignment, str(folder))
    server = _FORK_SERVERS.get(key)
    if server is not None and server.alive():
        return server
    if key in _FORK_SERVERS and server is None:
        return None
    source = sorted((settings.course / "source" / settings.assignment).glob("*.ipynb"))
    preload = [m for nb in source for m in forkserver.preload_modules(nbformat.read(nb, as_version=4))]
    log = folder / "zygote.log"
    # the zygote's own sandbox: the worker folder writable, hidden folders read-only (bwrap_argv)
    view = _view(settings, [h for h in _hidden(settings, folder) if h != str(folder)], [str(folder)], log)
    env = {**os.environ, **_kernel_env(settings, folder / "zygote")}
    try:
        server = forkserver.ForkServer(folder, view, list(dict.fromkeys(preload)), env, log)
        scratch = folder / "probe"
        scratch.mkdir(exist_ok=True)
        ok = forkserver.probe(server, [str(scratch)], [str(folder)], str(log), view.expose_ro)
    except (OSError, RuntimeError) as exc:
        server, ok = None, False
        print(f"nnbook: the grading fork server did not start ({exc}); a new sandbox per kernel instead",
              file=sys.stderr, flush=True)
    if server is not None and not ok:
        print(f"nnbook: the grading fork server cannot build a kernel's sandbox here (see {log}); "
              "a new sandbox per kernel instead", file=sys.stderr, flush=True)
        server.stop()
        server = None
    _FORK_SERVERS[key] = server
    return server


def grading_config(settings: Settings, work: Path):
    """The nbgrader configuration of one grading: the repository's ``nbgrader_config.py``
    with this submission's grading root, timeouts and kernel, set in code."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(settings.root)).load_config()
    config.CourseDirectory.root = str(work)
    config.CourseDirectory.db_url = f"sqlite:///{work / 'gradebook.db'}"
    config.Execute.timeout = config.ExecutePreprocessor.timeout = settings.timeout
    # every output is in once the last cell has run: kill the kernel rather than wait for
    # it to exit (a graceful shutdown polls for 0.25 s, per submission)
    config.Execute.shutdown_kernel = "immediate"
    config.IPCKernelManager.runtime_dir = str(work / "runtime")
    config.IPCKernelManager.kernel_env = _kernel_env(settings, work)
    if settings.sandbox != "none":
        settings_file = _sandbox_settings(settings, work).write(work / "sandbox.json")
        config.Execute.kernel_manager_class = "nnbook.course.grade.sandbox.SandboxedKernelManager"
        config.SandboxedKernelManager.settings_file = str(settings_file)
    return config


def _autograde(settings: Settings, work: Path, student: str) -> str:
    """``nbgrader autograde <a> --student=<s> --force`` in this process (nbgrader imported once)."""
    import logging

    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory

    config = grading_config(settings, work)
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = settings.assignment
    coursedir.student_id = student
    app = Autograde(coursedir=coursedir, config=config)
    app.force = True
    app.create_student = True
    handler = logging.FileHandler(work / "nbgrader.log")
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    app.log.addHandler(handler)
    try:
        app.start()
        return ""
    except BaseException as exc:  # nbgrader raises after logging; the log says why
        if isinstance(exc, KeyboardInterrupt):
            raise
        return f"{type(exc).__name__}: {exc}"
    finally:
        app.log.removeHandler(handler)
        handler.close()


def grade_one(settings: Settings, student: str, digest: str) -> dict:
    """Grade one submission in a temporary grading root; write and return its result."""
    course, a = settings.course, settings.assignment
    state = GradingState(course, a)
    # one path for every submission a worker grades: the gradebook copy's URL stays the
    # same, so its SQLAlchemy engine (and compiled statements) serve the whole class
    # (reuse_gradebook_engines); short: the kernel's Unix socket paths
    # (work/runtime/kernel-<uuid>-ipc-N) have a limit
    work = worker_folder(settings) / "nng"
    if len(str(work / "runtime")) > MAX_RUNTIME_PATH:
        raise CourseError(f"grading folder {work} is too long for the kernel's ipc sockets "
                          f"(at most {MAX_RUNTIME_PATH} characters); choose a shorter --workdir")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    started = time.time()
    reasons: list[str] = []
    try:
        shutil.copy(settings.template or state.template(), work / "gradebook.db")
        shutil.copytree(course / "source" / a, work / "source" / a)
        shutil.copytree(course / "submitted" / student / a, work / "submitted" / student / a)
        (work / "home").mkdir()
        (work / "runtime").mkdir()
        unreadable = _unreadable_submission(settings, work / "submitted" / student / a)
        if unreadable:  # the submission's own fault: a grade of 0, with the reason
            result = zero_result(settings, student, digest, f"unreadable: {unreadable}")
        else:
            error = _autograde(settings, work, student)
            result = _read_result(settings, work, student, reasons, error)
            result["kernel"] = _kernel_kind(settings, work)
            _copy_autograded(course, work, a, student)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result.update(assignment=a, student=student, hash=digest, seconds=round(time.time() - started, 2))
    write_json_atomic(settings.results_dir / f"{student}.json", result)
    state.log_event(f"graded {student} {digest}")
    return result


class GradingFailed(RuntimeError):
    """The grader could not grade a submission (not the submission's fault): no grade."""


def _unreadable_submission(settings: Settings, folder: Path) -> str:
    """Why the submitted notebooks cannot be graded at all (missing, not a notebook), or ''."""
    from nnbook.course.grade.collect import read_notebook

    for notebook in settings.cells:
        path = folder / f"{notebook}.ipynb"
        if not path.is_file():
            return f"no {path.name} in the submission"
        nb, why = read_notebook(path.read_bytes())
        if nb is None:
            return f"{path.name}: {why}"
    return ""


def _kernel_kind(settings: Settings, work: Path) -> str:
    """How this submission's kernel ran: ``forked`` (from the worker's fork server, in a
    sandbox of its own), ``bwrap`` (a new Python in a new sandbox), ``limits`` or ``none``."""
    if settings.sandbox != "bwrap":
        return settings.sandbox
    view = work / "sandbox.json"
    return "forked" if view.is_file() and sandbox_mod.SandboxSettings.read(view).fork_server else "bwrap"


def zero_result(settings: Settings, student: str, digest: str, reason: str) -> dict:
    return {"assignment": settings.assignment, "student": student, "hash": digest, "timestamp": None,
            "grades": {nb: {g: {"score": 0.0, "max": p} for g, p in cells.items()}
                       for nb, cells in settings.cells.items()},
            "reasons": [reason], "flags": []}


def in_shard(student: str, k: int, n: int) -> bool:
    """Whether ``student`` is in the k-th (1-based) of n slices: a stable hash of the id, so
    every machine and every run agree, whatever the order or the number of submissions."""
    return int(hashlib.sha256(student.encode()).hexdigest(), 16) % n == k - 1


def merge_results(course: Path, folders: list[Path], log=print) -> dict[str, int]:
    """Fold the results in ``folders`` (shard outputs) into the course gradebook.

    Idempotent and resumable: a result already recorded for the same submission (same hash,
    same grades) is skipped; anything else is merged and recorded, one result at a time. A
    shard's record of a grading that failed is not a grade: it is recorded as a failure
    (``counts["failed"]``) and the shard's next run grades that submission again.
    """
    counts = {"merged": 0, "unchanged": 0, "failed": 0}
    for folder in folders:
        if not folder.is_dir():
            raise CourseError(f"no such results folder: {folder}")
        for path in sorted(folder.glob("*.json")):
            result = read_json(path)
            if not isinstance(result, dict) or not {"assignment", "student", "hash"} <= set(result) \
                    or not ({"grades"} & set(result) or result.get("failed")):
                raise CourseError(f"{path} is not a grading result")
            counts[_merge_one(course, result)] += 1
    log(f"[nnbook] merged {counts['merged']} result(s), {counts['unchanged']} already in the gradebook"
        + (f", {counts['failed']} whose grading failed (not grades: run that shard's `grade` again)"
           if counts["failed"] else ""))
    return counts


def _merge_one(course: Path, result: dict) -> str:
    state = GradingState(course, result["assignment"])
    if result.get("failed"):
        state.record_failed({k: result[k] for k in ("assignment", "student", "hash", "failed")})
        return "failed"
    done = state.done_record(result["student"]) or {}
    keys = ("hash", "grades", "reasons", "flags", "late_penalty")
    if {k: done.get(k) for k in keys} == {k: result.get(k) for k in keys}:
        state.clear_failed(result["student"])
        return "unchanged"
    try:
        merge(course, result)
    except Exception as exc:
        import sqlalchemy.exc

        from nbgrader.api import InvalidEntry

        if not isinstance(exc, (sqlite3.Error, sqlalchemy.exc.SQLAlchemyError, InvalidEntry)):
            raise
        raise CourseError(f"cannot write the gradebook {course / 'gradebook.db'} ({str(exc).splitlines()[0][:160]}); "
                          "what was merged so far is kept: run the same merge again") from None
    write_json_atomic(state.results / f"{result['student']}.json", result)  # as if graded here
    state.record_done(result)
    state.clear_failed(result["student"])
    return "merged"


def _nbgrader_errors(work: Path) -> str:
    """The error lines of this grading's nbgrader log, shortened."""
    log = (work / "nbgrader.log").read_text(errors="replace") if (work / "nbgrader.log").exists() else ""
    return " | ".join(line.strip() for line in log.splitlines() if "[ERROR]" in line or "Error" in line)[-400:]


def _read_result(settings: Settings, work: Path, student: str, reasons: list[str], error: str = "") -> dict:
    """The grades nbgrader gave; :class:`GradingFailed` if it could not grade (the
    submission was readable, so whatever stopped nbgrader was not the submission's doing)."""
    from nbgrader.api import Gradebook, MissingEntry

    a = settings.assignment
    grades: dict[str, dict] = {}
    flags: list[dict] = []
    penalties: dict[str, float] = {}
    timestamp = None
    autograded = work / "autograded" / student / a
    for notebook, cells in settings.cells.items():
        path = autograded / f"{notebook}.ipynb"
        if error or not path.is_file():
            raise GradingFailed(f"nbgrader could not grade {notebook}: "
                                f"{error[:200] or 'it wrote no notebook'} {_nbgrader_errors(work)}".strip())
        meta = nbformat.read(path, as_version=4).metadata.get("nnbook_grading", {})
        reasons.extend(r for r in meta.get("reasons", []) if r not in reasons)
        flags.extend(meta.get("flags", []))
        grades[notebook] = {}
    with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gb:
        try:
            sub = gb.find_submission(a, student)
            timestamp = sub.timestamp.isoformat() if sub.timestamp else None
            for nb in sub.notebooks:
                if nb.name not in grades or grades[nb.name]:
                    continue
                if nb.late_submission_penalty:
                    penalties[nb.name] = float(nb.late_submission_penalty)
                for g in nb.grades:
                    grades[nb.name][g.name] = {"score": float(g.score or 0.0), "max": float(g.max_score),
                                               "needs_manual_grade": bool(g.needs_manual_grade)}
        except MissingEntry:
            raise GradingFailed("nbgrader recorded no submission") from None
    for notebook, cells in settings.cells.items():
        for gid, pts in cells.items():
            grades.setdefault(notebook, {}).setdefault(gid, {"score": 0.0, "max": pts})
    return {"grades": grades, "reasons": reasons, "flags": flags, "timestamp": timestamp,
            **({"late_penalty": penalties} if penalties else {})}


def _copy_autograded(course: Path, work: Path, a: str, student: str) -> None:
    src = work / "autograded" / student / a
    dest = course / "autograded" / student / a
    if dest.exists():
        shutil.rmtree(dest)
    if src.is_dir():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dest)
        for p in [dest, *dest.rglob("*")]:  # nbgrader leaves autograded files read-only
            p.chmod(0o755 if p.is_dir() else 0o644)


# ----------------------------------------------------------------------------- class
@dataclass(frozen=True)
class Plan:
    """What a grading run does with each submission."""

    grade: list[tuple[str, str]]  # (student, submission hash), to grade
    merge: list[dict]  # results already graded for this very submission: merge only
    skip: list[str]  # students whose submission is already in the gradebook


def plan(digests: dict[str, str], done: dict[str, dict | None], results: dict[str, dict | None],
         limit: int | None = None, failed: set[str] | frozenset = frozenset(), regrade: bool = False) -> Plan:
    """Decide, from records alone, what to do with each submission (student -> hash).

    ``regrade``: grade every one again. A submission whose last grading failed (``failed``,
    or a shard's failure record in ``results``): grade again. Already merged for the same
    hash (``done``): skip. Graded but not merged, same hash (``results``): merge without
    grading again. Anything else (new, changed, or a record of another submission): grade;
    ``limit`` caps how many are graded in this run.
    """
    to_grade, to_merge, to_skip = [], [], []
    for student in sorted(digests):
        digest = digests[student]
        result = results.get(student) or {}
        if regrade or student in failed or result.get("failed"):
            to_grade.append((student, digest))
        elif (done.get(student) or {}).get("hash") == digest:
            to_skip.append(student)
        elif result.get("hash") == digest:
            to_merge.append(result)
        else:
            to_grade.append((student, digest))
    return Plan(grade=to_grade if limit is None else to_grade[:limit], merge=to_merge, skip=to_skip)


def resolve_sandbox(mode: str) -> str:
    if mode == "auto":
        if sandbox_mod.bwrap_available():
            return "bwrap"
        print("nnbook: WARNING: bubblewrap (bwrap) is not usable here: student code runs WITHOUT a "
              "filesystem sandbox (resource limits only). Reading the course files is then only "
              "detected by the static scan, not prevented. Install it: apt-get install bubblewrap",
              file=sys.stderr, flush=True)
        return "limits"
    if mode == "bwrap" and not sandbox_mod.bwrap_available():
        raise CourseError("--sandbox bwrap: bubblewrap is not installed or cannot create namespaces here")
    return mode


def check_config(root: Path) -> None:
    """The repository's ``nbgrader_config.py`` loads, or a :class:`CourseError` says why:
    checked once before grading, rather than failing in every worker."""
    from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

    path = root / "nbgrader_config.py"
    try:
        PyFileConfigLoader(path.name, path=str(root)).load_config()
    except ConfigFileNotFound:
        raise CourseError(f"the grader's configuration {path} is missing: restore it "
                          "(git checkout nbgrader_config.py) and run the same command again") from None
    except Exception as exc:
        raise CourseError(f"the grader's configuration {path} cannot be loaded ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}): fix it and run the same command again") from None


def _select(course: Path, assignment: str, state: GradingState, students: list[str] | None,
            shard: tuple[int, int] | None) -> list[str]:
    """The students whose submissions this run considers; an unknown ``--student`` is an error."""
    submitted = sorted(p.parent.name for p in (course / "submitted").glob(f"*/{assignment}") if p.is_dir())
    if students:
        unknown = sorted(set(students) - set(submitted) - set(state.unreadable()))
        if unknown:
            raise CourseError(f"no submission of {assignment} from {', '.join(unknown)} in {course / 'submitted'} "
                              f"(--student takes the ids collect wrote; {len(submitted)} student(s) submitted)")
        submitted = [s for s in submitted if s in set(students)]
    if shard:
        submitted = [s for s in submitted if in_shard(s, *shard)]
    return submitted


def _read_gradebook(course: Path, assignment: str, template: Path) -> dict:
    """The assignment's grade cells, and the snapshot each grading starts from; a gradebook
    that cannot be read (locked by another process, say) is a :class:`CourseError`."""
    import sqlalchemy.exc

    try:
        cells = grade_cells(course, assignment)
        snapshot_gradebook(course, template)
    except (sqlite3.Error, sqlalchemy.exc.SQLAlchemyError) as exc:
        raise CourseError(f"cannot read the gradebook {course / 'gradebook.db'} ({str(exc).splitlines()[0][:160]}); "
                          "if another program is writing it, run the same command again when it is done") from None
    return cells


def grade(root: Path, course: Path, assignment: str, *, workers: int | None = None, timeout: int = 120,
          sandbox_mode: str = "auto", memory_mb: int = sandbox_mod.DEFAULT_MEMORY_MB,
          students: list[str] | None = None, workdir: Path | None = None, limit: int | None = None,
          shard: tuple[int, int] | None = None, render_figures: bool = False, fork_server: bool = True,
          regrade: bool = False, log=print) -> Summary:
    """Autograde every submission of ``assignment`` under ``course/submitted``.

    ``shard=(k, n)`` grades only the k-th of n slices of the class (:func:`in_shard`) into
    ``.grading/<a>/shard-k-of-n/`` and leaves the gradebook alone: many machines can grade
    one class at once, and :func:`merge_results` then folds their results in. ``regrade``
    grades again what is already graded. Submissions the grader could not grade are in
    ``summary.failed`` (not grades; :mod:`nnbook.course.grade.outcome`).
    """
    course = course.resolve()
    if not (course / "gradebook.db").is_file() or not (course / "source" / assignment).is_dir():
        raise CourseError(f"no generated assignment {assignment} in {course}; run `nnbook-course release` first")
    if workers is not None and workers < 1:
        raise CourseError(f"--workers must be at least 1, got {workers}")
    if shard is not None and not (1 <= shard[0] <= shard[1]):
        raise CourseError(f"--shard {shard[0]}/{shard[1]}: K must be between 1 and N")
    check_config(root.resolve())
    state = GradingState(course, assignment)
    submitted = _select(course, assignment, state, students, shard)
    workers = workers or os.cpu_count() or 1
    summary = Summary(workers=workers, sandbox=resolve_sandbox(sandbox_mode))
    settings = Settings(root=root.resolve(), course=course, assignment=assignment, timeout=timeout,
                        sandbox=summary.sandbox, memory_mb=memory_mb, workdir=workdir, render_figures=render_figures,
                        fork_server=fork_server, results=state.shard(*shard) if shard else None)
    longest = settings.scratch / ("nnz-" + "9" * 7) / "nng" / "runtime"  # a worker's grading folder
    if len(str(longest)) > MAX_RUNTIME_PATH:
        raise CourseError(f"--workdir {workdir} is too long for the grading kernel's ipc sockets: "
                          f"a grading folder there needs {len(str(longest))} of at most {MAX_RUNTIME_PATH} characters")
    for folder in (state.results, state.done, settings.results_dir):
        folder.mkdir(parents=True, exist_ok=True)
    # each shard its own copy: shards may start at once on one shared file system
    settings.template = state.template(shard)
    settings.cells = _read_gradebook(course, assignment, settings.template)

    digests = {student: submission_hash(course / "submitted" / student / assignment) for student in submitted}
    work = plan(digests, {s: state.done_record(s) for s in submitted},
                {s: state.result_record(s, settings.results_dir) for s in submitted}, limit=limit,
                failed=set(state.failures()) if not shard else set(), regrade=regrade)
    summary.skipped.extend(work.skip)
    outcome = Outcome(summary, len(work.grade), _finisher(settings, state, shard), log, defer_merging=not shard)
    for result in work.merge:
        if outcome.store(result):
            summary.merged_only.append(result["student"])
    _zero_unreadable(settings, state, submitted, students, shard, outcome, regrade)

    log(f"[nnbook] grading {len(work.grade)} submission(s) of {assignment} with {workers} worker(s), "
        f"sandbox={summary.sandbox}; {len(summary.skipped)} already graded")
    started = time.time()
    _run_guarded(settings, work.grade, workers, outcome, log)
    summary.seconds = time.time() - started
    return summary


def _finisher(settings: Settings, state: GradingState, shard: tuple[int, int] | None):
    """What becomes of a finished grading: a shard writes it to its folder (``merge`` records
    it later); otherwise a grade is merged into the gradebook, a failure recorded as one."""
    def finish(result: dict) -> None:
        if shard:  # also the unreadable ones, which no worker saw
            write_json_atomic(settings.results_dir / f"{result['student']}.json", result)
        elif result.get("failed"):
            state.record_failed({k: result[k] for k in ("assignment", "student", "hash", "failed")}
                                | {"time": time.strftime("%Y-%m-%dT%H:%M:%S")})
            state.log_event(f"failed {result['student']} {result['hash']}: {result['failed'][:200]}")
        else:
            merge(settings.course, result)
            state.record_done(result)
            state.clear_failed(result["student"])
    return finish


def _zero_unreadable(settings, state, submitted, students, shard, outcome, regrade) -> None:
    """Submissions collect could not read get 0 with the reason (the submission's fault)."""
    for student, reason in state.unreadable().items():
        if student in submitted or (shard and not in_shard(student, *shard)) or (students and student not in students):
            continue  # a readable submission from the same student replaced it, or another shard's
        zero = zero_result(settings, student, "unreadable", f"unreadable: {reason}")
        if regrade or (state.done_record(student) or {}).get("reasons") != zero["reasons"]:
            outcome.store(zero)
        outcome.summary.unreadable.append(student)


def _run_guarded(settings: Settings, todo: list[tuple[str, str]], workers: int, outcome: Outcome, log) -> None:
    """The pool, with SIGTERM turned into an interruption and the workers' folders cleaned."""
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if in_main else None
    if previous is not None:
        signal.signal(signal.SIGTERM, _raise_interrupt)
    n_cells = sum(len(v) for v in settings.cells.values())
    cap = settings.timeout * (n_cells + 3) + 120  # wall clock for one submission
    remove_stale_worker_folders(settings.scratch)
    try:
        _run_pool(settings, todo, workers, cap, outcome)
    except StopGrading:
        pass  # the summary says why, once
    except BaseException:
        log("[nnbook] interrupted: graded submissions are saved; run the same command again to resume")
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        remove_stale_worker_folders(settings.scratch)


def _run_pool(settings, todo, workers, cap, outcome: Outcome) -> None:
    """Grade ``todo`` in pebble's process pool: long-lived workers (nbgrader imported once
    each), a submission still running after ``cap`` seconds is stopped and its worker
    replaced (pebble does both), a worker that dies costs only its submission (a grading
    failure: it is graded again by the next run)."""
    import multiprocessing as mp
    from concurrent.futures import TimeoutError as FutureTimeout
    from concurrent.futures import as_completed

    from pebble import ProcessExpired, ProcessPool

    if not todo:
        return
    pool = ProcessPool(max_workers=min(workers, len(todo)), initializer=_init_worker,
                       initargs=(str(settings.scratch),),
                       context=mp.get_context("spawn"))
    try:
        futures = {pool.schedule(_grade_task, args=(settings, student, digest), timeout=cap): (student, digest)
                   for student, digest in todo}
        for future in as_completed(futures):
            student, digest = futures[future]
            try:
                result = future.result()
            except FutureTimeout:  # the submission's own doing (a loop the cell timeout missed)
                result = zero_result(settings, student, digest,
                                     f"submission timeout: grading took over {cap} s and was stopped")
                write_json_atomic(settings.results_dir / f"{student}.json", result)
                GradingState(settings.course, settings.assignment).log_event(f"graded {student} {digest}")
            except ProcessExpired as exc:
                result = _failure(settings, student, digest, f"the grading process died (exit code {exc.exitcode})")
            except Exception as exc:
                result = _failure(settings, student, digest, f"{type(exc).__name__}: {exc}")
            outcome.add(result)
        pool.close()
    except BaseException:
        pool.stop()  # interrupted or stopped: what finished is saved; the rest is graded by the next run
        raise
    finally:
        pool.join()


def _init_worker(scratch: str) -> None:
    """A grading process: one torch thread, the main process decides when to stop."""
    os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import nbgrader.converters  # noqa: F401  (the slow import, once per worker)

    hide_add_submission_warning()  # not shown once per submission, nor per shard

    reuse_gradebook_engines(Path(scratch))


def reuse_gradebook_engines(scratch: Path | None = None) -> None:
    """One SQLAlchemy engine per gradebook file in this grading process, not one per open.

    nbgrader and the preprocessors open the gradebook a dozen times per submission, and each
    ``nbgrader.api.Gradebook`` makes a new engine, which compiles every SQL statement again
    (on ch01 about 0.1 s of CPU of the 0.45 s a worker spends per submission; nbgrader has no
    option for it). A kept engine still closes its connections when the gradebook is closed
    (``Gradebook.close`` disposes of its pool), so the next open reads the file anew, even a
    replaced one: only the compiled statements are kept. Each submission's gradebook copy is
    at the same path in a worker (:func:`grade_one`), so one engine serves the whole class.

    Gradebooks under ``scratch`` (the workers' folders) are throw-away copies: sqlite does not
    wait for the disk there (``synchronous=OFF``; about 40 commits per submission, 0.03 s).
    The one record of a grade is the course gradebook, which the main process writes as usual.
    """
    import nbgrader.api
    import sqlalchemy

    if getattr(nbgrader.api.create_engine, "reuses_engines", False):
        return
    engines: dict[tuple, object] = {}

    def create_engine(url, **kwargs):
        key = (str(url), tuple(sorted(kwargs.items())))
        if key not in engines:
            engines[key] = sqlalchemy.create_engine(url, **kwargs)
            database = sqlalchemy.engine.make_url(url).database or ""
            if scratch is not None and Path(database).resolve().is_relative_to(Path(scratch).resolve()):
                sqlalchemy.event.listen(engines[key], "connect", _no_waiting_for_the_disk)
        return engines[key]

    create_engine.reuses_engines = True
    nbgrader.api.create_engine = create_engine


def _no_waiting_for_the_disk(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


def _failure(settings: Settings, student: str, digest: str, cause: str) -> dict:
    """The grader could not grade this submission: a record of that, with no grade in it."""
    return {"assignment": settings.assignment, "student": student, "hash": digest, "failed": cause[:500]}


def _grade_task(settings: Settings, student: str, digest: str) -> dict:
    """:func:`grade_one` in a worker; whatever stops it is the grader's failure, not a grade
    (what the submission's code does is caught inside the grading and is part of its grade)."""
    try:
        return grade_one(settings, student, digest)
    except Exception as exc:
        return _failure(settings, student, digest, f"{type(exc).__name__}: {exc}")


class Interrupted(KeyboardInterrupt):
    """A signal asked the run to stop (``signum``: which one; the exit status says it)."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


def _raise_interrupt(signum, frame):
    raise Interrupted(signum)
