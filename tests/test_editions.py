"""The student and instructor editions of a chapter, the staged table of contents, the
launch links and the student branch: everything the book does to a notebook before
Jupyter Book sees it. No book is built here."""

import re

import nbformat
import pytest
import yaml

from nnbook.course.release import assignments, student_branch
from nnbook.course.build import editions
from nnbook.course.build import site
from nnbook.course.paths import chapters
from site_helpers import CHAPTERS, ROOT, leaks, secret_lines

CH01 = CHAPTERS[0]


def source(chapter=CH01):
    return nbformat.read(chapter.path, as_version=4)


def graded(nb):
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade_id")}


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """Chapter 1 released by nbgrader, as a student receives it."""
    course = tmp_path_factory.mktemp("course")
    (path,) = assignments.release(ROOT, course, [CH01])
    return course, nbformat.read(path, as_version=4)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.assignment for c in CHAPTERS])
def test_student_edition_has_stubs_and_no_answers(chapter):
    nb = editions.student_edition(source(chapter))
    text = "\n".join(c.source for c in nb.cells)
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    for line in secret_lines(chapter, "solution") + secret_lines(chapter, "hidden"):
        assert line not in text
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source, cell.metadata["nbgrader"]["grade_id"]


def test_secret_lines_are_found():
    # Otherwise every leak test below passes vacuously.
    assert secret_lines(CH01, "solution"), "chapter 1 has solution lines to look for"
    assert secret_lines(CH01, "hidden"), "chapter 1 has hidden-test lines to look for"


def test_student_edition_shows_exactly_the_released_stubs(released):
    _, release = released
    student = graded(editions.student_edition(source()))
    release_cells = graded(release)
    assert set(student) == set(release_cells)
    for grade_id, cell in release_cells.items():
        assert student[grade_id].source == cell.source, f"{grade_id} differs from the release"


def test_student_edition_keeps_the_outputs_of_a_correct_answer():
    src, student = source(), editions.student_edition(source())
    assert [len(c.get("outputs", [])) for c in student.cells] == [len(c.get("outputs", [])) for c in src.cells]
    assert sum(len(c.get("outputs", [])) for c in student.cells) > 0


def test_student_edition_drops_instructor_only_cells_and_refuses_stray_markers():
    nb = source()
    nb.cells.append(nbformat.v4.new_markdown_cell("grading notes", metadata={"tags": ["instructor-only"]}))
    assert "grading notes" not in "\n".join(c.source for c in editions.student_edition(nb).cells)
    # A hidden test in a cell without nbgrader metadata must stop the build, not leak.
    nb.cells.append(nbformat.v4.new_code_cell("### BEGIN HIDDEN TESTS\nassert answer == 42\n### END HIDDEN TESTS"))
    with pytest.raises((ValueError, RuntimeError), match="non-grade cell|missing nbgrader metadata"):
        editions.student_edition(nb)


def test_instructor_edition_folds_solutions_and_shows_hidden_tests():
    nb = editions.instructor_edition(source())
    text = "\n".join(c.source for c in nb.cells)
    assert "BEGIN HIDDEN TESTS" in text and "BEGIN SOLUTION" in text
    solutions = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert solutions
    for cell in solutions:
        assert "hide-input" in cell.metadata["tags"]
        assert cell.metadata["mystnb"]["code_prompt_show"] == "Show the reference answer"


def test_toc_lists_every_chapter_in_order():
    entries = site.toc_chapters(ROOT)
    numbers = [e.split("/")[1][:4] for e in entries]
    assert numbers == [f"ch{i:02d}" for i in range(1, len(numbers) + 1)], "chapters numbered 1, 2, ... in order"
    assert set(numbers) >= {c.assignment for c in chapters(ROOT)}, "every chapter notebook is in _toc.yml"
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    assert {"pages/setup", "pages/glossary", "pages/bibliography", "pages/instructors"} <= set(site._toc_files(toc))


def test_absent_chapters_get_a_placeholder_page():
    entries = site.toc_chapters(ROOT)
    page = site.placeholder_page(ROOT, entries[-1])
    assert page.startswith("# ") and "{note}" in page
    note = "left out of this build" if (ROOT / f"{entries[-1]}.ipynb").is_file() else "being written"
    assert note in page


def test_chapter_map_links_built_chapters_and_announces_the_others():
    entries = site.toc_chapters(ROOT)
    text = site.chapter_map(ROOT, {entries[0]})
    assert f"{{doc}}`../{entries[0]}`" in text
    assert all(f"<../{entry}>" in text for entry in entries[1:])
    absent = text.count("(in preparation)") + text.count("(not in this build)")
    assert absent == len(entries) - 1
    assert text.count("\n   - ") >= 2 * len(entries), "every chapter lists its learning objectives"


def test_launch_links_open_the_student_branch_never_the_sources():
    links = site.launch_links(ROOT, "chapters/ch01_gradient_descent.ipynb")
    assert links["colab"].endswith("/blob/student/chapters/ch01_gradient_descent.ipynb")
    assert "/student?" in links["binder"]
    for url in links.values():
        assert "/main" not in url and "/blob/main/" not in url
    cell = site.launch_cell(ROOT, CH01)
    assert links["colab"] in cell.source and links["binder"] in cell.source
    assert f"_sources/chapters/{CH01.path.name}" in cell.source


def test_student_branch_is_written_from_the_release(released, tmp_path):
    course, _ = released
    dest = tmp_path / "student"
    (dest / ".git").mkdir(parents=True)
    (dest / "stale.txt").write_text("from an older publication")
    (written,) = student_branch.student_branch(ROOT, dest, [CH01], course=course)
    assert written == dest / "chapters" / CH01.path.name
    assert (dest / ".git").is_dir() and not (dest / "stale.txt").exists()
    nb = nbformat.read(written, as_version=4)
    assert student_branch.INSTALL_CELL_TAG in nb.cells[0].metadata["tags"]
    assert (dest / "requirements.txt").read_text().startswith("nnbook[student] @ git+https://github.com/")
    assert (dest / "apt.txt").read_text().strip() == "graphviz"
    assert not leaks(dest, secret_lines(CH01, "solution") + secret_lines(CH01, "hidden"))


def test_student_branch_refuses_a_release_with_answers(released, tmp_path):
    course, _ = released
    bad = tmp_path / "course"
    target = bad / "release" / CH01.assignment / CH01.path.name
    target.parent.mkdir(parents=True)
    target.write_text(CH01.path.read_text())
    with pytest.raises(site.CourseError, match="solutions or hidden tests"):
        student_branch.student_branch(ROOT, tmp_path / "out", [CH01], course=bad)


def test_leak_detector_finds_a_planted_solution(tmp_path):
    (tmp_path / "chapters").mkdir()
    line = secret_lines(CH01, "solution")[0]
    code = "".join(f'<span class="n">{token}</span>' for token in re.split(r"(\W)", line) if token)
    (tmp_path / "chapters" / "page.html").write_text(f"<html><pre>{code}</pre></html>")
    assert leaks(tmp_path, [line]) == [f"chapters/page.html: {line}"]


# Colormaps that mislead readers with a colour-vision deficiency (or everyone: rainbow maps
# invent boundaries). Sequential: viridis family; diverging: RdBu, PuOr, BrBG.
FORBIDDEN_CMAPS = {"jet", "rainbow", "hsv", "gist_rainbow", "nipy_spectral", "gist_ncar",
                   "RdYlGn", "RdYlGn_r", "Spectral", "Spectral_r", "RdGy", "prism", "flag"}
CMAP = re.compile(r"""cmap\s*=\s*["']([\w.]+)["']|get_cmap\(\s*["']([\w.]+)["']|colormaps\[\s*["']([\w.]+)["']""")


@pytest.mark.parametrize("path", sorted((ROOT / "chapters").glob("*.ipynb")) + [ROOT / "src/nnbook/plots.py"],
                         ids=lambda p: p.name)
def test_figures_use_colour_blind_safe_colormaps(path):
    text = path.read_text()
    used = {name for groups in CMAP.findall(text) for name in groups if name}
    assert not used & FORBIDDEN_CMAPS, f"{path.name} uses {sorted(used & FORBIDDEN_CMAPS)}; use viridis/cividis or RdBu"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.assignment for c in CHAPTERS])
def test_every_figure_has_alt_text_and_a_caption(chapter):
    missing = []
    for index, cell in enumerate(source(chapter).cells):
        images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})
                  or "image/svg+xml" in o.get("data", {})]
        if not images:
            continue
        mystnb = cell.metadata.get("mystnb", {})
        if not mystnb.get("image", {}).get("alt") or not mystnb.get("figure", {}).get("name"):
            missing.append(index)
    assert not missing, (f"{chapter.path.name}: cells {missing} draw a figure without "
                         'metadata {"mystnb": {"image": {"alt": ...}, "figure": {"caption": ..., "name": ...}}}')
