"""nbgrader assignments generated from the chapters.

``chapters/chNN_*.ipynb`` -> ``<course>/source/chNN/chNN_*.ipynb`` -> ``nbgrader
generate_assignment`` -> ``<course>/release/chNN/``.

``<course>`` is the grading root: the repository itself by default, or any folder (tests
use a temporary one). nbgrader always runs with the repository's ``nbgrader_config.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from nnbook.kit import ownership
from nnbook.course.grade.gradebook import db_url
from nnbook.course.paths import Chapter, CourseError
from nnbook.course.release import plain_markdown

def nbgrader(root: Path, course: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run an nbgrader command for the course at ``course`` with the repository's config."""
    # nbgrader runs helpers (alembic) by name: the venv's bin folder must be on PATH.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = dict(os.environ, PATH=path)
    config = root / "nbgrader_config.py"
    if not config.is_file():
        raise CourseError(f"the course's nbgrader configuration {config} is missing: restore it "
                          "(git checkout nbgrader_config.py)")
    # nbgrader has no --config option (it ignores one, with a warning); this is how it loads a file
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--NbGrader.config_file={config.with_suffix('')}",
           f"--CourseDirectory.root={course}", f"--CourseDirectory.db_url={db_url(course)}"]
    done = subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise CourseError(f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def set_due_date(course: Path, assignment: str, due: datetime) -> datetime:
    """Record ``due`` (an aware time) as the released ``assignment``'s due date; return it in UTC.

    nbgrader keeps due dates and submission times in UTC without a zone; while grading, its
    ``AssignLatePenalties`` compares them and asks the configured ``LateSubmissionPlugin``
    (``nbgrader_config.py``) for each late notebook's penalty, which the gradebook keeps.
    """
    from nbgrader.api import Gradebook, MissingEntry

    utc = due.astimezone(timezone.utc)
    with Gradebook(db_url(course)) as gb:
        try:
            gb.update_or_create_assignment(assignment, duedate=utc.replace(tzinfo=None))
        except MissingEntry:
            raise CourseError(f"no assignment {assignment} in {course / 'gradebook.db'}") from None
    return utc


def write_source(root: Path, course: Path, chapter: Chapter) -> Path:
    """The chapter as an nbgrader source notebook (``<course>/source/<a>/``).

    Hidden tests stay as the chapter writes them, ``compare_with_reference(fn, "chNN.key")``:
    while grading, the grader gives each call the submission's inputs and compares the
    outputs itself (:mod:`nnbook.course.grade.hidden`), so no expected value is written anywhere
    a kernel could read it.

    The book's MyST markup becomes plain Markdown here (:mod:`.plain_markdown`), before nbgrader
    records its checksums, so that every Jupyter shows references and citations as text.
    """
    nb = plain_markdown.plain_notebook(plain_markdown.book_index(root), nbformat.read(chapter.path, as_version=4))
    # the self-check reads which names each answer cell must define (nnbook.kit.ownership)
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
    pip install ".[student]"

That installs the course library with everything the notebooks use, Jupyter included
(the `student` group of pyproject.toml). Then open a chapter's notebook from your
course's release with `jupyter notebook chNN_name.ipynb`, answer each
`raise NotImplementedError()` and run the test cell below it. Before you submit:

    python -m nnbook.kit.selfcheck chNN_name.ipynb

runs the notebook from top to bottom and says which public tests fail and why.
"""

# What the kit ships, by package: the teaching library (the modules of ``nnbook`` itself,
# no subpackage) and the grading kit. ``nnbook.course`` (and ``solutions/``, never inside
# the package) is the instructor's and is not listed.
KIT_PACKAGES = ("nnbook", "nnbook.kit")


def _library_project() -> dict:
    """The ``[project]`` table of the pyproject.toml that the ``nnbook`` package is built from."""
    import tomllib

    import nnbook

    pyproject = Path(nnbook.__file__).resolve().parents[2] / "pyproject.toml"  # src/nnbook/ -> the repo
    if not pyproject.is_file():
        raise CourseError(f"no {pyproject}: the student kit is made from a checkout of the course repository")
    return tomllib.loads(pyproject.read_text())["project"]


def student_requirements() -> list[str]:
    """What a student installs: the ``student`` group of the library's pyproject.toml."""
    try:
        return list(_library_project()["optional-dependencies"]["student"])
    except KeyError:
        raise CourseError("pyproject.toml declares no [project.optional-dependencies] student group") from None


def _kit_pyproject() -> str:
    import json

    project = _library_project()
    student = ",\n".join(f"    {json.dumps(r)}" for r in student_requirements())
    return f"""[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "nnbook"
version = {json.dumps(project["version"])}
description = "The library the nnbook course notebooks import (student kit)."
requires-python = {json.dumps(project.get("requires-python", ">=3.10"))}
dependencies = {json.dumps(project.get("dependencies", []))}

[project.optional-dependencies]
# copied from the course's pyproject.toml
student = [
{student},
]

[tool.setuptools.packages.find]
where = ["src"]
"""


def _kit_files() -> list[tuple[Path, str]]:
    """(file, path in the kit's ``src/``) for every module of :data:`KIT_PACKAGES`."""
    import importlib

    files = []
    for name in KIT_PACKAGES:
        folder = Path(importlib.import_module(name).__file__).resolve().parent
        for path in sorted(folder.glob("*.py")):  # a package's own modules, not its subpackages
            files.append((path, f"{name.replace('.', '/')}/{path.name}"))
    return files


def student_kit(root: Path, course: Path) -> Path:
    """``<course>/downloads/nnbook-student.zip``: the packages in :data:`KIT_PACKAGES`,
    declaring the ``student`` group, and how to install it."""
    import zipfile

    target = course / "downloads" / "nnbook-student.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("nnbook-student/README.md", STUDENT_README)
        archive.writestr("nnbook-student/pyproject.toml", _kit_pyproject())
        archive.writestr("nnbook-student/requirements.txt",
                         "# For `pip install -r requirements.txt` in this folder: the library and its student group.\n.[student]\n")
        for path, name in _kit_files():
            archive.write(path, f"nnbook-student/src/{name}")
    return target
