"""Autograde a whole class: one submission per nbgrader process, in parallel, resumable.

nbgrader grades one submission at a time against one sqlite gradebook (a single writer).
Here each submission is graded in its own throw-away grading root by nbgrader's
``Autograde`` in one of ``--workers`` long-lived processes, with the sandboxed kernel of
:mod:`.sandbox`. The main process alone writes the course gradebook: it merges each result
through nbgrader's ``Gradebook`` API as it arrives. Scores come from the same nbgrader
pipeline and the same gradebook rows as when grading one at a time, so they are identical
(a test checks this). Where each part lives:

* :mod:`.plan`       which submissions to grade, merge or skip; ``--student``, ``--shard``;
* :mod:`.pool`       the worker processes; :mod:`.worker` grading one submission;
* :mod:`.worker_sandbox` what a kernel sees, the worker's fork server; :mod:`.sandbox` its launcher;
* :mod:`.gradebook`  reading and writing nbgrader's gradebook; :mod:`nnbook.course.state` the records.

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

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nnbook.course.grade import gradebook, limits, pool
from nnbook.course.grade import sandbox as sandbox_mod
from nnbook.course.grade.outcome import Outcome, Summary
from nnbook.course.grade.plan import in_shard, plan, select
from nnbook.course.grade.worker import Settings, check_scratch, scratch, zero_result
from nnbook.course.paths import CourseError
from nnbook.course.state import GradingState, read_json, submission_hash, write_json_atomic


@dataclass(frozen=True)
class GradeOptions:
    """How a run grades (the ``grade`` command's flags)."""

    workers: int | None = None  # grading processes (default: one per core)
    timeout: int = limits.CELL_TIMEOUT_S  # seconds per cell
    sandbox: str = "auto"  # auto | bwrap | limits | none
    memory_mb: int = limits.DEFAULT_MEMORY_MB  # the kernel's address space
    students: Sequence[str] | None = None  # only these students
    shard: tuple[int, int] | None = None  # (k, n): only the k-th of n slices of the class
    render_figures: bool = False  # render matplotlib figures in the kernel (slower)
    fork_server: bool = False  # bwrap: fork kernels from a pre-imported zygote (opt-in: --fork-server)
    regrade: bool = False  # grade again what is already graded

    def check(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise CourseError(f"--workers must be at least 1, got {self.workers}")
        if self.shard is not None and not (1 <= self.shard[0] <= self.shard[1]):
            raise CourseError(f"--shard {self.shard[0]}/{self.shard[1]}: K must be between 1 and N")


def resolve_sandbox(mode: str) -> str:
    """``auto``: bubblewrap when it works here, else resource limits (with a warning)."""
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


def _prepare(root: Path, course: Path, assignment: str, options: GradeOptions) -> tuple[Settings, GradingState, list[str]]:
    """Check the course, the configuration and the options; the workers' settings, and the
    students whose submissions this run considers."""
    if not (course / gradebook.FILE_NAME).is_file() or not (course / "source" / assignment).is_dir():
        raise CourseError(f"no generated assignment {assignment} in {course}; run `nnbook-course release` first")
    options.check()
    check_config(root)
    state = GradingState(course, assignment)
    submitted = select(course, assignment, options.students, options.shard, state.unreadable())
    shard = options.shard
    check_scratch(scratch())
    settings = Settings(root=root, course=course, assignment=assignment, timeout=options.timeout,
                        sandbox=resolve_sandbox(options.sandbox), memory_mb=options.memory_mb,
                        render_figures=options.render_figures, fork_server=options.fork_server,
                        results=state.shard(*shard) if shard else None,
                        template=state.template(shard))  # each shard its own copy: shards may share a disk
    for folder in (state.results, state.done, settings.results_dir):
        folder.mkdir(parents=True, exist_ok=True)
    settings.cells = gradebook.read_for_grading(course, assignment, settings.template)
    return settings, state, submitted


def grade(root: Path, course: Path, assignment: str, options: GradeOptions = GradeOptions(), log=print) -> Summary:
    """Autograde every submission of ``assignment`` under ``course/submitted``.

    ``options.shard=(k, n)`` grades only the k-th of n slices of the class (:func:`in_shard`)
    into ``.grading/<a>/shard-k-of-n/`` and leaves the gradebook alone: many machines can
    grade one class at once, and :func:`merge_results` then folds their results in.
    Submissions the grader could not grade are in ``summary.failed`` (not grades;
    :mod:`nnbook.course.grade.outcome`).
    """
    settings, state, submitted = _prepare(root.resolve(), course.resolve(), assignment, options)
    course, shard = settings.course, options.shard
    workers = options.workers or os.cpu_count() or 1
    summary = Summary(workers=workers, sandbox=settings.sandbox)
    digests = {student: submission_hash(course / "submitted" / student / assignment) for student in submitted}
    work = plan(digests, {s: state.done_record(s) for s in submitted},
                {s: state.result_record(s, settings.results_dir) for s in submitted},
                failed=set(state.failures()) if not shard else set(), regrade=options.regrade)
    summary.skipped.extend(work.skip)
    outcome = Outcome(summary, len(work.grade), _finisher(settings, state, shard), log, defer_merging=not shard)
    for result in work.merge:
        if outcome.store(result):
            summary.merged_only.append(result["student"])
    _zero_unreadable(settings, state, submitted, options, outcome)

    log(f"[nnbook] grading {len(work.grade)} submission(s) of {assignment} with {workers} worker(s), "
        f"sandbox={summary.sandbox}; {len(summary.skipped)} already graded")
    started = time.time()
    pool.run(settings, work.grade, workers, outcome, log)
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
            gradebook.merge(settings.course, result)
            state.record_done(result)
            state.clear_failed(result["student"])
    return finish


def _zero_unreadable(settings: Settings, state: GradingState, submitted: list[str], options: GradeOptions,
                     outcome: Outcome) -> None:
    """Submissions collect could not read get 0 with the reason (the submission's fault)."""
    shard, students = options.shard, options.students
    for student, reason in state.unreadable().items():
        if student in submitted or (shard and not in_shard(student, *shard)) or (students and student not in students):
            continue  # a readable submission from the same student replaced it, or another shard's
        zero = zero_result(settings, student, "unreadable", f"unreadable: {reason}")
        if options.regrade or (state.done_record(student) or {}).get("reasons") != zero["reasons"]:
            outcome.store(zero)
        outcome.summary.unreadable.append(student)


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
        gradebook.merge(course, result)
    except Exception as exc:
        from nbgrader.api import InvalidEntry

        if not isinstance(exc, (*gradebook.read_errors(), InvalidEntry)):
            raise
        raise CourseError(f"cannot write the gradebook {course / gradebook.FILE_NAME} ({str(exc).splitlines()[0][:160]}); "
                          "what was merged so far is kept: run the same merge again") from None
    write_json_atomic(state.results / f"{result['student']}.json", result)  # as if graded here
    state.record_done(result)
    state.clear_failed(result["student"])
    return "merged"
