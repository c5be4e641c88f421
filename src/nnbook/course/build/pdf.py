"""The book as one PDF (``make pdf``): the student edition, typeset by XeLaTeX.

The edition is staged exactly as the site is (site.stage: no solutions, no hidden tests),
then Jupyter Book's LaTeX builder writes ``nnbook.tex`` and latexmk runs XeLaTeX on it.
Needs Debian's TeX (``tools/system-deps.sh --pdf``). The result is ``_build/pdf/nnbook.pdf``.

    python -m nnbook.course.build.pdf [--chapter ch01_gradient_descent]
"""

from __future__ import annotations

import argparse
import base64
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import yaml

from nnbook.course.build import site
from nnbook.course.paths import Chapter, CourseError, chapters, repo_root

NAME = "nnbook"
# XeLaTeX reads the book's Unicode (Greek letters, arrows) directly; Jupyter Book's own
# LaTeX layer is left out (its preamble needs packages outside Debian's texlive-latex-extra),
# and xindy (Sphinx's default index sorter under XeLaTeX) is not installed: makeindex is.
LATEX = {"latex_engine": "xelatex", "use_jupyterbook_latex": False, "latex_documents": {"targetname": f"{NAME}.tex"}}


def svg_outputs_as_png(staging: Path) -> int:
    """Give every SVG-only output (graphviz drawings) a PNG twin: LaTeX cannot include SVG, and
    without one the PDF would print the object's repr. Returns how many were converted."""
    converted = 0
    for path in sorted((staging / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                if "image/svg+xml" in data and "image/png" not in data:
                    svg = data["image/svg+xml"]
                    png = subprocess.run(["rsvg-convert", "--format=png", "--zoom=2"], input=svg.encode(),
                                         capture_output=True, check=True).stdout
                    data["image/png"] = base64.b64encode(png).decode()
                    converted += 1
        nbformat.write(nb, path)
    return converted


# Sphinx's LaTeX numbers every chapter, the introduction's sections and the set-up page
# included: chapter 1 would print as chapter 7 and its figures as "Fig. 7.1". The site numbers
# only the numbered parts of _toc.yml, so each part's first page switches numbering on or off.
SAVE_NUMBERING = r"\edef\nnbooksecnumdepth{\the\value{secnumdepth}}"
NUMBERING = {False: r"\setcounter{secnumdepth}{-1}", True: r"\setcounter{secnumdepth}{\nnbooksecnumdepth}"}


def number_like_the_site(staging: Path) -> None:
    """Raw LaTeX at the top of the root page and of each part's first page of the staged book."""
    toc = yaml.safe_load((staging / "_toc.yml").read_text())
    switches = {toc["root"]: [SAVE_NUMBERING, NUMBERING[False]]}
    for part in toc.get("parts", []):
        first = part["chapters"][0]["file"]
        switches.setdefault(first, []).append(NUMBERING[bool(part.get("numbered"))])
    for entry, commands in switches.items():
        raw = "```{raw} latex\n" + "\n".join(commands) + "\n```\n"
        page, notebook = staging / f"{entry}.md", staging / f"{entry}.ipynb"
        if notebook.is_file():
            nb = nbformat.read(notebook, as_version=4)
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(raw))
            nbformat.write(nb, notebook)
        elif page.is_file():
            page.write_text(raw + "\n" + page.read_text())
        else:
            raise CourseError(f"{entry} of _toc.yml is neither {page.name} nor {notebook.name} in {staging}")


def pdf_path(root: Path) -> Path:
    return root / "_build" / "pdf" / f"{NAME}.pdf"


def build(root: Path, wanted: list[Chapter], quiet: bool = True) -> Path:
    """Stage the student edition of ``wanted``, typeset it; return the PDF's path."""
    for tool in ("xelatex", "latexmk", "makeindex", "rsvg-convert"):
        if not shutil.which(tool):
            raise CourseError(f"{tool} not found: install TeX with  tools/system-deps.sh --pdf  (as root)")
    start = time.perf_counter()
    # staged apart from the site's sources: a site build may be reading those meanwhile
    staging = site.stage(root, wanted, "student", root / "_build" / "site" / "pdf")
    svg_outputs_as_png(staging)
    number_like_the_site(staging)
    config_file = staging / "_config.yml"
    config = yaml.safe_load(config_file.read_text())
    config["latex"] = LATEX
    config["sphinx"]["config"]["latex_use_xindy"] = False
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    out = root / "_build" / "pdf-build"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(staging), "--builder", "pdflatex",
           "--path-output", str(out)]
    print("[nnbook] " + " ".join(cmd), flush=True)
    done = subprocess.run(cmd, stdout=subprocess.PIPE if quiet else None, stderr=subprocess.STDOUT, text=True)
    made = out / "_build" / "latex" / f"{NAME}.pdf"
    if done.returncode != 0 or not made.is_file():
        if quiet:
            print(done.stdout[-20000:], flush=True)
        raise CourseError(f"the PDF build failed (the LaTeX log: {made.with_suffix('.log')})")
    target = pdf_path(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(made, target)
    print(f"[nnbook] {target} ({target.stat().st_size / 1e6:.1f} MB) built in {time.perf_counter() - start:.0f} s")
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m nnbook.course.build.pdf", description=__doc__.split("\n")[0])
    parser.add_argument("--chapter", action="append", help="only these chapters (default: all)")
    args = parser.parse_args(argv)
    root = repo_root()
    try:
        build(root, chapters(root, args.chapter), quiet=True)
    except CourseError as exc:
        sys.exit(f"[nnbook] error: {exc}")


if __name__ == "__main__":
    main()
