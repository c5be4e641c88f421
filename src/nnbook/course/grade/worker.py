"""Grade one submission, in a grading worker: a throw-away grading root, nbgrader's
``Autograde`` in this process, the result read back.

The grading root of one submission (``<worker folder>/nng``)::

    gradebook.db        copy of a snapshot of the course gradebook (the assignment's cells
                        and checksums: what restores locked and deleted cells)
    source/<a>/         the generated assignment
    submitted/<s>/<a>/  this student's files
    home/, runtime/     the kernel's home and its ipc sockets (:mod:`.worker_sandbox`)

:func:`grade_one` writes ``.grading/<a>/results/<s>.json`` atomically once the grading is
complete. A submission that cannot be read is the submission's fault (0, with the reason);
whatever else stops nbgrader is the grader's (:class:`GradingFailed`: no grade).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from nnbook.course import kernels
from nnbook.course.grade import gradebook, limits, worker_sandbox
from nnbook.course.grade.preprocessors import META_KEY
from nnbook.course.paths import CourseError
from nnbook.course.state import GradingState, write_json_atomic

# the grading kernel's sockets live in <work>/runtime (nnbook.course.kernels)
MAX_RUNTIME_PATH = kernels.MAX_SOCKET_PATH - kernels.SOCKET_SUFFIX


@dataclass
class Settings:
    """What a worker needs to grade submissions of one assignment (pickled to each worker)."""

    root: Path
    course: Path
    assignment: str
    timeout: int = limits.CELL_TIMEOUT_S
    sandbox: str = "bwrap"  # bwrap | limits | none (resolved: grading.resolve_sandbox)
    memory_mb: int = limits.DEFAULT_MEMORY_MB
    cells: dict = field(default_factory=dict)  # notebook -> {grade_id: points}
    results: Path | None = None  # where finished results go (default .grading/<a>/results)
    template: Path | None = None  # the gradebook snapshot each grading starts from
    render_figures: bool = False  # render matplotlib figures in the kernel (slower)
    fork_server: bool = False  # bwrap: fork kernels from a pre-imported zygote (grade.forkserver; opt-in, see the threat model)

    @property
    def results_dir(self) -> Path:
        return self.results or GradingState(self.course, self.assignment).results


def scratch() -> Path:
    """Where the workers' grading folders go: the system's temporary folder (``TMPDIR``)."""
    return Path(tempfile.gettempdir())


def check_scratch(folder: Path) -> None:
    """A :class:`CourseError` if a grading folder under ``folder`` is too long for the
    kernel's Unix sockets (``<scratch>/nnz-<pid>/nng/runtime/kernel-<uuid>-ipc-N``)."""
    longest = folder / ("nnz-" + "9" * 7) / "nng" / "runtime"  # pids have at most 7 digits
    if len(str(longest)) > MAX_RUNTIME_PATH:
        raise CourseError(f"the temporary folder {folder} is too long for the grading kernel's ipc sockets: "
                          f"a grading folder there needs {len(str(longest))} of at most {MAX_RUNTIME_PATH} "
                          "characters; set TMPDIR to a shorter folder")


def worker_folder() -> Path:
    """This worker's grading folder: the submissions' folders and its fork server live in it
    (removed by the main process once the worker is gone: :func:`pool.remove_stale_worker_folders`;
    the fork server dies with the worker, bubblewrap's ``--die-with-parent``)."""
    folder = scratch() / f"nnz-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class GradingFailed(RuntimeError):
    """The grader could not grade a submission (not the submission's fault): no grade."""


def failure(settings: Settings, student: str, digest: str, cause: str) -> dict:
    """The grader could not grade this submission: a record of that, with no grade in it."""
    return {"assignment": settings.assignment, "student": student, "hash": digest, "failed": cause[:500]}


def zero_result(settings: Settings, student: str, digest: str, reason: str) -> dict:
    """A grade of 0 in every cell, for ``reason`` (the submission's own doing)."""
    return {"assignment": settings.assignment, "student": student, "hash": digest, "timestamp": None,
            "grades": {nb: {g: {"score": 0.0, "max": p} for g, p in cells.items()}
                       for nb, cells in settings.cells.items()},
            "reasons": [reason], "flags": []}


def grade_one(settings: Settings, student: str, digest: str) -> dict:
    """Grade one submission in a temporary grading root; write and return its result."""
    # one path for every submission a worker grades: the gradebook copy's URL stays the
    # same, so its SQLAlchemy engine (and compiled statements) serve the whole class
    # (pool.reuse_gradebook_engines)
    work = worker_folder() / "nng"
    check_scratch(scratch())
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    started = time.time()
    try:
        result = _grade_in(settings, work, student, digest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result.update(assignment=settings.assignment, student=student, hash=digest, seconds=round(time.time() - started, 2))
    write_json_atomic(settings.results_dir / f"{student}.json", result)
    GradingState(settings.course, settings.assignment).log_event(f"graded {student} {digest}")
    return result


def _grade_in(settings: Settings, work: Path, student: str, digest: str) -> dict:
    """Lay out the grading root ``work``, grade, read the result, keep the autograded files."""
    course, a = settings.course, settings.assignment
    shutil.copy(settings.template or GradingState(course, a).template(), work / gradebook.FILE_NAME)
    shutil.copytree(course / "source" / a, work / "source" / a)
    shutil.copytree(course / "submitted" / student / a, work / "submitted" / student / a)
    (work / "home").mkdir()
    (work / "runtime").mkdir()
    unreadable = _unreadable_submission(settings, work / "submitted" / student / a)
    if unreadable:  # the submission's own fault: a grade of 0, with the reason
        return zero_result(settings, student, digest, f"unreadable: {unreadable}")
    error = _autograde(settings, work, student)
    result = read_result(settings, work, student, error)
    result["kernel"] = worker_sandbox.kernel_kind(settings, work)
    _copy_autograded(course, work, a, student)
    return result


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


def grading_config(settings: Settings, work: Path):
    """The nbgrader configuration of one grading: the repository's ``nbgrader_config.py``
    with this submission's grading root, timeouts and kernel, set in code."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(settings.root)).load_config()
    config.CourseDirectory.root = str(work)
    config.CourseDirectory.db_url = gradebook.db_url(work)
    config.Execute.timeout = config.ExecutePreprocessor.timeout = settings.timeout
    # every output is in once the last cell has run: kill the kernel rather than wait for
    # it to exit (a graceful shutdown polls for 0.25 s, per submission)
    config.Execute.shutdown_kernel = "immediate"
    config.IPCKernelManager.runtime_dir = str(work / "runtime")
    config.IPCKernelManager.kernel_env = worker_sandbox.kernel_env(settings, work)
    if settings.sandbox != "none":
        settings_file = worker_sandbox.kernel_sandbox(settings, work).write(work / "sandbox.json")
        config.Execute.kernel_manager_class = "nnbook.course.grade.sandbox.SandboxedKernelManager"
        config.SandboxedKernelManager.settings_file = str(settings_file)
    return config


def _autograde(settings: Settings, work: Path, student: str) -> str:
    """``nbgrader autograde <a> --student=<s> --force`` in this process (nbgrader imported
    once); '' when it finished, else the error that stopped it."""
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


def _nbgrader_errors(work: Path) -> str:
    """The error lines of this grading's nbgrader log, shortened."""
    log = (work / "nbgrader.log").read_text(errors="replace") if (work / "nbgrader.log").exists() else ""
    return " | ".join(line.strip() for line in log.splitlines() if "[ERROR]" in line or "Error" in line)[-400:]


def read_result(settings: Settings, work: Path, student: str, error: str = "") -> dict:
    """The grades nbgrader gave, with the reasons and flags the preprocessors recorded;
    :class:`GradingFailed` if it could not grade (the submission was readable, so whatever
    stopped nbgrader was not the submission's doing)."""
    reasons: list[str] = []
    flags: list[dict] = []
    autograded = work / "autograded" / student / settings.assignment
    for notebook in settings.cells:
        path = autograded / f"{notebook}.ipynb"
        if error or not path.is_file():
            raise GradingFailed(f"nbgrader could not grade {notebook}: "
                                f"{error[:200] or 'it wrote no notebook'} {_nbgrader_errors(work)}".strip())
        record = nbformat.read(path, as_version=4).metadata.get(META_KEY, {})
        reasons.extend(r for r in record.get("reasons", []) if r not in reasons)
        flags.extend(record.get("flags", []))
    recorded = gradebook.submission_grades(work, settings.assignment, student)
    if recorded is None:
        raise GradingFailed("nbgrader recorded no submission")
    grades = {notebook: dict(recorded["grades"].get(notebook, {})) for notebook in settings.cells}
    for notebook, cells in settings.cells.items():
        for gid, pts in cells.items():
            grades[notebook].setdefault(gid, {"score": 0.0, "max": pts})
    penalties = {"late_penalty": recorded["late_penalty"]} if recorded["late_penalty"] else {}
    return {"grades": grades, "reasons": reasons, "flags": flags, "timestamp": recorded["timestamp"], **penalties}


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
