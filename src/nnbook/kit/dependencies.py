"""What a notebook cell binds and reads: enough to know that skipping a demonstration cell
while grading changes nothing a graded cell sees.

The grader skips cells tagged ``heavy`` (demonstrations: plots, long trainings). That is
only safe when no answer or test cell after it reads what it leaves behind, so
:func:`needed_skipped_cells` finds, for every such cell, the names a later answer or test
cell reads that the demonstration *touches*: the names it binds, and the names it reads
that it could change in place (an array, a model, a random generator), but not the
modules, functions and classes the notebook imports or defines, nor builtins.
A demonstration cell that a student's answer reads from is run after all, and the
course's own chapters have none (tested). What this reading cannot see is a change made
through a module (``np.random.seed(0)`` in a demonstration, an unseeded draw in a test),
so chapters seed their tests themselves.
"""

from __future__ import annotations

import ast
import builtins
import functools
import symtable

from nnbook.kit import cells

BUILTINS = set(dir(builtins))


def cell_names(source: str) -> tuple[set[str], set[str]]:
    """(names the cell binds at top level, global names it reads, in nested scopes too)."""
    bound, reads, _ = _facts(source)
    return set(bound), set(reads)


@functools.lru_cache(maxsize=4096)
def _facts(source: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(bound, reads, definitions) of one cell. Cached: this runs for every submission, and
    all but the answer cells are the same in each (0.05 s per ch01 submission uncached)."""
    tree = cells.parse(source)
    bound, reads = _names(tree)
    return frozenset(bound), frozenset(reads), frozenset(_definitions(tree))


def _names(tree: ast.Module | None) -> tuple[set[str], set[str]]:
    if tree is None:
        return set(), set()
    table = symtable.symtable(ast.unparse(tree), "<cell>", "exec")
    bound = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    reads: set[str] = set()
    stack = [(table, True)]
    while stack:
        scope, top = stack.pop()
        for symbol in scope.get_symbols():
            if symbol.is_referenced() and (top or symbol.is_global()):
                reads.add(symbol.get_name())
        stack += [(child, False) for child in scope.get_children()]
    return bound, reads


def _definitions(tree: ast.Module | None) -> set[str]:
    """Names bound by imports and by top-level ``def``/``class``: calling them changes nothing."""
    out: set[str] = set()
    for node in (tree.body if tree else []):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
    return out


def needed_skipped_cells(nb, skip_tags: set[str]) -> dict[int, set[str]]:
    """Cell index -> names that later answer or test cells read from that skippable cell.

    A cell is skippable when it is a code cell tagged with one of ``skip_tags`` and is not
    an nbgrader cell; it is *needed* when the result is not empty.
    """
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    facts = {i: _facts(c.source) for i, c in code}
    names = {i: (bound, reads) for i, (bound, reads, _) in facts.items()}
    definitions = set().union(set(), *(defined for _, _, defined in facts.values()))
    needed: dict[int, set[str]] = {}
    for index, cell in code:
        if not set(cell.metadata.get("tags", [])) & skip_tags or cells.is_graded(cell):
            continue
        bound, reads = names[index]
        touched = bound | (reads - definitions - BUILTINS)
        later = set().union(set(), *(names[other][1] for other, c in code if other > index and cells.is_graded(c)))
        needed[index] = touched & later
    return needed


def cells_to_skip(nb, skip_tags: set[str]) -> list[int]:
    """The skippable cells that no later answer or test cell reads from (grader and self-check)."""
    return [index for index, needs in needed_skipped_cells(nb, skip_tags).items() if not needs]
