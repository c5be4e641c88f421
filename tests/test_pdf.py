"""The PDF of the book (``make pdf``), built here for chapter 1 only (the whole book takes
XeLaTeX minutes per chapter): a named file, its pages, its figures, and no answer in it.

Marked ``pdf``. TeX is installed when missing (``tools/system-deps.sh --pdf``, as root); where it
cannot be, the test fails and says why. ``NNBOOK_SKIP_PDF=<reason>`` skips it, printing the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from nnbook.course.build import pdf
from site_helpers import CHAPTERS, ROOT, secret_lines

pytestmark = pytest.mark.pdf


@pytest.fixture(scope="module")
def book_pdf():
    reason = os.environ.get("NNBOOK_SKIP_PDF")
    if reason:
        print(f"\n[test_pdf] SKIPPED on purpose (NNBOOK_SKIP_PDF): {reason}", file=sys.stderr, flush=True)
        pytest.skip(f"NNBOOK_SKIP_PDF: {reason}")
    if not all(shutil.which(t) for t in ("xelatex", "latexmk", "pdftotext", "pdfimages", "rsvg-convert")):
        done = subprocess.run([str(ROOT / "tools" / "system-deps.sh"), "--pdf"], capture_output=True, text=True)
        if done.returncode != 0 or not shutil.which("xelatex"):
            pytest.fail("TeX is not installed and could not be (tools/system-deps.sh --pdf needs root and apt); "
                        f"set NNBOOK_SKIP_PDF=<reason> to leave this test out:\n{done.stdout}{done.stderr}")
    return pdf.build(ROOT, CHAPTERS[:1])


def _text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_the_pdf_has_a_name_pages_figures_and_no_answer(book_pdf):
    assert book_pdf.name == "nnbook.pdf"
    info = subprocess.run(["pdfinfo", str(book_pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    images = subprocess.run(["pdfimages", "-list", str(book_pdf)], capture_output=True, text=True, check=True)
    figures = len(images.stdout.splitlines()) - 2  # two header lines
    print(f"\n[test_pdf] {book_pdf}: {pages} pages, {figures} images, {book_pdf.stat().st_size / 1e6:.2f} MB")
    assert pages >= 20
    assert figures >= 3, "the chapter's figures are in the PDF"
    text = " ".join(_text(book_pdf).split())
    assert "raise NotImplementedError()" in text, "the exercise stubs are printed"
    assert "graphviz.graphs" not in text and "<Figure size" not in text, "a figure printed as its repr"
    # numbered as the site: the front pages unnumbered, so chapter 1 is chapter 1 (not 7)
    assert "Chapter 1. Optimisation and gradient descent" in text and "Fig. 1.1" in text, "chapter 1 numbered as on the site"
    assert "Fig. 7.1" not in text
    chapter = CHAPTERS[0]
    answers = [line for kind in ("solution", "hidden") for line in secret_lines(chapter, kind)
               if " ".join(line.split()) in text]
    assert not answers, f"answers in the PDF: {answers[:5]}"


def test_the_leak_scanner_reads_the_pdf(book_pdf):
    from nnbook.course.report import leaks

    assert "raise NotImplementedError()" in leaks.artefact_text(book_pdf), "leaks reads a PDF's text"
    assert book_pdf.parent in leaks.student_artefacts(ROOT, ROOT)
    assert leaks.scan(ROOT, [book_pdf]) == []


def test_svg_only_outputs_get_a_png_for_latex(tmp_path):
    """ch03's graphviz drawings are SVG only: the PDF stage adds a PNG (else LaTeX prints the repr)."""
    import base64

    import nbformat

    if not shutil.which("rsvg-convert"):
        pytest.fail("rsvg-convert missing: tools/system-deps.sh --pdf installs librsvg2-bin")
    svg = subprocess.run(["dot", "-Tsvg"], input="digraph { a -> b }", capture_output=True, text=True, check=True).stdout
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("g", outputs=[nbformat.v4.new_output(
        "execute_result", data={"image/svg+xml": svg, "text/plain": "<graphviz.graphs.Digraph at 0x7f>"},
        execution_count=1)])])
    (tmp_path / "chapters").mkdir()
    nbformat.write(nb, tmp_path / "chapters" / "ch99_graph.ipynb")
    assert pdf.svg_outputs_as_png(tmp_path) == 1
    data = nbformat.read(tmp_path / "chapters" / "ch99_graph.ipynb", as_version=4).cells[0].outputs[0].data
    assert base64.b64decode(data["image/png"]).startswith(b"\x89PNG")
