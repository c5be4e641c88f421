"""The grading workers: a pebble ``ProcessPool`` of long-lived processes, each grading one
submission at a time (:func:`nnbook.course.grade.worker.grade_one`).

nbgrader is imported once per process; one torch thread each; a submission past its
wall-clock cap is stopped and its process replaced (pebble does both); a worker that dies
costs only its submission (a grading failure, graded again by the next run). SIGTERM is an
interruption (:class:`Interrupted`): what finished is saved, the rest is graded by the next run.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
from pathlib import Path

from nnbook.course.grade import gradebook, worker
from nnbook.course.grade.outcome import Outcome, StopGrading
from nnbook.course.grade.worker import Settings
from nnbook.course.state import GradingState, write_json_atomic


class Interrupted(KeyboardInterrupt):
    """A signal asked the run to stop (``signum``: which one; the exit status says it)."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


def _raise_interrupt(signum, _frame):
    raise Interrupted(signum)


def submission_cap(settings: Settings) -> int:
    """Wall-clock seconds one submission may take: every cell's timeout, and some."""
    n_cells = sum(len(v) for v in settings.cells.values())
    return settings.timeout * (n_cells + 3) + 120


def run(settings: Settings, todo: list[tuple[str, str]], workers: int, outcome: Outcome, log) -> None:
    """Grade ``todo`` (student, hash) with ``workers`` processes, each result to ``outcome``;
    SIGTERM turned into an interruption and the workers' folders cleaned."""
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if in_main else None
    if previous is not None:
        signal.signal(signal.SIGTERM, _raise_interrupt)
    remove_stale_worker_folders(worker.scratch())
    try:
        _run_pool(settings, todo, workers, submission_cap(settings), outcome)
    except StopGrading:
        pass  # the summary says why, once
    except BaseException:
        log("[nnbook] interrupted: graded submissions are saved; run the same command again to resume")
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        remove_stale_worker_folders(worker.scratch())


def _run_pool(settings: Settings, todo: list[tuple[str, str]], workers: int, cap: int, outcome: Outcome) -> None:
    """Grade ``todo`` in pebble's process pool; a submission still running after ``cap``
    seconds is stopped and its worker replaced."""
    import multiprocessing as mp
    from concurrent.futures import as_completed

    from pebble import ProcessPool

    if not todo:
        return
    pool = ProcessPool(max_workers=min(workers, len(todo)), initializer=_init_worker,
                       initargs=(str(worker.scratch()),), context=mp.get_context("spawn"))
    try:
        futures = {pool.schedule(_grade_task, args=(settings, student, digest), timeout=cap): (student, digest)
                   for student, digest in todo}
        for future in as_completed(futures):
            outcome.add(_result_of(settings, future, *futures[future], cap))
        pool.close()
    except BaseException:
        pool.stop()  # interrupted or stopped: what finished is saved; the rest is graded by the next run
        raise
    finally:
        pool.join()


def _result_of(settings: Settings, future, student: str, digest: str, cap: int) -> dict:
    """A finished future's result: a grade, a 0 for a submission that ran past ``cap``, or a
    failure of the grader (a dead process, an error outside the grading)."""
    from concurrent.futures import TimeoutError as FutureTimeout

    from pebble import ProcessExpired

    try:
        return future.result()
    except FutureTimeout:  # the submission's own doing (a loop the cell timeout missed)
        result = worker.zero_result(settings, student, digest,
                                    f"submission timeout: grading took over {cap} s and was stopped")
        write_json_atomic(settings.results_dir / f"{student}.json", result)
        GradingState(settings.course, settings.assignment).log_event(f"graded {student} {digest}")
        return result
    except ProcessExpired as exc:
        return worker.failure(settings, student, digest, f"the grading process died (exit code {exc.exitcode})")
    except Exception as exc:
        return worker.failure(settings, student, digest, f"{type(exc).__name__}: {exc}")


def _init_worker(scratch: str) -> None:
    """A grading process: one torch thread, the main process decides when to stop."""
    os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import nbgrader.converters  # noqa: F401  (the slow import, once per worker)

    gradebook.hide_add_submission_warning()  # not shown once per submission, nor per shard
    reuse_gradebook_engines(Path(scratch))


def _grade_task(settings: Settings, student: str, digest: str) -> dict:
    """:func:`worker.grade_one` in a worker; whatever stops it is the grader's failure, not a
    grade (what the submission's code does is caught inside the grading and is part of its grade)."""
    try:
        return worker.grade_one(settings, student, digest)
    except Exception as exc:
        return worker.failure(settings, student, digest, f"{type(exc).__name__}: {exc}")


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


def reuse_gradebook_engines(scratch: Path | None = None) -> None:
    """One SQLAlchemy engine per gradebook file in this grading process, not one per open.

    nbgrader and the preprocessors open the gradebook a dozen times per submission, and each
    ``nbgrader.api.Gradebook`` makes a new engine, which compiles every SQL statement again
    (on ch01 about 0.1 s of CPU of the 0.45 s a worker spends per submission; nbgrader has no
    option for it). A kept engine still closes its connections when the gradebook is closed
    (``Gradebook.close`` disposes of its pool), so the next open reads the file anew, even a
    replaced one: only the compiled statements are kept. Each submission's gradebook copy is
    at the same path in a worker (:func:`worker.grade_one`), so one engine serves the whole class.

    Gradebooks under ``scratch`` (the workers' folders) are throw-away copies: sqlite does not
    wait for the disk there (``synchronous=OFF``; about 40 commits per submission, 0.03 s).
    The one record of a grade is the course gradebook, which the main process writes as usual.

    A patch of nbgrader's module global ``nbgrader.api.create_engine`` (nbgrader 0.9 has no
    setting for its engine), kept because it is measured: an open, a student written and read,
    costs 7.0 ms of CPU with a new engine and 3.8 ms with a kept one. Should an nbgrader upgrade
    stop calling it, ``test_a_kept_gradebook_engine_reads_a_replaced_file_anew`` fails (it
    checks that two gradebooks share one engine); grading itself would only be slower.
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
