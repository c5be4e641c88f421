"""Shared by the site tests: a built edition of the book, and what must never appear in it.

``make test`` builds the full student site before pytest; the tests reuse it when it is
newer than every input of the book, and build what they need otherwise (the instructor
edition of chapter 1 only, which takes seconds once chapter 1 is in the cache). A file lock
keeps two pytest workers from building the same edition at once.
"""

from __future__ import annotations

import fcntl
import html as html_lib
import json
import re
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import nbformat

from nnbook.course.build import editions
from nnbook.course.build import site
from nnbook.course.paths import chapters, repo_root

ROOT = repo_root()
CHAPTERS = chapters(ROOT)
INPUTS = ("chapters", "pages", "_static", "_config.yml", "_toc.yml", "references.bib",
          "docs/INSTRUCTORS.md", "src/nnbook/course/build/site.py", "src/nnbook/course/build/editions.py",
          "src/nnbook/course/build/execute.py", "solutions", "src/nnbook")


def newest_input() -> float:
    newest = 0.0
    for name in INPUTS:
        path = ROOT / name
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
        for file in files:
            if "__pycache__" not in file.parts and ".ipynb_checkpoints" not in file.parts:
                newest = max(newest, file.stat().st_mtime)
    return newest


def _fresh(html: Path, wanted) -> bool:
    index = html / "index.html"
    if not index.is_file() or index.stat().st_mtime < newest_input():
        return False
    return all(_has_notebook(html, c) for c in wanted)


def _has_notebook(html: Path, chapter) -> bool:
    """Rendered from its notebook (not from a placeholder page for an absent chapter)."""
    return (html / "_sources" / "chapters" / chapter.path.name).is_file()


@contextmanager
def _lock(name: str):
    lock = ROOT / "_build" / f".{name}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def built_site(edition: str) -> tuple[Path, list]:
    """``(html folder, chapters in it)``: the student site with every chapter, the
    instructor site with at least chapter 1."""
    wanted = CHAPTERS if edition == "student" else CHAPTERS[:1]
    html = site.html_dir(ROOT, edition)
    with _lock(f"site-{edition}"):
        if not _fresh(html, wanted):
            site.build(ROOT, wanted, edition)
    present = [c for c in CHAPTERS if _has_notebook(html, c)]
    return html, present


# --- what must not leak --------------------------------------------------------------------

_REGION = {
    "solution": re.compile(r"BEGIN SOLUTION[^\n]*\n(.*?)\n[^\n]*END SOLUTION", re.S),
    "hidden": re.compile(r"BEGIN HIDDEN TESTS[^\n]*\n(.*?)\n[^\n]*END HIDDEN TESTS", re.S),
}


_PUBLIC: list[str] = []


def public_text() -> str:
    """Everything the student editions of all chapters show (sources of every cell)."""
    if not _PUBLIC:
        _PUBLIC.append("\n".join(c.source for ch in CHAPTERS
                                  for c in editions.student_edition(nbformat.read(ch.path, as_version=4)).cells))
    return _PUBLIC[0]


def secret_lines(chapter, kind: str, min_length: int = 10) -> list[str]:
    """Distinctive lines of a chapter's solutions (or hidden tests): long enough to mean
    something and absent from every student edition (a line such as
    ``for p in model.parameters():`` may be an answer in one chapter and shown in another)."""
    source = nbformat.read(chapter.path, as_version=4)
    student = public_text()
    lines = []
    for cell in source.cells:
        for region in _REGION[kind].findall(cell.source):
            for line in region.splitlines():
                line = line.strip()
                if len(line) >= min_length and not line.startswith("#") and line not in student:
                    lines.append(line)
    return lines


class Links(HTMLParser):
    """Collects hrefs, image sources (with alt text) and script sources of one page."""

    def __init__(self):
        super().__init__()
        self.hrefs, self.images, self.scripts = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        elif tag == "img":
            self.images.append((attrs.get("src", ""), attrs.get("alt")))
        elif tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        elif tag == "link" and attrs.get("href") and "stylesheet" in (attrs.get("rel") or ""):
            self.scripts.append(attrs["href"])


def parse(page: Path) -> Links:
    parser = Links()
    parser.feed(page.read_text(errors="replace"))
    return parser


def pages(html: Path) -> list[Path]:
    return sorted(p for p in html.rglob("*.html") if "_static" not in p.parts)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def page_text(raw: str) -> str:
    """What a page says, tags removed (pygments splits code into spans), entities decoded."""
    raw = re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.S | re.I)
    return _squash(html_lib.unescape(re.sub(r"<[^>]+>", "", raw)))


def leaks(html: Path, secrets: list[str]) -> list[str]:
    """Where in a built site any of ``secrets`` occurs: pages, page sources, downloads,
    the search index; each finding as ``"<file>: <line>"``."""
    wanted = [_squash(s) for s in secrets if _squash(s)]
    found = []
    for file in sorted(p for p in html.rglob("*") if p.is_file()):
        rel = file.relative_to(html)
        if rel.parts[0] == "_static" or file.suffix not in {".html", ".ipynb", ".md", ".js", ".txt", ".py"}:
            continue
        raw = file.read_text(errors="replace")
        if file.suffix == ".html":
            text = page_text(raw)
        elif file.suffix == ".ipynb":
            nb = json.loads(raw)
            text = _squash("\n".join("".join(c.get("source", "")) for c in nb.get("cells", [])))
        else:
            text = _squash(raw.replace("\\n", "\n").replace('\\"', '"'))
        found += [f"{rel}: {line}" for line in wanted if line in text]
    return found
