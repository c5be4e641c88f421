"""Leak scanner: no solution code and no hidden-test text in anything students see.

Secrets are the lines of the reference answers (``### BEGIN/END SOLUTION`` regions and
``solutions/*.py``) and of hidden tests (``### BEGIN/END HIDDEN TESTS``), minus every line
that is public anyway (markdown, public cells and stubs of any chapter, the ``nnbook``
library). Lines shorter than ``MIN_CHARS`` non-blank characters are ignored (``return x``
is not a leak). Artefacts are scanned as text with whitespace collapsed: notebooks (cell
sources and outputs), HTML (tags stripped, entities decoded: syntax highlighting splits
code into spans), zips (each member), PDFs (their text, by poppler's pdftotext), anything
else as text.
"""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from nnbook.kit import cells

MIN_CHARS = 16
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
REGIONS = (cells.SOLUTION_MARKERS, cells.HIDDEN_MARKERS)  # anywhere in a line, as nbgrader finds them


@dataclass(frozen=True)
class Hit:
    artefact: str
    secret: str
    origin: str


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _regions(source: str) -> tuple[list[str], list[str]]:
    """(secret lines, public lines) of one cell."""
    secret, public, inside = [], [], None
    for line in source.splitlines():
        stripped = line.strip()
        begin = next((b for b, _ in REGIONS if b in stripped), None)
        end = next((e for _, e in REGIONS if e in stripped), None)
        if begin:
            inside = begin
            continue
        if end:
            inside = None
            continue
        (secret if inside else public).append(line)
    return secret, public


def secrets(root: Path) -> dict[str, str]:
    """Normalised secret line -> where it comes from."""
    candidate: dict[str, str] = {}
    public: set[str] = set()
    for path in sorted((root / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            secret, open_lines = _regions(cell.source)
            for line in secret:
                candidate.setdefault(_norm(line), f"{path.name}")
            public.update(_norm(line) for line in open_lines)
    for path in sorted((root / "solutions").glob("*.py")):
        for line in path.read_text().splitlines():
            if not line.lstrip().startswith(("#", "import ", "from ", '"""', "def ", "return ")):
                candidate.setdefault(_norm(line), f"solutions/{path.name}")
    import nnbook

    for path in Path(nnbook.__file__).parent.rglob("*.py"):
        public.update(_norm(line) for line in path.read_text(errors="replace").splitlines())
    # a secret line that occurs inside public text (e.g. quoted in a prompt) is not a leak
    blob = "\n".join(public)
    return {line: origin for line, origin in candidate.items()
            if len(line.replace(" ", "")) >= MIN_CHARS and line not in public and line not in blob}


def artefact_text(path: Path, data: bytes | None = None) -> str:
    data = path.read_bytes() if data is None else data
    name = path.name
    if name.endswith(".zip"):
        parts = []
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    parts.append(artefact_text(Path(info.filename), archive.read(info)))
        return "\n".join(parts)
    if name.endswith(".pdf"):
        return _norm(_pdf_text(data))
    text = data.decode("utf-8", errors="replace")
    if name.endswith(".ipynb"):
        try:
            nb = json.loads(text)
            chunks = []
            for cell in nb.get("cells", []):
                src = cell.get("source", "")
                chunks.append("".join(src) if isinstance(src, list) else src)
                for out in cell.get("outputs", []):
                    chunks.append(json.dumps(out))
            text = "\n".join(chunks) + "\n" + text
        except ValueError:
            pass
    if name.endswith((".html", ".htm", ".xml", ".svg")):
        text = html.unescape(_TAG.sub("", text))
    return _norm(text)


def _pdf_text(data: bytes) -> str:
    import shutil
    import subprocess

    from nnbook.course.paths import CourseError

    if not shutil.which("pdftotext"):  # a PDF left unread would pass for clean
        raise CourseError("pdftotext not found, needed to scan PDFs: install poppler-utils (tools/system-deps.sh --pdf)")
    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode(
        "utf-8", errors="replace")


SCANNED = (".ipynb", ".html", ".htm", ".md", ".txt", ".py", ".json", ".js", ".zip", ".tex", ".csv", ".pdf")


def scan(root: Path, artefacts: list[Path], secret_lines: dict[str, str] | None = None) -> list[Hit]:
    secret_lines = secrets(root) if secret_lines is None else secret_lines
    hits = []
    for base in artefacts:
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in files:
            if not path.name.endswith(SCANNED) or path.stat().st_size > 50 * 2**20:
                continue
            text = artefact_text(path)
            for line, origin in secret_lines.items():
                if line in text:
                    hits.append(Hit(str(path), line, origin))
    return hits


def student_artefacts(root: Path, course: Path) -> list[Path]:
    """Everything students see: releases, feedback, the student site, downloads."""
    out = [course / "release", course / "feedback", course / "downloads", root / "_build" / "html",
           root / "_build" / "pdf"]
    return [p for p in out if p.exists()]
