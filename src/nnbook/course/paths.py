"""Where the course lives and what it contains."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

CHAPTER_PATTERN = re.compile(r"^(ch\d\d)_[a-z0-9_]+\.ipynb$")


class CourseError(RuntimeError):
    """A problem with the course repository or its inputs, explained for the user."""


def repo_root() -> Path:
    """The course repository: ``NNBOOK_COURSE_ROOT`` or the first parent with ``_toc.yml``."""
    env = os.environ.get("NNBOOK_COURSE_ROOT")
    if env:
        return Path(env).resolve()
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / "_toc.yml").is_file() and (folder / "chapters").is_dir():
            return folder.resolve()
    here = Path(__file__).resolve()
    for folder in here.parents:
        if (folder / "_toc.yml").is_file():
            return folder
    raise CourseError("cannot find the course repository (a folder with _toc.yml and chapters/); "
                      "run from inside it or set NNBOOK_COURSE_ROOT")


@dataclass(frozen=True)
class Chapter:
    path: Path

    @property
    def assignment(self) -> str:
        """nbgrader assignment id, e.g. ``ch01``."""
        return CHAPTER_PATTERN.match(self.path.name).group(1)

    @property
    def name(self) -> str:
        """Notebook name without extension, e.g. ``ch01_gradient_descent``."""
        return self.path.stem


def chapters(root: Path | None = None, only: list[str] | None = None) -> list[Chapter]:
    """Every chapter notebook, in order; ``only`` selects by assignment id or name."""
    root = root or repo_root()
    found = [Chapter(p) for p in sorted((root / "chapters").glob("*.ipynb")) if CHAPTER_PATTERN.match(p.name)]
    if only:
        wanted = set(only)
        selected = [c for c in found if c.assignment in wanted or c.name in wanted]
        unknown = wanted - {c.assignment for c in selected} - {c.name for c in selected}
        if unknown:
            raise CourseError(f"no chapter named {sorted(unknown)}; chapters are {[c.assignment for c in found]}")
        return selected
    return found
