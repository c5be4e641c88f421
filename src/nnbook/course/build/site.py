"""Build the book: chapters executed once, turned into an edition, rendered by Jupyter Book.

The student edition is what ``make book`` builds: exercise stubs exactly as released, the
outputs a correct answer produces, no hidden tests, no solutions. The instructor edition
(``--edition instructor``) shows everything, with reference answers folded.

Both editions are staged under ``_build/site/<edition>/`` (the book's pages, a table of
contents restricted to the chapters that exist, the edited chapter notebooks) and rendered
strictly from there, so the rendered site, its page sources (``_sources/``, the notebook a
reader downloads) and its search index only ever see the edition.

Launch links (Colab, Binder) never open ``chapters/`` (the sources, with solutions): they
open the same path on the repository's ``student`` branch, whose tree is written by
``nnbook-course student-branch DIR`` (:mod:`nnbook.course.release.student_branch`) from the released assignments
(see pages/setup.md and docs/INSTRUCTORS.md).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import yaml

from nnbook.course.build import editions
from nnbook.course.build.execute import executed_notebooks
from nnbook.course.release import plain_markdown
from nnbook.course.paths import Chapter, CourseError

# Everything the book needs besides the chapters; copied as is.
BOOK_FILES = ("_config.yml", "references.bib", "pages", "_static", "docs/INSTRUCTORS.md")
EDITIONS = {"student": editions.student_edition, "instructor": editions.instructor_edition}
# The branch holding the student notebooks that launch links open (never the sources).
STUDENT_BRANCH = "student"
CHAPTER_MAP_MARKER = "<!-- nnbook:chapter-map -->"


def html_dir(root: Path, edition: str) -> Path:
    return root / "_build" / "html" if edition == "student" else root / "_build" / edition / "_build" / "html"


def repository(root: Path) -> tuple[str, str]:
    """``(url, source branch)`` of the course repository, from ``_config.yml``."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    repo = config.get("repository", {})
    url = str(repo.get("url", "")).rstrip("/")
    if not url.startswith("https://github.com/"):
        raise CourseError(f"_config.yml repository.url must be a GitHub URL, got {url!r}")
    return url, str(repo.get("branch", "main"))


def launch_links(root: Path, notebook: str) -> dict[str, str]:
    """Colab and Binder URLs opening ``notebook`` (a repo-relative path) on the student branch."""
    url, _ = repository(root)
    org_repo = url.removeprefix("https://github.com/")
    return {
        "colab": f"https://colab.research.google.com/github/{org_repo}/blob/{STUDENT_BRANCH}/{notebook}",
        "binder": f"https://mybinder.org/v2/gh/{org_repo}/{STUDENT_BRANCH}?urlpath=lab/tree/{notebook}",
    }


def _toc_files(node) -> list[str]:
    if isinstance(node, dict):
        out = [node["file"]] if "file" in node else []
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []) or []:
                out += _toc_files(child)
        return out
    return []


def toc_chapters(root: Path) -> list[str]:
    """The chapter entries of ``_toc.yml`` in order, e.g. ``chapters/ch01_gradient_descent``."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    return [f for f in _toc_files(toc) if f.startswith("chapters/")]


def _chapter_info(root: Path) -> dict:
    return yaml.safe_load((root / "pages" / "chapter_map.yml").read_text()) or {}


def _absent_note(root: Path, entry: str) -> str:
    """Why a chapter listed in the table of contents has no notebook in this build."""
    if (root / f"{entry}.ipynb").is_file():
        return "not in this build"
    return "in preparation"


def chapter_map(root: Path, staged: set[str]) -> str:
    """Markdown for the landing page: each chapter with its objectives; absent ones marked."""
    info = _chapter_info(root)
    lines = []
    for number, entry in enumerate(toc_chapters(root), start=1):
        meta = info.get(entry.split("/")[-1], {})
        title = meta.get("title", entry.split("/")[-1])
        if entry in staged:
            head = f"{number}. {{doc}}`../{entry}`"  # the notebook's own title
        else:
            head = f"{number}. {{doc}}`{title} <../{entry}>` ({_absent_note(root, entry)})"
        lines.append(head)
        if meta.get("summary"):
            lines.append(f"   {meta['summary']}")
        for objective in meta.get("objectives", []):
            lines.append(f"   - {objective}")
        lines.append("")
    return "\n".join(lines)


def placeholder_page(root: Path, entry: str) -> str:
    """A page standing in for a chapter without a notebook in this build, so that the
    table of contents keeps all chapters and cross-references to it still resolve."""
    meta = _chapter_info(root).get(entry.split("/")[-1], {})
    title = meta.get("title", entry.split("/")[-1])
    note = _absent_note(root, entry)
    text = [f"# {title}", "", ":::{note}",
            "This chapter is being written: it will appear here in a later edition of the book."
            if note == "in preparation" else
            "This chapter exists but was left out of this build (`--chapter`).", ":::", ""]
    if meta.get("objectives"):
        text += ["In this chapter you will learn to:", ""] + [f"- {o}" for o in meta["objectives"]]
    return "\n".join(text) + "\n"


def launch_cell(root: Path, chapter: Chapter) -> nbformat.NotebookNode:
    """A markdown cell offering the student notebook: download, Colab, Binder."""
    notebook = f"chapters/{chapter.path.name}"
    links = launch_links(root, notebook)
    # Raw HTML: the download target exists only in the built site (the page source).
    source = (
        ":::{admonition} Work on this chapter\n:class: tip nnbook-launch\n\n"
        "The exercises below show the stubs of your assignment and, under them, the output a\n"
        "correct answer produces. To work on them:\n\n"
        f"- <a class=\"nnbook-download\" href=\"../_sources/{notebook}\" download>Download the student notebook</a>"
        " and run it locally ({doc}`set-up <../pages/setup>`);\n"
        f"- <a class=\"nnbook-colab\" href=\"{links['colab']}\">open it in Colab</a>;\n"
        f"- <a class=\"nnbook-binder\" href=\"{links['binder']}\">open it in Binder</a>.\n"
        ":::\n"
    )
    cell = nbformat.v4.new_markdown_cell(source)
    cell.metadata["tags"] = ["nnbook-launch"]
    return cell


def vendor_mathjax(static: Path) -> str | None:
    """Copy MathJax 3 (pinned in requirements.txt) into ``static``; return its ``mathjax_path``.

    A self-hosted MathJax renders the mathematics offline, on a closed network and in the
    browser tests; without the package the book falls back to Sphinx's CDN default.
    """
    try:
        import mathjax  # django-static-mathjax: MathJax's es5 distribution as package data
    except ImportError:
        print("[nnbook] warning: django-static-mathjax is not installed; MathJax comes from a CDN", flush=True)
        return None
    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    target = static / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(es5 / "tex-mml-chtml.js", target / "tex-mml-chtml.js")
    for part in ("input", "output/chtml", "ui", "a11y", "adaptors", "sre"):
        if (es5 / part).is_dir():
            shutil.copytree(es5 / part, target / part, dirs_exist_ok=True)
    return "mathjax/tex-mml-chtml.js"


def _fit(cell: nbformat.NotebookNode, nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Cell ids exist from nbformat 4.5 on; older notebooks must not have them."""
    if (nb.nbformat, nb.nbformat_minor) < (4, 5):
        cell.pop("id", None)
    return cell


def stage(root: Path, chapters: list[Chapter], edition: str, staging: Path | None = None) -> Path:
    """Write the edition's book sources under ``staging`` (default ``_build/site/<edition>``)."""
    if edition not in EDITIONS:
        raise CourseError(f"unknown edition {edition!r}; choose from {sorted(EDITIONS)}")
    staging = staging or root / "_build" / "site" / edition
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for name in BOOK_FILES:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, staging / name)
        elif src.is_file():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, staging / name)

    config = yaml.safe_load((staging / "_config.yml").read_text())
    # The chapters were executed (or taken from the cache) before staging; the staged
    # student notebooks contain stubs that would raise if executed again.
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    # Launch buttons open the student branch, where chapters/ holds student notebooks.
    config.setdefault("repository", {})["branch"] = STUDENT_BRANCH
    config["repository"]["path_to_book"] = ""
    sphinx = config.setdefault("sphinx", {})
    sphinx["extra_extensions"] = [*sphinx.get("extra_extensions", []), "nnbook.course.build.sphinxext"]
    mathjax_path = vendor_mathjax(staging / "_static")
    if mathjax_path:
        config.setdefault("sphinx", {}).setdefault("config", {})["mathjax_path"] = mathjax_path
    if edition == "instructor":
        config["title"] = f"{config.get('title', 'nnbook')} (instructor edition)"
    (staging / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))

    staged = {f"chapters/{c.name}" for c in chapters}
    listed = toc_chapters(root)
    missing = [entry for entry in staged if entry not in listed]
    if missing:
        raise CourseError(f"chapters not listed in _toc.yml: {sorted(missing)}")
    shutil.copy2(root / "_toc.yml", staging / "_toc.yml")
    for entry in listed:
        if entry not in staged:
            (staging / f"{entry}.md").parent.mkdir(parents=True, exist_ok=True)
            (staging / f"{entry}.md").write_text(placeholder_page(root, entry))

    intro = staging / "pages" / "intro.md"
    if intro.is_file() and CHAPTER_MAP_MARKER in intro.read_text():
        intro.write_text(intro.read_text().replace(CHAPTER_MAP_MARKER, chapter_map(root, staged)))

    make_edition = EDITIONS[edition]
    by_path = {c.path: c for c in chapters}
    for path, nb in executed_notebooks(root, chapters).items():
        nb = make_edition(nb)
        nb.cells.insert(1, _fit(launch_cell(root, by_path[path]), nb))
        target = staging / "chapters" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
    for asset in (root / "chapters").iterdir():
        if asset.is_dir() and not asset.name.startswith((".", "_")):
            shutil.copytree(asset, staging / "chapters" / asset.name, dirs_exist_ok=True)
    return staging


def build(root: Path, chapters: list[Chapter], edition: str = "student", quiet: bool = False) -> Path:
    """Stage and build strictly; return the folder holding ``index.html``.

    ``quiet``: Sphinx's progress is not printed (its warnings and errors still are, and the
    whole log is printed when the build fails).
    """
    start = time.perf_counter()
    staging = stage(root, chapters, edition)
    out_root = root if edition == "student" else root / "_build" / edition
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jupyter_book), "build", str(staging), "--all", "-W", "-n", "--keep-going",
           "--path-output", str(out_root)] + (["--quiet"] if quiet else [])
    print("[nnbook] " + " ".join(cmd), flush=True)
    done = subprocess.run(cmd, stdout=subprocess.PIPE if quiet else None, text=True)
    html = html_dir(root, edition)
    if done.returncode != 0 or not (html / "index.html").is_file():
        if quiet:
            print(done.stdout, flush=True)
        raise CourseError(f"the {edition} book build failed (see the warnings above)")
    # the notebook a reader downloads (the page source) opens in any Jupyter: no MyST left
    plain_markdown.rewrite_notebooks(root, sorted((html / "_sources" / "chapters").glob("*.ipynb")))
    print(f"[nnbook] {edition} site built in {time.perf_counter() - start:.0f} s: {html / 'index.html'}")
    print(f"[nnbook] open it with:  python -m http.server -d {html} 8000   then http://localhost:8000")
    return html
