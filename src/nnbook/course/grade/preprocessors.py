"""nbgrader preprocessors that make autograding trustworthy (wired in nbgrader_config.py).

Sanitize pipeline (before nbgrader's own ``OverwriteCells``):

* :class:`NormalizeMetadata` resets every cell's nbgrader metadata from the gradebook:
  a student who edits points, grade ids, ``grade``/``solution``/``locked`` flags or cell
  types changes nothing; unknown grade ids lose their nbgrader role.

Autograde pipeline (around nbgrader's ``Execute``):

* :class:`SkipHeavyCells` blanks cells tagged ``heavy`` or ``skip-execution`` that are not
  nbgrader cells (demonstrations), unless a later answer or test cell reads what one binds;
  a blanked cell is not sent to the kernel at all.
* :class:`CheckOwnAnswers` marks each grade cell that uses a graded name the submission
  does not define in its own answer cell (:mod:`nnbook.kit.ownership`).
* :class:`InsertSentinels` scans the student's cells (:func:`integrity.scan_cell`: a
  finding flags the submission for review, it never costs points) and inserts the runtime
  sentinel's setup cell before any student code; the sentinel then reports at the start of
  each grade cell, from an IPython ``pre_run_cell`` hook (no extra cell, no extra round trip
  to the kernel: twelve of them were a tenth of grading a ch01 submission).
* :class:`SafeExecute` is nbgrader's ``Execute`` that survives a dead kernel (``os._exit``,
  a segfault, a kill): what ran is kept, nothing after it runs. It caps each cell's output
  and gives up on a kernel that ignores two interrupts in a row.
* :class:`FinalizeGrading` turns every grade cell that did not run, that uses a name the
  student does not own, or that ran after a runtime integrity finding, into a failure (an error output, so ``SaveAutoGrades`` scores it 0:
  nbgrader on its own scores a grade cell without outputs as *passing*, nbgrader#427),
  removes the sentinel's cell and its reports, and writes the reasons to ``metadata.nnbook_grading``.
"""

from __future__ import annotations

import secrets
from contextlib import contextmanager

from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Integer, List, Unicode

from nnbook.kit import ownership
from nnbook.kit import dependencies
from nnbook.course.grade import integrity

SENTINEL_KEY = "nnbook_sentinel"
SKIPPED_KEY = "nnbook_skipped"
NOT_OWN_KEY = "nnbook_not_own"
RAN_KEY = "nnbook_ran"
META_KEY = "nnbook_grading"
TRUNCATED = "\n[... output truncated by the grader ...]\n"


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {}) or {}


def is_grade_cell(cell) -> bool:
    return bool(_nbgrader(cell).get("grade")) and cell.cell_type == "code"


def _state(nb) -> dict:
    return nb.metadata.setdefault(META_KEY, {"reasons": [], "flags": [], "skipped": []})


def _reason(nb, text: str) -> None:
    state = _state(nb)
    if text not in state["reasons"]:
        state["reasons"].append(text)


@contextmanager
def _gradebook_notebook(resources):
    """The gradebook's record of the notebook being graded, or None if it has none."""
    info = resources["nbgrader"]
    with Gradebook(info["db_url"], info.get("course_id", "")) as gb:
        try:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
        except MissingEntry:
            notebook = None
        yield notebook


class NormalizeMetadata(NbGraderPreprocessor):
    """Make the gradebook, not the submission, the authority on nbgrader metadata."""

    def preprocess(self, nb, resources):
        with _gradebook_notebook(resources) as notebook:
            if notebook is None:
                return nb, resources
            grade = {c.name: c for c in notebook.grade_cells}
            solution = {c.name for c in notebook.solution_cells}
            source = {c.name: c for c in notebook.source_cells}
            task = {c.name for c in notebook.task_cells}
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader")
                if not meta:
                    continue
                gid = meta.get("grade_id")
                if gid not in source:
                    # not a cell the instructor made: it gets no nbgrader role at all
                    del cell.metadata["nbgrader"]
                    continue
                src = source[gid]
                if cell.cell_type != src.cell_type:
                    cell.cell_type = src.cell_type
                    if src.cell_type == "code":
                        cell.outputs, cell.execution_count = [], None
                    else:
                        cell.pop("outputs", None)
                        cell.pop("execution_count", None)
                new = {"grade": gid in grade, "solution": gid in solution, "locked": bool(src.locked),
                       "task": gid in task, "grade_id": gid,
                       "schema_version": meta.get("schema_version", 3)}
                if gid in grade:
                    new["points"] = float(grade[gid].max_score)
                if "checksum" in meta:
                    new["checksum"] = meta["checksum"]
                cell.metadata["nbgrader"] = new
        return nb, resources


class SkipHeavyCells(NbGraderPreprocessor):
    """Blank demonstration cells while grading (tags in ``skip_tags``), unless a later
    answer or test cell reads what one leaves behind (:mod:`nnbook.kit.dependencies`):
    then it runs, so a student's answer that uses a demonstration's variable still works."""

    skip_tags = List(Unicode(), ["heavy", "skip-execution"]).tag(config=True)

    def preprocess(self, nb, resources):
        tags = set(self.skip_tags)
        for index in dependencies.cells_to_skip(nb, tags):
            cell = nb.cells[index]
            cell.source = f"# skipped while grading (tagged {', '.join(sorted(set(cell.metadata.get('tags', [])) & tags))})"
            cell.outputs = []
            cell.metadata[SKIPPED_KEY] = True
            _state(nb)["skipped"].append(f"cell {index}")
        return nb, resources


class InsertSentinels(NbGraderPreprocessor):
    """Static scan of student cells, then the runtime sentinel's setup cell, which reports at
    the start of every grade cell (recognised by its source)."""

    def preprocess(self, nb, resources):
        token = "S" + secrets.token_hex(8)
        state = _state(nb)
        state["token"] = token
        for index, cell in enumerate(nb.cells):
            nbg = _nbgrader(cell)
            if cell.cell_type != "code" or nbg.get("locked") or nbg.get("grade"):
                continue  # instructor cells are restored from the source; nothing to scan
            found = integrity.scan_cell(cell.source)
            if found:
                state["flags"].append({"cell": nbg.get("grade_id") or f"cell {index}", "kind": "static",
                                       "findings": found})
                cell.metadata["nnbook_flagged"] = True
        grade_sources = [cell.source for cell in nb.cells if is_grade_cell(cell)]
        nb.cells = [self._cell(integrity.setup_code(token, grade_sources), "setup", "nnbook-setup"), *nb.cells]
        return nb, resources

    @staticmethod
    def _cell(source: str, role: str, cell_id: str) -> NotebookNode:
        return from_dict({"cell_type": "code", "id": cell_id[:64], "source": source, "metadata": {SENTINEL_KEY: role},
                          "outputs": [], "execution_count": None})


class CheckOwnAnswers(NbGraderPreprocessor):
    """Mark the grade cells that use a graded name the submission does not own
    (:mod:`nnbook.kit.ownership`); :class:`FinalizeGrading` scores them 0 and says why."""

    def preprocess(self, nb, resources):
        with _gradebook_notebook(resources) as notebook:
            if notebook is None:
                return nb, resources
            solution_ids = {c.name for c in notebook.solution_cells}
            graded = {}
            for cell in notebook.source_cells:
                tree = ownership.parse(cell.source) if cell.name in solution_ids and cell.cell_type == "code" else None
                if tree is not None:
                    graded[cell.name] = ownership.defined_names(tree)
        problems = ownership.check_notebook(nb, graded)
        for cell in nb.cells:
            if is_grade_cell(cell) and _nbgrader(cell)["grade_id"] in problems:
                cell.metadata[NOT_OWN_KEY] = problems[_nbgrader(cell)["grade_id"]]
        return nb, resources


class SafeExecute(Execute):
    """nbgrader's Execute, hardened: dead kernels, unresponsive kernels, huge outputs."""

    max_output_chars = Integer(200_000, help="output kept per cell (characters)").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._dead = None
        self._timeouts_in_row = 0
        self._sizes: dict[int, int] = {}
        nb, resources = super().preprocess(nb, resources, km=km)
        if self._dead:
            _reason(nb, self._dead)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        skipped = cell.metadata.pop(SKIPPED_KEY, False)  # blanked by SkipHeavyCells: not sent
        if self._dead or cell.cell_type != "code" or skipped:
            return cell, resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except Exception as exc:  # DeadKernelError, lost connection: stop, keep what ran
            from nbclient.exceptions import DeadKernelError

            what = "kernel died" if isinstance(exc, DeadKernelError) else f"kernel failed ({type(exc).__name__})"
            self._dead = f"{what} in {self._label(cell, index)}; later cells did not run"
            cell.outputs.append(from_dict({"output_type": "error", "ename": "KernelDied", "evalue": self._dead,
                                           "traceback": [f"KernelDied: {self._dead}"]}))
            cell.metadata[RAN_KEY] = "died"
            return cell, resources
        cell.metadata[RAN_KEY] = True
        if any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError" for o in cell.outputs):
            self._timeouts_in_row += 1
            if self._timeouts_in_row >= 2:
                self._dead = f"kernel unresponsive after a timeout in {self._label(cell, index)}; later cells did not run"
                try:
                    from jupyter_core.utils import run_sync

                    run_sync(self.km.shutdown_kernel)(now=True)
                except Exception:
                    pass
        else:
            self._timeouts_in_row = 0
        return cell, resources

    @staticmethod
    def _label(cell, index) -> str:
        if cell.metadata.get(SENTINEL_KEY):
            return "the integrity setup cell"
        return _nbgrader(cell).get("grade_id") or f"cell {index}"

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        size = len(str(content.get("text", ""))) + sum(len(str(v)) for v in content.get("data", {}).values())
        size += sum(len(str(t)) for t in content.get("traceback", []) or [])
        used = self._sizes.get(cell_index, 0)
        if used > self.max_output_chars:
            return None
        self._sizes[cell_index] = used + size
        if used + size > self.max_output_chars:
            out = from_dict({"output_type": "stream", "name": "stderr", "text": TRUNCATED})
            outs.append(out)
            self._truncated = True
            return out
        return super().output(outs, msg, display_id, cell_index)


class FinalizeGrading(NbGraderPreprocessor):
    """No credit for what did not run or ran after tampering; record why; drop sentinels."""

    max_text = Integer(20_000).tag(config=True)

    def preprocess(self, nb, resources):
        state = _state(nb)
        token = state.get("token")
        # label of the first grade cell after a runtime integrity finding (a patched check or
        # builtin affects every test that runs after it). Static findings only flag the
        # submission for review: a scan is evadable by construction, so it is evidence for
        # the instructor, never a verdict (docs/INSTRUCTORS.md, threat model).
        tainted_from = None
        cells = []
        for index, cell in enumerate(nb.cells):
            role = cell.metadata.get(SENTINEL_KEY)
            if token and is_grade_cell(cell) and cell.metadata.get(RAN_KEY) in (True, "died"):
                label = _nbgrader(cell)["grade_id"]
                found = integrity.parse_check(cell.get("outputs", []), token)
                if found is None and cell.metadata[RAN_KEY] is True:  # a dead kernel may not have sent it
                    found = ["the integrity check could not run (output suppressed or machinery replaced)"]
                if found:
                    state["flags"].append({"cell": label, "kind": "runtime", "findings": found})
                    tainted_from = tainted_from or label
            if cell.cell_type == "code" and token:  # from every cell: a student may run a copy of a test
                cell.outputs = integrity.without_reports(cell.get("outputs", []), token)
            if role == "setup":
                if cell.metadata.get(RAN_KEY) is True and any(o.get("output_type") == "error" for o in cell.outputs):
                    state["flags"].append({"cell": "setup", "kind": "runtime", "findings": ["integrity setup failed"]})
                continue
            cell.metadata.pop("nnbook_flagged", None)
            ran = cell.metadata.pop(RAN_KEY, None)
            if cell.cell_type == "code":
                self._truncate(nb, cell)
                not_own = cell.metadata.pop(NOT_OWN_KEY, None)
                if is_grade_cell(cell):
                    gid = _nbgrader(cell)["grade_id"]
                    if ran is not True and ran != "died":
                        self._fail(cell, "NotRun", "this test did not run (the kernel stopped before it)")
                    elif not_own:
                        self._fail(cell, "NotYourOwn", "no credit: " + "; ".join(not_own))
                        _reason(nb, f"not the student's own in {gid}: " + "; ".join(not_own))
                    elif tainted_from:
                        self._fail(cell, "IntegrityFlag", "no credit: the submission changes or inspects the "
                                   "grading machinery (flagged for review by the instructor)")
                        if not any(r.startswith("integrity flag: no credit") for r in state["reasons"]):
                            _reason(nb, f"integrity flag: no credit from {gid} on")
                    for out in cell.outputs:
                        if out.get("output_type") == "error" and out.get("ename") == "CellTimeoutError":
                            _reason(nb, f"timeout in {gid}")
                        if out.get("output_type") == "error" and out.get("ename") == "MemoryError":
                            _reason(nb, f"memory limit in {gid}")
                else:
                    for out in cell.outputs:
                        if out.get("output_type") == "error" and out.get("ename") in ("CellTimeoutError", "MemoryError"):
                            what = "timeout" if out.ename == "CellTimeoutError" else "memory limit"
                            _reason(nb, f"{what} in {_nbgrader(cell).get('grade_id') or f'cell {index}'}")
            cells.append(cell)
        nb.cells = cells
        if state["flags"]:
            kinds = sorted({f["kind"] for f in state["flags"]})
            _reason(nb, "integrity flag (" + ", ".join(kinds) + " check)")
        state.pop("token", None)
        return nb, resources

    @staticmethod
    def _fail(cell, ename: str, evalue: str) -> None:
        cell.outputs.append(from_dict({"output_type": "error", "ename": ename, "evalue": evalue,
                                       "traceback": [f"{ename}: {evalue}"]}))

    def _truncate(self, nb, cell) -> None:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and len(out.get("text", "")) > self.max_text:
                out["text"] = out["text"][: self.max_text] + TRUNCATED
                _reason(nb, "output truncated")
            elif TRUNCATED in str(out.get("text", "")):
                _reason(nb, "output truncated")
            for key, value in list(out.get("data", {}).items()):
                if isinstance(value, str) and len(value) > self.max_text and key.startswith("text/"):
                    out["data"][key] = value[: self.max_text] + TRUNCATED
                    _reason(nb, "output truncated")
