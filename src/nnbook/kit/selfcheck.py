"""Check your notebook before you submit it: ``python -m nnbook.kit.selfcheck chNN_name.ipynb``.

Runs the notebook from top to bottom in a fresh kernel (as the grader does), then lists
every test cell: passed, or failed with the message that says why. Only the public tests
are in your notebook; the grader adds hidden tests that try more inputs, so passing here
is necessary, not sufficient. A test that uses a name your answer cell does not define
itself (imported from ``nnbook``, say, or bound again in another cell) fails here as it
would when graded. Cells tagged ``skip-execution`` are skipped, and so are
cells tagged ``heavy`` with ``--skip-heavy``, as the grader does (unless your answer
reads a variable one of them sets).
Each test cell is printed as it finishes. The kernel talks over Unix sockets, as when
graded (no network port is opened).
Exit status: 0 when every test passed, 1 when one failed, 2 when the notebook cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nnbook.kit import cells, dependencies, ownership


class UnreadableNotebook(ValueError):
    """The file is not a notebook (not JSON, or not nbformat)."""


def _read(path: Path):
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several types for a file that is no notebook
        raise UnreadableNotebook(f"{path} is not a readable notebook ({type(exc).__name__}); "
                                 "open it in Jupyter and save it again, or download it afresh") from None


def run(path: Path, timeout: int = 120, skip_heavy: bool = False, kernel: str | None = None,
        progress=None) -> list[dict]:
    """Run the notebook; ``progress(cell)`` is called as each test cell finishes."""
    from nbclient import NotebookClient

    from nnbook.kit.kernel_sockets import UnixSocketKernelManager  # as graded: no TCP port

    nb = _read(path)
    skip = {"skip-execution"} | ({"heavy"} if skip_heavy else set())
    for index in dependencies.cells_to_skip(nb, skip):  # as the grader: a demo an answer reads from runs
        nb.cells[index].source = "# skipped by the self-check"
    client = NotebookClient(nb, timeout=timeout, allow_errors=True, interrupt_on_timeout=True,
                            kernel_name=kernel or nb.metadata.get("kernelspec", {}).get("name", "python3"),
                            kernel_manager_class=UnixSocketKernelManager,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    if progress is not None:
        def on_cell_executed(cell, **_):
            if cells.is_grade(cell):
                progress(cell)
        client.on_cell_executed = on_cell_executed
    died = None
    try:
        client.execute()
    except Exception as exc:  # the kernel died: report what ran
        died = f"{type(exc).__name__}: {exc}"
    graded = {cell: set(names) for cell, names in
              nb.metadata.get(ownership.METADATA_KEY, {}).get("graded_names", {}).items()}
    not_own = ownership.check_notebook(nb, graded) if graded else {}
    results = []
    for cell in nb.cells:
        if not cells.is_grade(cell):
            continue
        meta = cells.nbgrader(cell)
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        ran = cell.get("execution_count") is not None
        if meta.get("grade_id") in not_own:
            errors = [{"ename": "NotYourOwn", "evalue": "the grader gives no credit: "
                       + "; ".join(not_own[meta["grade_id"]])}]
        if errors:
            message = f"{errors[0].get('ename')}: {errors[0].get('evalue')}".rstrip(": ")
            if errors[0].get("ename") == "NotImplementedError" and not errors[0].get("evalue"):
                message += " (not answered yet: replace `raise NotImplementedError()` with your code)"
        elif not ran:
            message = f"did not run ({died or 'the kernel stopped before this cell'})"
        else:
            message = ""
        results.append({"test": meta.get("grade_id", "?"), "points": meta.get("points", 0),
                        "passed": ran and not errors, "message": message})
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m nnbook.kit.selfcheck", description=__doc__.splitlines()[0])
    p.add_argument("notebook", type=Path, help="your notebook, e.g. ch01_gradient_descent.ipynb")
    p.add_argument("--timeout", type=int, default=120, help="seconds per cell (default 120)")
    p.add_argument("--skip-heavy", action="store_true", help="skip cells tagged heavy, as the grader does")
    args = p.parse_args(argv)
    if args.notebook.is_dir():
        print(f"{args.notebook} is a folder: give the notebook file, e.g. {args.notebook}/chNN_name.ipynb",
              file=sys.stderr)
        return 2
    if not args.notebook.is_file():
        print(f"no such notebook: {args.notebook}", file=sys.stderr)
        return 2
    print(f"running {args.notebook} (this executes every cell) ...", flush=True)

    def ran(cell):
        print(f"  ran test cell {cell.metadata['nbgrader'].get('grade_id', '?')}", flush=True)
    try:
        results = run(args.notebook, args.timeout, args.skip_heavy, progress=ran)
    except UnreadableNotebook as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if not results:
        print("this notebook has no test cells")
        return 0
    for r in results:
        mark = "PASS" if r["passed"] else "FAIL"
        print(f"[{mark}] {r['test']} ({r['points']:g} pt)" + ("" if r["passed"] else f"\n       {r['message']}"))
    passed = sum(r["passed"] for r in results)
    print(f"{passed}/{len(results)} public test cells pass. Hidden tests run when your notebook is graded.")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
