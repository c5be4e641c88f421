"""The grading state of an assignment: the one module that knows ``.grading/<a>/``.

::

    .grading/<a>/collect.json          what collect could not read or attribute
    .grading/<a>/results/<s>.json      a finished grading (written atomically by a worker)
    .grading/<a>/done/<s>.json         ... and merged into the gradebook (the resume marker)
    .grading/<a>/failed/<s>.json       the grader could not grade it (not a grade; retried)
    .grading/<a>/shard-K-of-N/<s>.json a shard's finished gradings, until `merge`
    .grading/<a>/template[-K-of-N].db  the gradebook snapshot each grading starts from
    .grading/<a>/events.log            one line per grading

A grading record holds the submission's hash, the grades nbgrader gave, the reasons
(timeout, kernel died, ...), the integrity flags and timings. Scores as the course knows
them live in the gradebook only (manual overrides included): reports read them there.

Two kinds of failure are kept apart. *The submission failed* (its code raised, looped, exited,
ate memory): that is a grade, with its reason, like any other. *Grading failed* (the machinery:
configuration, disk, sandbox start, a grading process that died): that is no grade at all; it
is recorded once, in ``failed/<s>.json``, never merged into the gradebook, and the next ``grade``
run tries that submission again. A grading that succeeds removes the record.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

FOLDER = ".grading"


def write_json_atomic(path: Path, data) -> None:
    """Write ``data`` so that a reader sees the old file or the whole new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_json(path: Path):
    """The JSON in ``path``, or None if it is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def submission_hash(folder: Path) -> str:
    """A digest of a submission's files (its timestamp left out): what 'the same submission' means."""
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        if file.name == "timestamp.txt":
            continue
        digest.update(str(file.relative_to(folder)).encode() + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()[:20]


@dataclass(frozen=True)
class GradingState:
    """Where the grading of ``assignment`` in ``course`` keeps what it knows."""

    course: Path
    assignment: str

    @property
    def root(self) -> Path:
        return self.course / FOLDER / self.assignment

    @property
    def results(self) -> Path:
        return self.root / "results"

    @property
    def done(self) -> Path:
        return self.root / "done"

    def shard(self, k: int, n: int) -> Path:
        return self.root / f"shard-{k}-of-{n}"

    def template(self, shard: tuple[int, int] | None = None) -> Path:
        return self.root / (f"template-{shard[0]}-of-{shard[1]}.db" if shard else "template.db")

    def done_record(self, student: str) -> dict | None:
        return read_json(self.done / f"{student}.json")

    def result_record(self, student: str, folder: Path | None = None) -> dict | None:
        return read_json((folder or self.results) / f"{student}.json")

    def record_done(self, result: dict) -> None:
        """``result`` is in the gradebook now: the marker that lets a new run skip it."""
        write_json_atomic(self.done / f"{result['student']}.json", result)

    @property
    def failed(self) -> Path:
        return self.root / "failed"

    def record_failed(self, failure: dict) -> None:
        """The grader could not grade this submission (``failure``: student, hash, cause)."""
        write_json_atomic(self.failed / f"{failure['student']}.json", failure)

    def clear_failed(self, student: str) -> None:
        (self.failed / f"{student}.json").unlink(missing_ok=True)

    def failures(self) -> dict[str, dict]:
        """Submissions the grader could not grade: student id -> failure record."""
        found = {}
        for path in sorted(self.failed.glob("*.json")) if self.failed.is_dir() else []:
            record = read_json(path)
            if isinstance(record, dict):
                found[path.stem] = record
        return found

    def collect_record(self) -> dict:
        return read_json(self.root / "collect.json") or {}

    def write_collect_record(self, data: dict) -> None:
        write_json_atomic(self.root / "collect.json", data)

    def unreadable(self) -> dict[str, str]:
        """Submissions ``collect`` could not read: student id -> reason."""
        return self.collect_record().get("students", {})

    def log_event(self, text: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / "events.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {text}\n".encode())
        finally:
            os.close(fd)
