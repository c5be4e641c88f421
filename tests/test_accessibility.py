"""Accessibility of the student site: axe-core's rules in the real browser, on every page.

axe-core 4 (npm, installed by ``tools/axe.sh`` into ``_build/.npm``) is injected into each page
of the student site opened in Debian's headless Chromium (the set-up of test_browser.py), after
MathJax has typeset. No page may have a critical or serious violation (WCAG 2 A/AA and best
practices, colour contrast included). The counts per page and impact are written to
``_build/accessibility.json`` and printed (``-s``).
"""

from __future__ import annotations

import functools
import json
import subprocess
import threading
from collections import Counter

import pytest

from site_helpers import ROOT, built_site, pages
from test_browser import WIDE, _Quiet, _Server, _load, _size, _skip_reason, browser  # noqa: F401 (fixture)

REPORT = ROOT / "_build" / "accessibility.json"
FORBIDDEN = ("critical", "serious")

pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


@pytest.fixture(scope="module")
def axe_source() -> str:
    done = subprocess.run([str(ROOT / "tools" / "axe.sh")], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"axe-core could not be installed (tools/axe.sh): {done.stderr}")
    with open(done.stdout.strip()) as fh:
        return fh.read()


@pytest.fixture(scope="module")
def student_site():
    html, _ = built_site("student")
    server = _Server(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield html, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


AXE_RUN = """
    const done = arguments[arguments.length - 1];
    axe.run(document, {resultTypes: ['violations']})
       .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                               targets: v.nodes.map(n => n.target.join(' ')).slice(0, 3),
                                               nodes: v.nodes.length}))))
       .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), targets: [], nodes: 1}]));
"""


def test_no_page_has_a_critical_or_serious_violation(browser, student_site, axe_source):  # noqa: F811
    html, base = student_site
    browser.set_script_timeout(120)
    _size(browser, *WIDE)
    report, problems = {}, []
    for page in pages(html):
        rel = page.relative_to(html).as_posix()
        if rel == "index.html":  # a redirect to pages/intro.html
            continue
        _load(browser, base + rel)
        browser.execute_script(axe_source)
        violations = browser.execute_async_script(AXE_RUN)
        report[rel] = {"counts": dict(Counter(v["impact"] for v in violations for _ in range(v["nodes"]))),
                       "violations": violations}
        problems += [f"{rel}: {v['impact']} {v['id']} ({v['help']}) x{v['nodes']}: {v['targets']}"
                     for v in violations if v["impact"] in FORBIDDEN]
    REPORT.write_text(json.dumps(report, indent=1))
    print("\n[axe] violations (nodes) per page:")
    for rel, found in report.items():
        print(f"[axe]   {rel}: {found['counts'] or 'none'}")
    assert len(report) >= 5
    assert not problems, "\n".join(problems[:40])
