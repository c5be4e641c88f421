"""What a grading run does with each submission, decided from records alone (pure).

* :func:`select` the students a run considers (``--student``, ``--shard``);
* :func:`in_shard` which of N machines grades a student (a stable hash of the id);
* :func:`plan` grade, merge an existing result, or skip, per submission.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from nnbook.course.paths import CourseError


@dataclass(frozen=True)
class Plan:
    """What a grading run does with each submission."""

    grade: list[tuple[str, str]]  # (student, submission hash), to grade
    merge: list[dict]  # results already graded for this very submission: merge only
    skip: list[str]  # students whose submission is already in the gradebook


def plan(digests: dict[str, str], done: dict[str, dict | None], results: dict[str, dict | None],
         failed: set[str] | frozenset = frozenset(), regrade: bool = False) -> Plan:
    """Decide, from records alone, what to do with each submission (student -> hash).

    ``regrade``: grade every one again. A submission whose last grading failed (``failed``,
    or a shard's failure record in ``results``): grade again. Already merged for the same
    hash (``done``): skip. Graded but not merged, same hash (``results``): merge without
    grading again. Anything else (new, changed, or a record of another submission): grade.
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
    return Plan(grade=to_grade, merge=to_merge, skip=to_skip)


def in_shard(student: str, k: int, n: int) -> bool:
    """Whether ``student`` is in the k-th (1-based) of n slices: a stable hash of the id, so
    every machine and every run agree, whatever the order or the number of submissions."""
    return int(hashlib.sha256(student.encode()).hexdigest(), 16) % n == k - 1


def select(course: Path, assignment: str, students: list[str] | None, shard: tuple[int, int] | None,
           unreadable: dict[str, str]) -> list[str]:
    """The students whose submissions this run considers; an unknown ``--student`` (neither
    submitted nor in ``unreadable``, what collect could not read) is an error."""
    submitted = sorted(p.parent.name for p in (course / "submitted").glob(f"*/{assignment}") if p.is_dir())
    if students:
        unknown = sorted(set(students) - set(submitted) - set(unreadable))
        if unknown:
            raise CourseError(f"no submission of {assignment} from {', '.join(unknown)} in {course / 'submitted'} "
                              f"(--student takes the ids collect wrote; {len(submitted)} student(s) submitted)")
        submitted = [s for s in submitted if s in set(students)]
    if shard:
        submitted = [s for s in submitted if in_shard(s, *shard)]
    return submitted
