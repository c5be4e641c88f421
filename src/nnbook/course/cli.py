"""``nnbook-course``: the course's instructor commands (``python -m nnbook.course``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nnbook.course import assignments, site
from nnbook.course.paths import CourseError, chapters, repo_root


def _cmd_site(args) -> None:
    root = repo_root()
    site.build(root, chapters(root, args.chapter), args.edition)


def _cmd_release(args) -> None:
    root = repo_root()
    assignments.release(root, Path(args.course or root).resolve(), chapters(root, args.chapter))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nnbook-course", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("site", help="build the book (student edition by default)")
    s.add_argument("--edition", choices=sorted(site.EDITIONS), default="student")
    s.add_argument("--chapter", action="append", help="only this chapter (repeatable)")
    s.set_defaults(func=_cmd_site)

    r = sub.add_parser("release", help="generate student notebooks under <course>/release/")
    r.add_argument("--chapter", action="append", help="only this chapter, e.g. ch01 (repeatable)")
    r.add_argument("--course", help="grading root (default: the repository)")
    r.set_defaults(func=_cmd_release)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except CourseError as exc:
        print(f"nnbook-course: error: {exc}", file=sys.stderr)
        return 1
    return 0
