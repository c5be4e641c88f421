"""Execute chapter notebooks once and remember the result, through jupyter-cache.

jupyter-cache keys a notebook by its code cells only. The chapters also depend on the
``nnbook`` package and ``solutions/``, so the cache folder is named by a fingerprint of
those files: change the library and every chapter is executed again; change nothing and
nothing is executed. The course pipeline (``nnbook/course``) is left out: it shapes editions,
not outputs, and editing it must not re-execute the book.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import nbformat

from nnbook.course.paths import Chapter, CourseError

# what chapters execute: the library and the kit, and the reference answers (solutions/ read
# by the course's reference module) that their hidden tests compare with
FINGERPRINTED = ("src/nnbook", "src/nnbook/course/grade/reference.py", "solutions", "requirements.txt")
NOT_FINGERPRINTED = ("src/nnbook/course",)  # but the reference module, named above


def fingerprint(root: Path) -> str:
    digest = hashlib.sha256()
    for entry in FINGERPRINTED:
        path = root / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            if path.is_dir() and any(file.is_relative_to(root / skip) for skip in NOT_FINGERPRINTED):
                continue
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(root)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def _ipc_worker_class():
    """jupyter-cache's local serial worker, with kernels on Unix sockets (nnbook.course.kernels).

    jupyter-cache's executors pass no options to nbclient, so its worker's ``execute`` is
    the one thing replaced; caching and error records stay jupyter-cache's own.
    """
    from jupyter_cache.executors.basic import ExecutionWorkerLocalSerial
    from jupyter_cache.executors.utils import single_nb_execution

    from nnbook.course.kernels import IPCKernelManager

    class IPCWorker(ExecutionWorkerLocalSerial):
        @staticmethod
        def execute(project_nb, data):
            return single_nb_execution(project_nb.nb, cwd=str(Path(project_nb.uri).parent), timeout=data.timeout,
                                       allow_errors=data.allow_errors, kernel_manager_class=IPCKernelManager)

    return IPCWorker


def executed_notebooks(root: Path, chapters: list[Chapter], timeout: int = 600) -> dict[Path, nbformat.NotebookNode]:
    """Each chapter with fresh outputs; executes only what the cache does not hold."""
    from jupyter_cache import get_cache
    from jupyter_cache.executors.basic import ProcessData

    cache = get_cache(root / "_build" / ".jupyter_cache" / fingerprint(root))
    for chapter in chapters:
        cache.add_nb_to_project(str(chapter.path))
    stale = [r for r in cache.list_unexecuted() if Path(r.uri) in {c.path for c in chapters}]
    if stale:
        print(f"[nnbook] executing {len(stale)} chapter(s) (the others are cached)", flush=True)
        worker = _ipc_worker_class()(logging.getLogger("nnbook.execute"))
        failed = [record.uri for record in stale
                  if worker(ProcessData(record.pk, record.uri, cache, timeout, False))[0] != 0]
        if failed:
            messages = [f"--- {uri}\n{cache.get_project_record(uri).traceback}" for uri in failed]
            raise CourseError("chapter execution failed:\n" + "\n".join(messages))
    else:
        print("[nnbook] every chapter is cached: nothing to execute", flush=True)
    out = {}
    for chapter in chapters:
        try:
            _, nb = cache.merge_match_into_file(str(chapter.path))
        except KeyError:
            raise CourseError(f"{chapter.path.name} has no cached execution: it changed while the "
                              "book was being built (or its execution was not recorded); build again") from None
        out[chapter.path] = nb
    return out
