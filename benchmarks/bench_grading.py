"""Grading throughput: a class of synthetic submissions of any chapter, N workers vs one.

    python benchmarks/bench_grading.py [--chapter ch01] [--n 100] [--serial-n 20] [--workers N] [--fork-server]
    python benchmarks/bench_grading.py --chapter ch08 --n 6 --workers 2 --compare

Releases the chapter into a temporary grading root, writes ``--n`` synthetic submissions
(each exercise answered correctly, wrongly or not at all, seeded), grades ``--serial-n`` of
them with one worker (0: skip) and all of them with ``--workers`` (default: one per core), and
prints submissions per minute and the speed-up. Each kernel is a new Python in a new sandbox
(``--fork-server``: forked from each worker's pre-imported one). ``--compare`` grades
the same class in both modes, one after the other, and prints the ratio with the machine's
load (on a shared machine, read ratios rather than rates). Goals with 2 workers on 2 cores,
every isolation intact (a fresh sandboxed kernel per submission): >= 90 submissions per minute
on ch01 (issue 11), >= 15 on ch08 (issue 24).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import nbformat  # noqa: E402
import numpy as np  # noqa: E402

from nnbook.course.release import assignments  # noqa: E402
from nnbook.course.grade import gradebook, grading  # noqa: E402
from nnbook.course.paths import chapters, repo_root  # noqa: E402
from nnbook.course.state import GradingState  # noqa: E402


GOALS = {"ch01": 90, "ch08": 15}  # submissions per minute with 2 workers on a quiet machine (issues 11, 24)


def synthetic(source: Path, released: Path, n: int, seed: int = 0) -> list[nbformat.NotebookNode]:
    rng = np.random.default_rng(seed)
    src = nbformat.read(source, as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in src.cells
               if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
    out = []
    for _ in range(n):
        nb = nbformat.read(released, as_version=4)
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid in answers:
                u = rng.random()
                if u < 0.6:
                    cell.source = answers[gid]
                elif u < 0.8:
                    cell.source = cell.source.replace("raise NotImplementedError()", "return 0")
        out.append(nb)
    return out


def fill(course: Path, assignment: str, name: str, notebooks, count: int) -> None:
    shutil.rmtree(course / "submitted", ignore_errors=True)
    shutil.rmtree(GradingState(course, assignment).root, ignore_errors=True)
    for i, nb in enumerate(notebooks[:count]):
        target = course / "submitted" / f"s{i:03d}" / assignment
        target.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target / name)


def run(root: Path, course: Path, assignment: str, workers: int, timeout: int, fork_server: bool) -> float:
    options = grading.GradeOptions(workers=workers, timeout=timeout, fork_server=fork_server)
    summary = grading.grade(root, course, assignment, options, log=lambda *a: None)
    return len(summary.graded) / summary.seconds * 60


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chapter", default="ch01", help="any chapter, by assignment id or name")
    p.add_argument("--n", type=int, default=100, help="synthetic submissions in the class")
    p.add_argument("--serial-n", type=int, default=20, help="of them graded by one worker first (0: skip)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="grading processes")
    p.add_argument("--timeout", type=int, default=60, help="seconds per cell")
    p.add_argument("--fork-server", action="store_true", help="fork kernels from a pre-imported one (opt-in)")
    p.add_argument("--compare", action="store_true",
                   help="grade the class with the fork server, then with a new sandbox per kernel, and print the ratio")
    args = p.parse_args()
    root = repo_root()
    (chapter,) = chapters(root, [args.chapter])
    with tempfile.TemporaryDirectory(prefix="nnbook-bench-") as tmp:
        course = Path(tmp) / "course"
        (released,) = assignments.release(root, course, [chapter])
        notebooks = synthetic(chapter.path, released, args.n)
        if args.compare:
            return compare(root, course, chapter, notebooks, args)
        one = None
        if args.serial_n:  # one worker on a sample (includes starting the worker: as an instructor would see it)
            fill(course, chapter.assignment, chapter.path.name, notebooks, args.serial_n)
            one = run(root, course, chapter.assignment, 1, args.timeout, args.fork_server)
            print(f"[bench] 1 worker : {args.serial_n} submissions, {one:.1f} submissions/minute", flush=True)
            _reset_gradebook(course, chapter.assignment)
        fill(course, chapter.assignment, chapter.path.name, notebooks, args.n)
        started = time.time()
        many = run(root, course, chapter.assignment, args.workers, args.timeout, args.fork_server)
        print(f"[bench] {args.workers} workers: {args.n} submissions in {time.time() - started:.0f} s, "
              f"{many:.1f} submissions/minute", flush=True)
        if one:
            print(f"[bench] speed-up of {args.workers} workers over 1: {many / one:.2f}x")
        goal = GOALS.get(chapter.assignment)
        if goal:
            print(f"[bench] goal: >= {goal} submissions/minute with 2 workers: {'met' if many >= goal else 'NOT met'}")


def compare(root: Path, course: Path, chapter, notebooks, args) -> None:
    """The same class graded with the fork server and with a new sandbox per kernel."""
    rates = {}
    for mode, forked in (("fork server", True), ("new sandbox per kernel", False)):
        fill(course, chapter.assignment, chapter.path.name, notebooks, args.n)
        load = os.getloadavg()[0]
        rates[mode] = run(root, course, chapter.assignment, args.workers, args.timeout, forked)
        kinds = kernel_kinds(course, chapter.assignment)
        print(f"[bench] {chapter.assignment} {mode:<22}: {args.n} submissions, {args.workers} workers, "
              f"{rates[mode]:.1f} submissions/minute (load {load:.2f} before, {os.getloadavg()[0]:.2f} after; "
              f"kernels: {kinds})", flush=True)
        _reset_gradebook(course, chapter.assignment)
    forked, fresh = rates.values()
    print(f"[bench] {chapter.assignment} fork server / new sandbox: {forked / fresh:.2f}x")


def kernel_kinds(course: Path, assignment: str) -> dict[str, int]:
    """How many kernels ran each way (``forked``, ``bwrap``): a fork server that could not
    start falls back to a new sandbox per kernel, which would skew a comparison."""
    kinds: dict[str, int] = {}
    for record in GradingState(course, assignment).done.glob("*.json"):
        kind = json.loads(record.read_text()).get("kernel", "?")
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def _reset_gradebook(course: Path, assignment: str) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(gradebook.db_url(course)) as gb:
        for sub in list(gb.assignment_submissions(assignment)):
            gb.remove_submission(assignment, sub.student.id)


if __name__ == "__main__":
    sys.exit(main())
