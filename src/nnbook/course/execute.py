"""Execute chapter notebooks once and remember the result, through jupyter-cache.

jupyter-cache keys a notebook by its code cells only. The chapters also depend on the
``nnbook`` package and ``solutions/``, so the cache folder is named by a fingerprint of
those files: change the library and every chapter is executed again; change nothing and
nothing is executed. The course pipeline (``nnbook/course``) is left out: it shapes editions,
not outputs, and editing it must not re-execute the book.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat

from nnbook.course.paths import Chapter, CourseError

FINGERPRINTED = ("src/nnbook", "solutions", "requirements.txt")
NOT_FINGERPRINTED = ("src/nnbook/course",)


def fingerprint(root: Path) -> str:
    digest = hashlib.sha256()
    for entry in FINGERPRINTED:
        path = root / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            if any(file.is_relative_to(root / skip) for skip in NOT_FINGERPRINTED):
                continue
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(root)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def executed_notebooks(root: Path, chapters: list[Chapter], timeout: int = 600) -> dict[Path, nbformat.NotebookNode]:
    """Each chapter with fresh outputs; executes only what the cache does not hold."""
    from jupyter_cache import get_cache
    from jupyter_cache.executors import load_executor

    cache = get_cache(root / "_build" / ".jupyter_cache" / fingerprint(root))
    for chapter in chapters:
        cache.add_nb_to_project(str(chapter.path))
    stale = [r.pk for r in cache.list_unexecuted() if Path(r.uri) in {c.path for c in chapters}]
    if stale:
        print(f"[nnbook] executing {len(stale)} chapter(s) (the others are cached)", flush=True)
        executor = load_executor("local-serial", cache=cache)
        result = executor.run_and_cache(filter_pks=stale, timeout=timeout, allow_errors=False)
        if result.errored:
            messages = []
            for uri in result.errored:
                record = cache.get_project_record(uri)
                messages.append(f"--- {uri}\n{record.traceback}")
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
