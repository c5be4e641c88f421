"""The built book in a real browser: Debian's headless Chromium, driven by selenium.

Each edition is served on localhost and every page is opened in a wide and a narrow
(375 px, phone-sized) window: no console errors, every image loads, every internal link
answers 200, nothing overflows the narrow window sideways, the student pages contain no
answer, and the instructor edition's reference answers open when clicked. Screenshots go
to ``_build/screenshots/<edition>/`` (kept as test artefacts).

Needs /usr/bin/chromium and /usr/bin/chromedriver (``tools/system-deps.sh --browser``);
without them the tests are skipped, saying so. No browser is downloaded.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest

from site_helpers import ROOT, built_site, pages, secret_lines

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SCREENSHOTS = ROOT / "_build" / "screenshots"
WIDE, NARROW = (1280, 900), (375, 812)


def _skip_reason() -> str | None:
    for binary, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not binary.is_file():
            return f"{binary} not found: install Debian's {package} (tools/system-deps.sh --browser)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is missing (pip install -r requirements.txt)"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # the browser drops connections it no longer needs when a page changes


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # Without the background-networking flags Chromium phones home, and a closed network
    # refuses it (console noise, slow starts).
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--hide-scrollbars",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
                 f"--window-size={WIDE[0]},{WIDE[1]}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module", params=["student", "instructor"])
def served(request):
    """``(edition, html folder, base URL, chapters)`` of a site served on localhost."""
    edition = request.param
    html, present = built_site(edition)
    handler = functools.partial(_Quiet, directory=str(html))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    shots = SCREENSHOTS / edition
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    yield edition, html, f"http://127.0.0.1:{server.server_address[1]}/", present
    server.shutdown()


def _size(driver, width, height):
    mobile = width < 600
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})


def _load(driver, url):
    driver.get(url)
    # Wait for MathJax (served by the site) to typeset, so screenshots show the mathematics.
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const wait = () => (window.MathJax && MathJax.startup && MathJax.startup.promise)
            ? MathJax.startup.promise.then(() => done(true), () => done(false)) : done(true);
        if (document.readyState === 'complete') wait(); else window.addEventListener('load', wait);
    """)


def _wait(driver, condition, what: str, timeout: float = 10.0):
    """Wait until ``condition(driver)`` holds; fail with ``what`` after ``timeout`` seconds."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)
    except TimeoutException:
        pytest.fail(f"{what}: not true after {timeout:g} s")


def _console_errors(driver):
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _shot_name(html: Path, page: Path) -> str:
    return str(page.relative_to(html).with_suffix("")).replace("/", "__")


def test_every_page_loads_cleanly_wide_and_narrow(browser, served):
    edition, html, base, _ = served
    driver = browser
    problems, links = [], set()
    for page in pages(html):
        rel = page.relative_to(html).as_posix()
        if rel == "index.html":  # a redirect to pages/intro.html, checked as that page
            continue
        url = base + rel
        for label, (width, height) in (("wide", WIDE), ("narrow", NARROW)):
            _size(driver, width, height)
            _load(driver, url)
            problems += [f"{rel} ({label}): console: {m}" for m in _console_errors(driver)]
            broken = driver.execute_script(
                "return [...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
                ".map(i => i.getAttribute('src'))")
            problems += [f"{rel}: image does not load: {src}" for src in broken]
            if label == "narrow":
                overflow = driver.execute_script(
                    "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
                if overflow > 1:
                    problems.append(f"{rel}: the page is {overflow}px wider than a {width}px window")
            else:
                links |= set(driver.execute_script(
                    "return [...document.querySelectorAll('a[href]')].map(a => a.href)"))
            driver.save_screenshot(str(SCREENSHOTS / edition / f"{_shot_name(html, page)}-{label}.png"))
    for link in sorted(links):
        target, _ = urldefrag(link)
        if not target.startswith(base):
            continue
        try:
            with urllib.request.urlopen(target, timeout=10) as answer:
                status = answer.status
        except urllib.error.HTTPError as error:
            status = error.code
        if status != 200:
            problems.append(f"internal link {urlsplit(target).path} answers {status}")
    assert not problems, "\n".join(problems[:40])
    assert len(list((SCREENSHOTS / edition).glob("*-narrow.png"))) >= 5


def test_student_pages_show_no_answer_and_instructor_answers_unfold(browser, served):
    edition, html, base, present = served
    driver = browser
    _size(driver, *WIDE)
    for chapter in present:
        _load(driver, f"{base}chapters/{chapter.name}.html")
        text = driver.execute_script("return document.body.textContent")
        squashed = " ".join(text.split())
        solutions = secret_lines(chapter, "solution")
        if edition == "student":
            shown = [line for line in solutions + secret_lines(chapter, "hidden") if " ".join(line.split()) in squashed]
            assert not shown, f"{chapter.name}: answers on the student page: {shown[:5]}"
            assert "raise NotImplementedError()" in squashed
            continue
        folds = driver.find_elements("css selector", "details.hide.above-input")
        assert folds, f"{chapter.name}: no folded reference answers"
        code = folds[0].find_element("css selector", "div.cell_input")
        _wait(driver, lambda _: not code.is_displayed(), "reference answers start folded")
        folds[0].find_element("css selector", "summary").click()
        # the fold opens with an animation: the code is displayed a moment after the click
        _wait(driver, lambda _: code.is_displayed(), "clicking the toggle shows the reference answer")
        _wait(driver, lambda _: "BEGIN SOLUTION" in code.text, "the unfolded answer shows its solution region")
        driver.save_screenshot(str(SCREENSHOTS / edition / f"{chapter.name}-answer-open.png"))
        assert "BEGIN HIDDEN TESTS" in squashed, f"{chapter.name}: hidden tests shown to instructors"
