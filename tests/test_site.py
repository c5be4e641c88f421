"""The built book, read as files: no answers in the student site, downloads and launch links
that serve student notebooks, links and images that resolve, the landing page, glossary,
bibliography, numbering, and the instructor edition's folded answers.

The student site is the one ``make test`` builds just before (or a fresh build of every
chapter); the instructor site is built for chapter 1 when missing. See site_helpers.py.
"""

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from nnbook.course.build import editions
from nnbook.course.build import site
from nnbook.course.release.plain_markdown import MYST_MARKUP as MYST_LEFT
from site_helpers import CHAPTERS, ROOT, built_site, leaks, page_text, pages, parse, secret_lines


@pytest.fixture(scope="module")
def student():
    return built_site("student")


@pytest.fixture(scope="module")
def instructor():
    return built_site("instructor")


def secrets(chapters):
    return [line for c in chapters for kind in ("solution", "hidden") for line in secret_lines(c, kind)]


def test_every_chapter_is_in_the_student_site(student):
    html, present = student
    assert present == CHAPTERS


def test_student_site_contains_no_answer_anywhere(student):
    html, present = student
    found = leaks(html, secrets(present))
    assert not found, "answers or hidden tests in the student site:\n" + "\n".join(found[:20])
    search_index = (html / "searchindex.js").read_text()
    assert "BEGIN SOLUTION" not in search_index and "HIDDEN TESTS" not in search_index


def test_every_chapter_offers_its_student_notebook_for_download(student):
    html, present = student
    for chapter in present:
        page = html / "chapters" / f"{chapter.name}.html"
        download = f"../_sources/chapters/{chapter.path.name}"
        assert download in parse(page).hrefs, f"{page.name} has no download link"
        offered = nbformat.read(html / "_sources" / "chapters" / chapter.path.name, as_version=4)
        text = "\n".join(c.source for c in offered.cells)
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
        expected = editions.student_edition(nbformat.read(chapter.path, as_version=4))
        stubs = {c.metadata["nbgrader"]["grade_id"]: c.source for c in expected.cells
                 if c.metadata.get("nbgrader", {}).get("grade_id")}
        offered_stubs = {c.metadata["nbgrader"]["grade_id"]: c.source for c in offered.cells
                         if c.metadata.get("nbgrader", {}).get("grade_id")}
        assert offered_stubs == stubs
        assert any(c.get("outputs") for c in offered.cells), "the download keeps the outputs"
        markdown = "\n".join(c.source for c in offered.cells if c.cell_type == "markdown")
        assert not MYST_LEFT.findall(markdown), f"{chapter.path.name}: the download shows MyST markup raw"


def test_student_notebooks_number_figures_and_equations_as_the_site(student):
    """The plain-Markdown rewrite (release.plain_markdown) numbers every figure and labelled
    equation exactly as the rendered pages do."""
    from nnbook.course.release import plain_markdown

    html, present = student
    book = plain_markdown.book_index(ROOT)
    shown = {}
    for chapter in present:
        page = (html / "chapters" / f"{chapter.name}.html").read_text()
        shown.update(re.findall(r'id="(fig-[^"]+)".*?caption-number">Fig\. ([0-9.]+)', page, re.S))
        shown.update(re.findall(r'id="equation-([^"]+)".*?<span class="eqno">\(([0-9.]+)\)', page, re.S))
    assert len(shown) >= len(present), "figure and equation numbers found in the pages"
    assert {label: book.numbers.get(label) for label in shown} == shown


LAUNCH = re.compile(r"^https://(colab\.research\.google\.com|mybinder\.org)/")


def launch_targets(url):
    """The branch and notebook path a Colab or Binder link opens."""
    if "colab.research.google.com" in url:
        match = re.match(r"https://colab\.research\.google\.com/github/[^/]+/[^/]+/blob/([^/]+)/(.+)$", url)
    else:
        match = re.match(r"https://mybinder\.org/v2/gh/[^/]+/[^/]+/([^?]+)\?urlpath=(?:lab/)?tree/(.+)$", url)
    assert match, f"unexpected launch link {url}"
    return match.group(1), unquote(match.group(2))


@pytest.mark.parametrize("edition", ["student", "instructor"])
def test_launch_links_open_student_notebooks_never_the_sources(edition, request):
    html, present = request.getfixturevalue(edition)
    for page in pages(html):
        links = [h for h in parse(page).hrefs if LAUNCH.match(h)]
        for url in links:
            branch, path = launch_targets(url)
            assert branch == site.STUDENT_BRANCH, f"{page.name}: {url} opens branch {branch!r}"
            assert re.fullmatch(r"chapters/ch\d\d_\w+\.ipynb", path), f"{page.name}: {url}"
        if page.parent.name == "chapters" and any(c.name == page.stem for c in present):
            kinds = {urlsplit(u).netloc for u in links}
            assert kinds == {"colab.research.google.com", "mybinder.org"}, f"{page.name}: {kinds}"
            assert {launch_targets(u)[1] for u in links} == {f"chapters/{page.stem}.ipynb"}


def local_target(page: Path, href: str, html: Path):
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
        return None, None
    target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
    if target.is_dir():
        target = target / "index.html"
    return target, parts.fragment


@pytest.mark.parametrize("edition", ["student", "instructor"])
def test_internal_links_images_and_anchors_resolve(edition, request):
    html, _ = request.getfixturevalue(edition)
    problems, ids = [], {}
    for page in pages(html):
        links = parse(page)
        for href in links.hrefs:
            target, fragment = local_target(page, href, html)
            if target is None:
                continue
            if not target.exists():
                problems.append(f"{page.relative_to(html)}: broken link {href}")
            elif fragment and target.suffix == ".html":
                if target not in ids:
                    ids[target] = set(re.findall(r'id="([^"]+)"', target.read_text(errors="replace")))
                if fragment not in ids[target]:
                    problems.append(f"{page.relative_to(html)}: no anchor #{fragment} in {target.name}")
        for src, alt in links.images:
            target, _ = local_target(page, src, html)
            if target is not None and not target.exists():
                problems.append(f"{page.relative_to(html)}: missing image {src}")
            if not alt or re.search(r"\.(png|svg|jpe?g)$", alt) or alt.startswith("_images"):
                problems.append(f"{page.relative_to(html)}: image {src} has no alt text ({alt!r})")
        for src in links.scripts:
            target, _ = local_target(page, src.split("?")[0], html)
            if target is not None and not target.exists():
                problems.append(f"{page.relative_to(html)}: missing asset {src}")
    assert not problems, "\n".join(problems[:30])


def test_landing_page_says_what_for_whom_and_how(student):
    html, present = student
    intro = html / "pages" / "intro.html"
    text = page_text(intro.read_text())
    for needed in ("Who it is for", "Prerequisites", "The chapters", "How the exercises work",
                   "Self-checks", "hidden tests", "For instructors"):
        assert needed in text, needed
    hrefs = parse(intro).hrefs
    for chapter in present:
        assert f"../chapters/{chapter.name}.html" in hrefs
    assert text.count("(in preparation)") + text.count("(not in this build)") == len(site.toc_chapters(ROOT)) - len(present)
    assert "instructors.html" in hrefs and "setup.html" in hrefs and "glossary.html" in hrefs
    assert (html / "index.html").is_file()


def test_setup_and_instructor_pages(student):
    html, _ = student
    setup_text = page_text((html / "pages" / "setup.html").read_text())
    assert "pip install" in setup_text and "nnbook[student]" in setup_text and "jupyter notebook" in setup_text \
        and "Colab" in setup_text
    guide = page_text((html / "pages" / "instructors.html").read_text())
    included = (ROOT / "docs" / "INSTRUCTORS.md").read_text().splitlines()[0].lstrip("# ").strip()
    assert included in guide, "the instructor guide includes docs/INSTRUCTORS.md"
    assert "student-branch" in guide and "make book-instructor" in guide


def test_glossary_defines_terms_and_pages_link_to_them(student):
    html, _ = student
    glossary = (html / "pages" / "glossary.html").read_text()
    terms = set(re.findall(r'<dt id="(term-[^"]+)"', glossary))
    assert len(terms) >= 25
    linked = {h.split("#")[1] for p in pages(html) for h in parse(p).hrefs if "glossary.html#term-" in h}
    assert linked and linked <= terms


def test_bibliography_lists_every_reference_and_chapters_cite_it(student):
    html, present = student
    keys = re.findall(r"^@\w+\{([^,]+),", (ROOT / "references.bib").read_text(), re.M)
    bibliography = (html / "pages" / "bibliography.html").read_text()
    assert bibliography.count('class="citation"') == len(keys), "one entry per reference in references.bib"
    cited = [p for p in present if "bibliography.html#" in (html / "chapters" / f"{p.name}.html").read_text()]
    assert cited, "chapters link their citations to the bibliography"


def test_figures_and_equations_are_numbered(student):
    html, present = student
    page = (html / "chapters" / f"{present[0].name}.html").read_text()
    assert re.search(r'<span class="caption-number">Fig\. 1\.1', page)
    assert re.search(r'<span class="eqno">\(1\.1\)', page)


def test_mathjax_is_served_by_the_site(student):
    html, _ = student
    page = (html / "pages" / "intro.html").read_text()
    sources = [s for s in parse(html / "chapters" / f"{CHAPTERS[0].name}.html").scripts if "mathjax" in s.lower()]
    assert sources and all(not urlsplit(s).netloc for s in sources), sources
    assert (html / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()
    assert "cdn.jsdelivr.net" not in page


def test_instructor_edition_folds_answers_and_shows_hidden_tests(instructor):
    html, present = instructor
    assert present, "the instructor site has chapters"
    chapter = present[0]
    raw = (html / "chapters" / f"{chapter.name}.html").read_text()
    folded = re.findall(r'<details class="[^"]*\bhide\b[^"]*">(.*?)</details>', raw, re.S)
    assert any("Show the reference answer" in block for block in folded)
    folded_text = page_text(" ".join(folded))
    for line in secret_lines(chapter, "solution"):
        assert re.sub(r"\s+", " ", line) in folded_text, f"reference answer not in a fold: {line}"
    text = page_text(raw)
    for line in secret_lines(chapter, "hidden"):
        assert re.sub(r"\s+", " ", line) in text, f"hidden test not shown: {line}"
    assert "instructor edition" in page_text((html / "pages" / "intro.html").read_text())
