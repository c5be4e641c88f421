"""The book's MyST markup as plain Markdown, for the notebooks a student downloads.

The chapters are written in MyST for the site (``{cite}``, ``{eq}``, ``{numref}``, ``{ref}``,
``{doc}`` roles, labelled display maths ``$$ … $$ (label)``, ``(label)=`` targets, figure
captions in code-cell metadata). Plain Jupyter, VS Code and Colab show that markup raw, so the
release rewrites it into what the site displays (:func:`plain_notebook`), offline and in every
notebook front end; the site keeps MyST.

========================  ==========================================================
MyST                      plain Markdown (numbers as the site numbers them)
========================  ==========================================================
``{eq}`label```           ``Eq. 5.1`` (``math_eqref_format`` of ``_config.yml``)
``$$ … $$ (label)``       ``$$ … \\tag{5.1} $$`` (MathJax shows "(5.1)")
``{numref}`label```       ``Fig. 6.1`` (Sphinx's ``numfig_format``)
``{ref}`label```          ``Section 5.3, *Momentum*`` (the section's number and title)
``{doc}`chNN_name```      ``Chapter 3, *Computational graphs and backpropagation*``
``{cite}`key1,key2```     ``(Nocedal and Wright, 2006, Salimans et al., 2017)`` and a
                          "References" cell at the end listing every work cited
``{term}`text <t>```      ``text``
``(label)=``              removed
figure captions           a markdown cell "**Fig. 3.2** caption" under the figure's cell
directives                ``{figure}`` -> image and caption; ``{note}``, ``{admonition}``
                          and the other admonitions -> a blockquote with a bold title
========================  ==========================================================

Numbering follows Sphinx with the site's settings (``numfig``, ``numfig_secnum_depth: 1``,
``math_numfig``, ``use_multitoc_numbering``): chapters are numbered 1, 2, … through the
numbered parts of ``_toc.yml``; in each chapter the captioned, named figures and the labelled
equations are counted in document order (``Fig. 3.2``, ``(3.2)``), sections by heading level.

The bibliography is parsed by pybtex and citations are formatted by sphinxcontrib-bibtex's own
author-year style (the site's ``bibtex_reference_style``), with round brackets; the reference
list uses pybtex's ``plain`` style, as the site's bibliography page does. The MyST syntax itself
is matched by the regular expressions below: the only MyST parser at hand (markdown-it-py with
mdit-py-plugins) gives tokens, not text to write back, and the chapters use a small,
test-checked subset of MyST (a role or directive outside it raises :class:`CourseError`).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import nbformat
import yaml

from nnbook.course.paths import CourseError, chapters

ROLE = re.compile(r"\{(?P<name>[a-z][a-z0-9:-]*)\}`(?P<body>[^`]*)`")
ROLE_OR_CODE = re.compile(ROLE.pattern + r"|(?P<code>(?P<ticks>`+).+?(?P=ticks))", re.S)
LABELLED_MATH = re.compile(r"\$\$(?P<math>(?:(?!\$\$).)+?)\$\$[ \t]*\((?P<label>[^()\s]+)\)", re.S)
TARGET = re.compile(r"^\((?P<label>[^()\s]+)\)=[ \t]*\n?", re.M)
DIRECTIVE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z][a-z0-9:-]*)\}[ \t]*(?P<arg>[^\n]*)\n"
                       r"(?P<body>.*?)^(?P=fence)[ \t]*$\n?", re.S | re.M)
OPTION = re.compile(r"^:(?P<key>[a-z_-]+):[ \t]*(?P<value>[^\n]*)\n?", re.M)
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
HEADING = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<title>.+?)[ \t]*#*[ \t]*$", re.M)
CODE_FENCE = re.compile(r"^(`{3,}|~{3,})(?!\{).*?^\1[ \t]*$", re.S | re.M)

# Any MyST markup at all: a role, a directive, an equation label after $$, a target. None is
# left in a rewritten notebook (the tests check every released chapter with it).
MYST_MARKUP = re.compile(r"\{[a-z][a-z0-9:-]*\}`|^(?:`{3,}|:{3,})\{|\$\$[ \t]*\([^()\s]+\)|^\([^()\s]+\)=[ \t]*$", re.M)

ADMONITIONS = ("note", "tip", "hint", "important", "warning", "caution", "attention", "danger", "error",
               "seealso")
REFERENCES_TAG = "nnbook-references"
CAPTION_TAG = "nnbook-figure-caption"
# Sphinx's defaults for numfig_format and math_eqref_format, used where _config.yml sets none
NUMFIG_FORMAT = {"figure": "Fig. %s", "section": "Section %s"}
EQREF_FORMAT = "Eq. {number}"


@dataclass
class Book:
    """What the roles refer to, gathered over every chapter."""
    numbers: dict[str, str] = field(default_factory=dict)  # label -> "5.1" (figures, equations, sections)
    kinds: dict[str, str] = field(default_factory=dict)  # label -> "figure" | "equation" | "section"
    titles: dict[str, str] = field(default_factory=dict)  # section label or document -> its title
    chapter_numbers: dict[str, int] = field(default_factory=dict)  # "ch03_backpropagation" -> 3
    captions: dict[str, str] = field(default_factory=dict)  # figure label -> caption
    numfig_format: dict[str, str] = field(default_factory=lambda: dict(NUMFIG_FORMAT))
    eqref_format: str = EQREF_FORMAT
    bib: Path | None = None

    def label(self, label: str, kind: str) -> str:
        if label not in self.numbers or self.kinds[label] != kind:
            raise CourseError(f"no {kind} labelled {label!r} in the book's chapters")
        return self.numbers[label]


def _numbered_chapters(root: Path) -> dict[str, int]:
    """``chapters/chNN_name`` -> its number, as use_multitoc_numbering numbers the toc's parts."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    numbers, n = {}, 0
    for part in toc.get("parts", []):
        for entry in part.get("chapters", []):
            if part.get("numbered"):
                n += 1
                numbers[entry["file"]] = n
    return numbers


def _markdown_title(text: str) -> str | None:
    match = HEADING.search(text)
    return match.group("title") if match else None


def scan_chapter(book: Book, name: str, number: int, nb: nbformat.NotebookNode) -> None:
    """Number the figures, labelled equations and sections of one chapter (its student edition)."""
    figures = equations = 0
    sections = [number]  # the chapter's H1 is section ``number``; H2 -> number.k; H3 -> number.k.j
    pending_targets: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            # targets, headings and labelled equations, in the order they stand in the cell
            events = [(m.start(), "target", m) for m in TARGET.finditer(cell.source)]
            events += [(m.start(), "heading", m) for m in HEADING.finditer(_unfenced(cell.source))]
            events += [(m.start(), "equation", m) for m in LABELLED_MATH.finditer(cell.source)]
            for _, kind, match in sorted(events, key=lambda e: e[0]):
                if kind == "target":
                    pending_targets.append(match.group("label"))
                elif kind == "heading":
                    level = len(match.group("hashes"))
                    if level == 1:
                        book.titles.setdefault(name, match.group("title"))
                    else:
                        sections = _next_section(sections, level)
                    for label in pending_targets:
                        book.numbers[label] = ".".join(map(str, sections))
                        book.kinds[label] = "section"
                        book.titles[label] = match.group("title")
                    pending_targets = []
                else:
                    equations += 1
                    book.numbers[match.group("label")] = f"{number}.{equations}"
                    book.kinds[match.group("label")] = "equation"
        elif cell.cell_type == "code":
            figure = cell.metadata.get("mystnb", {}).get("figure", {})
            if figure.get("name") and figure.get("caption"):  # Sphinx numbers captioned, named figures
                figures += 1
                book.numbers[figure["name"]] = f"{number}.{figures}"
                book.kinds[figure["name"]] = "figure"
                book.captions[figure["name"]] = figure["caption"]


def _unfenced(text: str) -> str:
    """``text`` with fenced code blanked (same length): a ``# comment`` in code is no heading."""
    return CODE_FENCE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def _next_section(current: list[int], level: int) -> list[int]:
    """Section numbers after a heading of ``level`` (2 = ``##``) under ``current``."""
    parents = current[:level - 1] + [1] * (level - 1 - len(current))
    count = current[level - 1] + 1 if len(current) >= level else 1
    return parents + [count]


@lru_cache(maxsize=4)
def _book(root: Path) -> Book:
    from nnbook.course.build.editions import student_edition

    config_file = root / "_config.yml"  # a course without one (the tests' tiny course) keeps Sphinx's defaults
    config = (yaml.safe_load(config_file.read_text()) if config_file.is_file() else None) or {}
    sphinx = (config.get("sphinx") or {}).get("config") or {}
    book = Book(bib=root / "references.bib")
    book.numfig_format.update(sphinx.get("numfig_format") or {})
    book.eqref_format = sphinx.get("math_eqref_format") or EQREF_FORMAT
    numbered = _numbered_chapters(root)
    for chapter in chapters(root):
        number = numbered.get(f"chapters/{chapter.name}")
        if number is None:
            continue
        book.chapter_numbers[chapter.name] = number
        scan_chapter(book, chapter.name, number, student_edition(nbformat.read(chapter.path, as_version=4)))
    for page in (root / "pages").glob("*.md"):
        title = _markdown_title(page.read_text())
        if title:
            book.titles.setdefault(f"pages/{page.stem}", title)
    return book


def book_index(root: Path) -> Book:
    """Numbers and titles of the book at ``root`` (cached per root: releases ask once per chapter)."""
    return _book(root.resolve())


# ---- citations ---------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _bibliography(bib: Path):
    import pybtex.database
    import pybtex.plugin

    data = pybtex.database.parse_file(str(bib))
    plain = pybtex.plugin.find_plugin("pybtex.style.formatting", "plain")()
    return data, plain


def cite(book: Book, keys: list[str]) -> str:
    """``(Author, Year, Author, Year)`` as sphinxcontrib-bibtex's author-year style writes it."""
    import types

    import docutils.nodes
    import pybtex_docutils
    from sphinxcontrib.bibtex.style.referencing import BracketStyle, format_references
    from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle
    from sphinxcontrib.bibtex.style.template import SphinxReferenceInfo

    data, plain = _bibliography(book.bib)
    unknown = [k for k in keys if k not in data.entries]
    if unknown:
        raise CourseError(f"{{cite}} of {unknown}: not in {book.bib.name}")
    formatted = {e.key: e for e in plain.format_entries([data.entries[k] for k in keys])}
    style = AuthorYearReferenceStyle(bracket_parenthetical=BracketStyle(left="(", right=")"))
    # The style builds Sphinx reference nodes; as the LaTeX builder's they carry no link target,
    # and only their text is kept.
    latex = types.SimpleNamespace(name="latex")
    text = format_references(style, "p", [(data.entries[k], formatted[k], SphinxReferenceInfo(latex, "", "", k, None, "", ""))
                                          for k in keys])
    nodes = text.render(pybtex_docutils.Backend())
    return "".join(n.astext() for n in nodes if not isinstance(n, docutils.nodes.raw))


def references_cell(book: Book, keys: list[str]) -> nbformat.NotebookNode:
    """A "References" markdown cell: the works ``keys`` in pybtex's plain style, sorted as it sorts."""
    data, plain = _bibliography(book.bib)
    entries = plain.format_bibliography(data, citations=keys)
    lines = [f"- {' '.join(entry.text.render_as('markdown').split())}" for entry in entries]
    cell = nbformat.v4.new_markdown_cell("## References\n\n" + "\n".join(lines))
    cell.metadata["tags"] = [REFERENCES_TAG]
    return cell


# ---- one markdown text -------------------------------------------------------------------

def _explicit(body: str) -> tuple[str | None, str]:
    """``text <target>`` -> (text, target); ``target`` -> (None, target)."""
    match = EXPLICIT.match(body.strip())
    return (match.group("text"), match.group("target").strip()) if match else (None, body.strip())


def _document(book: Book, target: str) -> str:
    name = target.split("/")[-1].removesuffix(".ipynb").removesuffix(".md")
    if name in book.chapter_numbers:
        return f"Chapter {book.chapter_numbers[name]}, *{book.titles[name]}*"
    page = f"pages/{name}"
    if page in book.titles:
        return f"*{book.titles[page]}*"
    raise CourseError(f"{{doc}} of {target!r}: no such chapter or page")


def _role(book: Book, name: str, body: str, cited: list[str]) -> str:
    text, target = _explicit(body)
    if name in ("cite", "cite:p", "cite:ps"):
        keys = [k.strip() for k in body.split(",") if k.strip()]
        cited.extend(k for k in keys if k not in cited)
        return cite(book, keys)
    if name == "eq":
        return book.eqref_format.format(number=book.label(target, "equation"))
    if name == "numref":
        number = book.label(target, "figure")
        pattern = text or book.numfig_format["figure"]
        return pattern.replace("%s", number).replace("{number}", number)
    if name == "ref":
        if text:
            return text
        return f"Section {book.label(target, 'section')}, *{book.titles[target]}*"
    if name == "doc":
        return text or _document(book, target)
    if name == "term":
        return text or target
    if name == "math":
        return f"${body}$"
    raise CourseError(f"the MyST role {{{name}}} has no plain-Markdown form (nnbook.course.release.plain_markdown)")


def _directive(book: Book, match: re.Match, cited: list[str]) -> str:
    name, arg, body = match.group("name"), match.group("arg").strip(), match.group("body")
    options = dict((m.group("key"), m.group("value").strip()) for m in OPTION.finditer(body))
    content = OPTION.sub("", body).strip("\n")
    content = plain_text(book, content, cited)
    if name == "figure":
        alt = options.get("alt", "")
        label = options.get("name")
        number = f"**{book.numfig_format['figure'] % book.numbers[label]}** " if label in book.numbers else ""
        return f"![{alt}]({arg})\n\n{number}{content}\n"
    if name in ADMONITIONS or name == "admonition":
        title = plain_text(book, arg, cited) if name == "admonition" and arg else name.replace("seealso", "see also").capitalize()
        quoted = "\n".join(f"> {line}".rstrip() for line in content.splitlines())
        return f"> **{title}**\n>\n{quoted}\n"
    if name == "math":
        label = options.get("label")
        tag = f" \\tag{{{book.label(label, 'equation')}}}" if label else ""
        return f"$$\n{content}{tag}\n$$\n"
    raise CourseError(f"the MyST directive {{{name}}} has no plain-Markdown form (nnbook.course.release.plain_markdown)")


def plain_text(book: Book, text: str, cited: list[str]) -> str:
    """``text`` with every MyST role, directive, target and equation label made plain Markdown;
    the keys it cites are appended to ``cited``."""
    text = DIRECTIVE.sub(lambda m: _directive(book, m, cited), text)
    out, start = [], 0
    for fence in CODE_FENCE.finditer(text):  # fenced code is left as written
        out += [_plain_prose(book, text[start:fence.start()], cited), fence.group(0)]
        start = fence.end()
    return "".join(out + [_plain_prose(book, text[start:], cited)])


def _plain_prose(book: Book, text: str, cited: list[str]) -> str:
    text = TARGET.sub("", text)
    text = LABELLED_MATH.sub(lambda m: f"$${m.group('math').rstrip()} \\tag{{{book.label(m.group('label'), 'equation')}}} $$",
                             text)
    # a role, or an inline code span (left alone: matched first from its opening backtick)
    return ROLE_OR_CODE.sub(lambda m: m.group(0) if m.group("code") else _role(book, m.group("name"), m.group("body"), cited),
                            text)


# ---- one notebook ------------------------------------------------------------------------

def plain_notebook(book: Book, nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` without MyST: markdown cells rewritten, each numbered figure's caption
    in a markdown cell under its code cell, and a References cell at the end if anything is cited."""
    nb = copy.deepcopy(nb)
    cited: list[str] = []
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = plain_text(book, cell.source, cited)
        cells.append(cell)
        figure = cell.metadata.get("mystnb", {}).get("figure", {}) if cell.cell_type == "code" else {}
        if figure.get("name") in book.captions:
            number = book.numfig_format["figure"] % book.numbers[figure["name"]]
            caption = nbformat.v4.new_markdown_cell(f"**{number}** {plain_text(book, figure['caption'], cited)}")
            caption.metadata["tags"] = [CAPTION_TAG]
            cells.append(caption)
    nb.cells = cells
    if cited:
        nb.cells.append(references_cell(book, cited))
    return nb


def rewrite_notebooks(root: Path, paths: list[Path]) -> None:
    """Rewrite the notebooks at ``paths`` in place with :func:`plain_notebook`."""
    book = book_index(root)
    for path in paths:
        nbformat.write(plain_notebook(book, nbformat.read(path, as_version=4)), path)
