"""What a grading run did with each submission, as it happens: a grade, or a failure of the
machinery (never a grade), and whether to go on.

A *grading failure* is the grader's, not the submission's: the configuration, the disk, the
sandbox, a grading process that died. It is recorded once (``failed/<s>.json``, or the shard's
folder), never merged as a score, and the next run grades that submission again. When the
first failures share one cause (:data:`STOP_AFTER` gradings in a row failed with the same
message, once file names and numbers are set aside), every other submission would fail
alike: the run stops and says so once. A gradebook that cannot be written (locked by another process, a full disk) stops the
merging, not the grading: the results stay in ``results/`` and the next run merges them.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from typing import Callable

STOP_AFTER = 3  # failures sharing one cause after which a run stops


def cause_key(cause: str) -> str:
    """``cause`` without what differs from one submission to the next (paths, ids, numbers)."""
    return re.sub(r"'[^']*'|\"[^\"]*\"|/\S*|\d+", "_", cause).strip()


class StopGrading(Exception):
    """The first failures share one cause: grading the rest would fail alike."""


@dataclass
class Summary:
    graded: list[str] = field(default_factory=list)
    merged_only: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # student -> cause (not a grade)
    unmerged: list[str] = field(default_factory=list)  # graded, but the gradebook could not be written
    gradebook_error: str = ""
    stopped: str = ""  # the shared cause the run stopped on
    seconds: float = 0.0
    workers: int = 1
    sandbox: str = ""

    def problems(self) -> list[str]:
        """One line per distinct problem, for the end of the run (empty: all went well)."""
        lines = []
        by_cause: dict[str, list[str]] = {}
        for student, cause in sorted(self.failed.items()):
            by_cause.setdefault(cause_key(cause), []).append(student)
        for students in by_cause.values():
            names = ", ".join(students[:5]) + (f" and {len(students) - 5} more" if len(students) > 5 else "")
            lines.append(f"grading failed (no grade recorded) for {len(students)} submission(s) ({names}): "
                         f"{self.failed[students[0]]}")
        if self.stopped:
            lines.append(f"stopped early: {STOP_AFTER} gradings in a row failed with this cause; the submissions "
                         "not tried yet are graded by the next run")
        if self.unmerged:
            lines.append(f"the gradebook could not be written ({self.gradebook_error}): {len(self.unmerged)} graded "
                         "result(s) are kept in .grading/ and merged by the next run, without grading them again")
        return lines


def _store_errors() -> tuple[type[BaseException], ...]:
    import sqlalchemy.exc
    from nbgrader.api import InvalidEntry  # nbgrader's wrapping of a failed write

    return OSError, sqlite3.Error, sqlalchemy.exc.SQLAlchemyError, InvalidEntry


@dataclass
class Outcome:
    """Takes each finished grading as it arrives: records it (``finish``), says it, counts it."""

    summary: Summary
    total: int
    finish: Callable[[dict], None]  # merge a grade, or record a failure
    log: Callable[[str], None] = print
    defer_merging: bool = True  # once the gradebook cannot be written, stop trying (not for shards)
    done: int = 0
    streak: list[str] = field(default_factory=list)  # causes of the failures since the last grade

    def add(self, result: dict) -> None:
        self.done += 1
        student = result["student"]
        if result.get("failed"):
            self.summary.failed[student] = result["failed"]
            self.store(result)
            self.log(f"[nnbook] {self.done}/{self.total} {student}: grading failed, no grade (retried by the next run)")
            self._maybe_stop(result["failed"])
            return
        self.store(result)
        self.streak.clear()
        self.summary.graded.append(student)
        grades = [g for nb in result["grades"].values() for g in nb.values()]
        note = f"  ({'; '.join(result['reasons'])})" if result["reasons"] else ""
        self.log(f"[nnbook] {self.done}/{self.total} {student}: {sum(g['score'] for g in grades):g}/"
                 f"{sum(g['max'] for g in grades):g}{note}")

    def store(self, result: dict) -> bool:
        """Record ``result`` (also outside the pool: merge-only, unreadable); False if it could not be."""
        if self.summary.gradebook_error and self.defer_merging and not result.get("failed"):
            self.summary.unmerged.append(result["student"])
            return False
        try:
            self.finish(result)
            return True
        except _store_errors() as exc:
            if result.get("failed"):
                return False  # not recorded: without a grade it is graded again next run anyway
            self.summary.gradebook_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            self.summary.unmerged.append(result["student"])
            return False

    def _maybe_stop(self, cause: str) -> None:
        if self.streak and cause_key(self.streak[-1]) != cause_key(cause):
            self.streak.clear()
        self.streak.append(cause)
        if len(self.streak) >= STOP_AFTER:
            self.summary.stopped = cause
            raise StopGrading(cause)
