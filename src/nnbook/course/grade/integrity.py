"""Integrity checks on student code: a static scan and a runtime sentinel.

Both only *detect*; what is *prevented* is the sandbox's job (:mod:`nnbook.course.grade.sandbox`).
A static finding flags the submission for review and costs nothing: a scan of source text
is evadable by construction, so it is evidence for the instructor, not a verdict. A runtime
finding (a check, builtin or numpy function replaced) zeroes every grade cell from the
first affected one on, since monkeypatching affects every test that runs after it.

* :func:`scan_cell` parses a student cell (IPython magics transformed first) and reports
  imports of ``solutions``, assignments to attributes of numpy, builtins or ``nnbook``,
  rebinding the names the tests use (``assert_close``, ``np``, ...), frame or garbage
  collector introspection (the way to read a hidden test's expected values from the
  calling frame), ``ctypes``, IPython hooks, string literals naming course files, and
  calls of the builtins ``eval``/``exec``/``compile`` (by name or through ``builtins``;
  ``model.eval()`` and ``re.compile`` are other functions).
* :func:`setup_code` is a cell inserted while grading before any student code: it keeps the
  identities of the functions the tests rely on and, from an IPython ``pre_run_cell`` hook,
  reports with a per-run token at the start of each grade cell (recognised by its source)
  any that changed; :func:`parse_check` reads a report, :func:`without_reports` removes them.
"""

from __future__ import annotations

import ast
import hashlib
import json

from nnbook.kit import cells, ownership

PROTECTED_MODULES = {"numpy", "builtins", "nnbook", "sys", "unittest", "importlib", "inspect", "gc"}
PROTECTED_NAMES = {"assert_close", "assert_shape", "compare_with_reference", "decode_cases", "np", "numpy",
                   "AssertionError", "isinstance", "print", "len", "abs", "float", "int", "bool", "callable"}
INTROSPECTION = {("sys", "_getframe"), ("inspect", "currentframe"), ("inspect", "stack"),
                 ("inspect", "getouterframes"), ("inspect", "trace"), ("gc", "get_referrers"),
                 ("gc", "get_objects"), ("sys", "settrace"), ("sys", "setprofile"), ("sys", "modules")}
FRAME_ATTRS = {"f_back", "f_locals", "f_globals", "tb_frame", "gi_frame", "cr_frame", "__closure__"}
IPYTHON_HOOKS = {"events", "ast_transformers", "input_transformers_post", "input_transformers_cleanup",
                 "run_cell", "set_custom_exc", "showtraceback", "user_ns", "user_global_ns", "register_magic_function"}
SUSPICIOUS_STRINGS = ("gradebook", "solutions/", "solutions.", "/source/", "BEGIN HIDDEN", ".ipynb")
FORBIDDEN_IMPORTS = {"solutions": "imports the reference solutions", "ctypes": "imports ctypes",
                     "nbgrader": "imports nbgrader"}


CODE_RUNNERS = {"exec", "eval", "compile"}


def _is_builtin_code_runner(func: ast.AST, aliases: dict) -> bool:
    """``eval(...)``/``exec(...)``/``compile(...)`` by name, or through ``builtins``.

    Methods that share the name (``model.eval()``, ``re.compile``) are not the builtins.
    """
    if isinstance(func, ast.Name):
        return func.id in CODE_RUNNERS
    if isinstance(func, ast.Attribute) and func.attr in CODE_RUNNERS and isinstance(func.value, ast.Name):
        return aliases.get(func.value.id) == "builtins"
    return False


class _Scan:
    """The findings so far, and which local names stand for protected modules."""

    def __init__(self) -> None:
        self.aliases = {m: m for m in PROTECTED_MODULES}  # local name -> protected module
        self.aliases["__builtins__"] = "builtins"
        self.found: list[str] = []

    def note(self, reason: str) -> None:
        if reason not in self.found:
            self.found.append(reason)

    def module_of(self, node: ast.AST) -> str | None:
        """The protected module ``node`` (``np.linalg``, ``builtins``) starts from, if any."""
        return self.aliases.get(ownership.root_name(node))


def _check_import(scan: _Scan, node: ast.Import) -> None:
    for alias in node.names:
        top = alias.name.split(".")[0]
        if top in FORBIDDEN_IMPORTS:
            scan.note(FORBIDDEN_IMPORTS[top])
        if top in PROTECTED_MODULES:
            scan.aliases[(alias.asname or top)] = top
            if alias.asname and alias.asname != top and alias.asname in PROTECTED_NAMES - {"np"}:
                scan.note(f"rebinds {alias.asname!r}")


def _check_import_from(scan: _Scan, node: ast.ImportFrom) -> None:
    top = (node.module or "").split(".")[0]
    if top in FORBIDDEN_IMPORTS:
        scan.note(FORBIDDEN_IMPORTS[top])
    for alias in node.names:
        if top in PROTECTED_MODULES and alias.name in {"testing", "checks", "modules"}:
            scan.aliases[alias.asname or alias.name] = top
        # `from nnbook.kit.checks import assert_close` binds the genuine object: fine
        if (alias.asname or alias.name) in PROTECTED_NAMES and top not in {"nnbook", "numpy"}:
            scan.note(f"rebinds {alias.asname or alias.name!r}")


def _numpy_alias(node: ast.AST) -> bool:
    """``np = numpy`` (or the other way round): a name for the genuine module, not a rebinding."""
    return isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in {"np", "numpy"}


def _check_assignment(scan: _Scan, node: ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete) -> None:
    targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, (ast.Attribute, ast.Subscript)) and scan.module_of(sub):
                scan.note(f"modifies {scan.module_of(sub)} ({ast.unparse(sub)})")
            elif isinstance(sub, ast.Name) and sub.id in PROTECTED_NAMES and isinstance(sub.ctx, (ast.Store, ast.Del)):
                if not (sub.id in {"np", "numpy"} and _numpy_alias(node)):
                    scan.note(f"rebinds {sub.id!r}")


def _check_definition(scan: _Scan, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
    if node.name in PROTECTED_NAMES:
        scan.note(f"rebinds {node.name!r}")


def _check_call(scan: _Scan, node: ast.Call) -> None:
    func = node.func
    name = func.id if isinstance(func, ast.Name) else (func.attr if isinstance(func, ast.Attribute) else "")
    first = node.args[0] if node.args else None
    if name in {"setattr", "delattr"} and first is not None and scan.module_of(first):
        scan.note(f"modifies {scan.module_of(first)} with {name}()")
    if name in {"__import__", "import_module"} and isinstance(first, ast.Constant) \
            and str(first.value).split(".")[0] in FORBIDDEN_IMPORTS:
        scan.note(FORBIDDEN_IMPORTS[str(first.value).split(".")[0]])
    if _is_builtin_code_runner(func, scan.aliases):
        scan.note(f"calls {name}()")


def _check_attribute(scan: _Scan, node: ast.Attribute) -> None:
    root = scan.module_of(node.value) if isinstance(node.value, (ast.Name, ast.Attribute)) else None
    if isinstance(node.value, ast.Name) and (root or node.value.id, node.attr) in INTROSPECTION:
        scan.note(f"introspects the interpreter ({ast.unparse(node)})")
    if node.attr in FRAME_ATTRS:
        scan.note(f"introspects frames ({node.attr})")
    if node.attr in IPYTHON_HOOKS and "get_ipython" in ast.unparse(node.value):
        scan.note(f"changes IPython ({node.attr})")


def _check_name(scan: _Scan, node: ast.Name) -> None:
    if node.id == "__builtins__":
        scan.note("uses __builtins__")


def _check_string(scan: _Scan, node: ast.Constant) -> None:
    if isinstance(node.value, str):
        for needle in SUSPICIOUS_STRINGS:
            if needle in node.value:
                scan.note(f"names course files ({needle!r})")


# what each kind of syntax node is checked for (one small check per kind)
CHECKS = {
    ast.Import: _check_import, ast.ImportFrom: _check_import_from,
    ast.Assign: _check_assignment, ast.AugAssign: _check_assignment, ast.AnnAssign: _check_assignment,
    ast.Delete: _check_assignment,
    ast.FunctionDef: _check_definition, ast.AsyncFunctionDef: _check_definition, ast.ClassDef: _check_definition,
    ast.Call: _check_call, ast.Attribute: _check_attribute, ast.Name: _check_name, ast.Constant: _check_string,
}


def scan_cell(source: str) -> list[str]:
    """Why this student cell is suspicious (an empty list when it is not)."""
    tree = cells.parse(source)
    if tree is None:
        return []
    scan = _Scan()
    for node in ast.walk(tree):  # breadth first: an import is seen before the names it binds are used
        check = CHECKS.get(type(node))
        if check is not None:
            check(scan, node)
    return scan.found


# --------------------------------------------------------------------------- runtime
_SETUP = r'''
def _nnbook_sentinel(token, grade_cells):
    import builtins, sys, json, hashlib
    import numpy, numpy.testing
    import nnbook.kit.checks as checks
    skip = {"input", "raw_input", "exit", "quit", "help", "copyright", "credits", "license", "display", "get_ipython"}
    watched = []
    for name, value in list(vars(builtins).items()):
        if (not name.startswith("_") or name in ("__import__", "__build_class__")) and name not in skip:
            watched.append((builtins, "builtins", name, value))
    for name in dir(numpy.testing):
        if not name.startswith("_"):
            watched.append((numpy.testing, "numpy.testing", name, getattr(numpy.testing, name)))
    for name in ("allclose", "isclose", "asarray", "array", "shape", "array_equal", "array2string",
                 "all", "any", "abs", "isnan", "ndarray", "testing", "float64"):
        watched.append((numpy, "numpy", name, getattr(numpy, name)))
    for name, value in list(vars(checks).items()):
        if callable(value) and not name.startswith("__"):
            watched.append((checks, "nnbook.kit.checks", name, value))
    modules = {name: sys.modules.get(name) for name in ("builtins", "numpy", "numpy.testing", "nnbook.kit.checks", "json")}
    # the notebook names tests rely on: the public checks (a chapter may have its own _helper)
    genuine = {name: value for _, where, name, value in watched if where == "nnbook.kit.checks" and name in checks.__all__}
    genuine.update(np=numpy, numpy=numpy)
    missing = object()
    dumps, getattr_, print_ = json.dumps, getattr, print
    shell = get_ipython()

    def check():
        bad = []
        for owner, where, name, value in watched:
            if getattr_(owner, name, missing) is not value:
                bad.append(where + "." + name)
        for name, module in modules.items():
            if sys.modules.get(name) is not module:
                bad.append("sys.modules[" + repr(name) + "]")
        user = shell.user_ns
        for name, value in genuine.items():
            if name in user and user[name] is not value:
                bad.append("notebook name " + name)
        if "solutions" in sys.modules or any(m.startswith("solutions.") for m in list(sys.modules)):
            bad.append("solutions imported")
        print_(token + " " + dumps(bad[:20]))
        flush()

    # the digests of the grade cells' sources: a cell with that very source (the grade cell,
    # or a student's copy of a public test cell) reports when it starts
    flush, sha256 = sys.stdout.flush, hashlib.sha256

    def before_cell(info):
        if sha256(info.raw_cell.encode()).hexdigest() in grade_cells:
            check()

    shell.events.register("pre_run_cell", before_cell)


_nnbook_sentinel(__TOKEN__, __DIGESTS__)
del _nnbook_sentinel
'''


def setup_code(token: str, grade_sources: list[str]) -> str:
    """The sentinel's cell; ``grade_sources``: the source of each grade cell."""
    digests = sorted({hashlib.sha256(source.encode()).hexdigest() for source in grade_sources})
    return _SETUP.replace("__TOKEN__", repr(token)).replace("__DIGESTS__", repr(digests))


def without_reports(outputs: list, token: str) -> list:
    """``outputs`` without the sentinel's report lines (and without streams left empty)."""
    kept = []
    for out in outputs:
        if out.get("output_type") == "stream" and token in out.get("text", ""):
            lines = out["text"].splitlines(keepends=True)
            out["text"] = "".join(line for line in lines if not line.startswith(token + " "))
            if not out["text"]:
                continue
        kept.append(out)
    return kept


def parse_check(outputs: list, token: str) -> list[str] | None:
    """The violations the sentinel reported in a grade cell's outputs, or None when it
    reported nothing."""
    for out in outputs:
        if out.get("output_type") == "stream":
            for line in out.get("text", "").splitlines():
                parts = line.split(" ", 1)
                if len(parts) == 2 and parts[0] == token:
                    try:
                        return list(json.loads(parts[1]))
                    except ValueError:
                        return None
    return None
