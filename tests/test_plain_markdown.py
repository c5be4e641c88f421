"""The release turns the book's MyST into plain Markdown (nnbook.course.release.plain_markdown).

A sample cell per role and directive; the release of every chapter with no MyST left in any
markdown cell, numbers as the site numbers them and citations as "(Author, Year)"; and a
released notebook opened in JupyterLab in headless Chromium, where the reference and the
citation appear as text (skipped, saying why, without JupyterLab or Chromium).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from nnbook.course.paths import CourseError, chapters
from nnbook.course.release import assignments
from nnbook.course.release import plain_markdown as pm

ROOT = Path(__file__).resolve().parents[1]
MYST_LEFT = pm.MYST_MARKUP
SCREENSHOT = Path("/tmp/myst-shot.png")


@pytest.fixture(scope="module")
def book():
    return pm.book_index(ROOT)


def _plain(book, text):
    cited = []
    return pm.plain_text(book, text, cited), cited


# ---- one sample per kind ----------------------------------------------------------------

def test_eq_role_is_the_numbered_equation(book):
    # eq-ch01-gd is the fourth labelled equation of chapter 1: the site shows "Eq. 1.4"
    assert _plain(book, "the update {eq}`eq-ch01-gd` again")[0] == "the update Eq. 1.4 again"


def test_labelled_display_math_gets_its_number_as_a_tag(book):
    text, _ = _plain(book, "$$ x_{k+1} = x_k - \\eta\\, f'(x_k), $$ (eq-ch01-gd)\n\nafter")
    assert text == "$$ x_{k+1} = x_k - \\eta\\, f'(x_k), \\tag{1.4} $$\n\nafter"
    multiline, _ = _plain(book, "$$\n\\begin{aligned}\na &= b\n\\end{aligned}\n$$ (eq-ch01-differences)")
    assert multiline.endswith("\\end{aligned} \\tag{1.2} $$")


def test_numref_is_the_figure_number(book):
    assert _plain(book, "through {numref}`fig-ch06-graph` is")[0] == "through Fig. 6.1 is"
    assert _plain(book, "{numref}`Figure %s <fig-ch06-graph>`")[0] == "Figure 6.1"


def test_ref_is_the_section_number_and_title(book):
    assert _plain(book, "({ref}`sec-ch05-momentum`)")[0] == "(Section 5.6, *Momentum*)"
    assert _plain(book, "{ref}`that section <sec-ch05-momentum>`")[0] == "that section"


def test_doc_is_the_chapter_number_and_title(book):
    assert _plain(book, "In {doc}`ch04_neurons_mlps` we")[0] == "In Chapter 4, *Neurons, layers and MLPs* we"
    assert _plain(book, "({doc}`set-up <../pages/setup>`)")[0] == "(set-up)"


def test_cite_is_author_year_and_collects_the_keys(book):
    text, cited = _plain(book, "larger {cite}`goodfellow2016`; see {cite}`nocedal2006,salimans2017`.")
    assert text == "larger (Goodfellow et al., 2016); see (Nocedal and Wright, 2006, Salimans et al., 2017)."
    assert cited == ["goodfellow2016", "nocedal2006", "salimans2017"]


def test_term_and_targets(book):
    assert _plain(book, "a {term}`gradient <Gradient>` and a {term}`loss`")[0] == "a gradient and a loss"
    assert _plain(book, "(sec-ch05-momentum)=\n## Momentum\n")[0] == "## Momentum\n"


def test_directives_become_markdown(book):
    figure, _ = _plain(book, "```{figure} img/plot.png\n:alt: a parabola\n:name: fig-x\n\nThe caption, {eq}`eq-ch01-gd`.\n```\n")
    assert figure == "![a parabola](img/plot.png)\n\nThe caption, Eq. 1.4.\n"
    note, _ = _plain(book, "```{note}\nTwo lines\nof text.\n```\nafter")
    assert note == "> **Note**\n>\n> Two lines\n> of text.\nafter"
    titled, _ = _plain(book, ":::{admonition} Work on this chapter\n:class: tip\n\nSee {doc}`ch01_gradient_descent`.\n:::\n")
    assert titled == "> **Work on this chapter**\n>\n> See Chapter 1, *Optimisation and gradient descent*.\n"


def test_code_and_plain_text_are_left_alone(book):
    text = "Plain *text* with $x$ and `code {x}` and\n```python\n# not a heading\n```\n"
    assert _plain(book, text) == (text, [])


def test_unknown_markup_is_a_named_error(book):
    with pytest.raises(CourseError, match=r"\{abbr\}"):
        _plain(book, "{abbr}`MLP (multi-layer perceptron)`")
    with pytest.raises(CourseError, match="no equation labelled 'eq-nowhere'"):
        _plain(book, "{eq}`eq-nowhere`")
    with pytest.raises(CourseError, match="not in references.bib"):
        _plain(book, "{cite}`nobody1999`")


def test_notebook_gets_caption_cells_and_references(book):
    nb = nbformat.read(ROOT / "chapters" / "ch06_tensors.ipynb", as_version=4)
    plain = pm.plain_notebook(book, nb)
    captions = [c for c in plain.cells if pm.CAPTION_TAG in c.metadata.get("tags", [])]
    assert [c.source.split("**")[1] for c in captions] == ["Fig. 6.1", "Fig. 6.2"]
    assert "Eq. 6.1" in captions[0].source  # the caption's own {eq} rewritten
    assert plain.cells[-1].metadata["tags"] == [pm.REFERENCES_TAG]
    assert "- Ian Goodfellow, Yoshua Bengio, and Aaron Courville\\. *Deep Learning*" in plain.cells[-1].source
    assert len(plain.cells) == len(nb.cells) + len(captions) + 1
    assert nb.cells[0].source != plain.cells[0].source or "{" not in nb.cells[0].source  # a copy: nb unchanged
    assert any("{cite}`" in c.source for c in nb.cells)


# ---- the real release of every chapter --------------------------------------------------

@pytest.fixture(scope="module")
def released(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    paths = assignments.release(ROOT, course, chapters(ROOT))
    return course, {p.stem[:4]: nbformat.read(p, as_version=4) for p in paths}


def test_no_myst_left_in_any_released_notebook(released):
    _, notebooks = released
    assert len(notebooks) == len(chapters(ROOT))
    for name, nb in notebooks.items():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown":
                left = MYST_LEFT.findall(cell.source)
                assert not left, f"{name} cell {index} still has MyST: {left}"


def _markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_released_references_carry_the_sites_numbers(released):
    _, notebooks = released
    ch05, ch06 = _markdown(notebooks["ch05"]), _markdown(notebooks["ch06"])
    # the numbers the site shows for these labels (numfig per chapter, multitoc numbering)
    assert "through Fig. 6.1 is mechanical" in ch06
    assert "(chapter 5, Section 5.6, *Momentum*)" in ch06
    assert "the mean BCE Eq. 5.1 of a single" in ch05
    assert "\\tag{5.1} $$" in ch05
    assert "**Fig. 5.1**" in ch05


def test_released_citations_read_author_year_with_a_reference_list(released):
    _, notebooks = released
    ch05 = notebooks["ch05"]
    assert "the answer (Goodfellow et al., 2016)." in _markdown(ch05)
    assert ch05.cells[-1].source.startswith("## References")
    assert "*Deep Learning*" in ch05.cells[-1].source


def test_released_graded_cells_are_nbgraders(released):
    """The rewrite happens before nbgrader: the release's graded cells still validate."""
    course, _ = released
    chapter = chapters(ROOT, ["ch05"])[0]
    released_nb = course / "release" / chapter.assignment / chapter.path.name
    done = assignments.nbgrader(ROOT, course, "validate", str(released_nb), check=False)
    assert "NOTEBOOK PASSED" not in done.stdout  # stubs fail their tests, as released ...
    assert "changed" not in (done.stdout + done.stderr).lower()  # ... but no locked cell changed


# ---- in JupyterLab, in the browser -------------------------------------------------------

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
JUPYTER_LAB = Path(sys.executable).with_name("jupyter-lab")


def _lab_skip_reason() -> str | None:
    for binary, what in ((CHROMIUM, "Debian's chromium"), (CHROMEDRIVER, "Debian's chromium-driver"),
                         (JUPYTER_LAB, "JupyterLab (the student group's `notebook` brings it)")):
        if not binary.is_file():
            return f"{binary} not found: install {what}"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is missing (pip install -r requirements.txt)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lab_settings(folder: Path) -> None:
    """Every cell rendered (not only those scrolled into view), and no news prompt over the page."""
    for extension, name, values in (("notebook-extension", "tracker", {"windowingMode": "none"}),
                                    ("apputils-extension", "notification", {"fetchNews": "false"})):
        target = folder / "@jupyterlab" / extension / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))


def _start_lab(work: Path, tmp: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTER_CONFIG_DIR=str(tmp / "config"))
    _lab_settings(tmp / "settings")
    cmd = [str(JUPYTER_LAB), "--no-browser", f"--port={port}", "--ip=127.0.0.1", "--IdentityProvider.token=",
           "--ServerApp.password=", f"--ServerApp.root_dir={work}", f"--LabApp.user_settings_dir={tmp / 'settings'}",
           f"--LabApp.workspaces_dir={tmp / 'workspaces'}", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:  # CI containers run as root; JupyterLab refuses without this
        cmd.append("--allow-root")
    log = (tmp / "lab.log").open("w")
    lab = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if lab.poll() is not None:
            pytest.fail(f"jupyter lab exited ({lab.returncode}):\n{(tmp / 'lab.log').read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return lab, port
        except OSError:
            time.sleep(0.5)
    lab.terminate()
    pytest.fail(f"jupyter lab did not answer within 120 s:\n{(tmp / 'lab.log').read_text()[-3000:]}")


def test_jupyterlab_shows_references_and_citations_as_text(released, tmp_path):
    reason = _lab_skip_reason()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    course, _ = released
    work = tmp_path / "student"
    shutil.copytree(course / "release" / "ch05", work)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1280,1000"):
        options.add_argument(flag)
    lab, port = _start_lab(work, tmp_path)
    driver = None
    try:
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        driver.set_page_load_timeout(120)
        driver.get(f"http://127.0.0.1:{port}/lab/tree/ch05_training_mlp.ipynb")
        wanted = ("the mean BCE Eq. 5.1 of a single", "the answer (Goodfellow et al., 2016).",
                  "(see Chapter 2, Losses and activations)")
        flat, labels, deadline = "", 0, time.monotonic() + 180
        while time.monotonic() < deadline:
            text = driver.execute_script(
                "return Array.from(document.querySelectorAll('.jp-MarkdownOutput')).map(e => e.innerText).join(' ')")
            flat = " ".join(text.split())
            # a display equation typeset with its \tag carries MathJax's equation-label box
            labels = len(driver.find_elements("css selector", ".jp-MarkdownOutput mjx-container mjx-labels"))
            if all(w in flat for w in wanted) and labels:
                break
            time.sleep(1)
        for w in wanted:
            assert w in flat, f"{w!r} not rendered in JupyterLab"
        assert "{eq}" not in flat and "{cite}" not in flat and "{doc}" not in flat
        assert labels, "no labelled equation typeset with its number"
        driver.execute_script("Array.from(document.querySelectorAll('.jp-MarkdownOutput'))"
                              ".find(e => e.innerText.includes('One neuron learns AND')).scrollIntoView({block: 'start'});")
        time.sleep(1)
        shots = ROOT / "_build" / "screenshots" / "jupyterlab"
        shots.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(shots / "ch05_references.png"))
        shutil.copy2(shots / "ch05_references.png", SCREENSHOT)
    finally:
        if driver is not None:
            driver.quit()
        lab.terminate()
        try:
            lab.wait(timeout=20)
        except subprocess.TimeoutExpired:
            lab.kill()
