"""nnbook-course: the course's instructor commands (also python -m nnbook.course).

A term's grading, one command each (--course is the grading root, default the repository):

    nnbook-course site [--edition instructor]       the book (student edition by default)
    nnbook-course release [--chapter ch01]          student notebooks + downloads/nnbook-student.zip
    nnbook-course due ch01 2026-12-10T23:59         its due date (late penalties: nbgrader_config.py)
    nnbook-course student-branch DIR                the student branch's tree (what launch links open)
    nnbook-course collect ch01 INBOX/               submissions (notebooks, LMS zips) -> submitted/
    nnbook-course grade ch01 [--workers N]          autograde all, in parallel, resumable
    nnbook-course grade ch01 --regrade [--student S] grade again what is already graded
    nnbook-course grade ch01 --shard K/N            only the K-th of N slices (one machine of many)
    nnbook-course merge DIR...                      fold shard results into the gradebook
    nnbook-course feedback ch01                     feedback/<student>/ch01/*.html (no hidden tests)
    nnbook-course export [ch01 ...] [-o grades.csv] one row per student and assignment
    nnbook-course report ch01                       reports/ch01/report.md + scores.png
    nnbook-course leaks                             fail if a student artefact leaks solutions

Exit status: 0 done; 1 a course error, or submissions the grader could not grade (not
grades: run grade again once the cause is fixed); 2 a usage error; 130/143 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nnbook.course.release import assignments
from nnbook.course.grade import gradebook, limits
from nnbook.course.build import site
from nnbook.course.paths import CourseError, chapters, repo_root


def _course(args, exists: bool = True) -> Path:
    course = Path(args.course or repo_root()).resolve()
    if exists and args.course and not course.is_dir():
        raise CourseError(f"--course {args.course}: no such folder")
    return course


def _released(course: Path, assignment: str) -> None:
    """``assignment`` has been released into ``course``, or a :class:`CourseError` says what to run."""
    if not (course / "source" / assignment).is_dir() or not (course / gradebook.FILE_NAME).is_file():
        known = sorted(p.name for p in (course / "source").iterdir() if p.is_dir()) if (course / "source").is_dir() else []
        raise CourseError(f"no assignment {assignment} released in {course} (released: {', '.join(known) or 'none'}); "
                          f"run `nnbook-course release --chapter {assignment}` first")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _existing(text: str) -> Path:
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file or folder")
    return path


def _cmd_site(args) -> None:
    root = repo_root()
    site.build(root, chapters(root, args.chapter), args.edition, quiet=args.quiet)


def _cmd_release(args) -> None:
    root = repo_root()
    course = _course(args, exists=False)
    assignments.release(root, course, chapters(root, args.chapter))
    kit = assignments.student_kit(root, course)
    print(f"[nnbook] student kit {kit}")


def _cmd_due(args) -> None:
    from datetime import datetime

    from nnbook.course.grade.collect import local_time, zone

    course = _course(args)
    _released(course, args.assignment)
    try:
        when = datetime.fromisoformat(args.when)
    except ValueError:
        raise CourseError(f"cannot read the date {args.when!r}: write it as 2026-12-10T23:59 "
                          "(a time zone from --timezone, or this machine's)") from None
    utc = assignments.set_due_date(course, args.assignment, local_time(when, zone(args.timezone)))
    print(f"[nnbook] {args.assignment} is due {utc:%Y-%m-%d %H:%M} UTC")


def _cmd_student_branch(args) -> None:
    from nnbook.course.release.student_branch import student_branch

    root = repo_root()
    for path in student_branch(root, Path(args.dest).resolve(), chapters(root, args.chapter), _course(args)):
        print(f"[nnbook] wrote {path}")


def _cmd_collect(args) -> None:
    from nnbook.course.grade.collect import collect

    course = _course(args)
    _released(course, args.assignment)
    if not args.inbox.is_dir():
        raise CourseError(f"{args.inbox} is not a folder: give the folder that holds the submissions")
    report = collect(course, args.assignment, args.inbox, zone_name=args.timezone)
    print(f"[nnbook] imported {len(report.imported)} submission(s) of {args.assignment}")
    for who, why in sorted({**report.problems, **report.files}.items()):
        print(f"[nnbook] NOT imported {who}: {why}")


def _cmd_grade(args) -> None:
    from nnbook.course.grade.grading import GradeOptions, grade

    options = GradeOptions(workers=args.workers, timeout=args.timeout, sandbox=args.sandbox, memory_mb=args.memory_mb,
                           students=args.student, shard=args.shard, render_figures=args.figures,
                           fork_server=args.fork_server, regrade=args.regrade)
    summary = grade(repo_root(), _course(args), args.assignment, options)
    rate = len(summary.graded) / summary.seconds * 60 if summary.seconds > 0 and summary.graded else 0.0
    print(f"[nnbook] graded {len(summary.graded)}, already done {len(summary.skipped)}, merged "
          f"{len(summary.merged_only)}, unreadable {len(summary.unreadable)}, grading failed {len(summary.failed)} "
          f"in {summary.seconds:.1f} s ({rate:.1f}/min, {summary.workers} workers, sandbox={summary.sandbox})")
    problems = summary.problems()
    for line in problems:
        print(f"[nnbook] {line}", flush=True)
    if problems:
        raise CourseError("not every submission has a grade; fix the cause above and run the same command again "
                          "(only what is missing is graded)")


def _shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N, for example 2/8, got {text!r}") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"K/N needs 1 <= K <= N, got {text!r}")
    return k, n


def _cmd_merge(args) -> None:
    from nnbook.course.grade.grading import merge_results

    counts = merge_results(_course(args), [Path(f) for f in args.folder])
    if counts["failed"]:
        raise CourseError(f"{counts['failed']} result(s) are grading failures, not grades: "
                          "run those shards' `grade` again, then merge again")


def _cmd_feedback(args) -> None:
    from nnbook.course.report.feedback import generate

    course = _course(args)
    _released(course, args.assignment)
    written = generate(course, args.assignment, args.student)
    print(f"[nnbook] wrote {len(written)} feedback file(s) under {_course(args) / 'feedback'}")


def _cmd_export(args) -> None:
    from nnbook.course.report.export import export_csv

    course = _course(args)
    if not args.assignment and not (course / "source").is_dir():
        raise CourseError(f"nothing released in {course} yet: run `nnbook-course release` first")
    names = args.assignment or sorted(p.name for p in (course / "source").iterdir() if p.is_dir())
    for name in names:
        _released(course, name)
    target = export_csv(course, names, Path(args.output or course / "exports" / "grades.csv"))
    print(f"[nnbook] wrote {target}")


def _cmd_report(args) -> None:
    from nnbook.course.report.export import report

    course = _course(args)
    _released(course, args.assignment)
    path = report(course, args.assignment)
    print(path.read_text())
    print(f"[nnbook] wrote {path} and {path.parent / 'scores.png'}")


def _cmd_leaks(args) -> None:
    from nnbook.course.report import leaks

    root = repo_root()
    targets = list(args.path) if args.path else leaks.student_artefacts(root, _course(args))
    hits = leaks.scan(root, targets)
    print(f"[nnbook] scanned {', '.join(map(str, targets)) or 'nothing'}")
    for hit in hits:
        print(f"[nnbook] LEAK {hit.artefact}: {hit.secret[:100]!r} (from {hit.origin})")
    if hits:
        raise CourseError(f"{len(hits)} leak(s) of solution or hidden-test text")
    print("[nnbook] no leaks")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nnbook")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _course_arg(sp) -> None:
    sp.add_argument("--course", help="grading root (default: the repository)")


def _assignment_arg(sp, **kw) -> None:
    sp.add_argument("assignment", help="assignment id, e.g. ch01 (as released)", **kw)


def _timezone_arg(sp, what: str) -> None:
    sp.add_argument("--timezone", metavar="TZ",
                    help=f"time zone {what}: an IANA name such as Europe/Berlin (default: this machine's)")


def _add_due(sub) -> None:
    d = sub.add_parser("due", help="set an assignment's due date (late penalties: nbgrader_config.py's "
                                   "LateSubmissionPlugin)")
    _assignment_arg(d)
    d.add_argument("when", help="the due date and time, ISO 8601: 2026-12-10T23:59 (or with an offset, +01:00)")
    _timezone_arg(d, "of WHEN when it has no offset")
    _course_arg(d)
    d.set_defaults(func=_cmd_due)


def _add_collect(sub) -> None:
    c = sub.add_parser("collect", help="import a folder of submissions into <course>/submitted/")
    _assignment_arg(c)
    c.add_argument("inbox", type=Path, help="folder with <student>.ipynb files and/or LMS zips")
    _timezone_arg(c, "of the zip entries' times (zips store local times without a zone; the times feed late "
                     "penalties)")
    _course_arg(c)
    c.set_defaults(func=_cmd_collect)


def _add_grade(sub) -> None:
    g = sub.add_parser("grade", help="autograde every submission in parallel (resumable)")
    _assignment_arg(g)
    g.add_argument("--workers", type=_positive, default=None, help="grading processes, at least 1 (default: one per core)")
    g.add_argument("--timeout", type=_positive, default=limits.CELL_TIMEOUT_S,
                   help=f"seconds per cell (default {limits.CELL_TIMEOUT_S})")
    g.add_argument("--sandbox", choices=["auto", "bwrap", "limits", "none"], default="auto",
                   help="auto: bubblewrap when available, else resource limits only (warns)")
    g.add_argument("--memory-mb", type=_positive, default=limits.DEFAULT_MEMORY_MB,
                   help=f"address-space limit of the kernel (default {limits.DEFAULT_MEMORY_MB})")
    g.add_argument("--student", action="append", help="only this student (repeatable)")
    g.add_argument("--regrade", action="store_true",
                   help="grade again what is already graded (all, or the --student ones): after a test changed, "
                        "or on request; the events log keeps every grading")
    g.add_argument("--fork-server", action="store_true",
                   help="fork each kernel from the worker's pre-imported one instead of starting a new Python in "
                        "a new bubblewrap sandbox: about 1.8x faster on light chapters, no faster on the torch "
                        "chapters; forked siblings share one /proc (docs/INSTRUCTORS.md, threat model)")
    g.add_argument("--figures", action="store_true",
                   help="render matplotlib figures in the kernel (slower; no graded cell needs them)")
    g.add_argument("--shard", type=_shard, metavar="K/N",
                   help="grade only the K-th of N slices of the class into .grading/<a>/shard-K-of-N/ "
                        "(then `nnbook-course merge`)")
    _course_arg(g)
    g.set_defaults(func=_cmd_grade)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nnbook-course", description=__doc__.splitlines()[0],
                                epilog=__doc__.split("\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("site", help="build the book (student edition by default)")
    s.add_argument("--edition", choices=sorted(site.EDITIONS), default="student", help="which edition (default student)")
    s.add_argument("--chapter", action="append", help="only this chapter (repeatable)")
    s.add_argument("--quiet", action="store_true", help="print Sphinx's warnings, not its progress")
    s.set_defaults(func=_cmd_site)

    r = sub.add_parser("release", help="generate student notebooks under <course>/release/ and the student kit")
    r.add_argument("--chapter", action="append", help="only this chapter, e.g. ch01 (repeatable)")
    _course_arg(r)
    r.set_defaults(func=_cmd_release)
    _add_due(sub)

    sb = sub.add_parser("student-branch", help="write the student branch's tree from <course>/release/")
    sb.add_argument("dest", help="a checkout of the student branch (its .git is kept)")
    sb.add_argument("--chapter", action="append", help="only this chapter (repeatable)")
    _course_arg(sb)
    sb.set_defaults(func=_cmd_student_branch)

    _add_collect(sub)
    _add_grade(sub)

    m = sub.add_parser("merge", help="fold shard results (grade --shard) into the gradebook; idempotent")
    m.add_argument("folder", nargs="+", help=".grading/<a>/shard-K-of-N folders (or copies of them)")
    _course_arg(m)
    m.set_defaults(func=_cmd_merge)

    f = sub.add_parser("feedback", help="HTML feedback per student (no hidden test source)")
    _assignment_arg(f)
    f.add_argument("--student", action="append", help="only this student (repeatable)")
    _course_arg(f)
    f.set_defaults(func=_cmd_feedback)

    e = sub.add_parser("export", help="CSV: one row per student and assignment")
    _assignment_arg(e, nargs="*")
    e.add_argument("-o", "--output", help="CSV path (default <course>/exports/grades.csv)")
    _course_arg(e)
    e.set_defaults(func=_cmd_export)

    rp = sub.add_parser("report", help="score distribution, hardest exercises, flagged submissions")
    _assignment_arg(rp)
    _course_arg(rp)
    rp.set_defaults(func=_cmd_report)

    lk = sub.add_parser("leaks", help="scan student artefacts for solution and hidden-test text")
    lk.add_argument("path", nargs="*", type=_existing,
                    help="files or folders (default: release, feedback, downloads, _build/html)")
    _course_arg(lk)
    lk.set_defaults(func=_cmd_leaks)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run a command; errors are one line on stderr (status 1), usage errors argparse's (status 2)."""
    from nnbook.course.grade.pool import Interrupted

    args = parser().parse_args(argv)
    try:
        args.func(args)
    except CourseError as exc:
        print(f"nnbook-course: error: {exc}", file=sys.stderr)
        return 1
    except Interrupted as exc:
        print(f"nnbook-course: stopped by signal {exc.signum}; run the same command again to resume", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("nnbook-course: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    return 0
