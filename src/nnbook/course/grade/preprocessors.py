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

What one preprocessor tells a later one (a cell blanked, a cell that ran, a grade cell that
uses a name not the student's own, the sentinel's cell and token, the reasons and flags so
far) travels in nbgrader's ``resources`` as one :class:`GradingRecord` per notebook, never in
cell metadata: nbgrader's stock preprocessors (``ClearMetadataPreprocessor`` included) may
run anywhere in the pipeline. Only :class:`FinalizeGrading` writes into the notebook: the
record's reasons, flags and skipped cells, in ``metadata.nnbook_grading``.
"""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field

from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Integer, List, Unicode

from nnbook.kit import cells, ownership
from nnbook.kit import dependencies
from nnbook.course.grade import integrity, limits

META_KEY = "nnbook_grading"  # the record's key in resources, and in the graded notebook's metadata
TRUNCATED = limits.TRUNCATED


@dataclass
class GradingRecord:
    """What the preprocessors learn about one notebook while it is graded (in ``resources``).

    Cells are told apart by identity: every preprocessor changes cells in place, and the
    sentinel's setup cell shifts every index by one.
    """

    reasons: list[str] = field(default_factory=list)  # why a score is what it is (export, feedback)
    flags: list[dict] = field(default_factory=list)  # integrity findings, for review
    skipped: list[str] = field(default_factory=list)  # demonstrations blanked, "cell <index>"
    token: str = ""  # the sentinel's per-run token ('' before InsertSentinels)
    not_own: dict[str, list[str]] = field(default_factory=dict)  # grade id -> graded names not the student's
    setup: NotebookNode | None = None  # the sentinel's setup cell
    _blanked: list = field(default_factory=list)  # cells not sent to the kernel
    _ran: list = field(default_factory=list)  # (cell, True | "died")

    def reason(self, text: str) -> None:
        if text not in self.reasons:
            self.reasons.append(text)

    def blank(self, cell) -> None:
        self._blanked.append(cell)

    def blanked(self, cell) -> bool:
        return any(c is cell for c in self._blanked)

    def mark_ran(self, cell, how: bool | str = True) -> None:
        """``how``: True (it ran to its end), ``"died"`` (the kernel died in it)."""
        self._ran.append((cell, how))

    def ran(self, cell) -> bool | str | None:
        return next((how for c, how in self._ran if c is cell), None)

    def is_setup(self, cell) -> bool:
        return self.setup is not None and cell is self.setup

    def published(self) -> dict:
        """What the graded notebook keeps (``metadata.nnbook_grading``), read back by the worker."""
        return {"reasons": list(self.reasons), "flags": list(self.flags), "skipped": list(self.skipped)}


def record(resources) -> GradingRecord:
    """This notebook's record (made by the first preprocessor that asks)."""
    if resources.get(META_KEY) is None:
        resources[META_KEY] = GradingRecord()
    return resources[META_KEY]


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

    skip_tags = List(Unicode(), ["heavy", "skip-execution"],
                     help="cells with one of these tags (and no nbgrader role) are not run while grading").tag(config=True)

    def preprocess(self, nb, resources):
        tags = set(self.skip_tags)
        notes = record(resources)
        for index in dependencies.cells_to_skip(nb, tags):
            cell = nb.cells[index]
            cell.source = f"# skipped while grading (tagged {', '.join(sorted(set(cell.metadata.get('tags', [])) & tags))})"
            cell.outputs = []
            notes.blank(cell)
            notes.skipped.append(f"cell {index}")
        return nb, resources


class InsertSentinels(NbGraderPreprocessor):
    """Static scan of student cells, then the runtime sentinel's setup cell, which reports at
    the start of every grade cell (recognised by its source)."""

    def preprocess(self, nb, resources):
        notes = record(resources)
        notes.token = "S" + secrets.token_hex(8)
        for index, cell in enumerate(nb.cells):
            if not cells.is_student_code(cell):
                continue  # instructor cells are restored from the source; nothing to scan
            found = integrity.scan_cell(cell.source)
            if found:
                notes.flags.append({"cell": cells.grade_id(cell) or f"cell {index}", "kind": "static", "findings": found})
        grade_sources = [cell.source for cell in nb.cells if cells.is_grade(cell)]
        notes.setup = from_dict({"cell_type": "code", "id": "nnbook-setup", "metadata": {}, "outputs": [],
                                 "execution_count": None, "source": integrity.setup_code(notes.token, grade_sources)})
        nb.cells = [notes.setup, *nb.cells]
        return nb, resources


class CheckOwnAnswers(NbGraderPreprocessor):
    """Note the grade cells that use a graded name the submission does not own
    (:mod:`nnbook.kit.ownership`); :class:`FinalizeGrading` scores them 0 and says why."""

    def preprocess(self, nb, resources):
        with _gradebook_notebook(resources) as notebook:
            if notebook is None:
                return nb, resources
            solution_ids = {c.name for c in notebook.solution_cells}
            graded = {}
            for cell in notebook.source_cells:
                tree = cells.parse(cell.source) if cell.name in solution_ids and cell.cell_type == "code" else None
                if tree is not None:
                    graded[cell.name] = ownership.defined_names(tree)
        problems = ownership.check_notebook(nb, graded)
        grade_ids = {cells.grade_id(cell) for cell in nb.cells if cells.is_grade(cell)}
        record(resources).not_own.update({gid: why for gid, why in problems.items() if gid in grade_ids})
        return nb, resources


class SafeExecute(Execute):
    """nbgrader's Execute, hardened: dead kernels, unresponsive kernels, huge outputs."""

    max_output_chars = Integer(limits.MAX_CELL_OUTPUT_CHARS,
                               help="output kept per cell while it runs (characters)").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._dead = None
        self._timeouts_in_row = 0
        self._sizes: dict[int, int] = {}
        self._record = record(resources if resources is not None else {})
        nb, resources = super().preprocess(nb, resources, km=km)
        if self._dead:
            self._record.reason(self._dead)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if self._dead or cell.cell_type != "code" or self._record.blanked(cell):
            return cell, resources  # a blanked demonstration (SkipHeavyCells) is not sent
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except Exception as exc:  # DeadKernelError, lost connection: stop, keep what ran
            from nbclient.exceptions import DeadKernelError

            what = "kernel died" if isinstance(exc, DeadKernelError) else f"kernel failed ({type(exc).__name__})"
            self._dead = f"{what} in {self._label(cell, index)}; later cells did not run"
            cell.outputs.append(from_dict({"output_type": "error", "ename": "KernelDied", "evalue": self._dead,
                                           "traceback": [f"KernelDied: {self._dead}"]}))
            self._record.mark_ran(cell, "died")
            return cell, resources
        self._record.mark_ran(cell)
        if any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError" for o in cell.outputs):
            self._timeouts_in_row += 1
            if self._timeouts_in_row >= 2:
                self._dead = f"kernel unresponsive after a timeout in {self._label(cell, index)}; later cells did not run"
                self._shutdown_kernel()
        else:
            self._timeouts_in_row = 0
        return cell, resources

    def _shutdown_kernel(self) -> None:
        try:
            from jupyter_core.utils import run_sync

            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:
            pass

    def _label(self, cell, index) -> str:
        if self._record.is_setup(cell):
            return "the integrity setup cell"
        return cells.grade_id(cell) or f"cell {index}"

    def output(self, outs, msg, display_id, cell_index):
        # nbclient's hook for each output message (not a documented extension point: an
        # upgrade that stops calling it fails tests/test_preprocessors.py)
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
            return out
        return super().output(outs, msg, display_id, cell_index)


class FinalizeGrading(NbGraderPreprocessor):
    """No credit for what did not run or ran after tampering; record why; drop sentinels."""

    max_text = Integer(limits.MAX_OUTPUT_TEXT_CHARS,
                       help="characters kept of one text output in the graded notebook").tag(config=True)

    def preprocess(self, nb, resources):
        notes = record(resources)
        # label of the first grade cell after a runtime integrity finding (a patched check or
        # builtin affects every test that runs after it). Static findings only flag the
        # submission for review: a scan is evadable by construction, so it is evidence for
        # the instructor, never a verdict (docs/INSTRUCTORS.md, threat model).
        tainted_from = None
        kept = []
        for index, cell in enumerate(nb.cells):
            found_in = self._runtime_finding(notes, cell)  # every finding is flagged, not only the first
            tainted_from = tainted_from or found_in
            if cell.cell_type == "code" and notes.token:  # from every cell: a student may run a copy of a test
                cell.outputs = integrity.without_reports(cell.get("outputs", []), notes.token)
            if notes.is_setup(cell):
                if notes.ran(cell) is True and any(o.get("output_type") == "error" for o in cell.outputs):
                    notes.flags.append({"cell": "setup", "kind": "runtime", "findings": ["integrity setup failed"]})
                continue
            if cell.cell_type == "code":
                self._truncate(notes, cell)
                if cells.is_grade(cell):
                    self._score_grade_cell(notes, cell, tainted_from)
                self._note_limits(notes, cell, index)
            kept.append(cell)
        nb.cells = kept
        if notes.flags:
            kinds = sorted({f["kind"] for f in notes.flags})
            notes.reason("integrity flag (" + ", ".join(kinds) + " check)")
        nb.metadata[META_KEY] = notes.published()
        return nb, resources

    @staticmethod
    def _runtime_finding(notes: GradingRecord, cell) -> str | None:
        """The grade id of ``cell`` if the sentinel reported a finding at its start (flagged)."""
        ran = notes.ran(cell)
        if not (notes.token and cells.is_grade(cell) and ran in (True, "died")):
            return None
        label = cells.grade_id(cell)
        found = integrity.parse_check(cell.get("outputs", []), notes.token)
        if found is None and ran is True:  # a dead kernel may not have sent it
            found = ["the integrity check could not run (output suppressed or machinery replaced)"]
        if not found:
            return None
        notes.flags.append({"cell": label, "kind": "runtime", "findings": found})
        return label

    def _score_grade_cell(self, notes: GradingRecord, cell, tainted_from: str | None) -> None:
        """A failure in a grade cell that did not run, uses a name not the student's own, or
        ran after a runtime integrity finding."""
        gid = cells.grade_id(cell)
        not_own = notes.not_own.get(gid)
        if notes.ran(cell) not in (True, "died"):
            self._fail(cell, "NotRun", "this test did not run (the kernel stopped before it)")
        elif not_own:
            self._fail(cell, "NotYourOwn", "no credit: " + "; ".join(not_own))
            notes.reason(f"not the student's own in {gid}: " + "; ".join(not_own))
        elif tainted_from:
            self._fail(cell, "IntegrityFlag", "no credit: the submission changes or inspects the "
                       "grading machinery (flagged for review by the instructor)")
            if not any(r.startswith("integrity flag: no credit") for r in notes.reasons):
                notes.reason(f"integrity flag: no credit from {gid} on")

    @staticmethod
    def _note_limits(notes: GradingRecord, cell, index: int) -> None:
        """A reason for each timeout or memory error in a code cell."""
        what = {"CellTimeoutError": "timeout", "MemoryError": "memory limit"}
        label = cells.grade_id(cell) or f"cell {index}"
        for out in cell.outputs:
            if out.get("output_type") == "error" and out.get("ename") in what:
                notes.reason(f"{what[out['ename']]} in {label}")

    @staticmethod
    def _fail(cell, ename: str, evalue: str) -> None:
        cell.outputs.append(from_dict({"output_type": "error", "ename": ename, "evalue": evalue,
                                       "traceback": [f"{ename}: {evalue}"]}))

    def _truncate(self, notes: GradingRecord, cell) -> None:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and len(out.get("text", "")) > self.max_text:
                out["text"] = out["text"][: self.max_text] + TRUNCATED
                notes.reason("output truncated")
            elif TRUNCATED in str(out.get("text", "")):
                notes.reason("output truncated")
            for key, value in list(out.get("data", {}).items()):
                if isinstance(value, str) and len(value) > self.max_text and key.startswith("text/"):
                    out["data"][key] = value[: self.max_text] + TRUNCATED
                    notes.reason("output truncated")
