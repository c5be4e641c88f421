"""Execute chapter notebooks once and remember the result, through jupyter-cache.

jupyter-cache keys a notebook by its code cells only. The chapters also depend on the
``nnbook`` package and ``solutions/``, so the cache folder is named by a fingerprint of
those files: change the library and every chapter is executed again; change nothing and
nothing is executed. The course pipeline (``nnbook/course``) is left out: it shapes editions,
not outputs, and editing it must not re-execute the book.
"""

from __future__ import annotations

import hashlib
import time
import traceback
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


def _execute(cache, uri: str, timeout: int) -> str | None:
    """Execute one chapter with kernels on Unix sockets (:mod:`nnbook.course.kernels`) and
    cache the result; the traceback if a cell failed.

    jupyter-cache's executors pass no options to nbclient, so the chapter is executed here,
    with nbclient's public ``NotebookClient``, and handed to the cache through its public
    ``cache_notebook_bundle``: no jupyter-cache class is subclassed.
    """
    from jupyter_cache.base import CacheBundleIn
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    from nnbook.course.kernels import IPCKernelManager

    nb = cache.get_project_notebook(uri).nb
    started = time.perf_counter()
    folder = {"metadata": {"path": str(Path(uri).parent)}}  # the kernel runs in the chapter's folder
    client = NotebookClient(nb, timeout=timeout, allow_errors=False, record_timing=False,
                            kernel_manager_class=IPCKernelManager, resources=folder)
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError):
        return traceback.format_exc()
    seconds = time.perf_counter() - started
    cache.cache_notebook_bundle(CacheBundleIn(nb, uri, data={"execution_seconds": seconds}),
                                check_validity=False, overwrite=True)
    print(f"[nnbook] executed {Path(uri).name} in {seconds:.1f} s", flush=True)  # the 60 s budget (CONVENTIONS.md)
    return None


def executed_notebooks(root: Path, chapters: list[Chapter], timeout: int = 600) -> dict[Path, nbformat.NotebookNode]:
    """Each chapter with fresh outputs; executes only what the cache does not hold."""
    from jupyter_cache import get_cache

    cache = get_cache(root / "_build" / ".jupyter_cache" / fingerprint(root))
    for chapter in chapters:
        cache.add_nb_to_project(str(chapter.path))
    stale = [r for r in cache.list_unexecuted() if Path(r.uri) in {c.path for c in chapters}]
    if stale:
        print(f"[nnbook] executing {len(stale)} chapter(s) (the others are cached)", flush=True)
        failed = {record.uri: _execute(cache, record.uri, timeout) for record in stale}
        messages = [f"--- {uri}\n{trace}" for uri, trace in failed.items() if trace]
        if messages:
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
