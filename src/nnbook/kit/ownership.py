"""A graded name must be the student's own: defined by the submission's answer cell.

An exercise asks the student to write names (``def gradient_descent``, ``class Value``,
``SEPARABLE = ...``): the names its answer cell binds in the instructor's source. A test
that uses such a name earns nothing when the submission

* does not define it in that answer cell (an emptied cell, a cell that only imports it),
* takes it from ``nnbook`` (``from nnbook.descent import gradient_descent``, an alias
  ``gradient_descent = nnbook.descent.gradient_descent``, a wrapper whose body calls the
  library's ``gradient_descent``), or
* binds it again in another cell of the student's (the last binding is what the test sees).

These checks read the submitted source, outside the kernel, so nothing the student's code
does at run time changes them; like any static reading they can be evaded by code built
from strings at run time (``getattr(__import__("nn" + "book"), ...)``), which the threat
model in docs/INSTRUCTORS.md says. The course's own chapters obey the same rule (tested on
every chapter), so a correct submission never trips them.

The grader reads the graded names from the instructor's source in its gradebook; a released
notebook also carries them in its metadata (``graded_names``, written at release), so the
student's self-check (``python -m nnbook.kit.selfcheck``) warns before submitting.
"""

from __future__ import annotations

import ast

from nnbook.kit import cells

LIBRARY = "nnbook"
METADATA_KEY = "nnbook"  # notebook metadata: {"graded_names": {answer cell id: [names]}}


def bound_names(tree: ast.Module) -> set[str]:
    """Names the cell binds at top level: def, class, assignment, import."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def defined_names(tree: ast.Module) -> set[str]:
    """Names the cell defines itself (def, class, assignment), not ones it imports."""
    imported = {(a.asname or a.name).split(".")[0] for node in tree.body
                if isinstance(node, (ast.Import, ast.ImportFrom)) for a in node.names}
    return {n for n in bound_names(tree) if n not in imported or _also_defined(tree, n)}


def _also_defined(tree: ast.Module, name: str) -> bool:
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name
               for node in tree.body)


def library_uses(tree: ast.Module, names: set[str], dynamic: set[str] | None = None) -> dict[str, str]:
    """Graded names the cell takes from ``nnbook``: name -> how.

    An import of ``nnbook`` by a string (``__import__``, ``import_module``) cannot be traced
    to a name: it counts against the names in ``dynamic`` (default: all of ``names``)."""
    found: dict[str, str] = {}
    library_aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == LIBRARY:
            for alias in node.names:
                for name in {alias.name, alias.asname} & names:
                    found.setdefault(name, f"imports {alias.name} from {node.module}")
                if alias.name != "*":
                    library_aliases.add(alias.asname or alias.name)
            if any(a.name == "*" for a in node.names):
                for name in names:
                    found.setdefault(name, f"imports * from {node.module}")
        elif isinstance(node, ast.Import):
            library_aliases |= {(a.asname or a.name).split(".")[0] for a in node.names
                                if a.name.split(".")[0] == LIBRARY}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None \
                and root_name(node.value) in library_aliases:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in names:
                    found.setdefault(target.id, f"makes {target.id} an alias of the library's {ast.unparse(node.value)}")
        if isinstance(node, ast.Attribute) and node.attr in names and root_name(node.value) in library_aliases:
            found.setdefault(node.attr, f"uses the library's {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"__import__", "import_module"} \
                and node.args and isinstance(node.args[0], ast.Constant) and LIBRARY in str(node.args[0].value):
            for name in sorted(names if dynamic is None else dynamic):
                found.setdefault(name, f"imports {node.args[0].value!r} by name")
    return found


def root_name(node: ast.AST) -> str | None:
    """The name an attribute, subscript or call chain starts from (``a`` in ``a.b[0].c()``)."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def used_names(tree: ast.Module) -> set[str]:
    """Every name the cell reads."""
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def not_own(answers: dict[str, str], graded: dict[str, set[str]], others: list[str]) -> dict[str, str]:
    """Graded names that are not the student's own: name -> why.

    ``answers``: answer cell id -> the submission's source of it; ``graded``: answer cell
    id -> the names the instructor's version of that cell defines; ``others``: the
    submission's other editable code cells.
    """
    problems: dict[str, str] = {}
    every = set().union(*graded.values()) if graded else set()
    for cell_id, names in graded.items():
        tree = cells.parse(answers.get(cell_id, ""))
        if tree is None:
            problems.update({n: f"your answer cell for {n} does not compile" for n in names})
            continue
        for name, how in library_uses(tree, every, dynamic=names).items():
            problems.setdefault(name, f"{name} must be your own, but your answer {how}")
        for name in sorted(names - defined_names(tree)):
            problems.setdefault(name, f"{name} is not defined by your answer cell")
    for index, source in enumerate(others):
        tree = cells.parse(source)
        if tree is None:
            continue
        for name, how in library_uses(tree, every, dynamic=bound_names(tree) & every).items():
            problems.setdefault(name, f"{name} must be your own, but a cell {how}")
        for name in sorted(bound_names(tree) & every):
            problems.setdefault(name, f"{name} is bound again outside its answer cell")
    return problems


def graded_names(nb) -> dict[str, set[str]]:
    """Answer cell id -> the names it defines, for a notebook that still has its answers
    (the instructor's source)."""
    out = {}
    for cell in nb.cells:
        if cells.is_answer_code(cell):
            tree = cells.parse(cell.source)
            if tree is not None:
                out[cells.grade_id(cell)] = defined_names(tree)
    return out


def check_notebook(nb, graded: dict[str, set[str]]) -> dict[str, list[str]]:
    """Grade cell id -> why it would earn nothing, for a student's notebook."""
    answers, others = {}, []
    for cell in nb.cells:
        if not cells.is_student_code(cell):
            continue
        if cells.grade_id(cell) in graded:
            answers[cells.grade_id(cell)] = cell.source
        else:
            others.append(cell.source)
    problems = not_own(answers, graded, others)
    out = {}
    for cell in nb.cells:
        if cells.is_grade(cell) and problems:
            tree = cells.parse(cell.source)
            mine = [problems[n] for n in sorted((used_names(tree) if tree else set()) & set(problems))]
            if mine:
                out[cells.grade_id(cell)] = mine
    return out
