"""nbgrader assignments generated from the chapters.

``chapters/chNN_*.ipynb`` -> ``<course>/source/chNN/chNN_*.ipynb`` -> ``nbgrader
generate_assignment`` -> ``<course>/release/chNN/``.

``<course>`` is the grading root: the repository itself by default, or any folder (tests
use a temporary one). nbgrader always runs with the repository's ``nbgrader_config.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from nnbook import ownership
from nnbook.course.paths import Chapter, CourseError

def nbgrader(root: Path, course: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run an nbgrader command for the course at ``course`` with the repository's config."""
    # nbgrader runs helpers (alembic) by name: the venv's bin folder must be on PATH.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = dict(os.environ, PATH=path, NNBOOK_GRADING_ROOT=str(course), NNBOOK_COURSE_ROOT=str(root))
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--config={root / 'nbgrader_config.py'}"]
    done = subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise CourseError(f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def write_source(root: Path, course: Path, chapter: Chapter) -> Path:
    """The chapter as an nbgrader source notebook (``<course>/source/<a>/``).

    Hidden tests stay as the chapter writes them, ``compare_with_reference(fn, "chNN.key")``:
    while grading, the grader gives each call the submission's inputs and compares the
    outputs itself (:mod:`nnbook.course.hidden`), so no expected value is written anywhere
    a kernel could read it.
    """
    nb = nbformat.read(chapter.path, as_version=4)
    # the self-check reads which names each answer cell must define (nnbook.ownership)
    nb.metadata[ownership.METADATA_KEY] = {"graded_names": {cell: sorted(names) for cell, names
                                                            in ownership.graded_names(nb).items()}}
    target = course / "source" / chapter.assignment / chapter.path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    for asset in chapter.path.parent.iterdir():
        # data files or images a chapter opens by relative path travel with it
        if asset.is_dir() and asset.name == f"{chapter.name}_files":
            shutil.copytree(asset, target.parent / asset.name, dirs_exist_ok=True)
    nbformat.write(nb, target)
    return target


def release(root: Path, course: Path, chapters: list[Chapter]) -> list[Path]:
    """Generate and release each chapter; return the student notebooks written."""
    course.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in chapters:
        write_source(root, course, chapter)
        nbgrader(root, course, "generate_assignment", chapter.assignment, "--force")
        released = course / "release" / chapter.assignment / chapter.path.name
        if not released.is_file():
            raise CourseError(f"nbgrader did not write {released}")
        written.append(released)
        print(f"[nnbook] released {released}")
    return written


STUDENT_README = """# nnbook: what you need to run the assignments

    python -m venv .venv && . .venv/bin/activate
    pip install -r requirements.txt
    pip install -e .

Then open a chapter's notebook (from your course's release) in Jupyter, answer each
`raise NotImplementedError()` and run the test cell below it. Before you submit:

    python -m nnbook.selfcheck chNN_name.ipynb

runs the notebook from top to bottom and says which public tests fail and why.
"""

STUDENT_PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "nnbook"
version = "0.1.0"
description = "The library the nnbook course notebooks import (student kit)."
requires-python = ">=3.10"
dependencies = ["numpy"]

[tool.setuptools.packages.find]
where = ["src"]
"""

# Instructor-only parts of the package and requirements that students do not need.
_KIT_EXCLUDE = ("course",)
_KIT_SKIP_REQUIREMENTS = ("nbgrader", "jupyter-book", "jupyter-cache", "Sphinx", "pytest", "pytest-xdist",
                          "nbval", "hypothesis")


def student_kit(root: Path, course: Path) -> Path:
    """``<course>/downloads/nnbook-student.zip``: the ``nnbook`` package (without the course
    pipeline, chapters or solutions), its requirements and how to install it."""
    import zipfile

    import nnbook

    package = Path(nnbook.__file__).resolve().parent
    target = course / "downloads" / "nnbook-student.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    requirements = []
    for line in (root / "requirements.txt").read_text().splitlines() if (root / "requirements.txt").is_file() else []:
        name = re.split(r"[=<>\[ ]", line.strip(), maxsplit=1)[0]
        if line.strip() and not line.startswith("#") and name not in _KIT_SKIP_REQUIREMENTS:
            requirements.append(line.strip())
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("nnbook-student/README.md", STUDENT_README)
        archive.writestr("nnbook-student/pyproject.toml", STUDENT_PYPROJECT)
        archive.writestr("nnbook-student/requirements.txt", "\n".join(requirements + [
            extra for extra in ("ipykernel", "nbclient") if not any(r.startswith(extra) for r in requirements)]) + "\n")
        for path in sorted(package.rglob("*.py")):
            rel = path.relative_to(package)
            if rel.parts[0] in _KIT_EXCLUDE or "__pycache__" in rel.parts:
                continue
            archive.write(path, f"nnbook-student/src/nnbook/{rel.as_posix()}")
    return target
