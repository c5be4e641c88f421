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
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from nnbook.course import kernels
from nnbook.course.grade import sandbox as sandbox_mod
from nnbook.course.state import GradingState, read_json, submission_hash, write_json_atomic
from nnbook.course.paths import CourseError

# the grading kernel's sockets live in <work>/runtime (nnbook.course.kernels)
MAX_RUNTIME_PATH = kernels.MAX_SOCKET_PATH - kernels.SOCKET_SUFFIX


# ------------------------------------------------------------------------ gradebook
def db_url(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


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

    import warnings

    assignment, student = result["assignment"], result["student"]
    with warnings.catch_warnings(), Gradebook(db_url(course)) as gb:
        warnings.simplefilter("ignore")
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
        error = _autograde(settings, work, student)
        result = _read_result(settings, work, student, reasons)
        result["kernel"] = _kernel_kind(settings, work)
        if error and not result["reasons"]:
            result["reasons"].append(f"grading failed: {error[:300]}")
        _copy_autograded(course, work, a, student)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result.update(assignment=a, student=student, hash=digest, seconds=round(time.time() - started, 2))
    write_json_atomic(settings.results_dir / f"{student}.json", result)
    state.log_event(f"graded {student} {digest}")
    return result


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
    same grades) is skipped; anything else is merged and recorded, one result at a time.
    """
    counts = {"merged": 0, "unchanged": 0}
    for folder in folders:
        if not folder.is_dir():
            raise CourseError(f"no such results folder: {folder}")
        for path in sorted(folder.glob("*.json")):
            result = read_json(path)
            if not isinstance(result, dict) or not {"assignment", "student", "hash", "grades"} <= set(result):
                raise CourseError(f"{path} is not a grading result")
            state = GradingState(course, result["assignment"])
            done = state.done_record(result["student"]) or {}
            if {k: done.get(k) for k in ("hash", "grades", "reasons", "flags")} == \
                    {k: result.get(k) for k in ("hash", "grades", "reasons", "flags")}:
                counts["unchanged"] += 1
                continue
            merge(course, result)
            write_json_atomic(state.results / f"{result['student']}.json", result)  # as if graded here
            state.record_done(result)
            counts["merged"] += 1
    log(f"[nnbook] merged {counts['merged']} result(s), {counts['unchanged']} already in the gradebook")
    return counts


def _read_result(settings: Settings, work: Path, student: str, reasons: list[str]) -> dict:
    from nbgrader.api import Gradebook, MissingEntry

    a = settings.assignment
    grades: dict[str, dict] = {}
    flags: list[dict] = []
    timestamp = None
    autograded = work / "autograded" / student / a
    for notebook, cells in settings.cells.items():
        path = autograded / f"{notebook}.ipynb"
        if not path.is_file():
            log = (work / "nbgrader.log").read_text(errors="replace") if (work / "nbgrader.log").exists() else ""
            tail = " | ".join(line.strip() for line in log.splitlines() if "[ERROR]" in line or "Error" in line)[-400:]
            reasons.append(f"grading failed for {notebook}: {tail or 'nbgrader wrote no notebook'}")
            grades[notebook] = {gid: {"score": 0.0, "max": pts} for gid, pts in cells.items()}
            continue
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
                for g in nb.grades:
                    grades[nb.name][g.name] = {"score": float(g.score or 0.0), "max": float(g.max_score),
                                               "needs_manual_grade": bool(g.needs_manual_grade)}
        except MissingEntry:
            reasons.append("grading failed: nbgrader recorded no submission")
    for notebook, cells in settings.cells.items():
        for gid, pts in cells.items():
            grades.setdefault(notebook, {}).setdefault(gid, {"score": 0.0, "max": pts})
    return {"grades": grades, "reasons": reasons, "flags": flags, "timestamp": timestamp}


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
@dataclass
class Summary:
    graded: list[str] = field(default_factory=list)
    merged_only: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1
    sandbox: str = ""


@dataclass(frozen=True)
class Plan:
    """What a grading run does with each submission."""

    grade: list[tuple[str, str]]  # (student, submission hash), to grade
    merge: list[dict]  # results already graded for this very submission: merge only
    skip: list[str]  # students whose submission is already in the gradebook


def plan(digests: dict[str, str], done: dict[str, dict | None], results: dict[str, dict | None],
         limit: int | None = None) -> Plan:
    """Decide, from records alone, what to do with each submission (student -> hash).

    Already merged for the same hash (``done``): skip. Graded but not merged, same hash
    (``results``): merge without grading again. Anything else (new, changed, or a record of
    another submission): grade; ``limit`` caps how many are graded in this run.
    """
    to_grade, to_merge, to_skip = [], [], []
    for student in sorted(digests):
        digest = digests[student]
        if (done.get(student) or {}).get("hash") == digest:
            to_skip.append(student)
        elif (results.get(student) or {}).get("hash") == digest:
            to_merge.append(results[student])
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


def grade(root: Path, course: Path, assignment: str, *, workers: int | None = None, timeout: int = 120,
          sandbox_mode: str = "auto", memory_mb: int = sandbox_mod.DEFAULT_MEMORY_MB,
          students: list[str] | None = None, workdir: Path | None = None, limit: int | None = None,
          shard: tuple[int, int] | None = None, render_figures: bool = False, fork_server: bool = True,
          log=print) -> Summary:
    """Autograde every submission of ``assignment`` under ``course/submitted``.

    ``shard=(k, n)`` grades only the k-th of n slices of the class (:func:`in_shard`) into
    ``.grading/<a>/shard-k-of-n/`` and leaves the gradebook alone: many machines can grade
    one class at once, and :func:`merge_results` then folds their results in.
    """
    course = course.resolve()
    if not (course / "gradebook.db").is_file() or not (course / "source" / assignment).is_dir():
        raise CourseError(f"no generated assignment {assignment} in {course}; run `nnbook-course release` first")
    state = GradingState(course, assignment)
    state.results.mkdir(parents=True, exist_ok=True)
    state.done.mkdir(parents=True, exist_ok=True)
    workers = workers or os.cpu_count() or 1
    summary = Summary(workers=workers, sandbox=resolve_sandbox(sandbox_mode))
    if shard is not None and not (1 <= shard[0] <= shard[1]):
        raise CourseError(f"--shard {shard[0]}/{shard[1]}: K must be between 1 and N")
    settings = Settings(root=root.resolve(), course=course, assignment=assignment, timeout=timeout,
                        sandbox=summary.sandbox, memory_mb=memory_mb, workdir=workdir, render_figures=render_figures,
                        fork_server=fork_server,
                        cells=grade_cells(course, assignment),
                        results=state.shard(*shard) if shard else None)
    longest = settings.scratch / ("nnz-" + "9" * 7) / "nng" / "runtime"  # a worker's grading folder
    if len(str(longest)) > MAX_RUNTIME_PATH:
        raise CourseError(f"--workdir {workdir} is too long for the grading kernel's ipc sockets: "
                          f"a grading folder there needs {len(str(longest))} of at most {MAX_RUNTIME_PATH} characters")
    settings.results_dir.mkdir(parents=True, exist_ok=True)
    # each shard its own copy: shards may start at once on one shared file system
    template = state.template(shard)
    snapshot_gradebook(course, template)
    settings.template = template

    submitted = sorted(p.parent.name for p in (course / "submitted").glob(f"*/{assignment}") if p.is_dir())
    if students:
        submitted = [s for s in submitted if s in set(students)]
    if shard:
        submitted = [s for s in submitted if in_shard(s, *shard)]
    digests = {student: submission_hash(course / "submitted" / student / assignment) for student in submitted}
    work = plan(digests, {s: state.done_record(s) for s in submitted},
                {s: state.result_record(s, settings.results_dir) for s in submitted}, limit=limit)
    summary.skipped.extend(work.skip)
    todo, merge_only = work.grade, work.merge

    def finish(result: dict) -> None:
        if shard:  # the shard's output (also for the unreadable ones, no worker saw); `merge` records it
            write_json_atomic(settings.results_dir / f"{result['student']}.json", result)
            return
        merge(course, result)
        state.record_done(result)

    for result in merge_only:
        finish(result)
        summary.merged_only.append(result["student"])
    for student, reason in state.unreadable().items():
        if student in submitted or (shard and not in_shard(student, *shard)):
            continue  # a readable submission from the same student replaced it, or another shard's
        zero = zero_result(settings, student, "unreadable", f"unreadable: {reason}")
        if (state.done_record(student) or {}).get("reasons") != zero["reasons"]:
            finish(zero)
        summary.unreadable.append(student)

    log(f"[nnbook] grading {len(todo)} submission(s) of {assignment} with {workers} worker(s), "
        f"sandbox={summary.sandbox}; {len(summary.skipped)} already graded")
    started = time.time()
    previous = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    if previous is not None:
        signal.signal(signal.SIGTERM, _raise_interrupt)
    n_cells = sum(len(v) for v in settings.cells.values())
    cap = settings.timeout * (n_cells + 3) + 120  # wall clock for one submission
    remove_stale_worker_folders(settings.scratch)
    try:
        _run_pool(settings, todo, workers, cap, finish, summary, log)
    except BaseException:
        log("[nnbook] interrupted: graded submissions are saved; run the same command again to resume")
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        remove_stale_worker_folders(settings.scratch)
    summary.seconds = time.time() - started
    return summary


def _run_pool(settings, todo, workers, cap, finish, summary, log) -> None:
    """Grade ``todo`` in pebble's process pool: long-lived workers (nbgrader imported once
    each), a submission still running after ``cap`` seconds is stopped and its worker
    replaced (pebble does both), a worker that dies costs only its submission."""
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
        for number, future in enumerate(as_completed(futures), start=1):
            student, digest = futures[future]
            try:
                result = future.result()
            except (FutureTimeout, ProcessExpired) as exc:
                why = (f"submission timeout: grading took over {cap} s and was stopped"
                       if isinstance(exc, FutureTimeout) else "grading process died")
                result = zero_result(settings, student, digest, why)
                write_json_atomic(settings.results_dir / f"{student}.json", result)
                GradingState(settings.course, settings.assignment).log_event(f"graded {student} {digest}")
            _finished(result, finish, summary, number, len(todo), log)
        pool.close()
    except BaseException:
        pool.stop()  # interrupted: what finished is saved; the rest is graded by the next run
        raise
    finally:
        pool.join()


def _init_worker(scratch: str) -> None:
    """A grading process: one torch thread, the main process decides when to stop."""
    os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import nbgrader.converters  # noqa: F401  (the slow import, once per worker)

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


def _grade_task(settings: Settings, student: str, digest: str) -> dict:
    try:
        return grade_one(settings, student, digest)
    except Exception as exc:
        result = zero_result(settings, student, digest, f"grading failed: {type(exc).__name__}: {exc}")
        write_json_atomic(settings.results_dir / f"{student}.json", result)
        return result


def _finished(result, finish, summary, left, total, log) -> None:
    finish(result)
    summary.graded.append(result["student"])
    score = sum(g["score"] for nb in result["grades"].values() for g in nb.values())
    maximum = sum(g["max"] for nb in result["grades"].values() for g in nb.values())
    note = f"  ({'; '.join(result['reasons'])})" if result["reasons"] else ""
    log(f"[nnbook] {len(summary.graded)}/{total} {result['student']}: {score:g}/{maximum:g}{note}")


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")
