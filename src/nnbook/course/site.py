"""Build the book: chapters executed once, turned into an edition, rendered by Jupyter Book.

The student edition is what ``make book`` builds: exercise stubs exactly as released, the
outputs a correct answer produces, no hidden tests, no solutions. The instructor edition
shows everything, with reference answers folded.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

from nnbook.course import editions
from nnbook.course.execute import executed_notebooks
from nnbook.course.paths import Chapter, CourseError

# Everything the book needs besides the chapters; copied as is.
BOOK_FILES = ("_config.yml", "_toc.yml", "references.bib", "pages", "_static")
EDITIONS = {"student": editions.student_edition, "instructor": editions.instructor_edition}


def html_dir(root: Path, edition: str) -> Path:
    return root / "_build" / "html" if edition == "student" else root / "_build" / edition / "_build" / "html"


def stage(root: Path, chapters: list[Chapter], edition: str) -> Path:
    """Write the edition's book sources under ``_build/site/<edition>``."""
    if edition not in EDITIONS:
        raise CourseError(f"unknown edition {edition!r}; choose from {sorted(EDITIONS)}")
    staging = root / "_build" / "site" / edition
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for name in BOOK_FILES:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, staging / name)
        elif src.is_file():
            shutil.copy2(src, staging / name)
    config = yaml.safe_load((staging / "_config.yml").read_text())
    # The chapters were executed (or taken from the cache) before staging; the staged
    # student notebooks contain stubs that would raise if executed again.
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    if edition == "instructor":
        config["title"] = f"{config.get('title', 'nnbook')} (instructor edition)"
    (staging / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))

    make_edition = EDITIONS[edition]
    for path, nb in executed_notebooks(root, chapters).items():
        target = staging / "chapters" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(make_edition(nb), target)
    for asset in (root / "chapters").iterdir():
        if asset.is_dir() and not asset.name.startswith((".", "_")):
            shutil.copytree(asset, staging / "chapters" / asset.name, dirs_exist_ok=True)
    return staging


def build(root: Path, chapters: list[Chapter], edition: str = "student") -> Path:
    """Stage and build strictly; return the folder holding ``index.html``."""
    staging = stage(root, chapters, edition)
    out_root = root if edition == "student" else root / "_build" / edition
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jupyter_book), "build", str(staging), "--all", "-W", "-n", "--keep-going",
           "--path-output", str(out_root)]
    print("[nnbook] " + " ".join(cmd), flush=True)
    done = subprocess.run(cmd)
    html = html_dir(root, edition)
    if done.returncode != 0 or not (html / "index.html").is_file():
        raise CourseError(f"the {edition} book build failed (see the warnings above)")
    print(f"[nnbook] {edition} site built: {html / 'index.html'}")
    print(f"[nnbook] open it with:  python -m http.server -d {html} 8000   then http://localhost:8000")
    return html
