"""Import a folder of submissions into nbgrader's ``submitted/<student>/<assignment>/`` layout.

Accepted inputs (any mix, in one folder):

* ``<student>.ipynb`` (or ``<student>_<anything>.ipynb``, ``<student>/<anything>.ipynb``);
* zips: ``<student>.zip`` holding one notebook, or a learning-management-system bulk
  download whose entries name the student: Moodle ``Full Name_12345_assignsubmission_file_/x.ipynb``,
  Canvas ``lastfirst_12345_67890_x.ipynb`` (``late_`` allowed); nested zips are opened too.

Every file that is not imported is recorded with its reason in
``.grading/<assignment>/collect.json`` (``grade`` gives it 0 with that reason, ``export``
and ``report`` show it): not JSON, empty, not a notebook, wrong file name, unsafe zip. A zip
that cannot be opened is an unusable *file*, never a student's submission (a bulk download's
name is no student id; ask for the file again).

Zip entries carry a local time without a time zone (the DOS format): they are read in the
zone given (``collect --timezone Europe/Berlin``), by default this machine's. The time of a
plain file is its modification time. ``timestamp.txt`` (UTC) feeds nbgrader's late penalties.

The same unpacking and naming rules plug into nbgrader's own ``zip_collect``
(:class:`LmsExtractor`, :class:`LmsFileNameCollector`)::

    nbgrader zip_collect ch01 --extractor=nnbook.course.grade.collect.LmsExtractor \
        --collector=nnbook.course.grade.collect.LmsFileNameCollector

``nnbook-course collect`` stays the recommended path: nbgrader's app copies files as they
are, so an unreadable notebook is only found (and scored 0, with its reason) at grading.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from pathlib import Path

import nbformat
from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin

from nnbook.course.paths import CourseError
from nnbook.course.state import GradingState

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(file|onlinetext)_?$")
CANVAS = re.compile(r"^(?P<name>[a-z]+)_(late_)?(?P<id>\d+)_\d+_.+$")
MAX_NOTEBOOK_BYTES = 50 * 2**20


@dataclass
class CollectReport:
    imported: dict[str, str] = field(default_factory=dict)  # student -> origin
    problems: dict[str, str] = field(default_factory=dict)  # student -> reason
    files: dict[str, str] = field(default_factory=dict)  # file without a student id -> reason


def student_from(name: str, folder: str | None = None) -> str | None:
    """The student id a file name (or its folder inside a zip) stands for."""
    if folder:
        m = MOODLE.match(folder)
        if m:
            return m.group("id")
        if STUDENT_ID.match(folder):
            return folder
    stem = Path(name).stem
    m = CANVAS.match(stem)
    if m:
        return m.group("id")
    m = MOODLE.match(stem)
    if m:
        return m.group("id")
    stem = stem.split("_")[0] if "_" in stem and not STUDENT_ID.match(stem) else stem
    return stem if STUDENT_ID.match(stem) else None


def unsafe_member(name: str) -> bool:
    """A zip entry that would land outside the folder it is unpacked into."""
    return ".." in Path(name).parts or name.startswith("/")


def zip_members(archive: zipfile.ZipFile) -> tuple[list[zipfile.ZipInfo], str]:
    """The files of ``archive`` worth looking at (no folders, no macOS metadata), or why none are."""
    entries = [i for i in archive.infolist() if not i.is_dir() and "__MACOSX" not in i.filename]
    if sum(i.file_size for i in entries) > 20 * MAX_NOTEBOOK_BYTES:
        return [], "zip too large when unpacked"
    return entries, ""


@dataclass
class ZipMember:
    """One file of a zip (or of a zip inside it): where it is, and why it cannot be used, if so."""

    origin: str  # "bulk.zip:Folder_1_assignsubmission_file_/x.ipynb"; a zip's own origin for a problem with it
    name: str  # its name inside its zip ('' for a problem with a whole zip)
    parent: "ZipMember | None" = None  # the nested zip it came out of (None: the zip given)
    archive: zipfile.ZipFile | None = None
    info: zipfile.ZipInfo | None = None
    problem: str = ""  # "not a zip file", "zip too large when unpacked", "unsafe path in zip"
    notebooks: int = 0  # notebooks in the same zip
    opened: bool = False  # a nested zip, whose members follow it

    def read(self) -> bytes:
        return self.archive.read(self.info)

    @property
    def folder(self) -> str | None:
        """The folder it is in, inside its zip (a Moodle folder names the student)."""
        parts = Path(self.name).parts
        return parts[-2] if len(parts) > 1 else None


def _is_notebook(name: str) -> bool:
    return name.endswith(".ipynb") and ".ipynb_checkpoints" not in name


def walk_zip(blob: bytes, origin: str, parent: ZipMember | None = None, depth: int = 0):
    """Every member of the zip ``blob``, depth first, nested zips opened two levels deep (each
    yielded with ``opened`` before its own members); what cannot be used comes with its ``problem``."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
    except zipfile.BadZipFile:
        yield ZipMember(origin, "", parent, problem="not a zip file")
        return
    entries, why = zip_members(archive)
    if why:
        yield ZipMember(origin, "", parent, problem=why)
        return
    notebooks = sum(_is_notebook(i.filename) for i in entries)
    for info in entries:
        member = ZipMember(f"{origin}:{info.filename}", info.filename, parent, archive, info, notebooks=notebooks)
        if unsafe_member(info.filename):
            member.problem = "unsafe path in zip"
            yield member
        elif info.filename.endswith(".zip") and depth < 2:
            member.opened = True
            yield member
            yield from walk_zip(member.read(), member.origin, member, depth + 1)
        else:
            yield member


class LmsExtractor(ExtractorPlugin):
    """``nbgrader zip_collect`` extractor: LMS zips unpacked with this module's safety rules
    (no entry outside its folder, a size cap, nested zips two levels deep)."""

    def extract(self, archive_path: str, extracted_path: str) -> None:
        for path in sorted(Path(archive_path).rglob("*")):
            if not path.is_file():
                continue
            if path.suffix == ".zip":
                self._unzip(path.read_bytes(), Path(extracted_path) / path.stem, path.name)
            else:
                shutil.copy(path, Path(extracted_path) / path.name)

    def _unzip(self, blob: bytes, dest: Path, origin: str) -> None:
        folders: dict[str, Path] = {}  # a nested zip's origin -> where its members go
        for member in walk_zip(blob, origin):
            base = folders[member.parent.origin] if member.parent else dest
            if member.problem:
                self.log.warning("%s: %s%s", member.origin, member.problem, ", skipped" if member.name else "")
            elif member.opened:
                folders[member.origin] = base / Path(member.name).with_suffix("")
            else:
                target = base / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(member.read())


class LmsFileNameCollector(FileNameCollectorPlugin):
    """``nbgrader zip_collect`` collector: the student id from a Moodle folder, a Canvas file
    name or a plain ``<student>.ipynb`` (:func:`student_from`); the file becomes the
    assignment's released notebook."""

    def collect(self, submitted_file: str) -> dict | None:
        path = Path(submitted_file)
        if path.suffix not in self.valid_ext or ".ipynb_checkpoints" in path.parts:
            return None
        # a Moodle folder may hold the notebook inside a zip of its own: the nearest such folder
        folder = next((p.name for p in path.parents if MOODLE.match(p.name)), None)
        student = student_from(path.name, folder)
        if student is None:
            self.log.warning("no student id in %s: skipped", submitted_file)
            return None
        return {"student_id": student, "file_id": self._released_name() or path.name}

    def _released_name(self) -> str | None:
        coursedir = getattr(self.parent, "coursedir", None)
        if coursedir is None:
            return None
        folder = Path(coursedir.format_path(coursedir.release_directory, ".", coursedir.assignment_id))
        names = sorted(p.name for p in folder.glob("*.ipynb"))
        return names[0] if len(names) == 1 else None


def _with_cell_ids(raw: dict) -> dict:
    """Give cells without an id one (older front ends and hand-made files omit them; nbformat
    warns for every such cell and will refuse them), making the notebook format 4.5."""
    if raw.get("nbformat") == 4 and isinstance(raw.get("cells"), list):
        for cell in raw["cells"]:  # (duplicate ids are nbgrader's DeduplicateIds' job)
            if isinstance(cell, dict) and not cell.get("id"):
                cell["id"] = uuid.uuid4().hex[:8]
        raw["nbformat_minor"] = max(int(raw.get("nbformat_minor") or 0), 5)
    return raw


def read_notebook(data: bytes) -> tuple[nbformat.NotebookNode | None, str]:
    """The notebook in ``data``, or None and why it cannot be read."""
    if not data.strip():
        return None, "empty file"
    if len(data) > MAX_NOTEBOOK_BYTES:
        return None, f"file larger than {MAX_NOTEBOOK_BYTES // 2**20} MB"
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return None, f"not JSON ({type(exc).__name__}: {str(exc)[:80]})"
    if not isinstance(raw, dict) or "cells" not in raw:
        return None, "JSON but not a notebook (no cells)"
    try:
        nb = nbformat.reads(json.dumps(_with_cell_ids(raw)), as_version=4)
    except Exception as exc:  # nbformat raises several types for malformed notebooks
        return None, f"not a valid notebook ({type(exc).__name__})"
    return nb, ""


def zone(name: str | None) -> tzinfo | None:
    """The time zone ``name`` (IANA, e.g. ``Europe/Berlin``); None (this machine's) when not given."""
    if not name:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CourseError(f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin or UTC") from None


def local_time(when: tuple | datetime, tz: tzinfo | None) -> datetime:
    """A local time without a zone (a zip entry's ``date_time`` tuple, or a naive datetime)
    read in ``tz`` (None: this machine's zone, with its daylight-saving rules on that date);
    an aware datetime is returned as it is."""
    naive = when if isinstance(when, datetime) else datetime(*when)
    if naive.tzinfo is not None:
        return naive
    return naive.astimezone() if tz is None else naive.replace(tzinfo=tz)


def _released_notebook(course: Path, assignment: str) -> str:
    """The file name every submission of ``assignment`` is saved under."""
    release = sorted((course / "release" / assignment).glob("*.ipynb")) or sorted((course / "source" / assignment).glob("*.ipynb"))
    if len(release) != 1:
        raise CourseError(f"expected one released notebook of {assignment} in {course / 'release' / assignment}, "
                          f"found {len(release)}: run `nnbook-course release --chapter {assignment}` first")
    return release[0].name


@dataclass
class _Collector:
    """Imports one inbox's files into ``<course>/submitted/<student>/<assignment>/``."""

    course: Path
    assignment: str
    notebook_name: str
    tz: tzinfo | None
    report: CollectReport = field(default_factory=CollectReport)

    def take(self, student: str | None, origin: str, data: bytes, when: datetime | None) -> None:
        """One notebook of ``student`` (None: no id could be told from its name)."""
        if student is None:
            self.report.files[origin] = "wrong file name: no student id in it"
            return
        nb, why = read_notebook(data)
        if nb is None:
            self.report.problems[student] = f"{origin}: {why}"
            return
        target = self.course / "submitted" / student / self.assignment
        target.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target / self.notebook_name)
        stamp = (when or datetime.now(timezone.utc)).astimezone(timezone.utc)
        (target / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
        self.report.imported[student] = origin
        self.report.problems.pop(student, None)

    def take_zip(self, blob: bytes, origin: str, student: str | None) -> None:
        """A zip of one ``student`` (None: a bulk download whose members name the students)."""
        owners: dict[str | None, str | None] = {None: student}  # a zip's origin -> whose it is
        for member in walk_zip(blob, origin):
            owner = owners[member.parent.origin if member.parent else None]
            if member.problem == "not a zip file":  # whose it is cannot be told: a file, not a student's grade
                self.report.files[member.origin] = "not a zip file (corrupt or truncated): ask for it again"
            elif member.problem:
                self.report.files[member.origin] = member.problem
            elif member.opened:
                owners[member.origin] = student_from(member.name, member.folder) or owner
            elif _is_notebook(member.name):
                who = (owner if member.notebooks == 1 and owner else None) or student_from(member.name, member.folder)
                self.take(who, member.origin, member.read(), local_time(member.info.date_time, self.tz))
            else:
                self.report.files[member.origin] = "wrong file name: not a .ipynb notebook"

    def take_file(self, path: Path, inbox: Path) -> None:
        """A file of the inbox: a notebook, or a zip."""
        origin = str(path.relative_to(inbox))
        if path.suffix == ".zip":
            base = student_from(path.name)
            self.take_zip(path.read_bytes(), path.name, base if base and not CANVAS.match(path.stem) else None)
        elif path.suffix == ".ipynb":
            folder = path.parent.name if path.parent != inbox else None
            self.take(student_from(path.name, folder), origin, path.read_bytes(),
                      datetime.fromtimestamp(path.stat().st_mtime, timezone.utc))
        else:
            self.report.files[origin] = "wrong file name: not a .ipynb notebook or .zip"


def collect(course: Path, assignment: str, inbox: Path, zone_name: str | None = None) -> CollectReport:
    """Copy every readable submission in ``inbox`` into ``course/submitted``; zip entries'
    times are read in the time zone ``zone_name`` (default: this machine's)."""
    tz = zone(zone_name)
    collector = _Collector(course, assignment, _released_notebook(course, assignment), tz)
    for path in sorted(inbox.rglob("*")):
        if path.is_file() and not path.name.startswith(".") and ".ipynb_checkpoints" not in path.parts:
            collector.take_file(path, inbox)
    state = GradingState(course, assignment)
    known = state.collect_record()
    report = collector.report
    students = {k: v for k, v in known.get("students", {}).items() if k not in report.imported}
    students.update(report.problems)
    files = dict(known.get("files", {}), **report.files)
    state.write_collect_record({"students": students, "files": files})
    return report
