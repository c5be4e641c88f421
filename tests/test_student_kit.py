"""What a student installs: the ``student`` group of pyproject.toml, the kit built from it,
and the kit installed into a fresh virtual environment running the self-check."""

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import nbformat
import pytest

from nnbook.course.release import assignments
from nnbook.course.paths import chapters, repo_root

ROOT = repo_root()
LIBRARY = ROOT / "src" / "nnbook"
NEVER = {"jupyter-book", "jupyter-cache", "myst-nb", "sphinx", "nbgrader", "selenium", "micrograd",
         "pytest", "pytest-xdist", "nbval", "hypothesis", "django-static-mathjax"}
# import name -> distribution name, where they differ
# import name -> the student requirement that provides it (IPython comes with the kernel)
DISTRIBUTION = {"sklearn": "scikit-learn", "IPython": "ipykernel", "jupyter_client": "nbclient"}  # nbclient pins the jupyter_client it drives
OPTIONAL_IMPORTS = {"threadpoolctl"}  # torchutil.limit_threads works without it


def _name(requirement: str) -> str:
    return re.split(r"[=<>!~\[; @]", requirement.strip(), maxsplit=1)[0].lower()


def _group() -> dict[str, str]:
    return {_name(r): r for r in assignments.student_requirements()}


def _third_party_imports() -> set[str]:
    """Top-level modules imported anywhere in what the kit ships: the library and nnbook.kit."""
    found = set()
    for path in [*LIBRARY.glob("*.py"), *(LIBRARY / "kit").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in {"nnbook", "__future__"}}


def test_student_group_covers_what_the_library_imports_and_nothing_instructor_only():
    group = _group()
    for module in _third_party_imports() - OPTIONAL_IMPORTS:
        assert DISTRIBUTION.get(module, module) in group, f"nnbook imports {module}; the student group lacks it"
    assert "ipykernel" in group and ({"notebook", "jupyterlab"} & set(group)), "a student needs a Jupyter front end"
    assert not NEVER & set(group), f"instructor or test tools in the student group: {NEVER & set(group)}"


def test_student_pins_are_requirements_txt_pins():
    pinned = {_name(line): line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    for name, requirement in _group().items():
        if name in pinned:
            assert requirement == pinned[name], f"{requirement!r} in pyproject.toml, {pinned[name]!r} in requirements.txt"


def test_kit_declares_the_group_and_leaves_out_the_course(tmp_path):
    kit = assignments.student_kit(ROOT, tmp_path)
    archive = zipfile.ZipFile(kit)
    names = archive.namelist()
    assert not any("nnbook/course" in n or "solutions" in n or n.endswith(".ipynb") for n in names)
    shipped = {n.removeprefix("nnbook-student/src/") for n in names if n.endswith(".py")}
    expected = {f"nnbook/{p.name}" for p in LIBRARY.glob("*.py")} | {f"nnbook/kit/{p.name}" for p in (LIBRARY / "kit").glob("*.py")}
    assert shipped == expected, "the kit is the library's modules and nnbook.kit, nothing else"
    project = tomllib.loads(archive.read("nnbook-student/pyproject.toml").decode())["project"]
    assert project["optional-dependencies"]["student"] == assignments.student_requirements()
    assert archive.read("nnbook-student/requirements.txt").decode().splitlines()[-1] == ".[student]"
    assert 'pip install ".[student]"' in archive.read("nnbook-student/README.md").decode()


def _local_index_args() -> list[str]:
    """pip options that reach only this machine's package indexes (file:// URLs and folders)."""
    done = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True)
    values = re.findall(r"^\S*\.(index-url|extra-index-url|find-links)='([^']*)'$", done.stdout, re.M)
    indexes = [u for key, v in values if key.endswith("index-url") for u in v.split() if u.startswith("file://")]
    links = [u for key, v in values if key == "find-links" for u in v.split() if "://" not in u or u.startswith("file:")]
    if not indexes and not links:
        pytest.skip("no local package index configured for pip (this test must not download)")
    args = ["--index-url", indexes[0], *(a for u in indexes[1:] for a in ("--extra-index-url", u))] if indexes \
        else ["--no-index"]
    return args + [a for u in links for a in ("--find-links", u)]


def _link_venv_packages(env_dir: Path, links: Path) -> None:
    """Let the fresh environment see this .venv's installed packages, except nnbook itself."""
    ours = Path(next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()))
    links.mkdir()
    for entry in ours.iterdir():
        if entry.name.lower().startswith(("nnbook", "__editable__", "_nnbook", "pip")) or entry.suffix == ".pth":
            continue
        (links / entry.name).symlink_to(entry)
    (site_packages,) = env_dir.glob("lib/python*/site-packages")
    (site_packages / "zz-course-venv-packages.pth").write_text(f"{links}\n")


def test_kit_installs_offline_into_a_fresh_venv_and_selfchecks_a_released_chapter(tmp_path):
    """Build the kit, install it into a new virtual environment offline, self-check a release.

    Installing the student group from scratch is not possible offline here: mlxtend is not
    in this machine's local package index (the course's .venv got it from PyPI), and torch
    with its CUDA libraries is ~3 GB to unpack. So the fresh environment sees the course
    .venv's installed packages through a .pth file listing links to them (nnbook excluded;
    ``venv --system-site-packages`` would not help, it exposes the base interpreter's packages,
    not .venv's). The kit itself is built and installed from its zip with ``--no-deps``, pip's
    resolver then confirms offline that the student group needs nothing beyond what is
    installed, and ``python -m nnbook.kit.selfcheck`` runs a released chapter in a kernel of the
    new environment, importing nnbook from the kit.
    """
    pip_offline = _local_index_args()
    kit = assignments.student_kit(ROOT, tmp_path / "course")
    zipfile.ZipFile(kit).extractall(tmp_path)
    kit_dir = tmp_path / "nnbook-student"
    env_dir = tmp_path / "student-env"
    venv.create(env_dir, with_pip=True, symlinks=True)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "NNBOOK_COURSE_ROOT", "VIRTUAL_ENV") and not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1",
               JUPYTER_PATH="", JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"))

    def run(*cmd, check=True):
        done = subprocess.run([str(python), *cmd], cwd=tmp_path, env=env, capture_output=True, text=True)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done

    # The bundled setuptools is older than torch accepts; drop it (before any link exists,
    # so this can only touch the new environment) and let the course's be seen instead.
    run("-m", "pip", "uninstall", "-q", "-y", "setuptools")
    _link_venv_packages(env_dir, tmp_path / "venv-packages")

    run("-m", "pip", "install", "-q", "--no-deps", *pip_offline, str(kit_dir))
    report = json.loads(run("-m", "pip", "install", "-q", "--dry-run", "--report", "-", *pip_offline,
                            f"{kit_dir}[student]").stdout)
    missing = {item["metadata"]["name"].lower() for item in report["install"]} - {"nnbook"}
    assert not missing, f"the student group wants packages that are not installed: {missing}"
    where = run("-c", "import nnbook, nnbook.kit.selfcheck; print(nnbook.__file__)").stdout.strip()
    assert where.startswith(str(env_dir)), where
    assert run("-c", "import importlib.util as u; print(u.find_spec('nnbook.course'))").stdout.strip() == "None"

    (chapter,) = chapters(ROOT, ["ch01"])
    (released,) = assignments.release(ROOT, tmp_path / "course", [chapter])
    nb = nbformat.read(released, as_version=4)
    probe = nbformat.v4.new_code_cell(
        "import sys, nnbook\n"
        f"assert sys.prefix == {str(env_dir)!r}, sys.prefix\n"
        "assert nnbook.__file__.startswith(sys.prefix), nnbook.__file__\n")
    probe.metadata["nbgrader"] = {"grade": True, "grade_id": "kernel-uses-the-kit", "points": 0}
    nb.cells.insert(0, probe)
    nbformat.write(nb, released)
    done = run("-m", "nnbook.kit.selfcheck", str(released), "--timeout", "300", check=False)
    assert "[PASS] kernel-uses-the-kit" in done.stdout, done.stdout + done.stderr
    assert "not answered yet" in done.stdout  # the released stubs fail their public tests, and say why
    assert done.returncode == 1 and "public test cells pass" in done.stdout
