"""Committed chapter outputs that nbval does not compare verbatim, and why that stays safe.

nbval re-runs every chapter and compares each cell's output with the committed one. A few
outputs are exempt from that comparison, by narrow and documented means only (docs/DESIGN.md,
"Outputs that vary with the CPU"):

Cell tags
* ``nbval-ignore-output`` (nbval's own): the cell runs and must not raise, but its output is
  not compared. Only for cells that show a float32 training result whose last digits depend
  on the float kernels torch, oneDNN and MKL pick for the CPU (in ch08: the MLP and CNN
  trainings, the most frequent confusions, the number of mistakes, Fashion-MNIST). Such a
  cell must ``assert`` what the shown number has to satisfy (the CNN reaches 95%, the loss
  falls, the mistakes are the off-diagonal of the confusion matrix), so the claim is tested on
  every machine: checked here.
* ``nbval-skip``: not run by nbval at all; only together with ``skip-execution`` (checked here).
* ``heavy`` exempts nothing from nbval: it only skips a cell while grading.

Rules of ``.ci/nbval-sanitize.cfg`` (regexes replaced in both outputs before comparing): only
what varies between two runs on one machine, each with a comment saying what it hides
(checked here): ``memory-addresses`` (``0x...``), ``tqdm-progress`` (a progress bar line),
``timings-seconds`` ("3 ms per step"), ``elapsed`` ("took 2 s"). No rule may touch a printed
accuracy (checked here).
"""

from __future__ import annotations

import ast
import re

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from nbval.plugin import get_sanitize_patterns

from nnbook.course.paths import chapters, repo_root

ROOT = repo_root()
CHAPTERS = chapters(ROOT)
IGNORE_OUTPUT = "nbval-ignore-output"
SANITIZE = ROOT / ".ci" / "nbval-sanitize.cfg"


def tagged(tag: str):
    """(chapter, cell index, cell) for every code cell of every chapter carrying `tag`."""
    for chapter in CHAPTERS:
        nb = nbformat.read(chapter.path, as_version=4)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and tag in cell.metadata.get("tags", []):
                yield chapter, index, cell


def has_assert(source: str) -> bool:
    """True if the cell's Python (after IPython's magics are transformed) holds an assert statement."""
    tree = ast.parse(TransformerManager().transform_cell(source))
    return any(isinstance(node, ast.Assert) for node in ast.walk(tree))


IGNORED = [pytest.param(cell, id=f"{chapter.assignment}[{index}]") for chapter, index, cell in tagged(IGNORE_OUTPUT)]


@pytest.mark.parametrize("cell", IGNORED or [pytest.param(None, marks=pytest.mark.skip("no cell is tagged"))])
def test_an_output_nbval_ignores_is_asserted_in_its_cell(cell):
    assert has_assert(cell.source), (
        f"a cell tagged {IGNORE_OUTPUT} must assert what its output claims (its output is not compared):\n"
        f"{cell.source}")


def test_has_assert_sees_statements_not_words():
    assert has_assert("x = 1\nassert x == 1, 'x'")
    assert has_assert("%matplotlib inline\nfor i in range(2):\n    assert i < 2")
    assert not has_assert("print('assert')  # assert in a string or a comment is no assert")
    assert not has_assert("x = 1")


def test_every_sanitiser_rule_says_what_it_hides():
    lines = SANITIZE.read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("regex: ")]
    # nbval's own parser must see every rule, or a rule we think is active would be ignored
    assert len(get_sanitize_patterns(SANITIZE.read_text())) == len(starts) > 0
    for i in starts:
        re.compile(lines[i].removeprefix("regex: "))
        above = [line for line in lines[:i] if line.strip()]
        while above and above[-1].startswith("["):  # a section label
            above.pop()
        assert above and above[-1].startswith("#"), f"{lines[i]!r}: put a comment saying what it hides above it"


@pytest.mark.parametrize("cell", [pytest.param(cell, id=f"{chapter.assignment}[{index}]")
                                  for chapter, index, cell in tagged("nbval-skip")]
                         or [pytest.param(None, marks=pytest.mark.skip("no cell is tagged"))])
def test_a_cell_nbval_skips_is_skipped_everywhere(cell):
    assert "skip-execution" in cell.metadata["tags"], "a cell tagged nbval-skip must also be tagged skip-execution"


def test_no_sanitiser_rule_hides_an_accuracy():
    rules = [(re.compile(regex), replace) for regex, replace in get_sanitize_patterns(SANITIZE.read_text())]
    checked = 0
    for chapter in CHAPTERS:
        for cell in nbformat.read(chapter.path, as_version=4).cells:
            for output in cell.get("outputs", []):
                text = output.get("text", "") + output.get("data", {}).get("text/plain", "")
                for line in text.splitlines():
                    if "accuracy" in line and "it/s" not in line:
                        checked += 1
                        for regex, _ in rules:
                            assert not regex.search(line), f"{chapter.assignment}: {regex.pattern!r} hides part of {line!r}"
    assert checked, "no printed accuracy found: is this test still looking at the right outputs?"
