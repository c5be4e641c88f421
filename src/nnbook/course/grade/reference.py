"""The reference answers: ``solutions/<chapter>.py``'s ``CASES``, drawn into hidden-test cases.

Instructor side only; the student kit does not ship it. Two readers:

* the grader, outside the sandbox (:class:`nnbook.course.grade.hidden.GiveHiddenInputs`),
  draws each submission's cases with ``seed=case_seed(key, student)`` and names the
  repository (``root``);
* the instructor's own kernels (the book build, nbval of ``chapters/``): the kit's
  ``compare_with_reference`` imports this module when no other reference provider is
  registered (:mod:`nnbook.kit.checks`) and compares with :func:`reference_cases`.

A grading kernel never reaches it: the grader writes the inputs into every hidden test,
its setup cell refuses calls without them, and the sandbox hides the repository.
"""

from __future__ import annotations

import importlib
import os
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from nnbook.kit.checks import ReferenceUnavailableError, _copy

DEFAULT_CASES = 25


def _solutions_module(module: str, root: Path | None = None):
    """Import ``solutions.<module>`` from the course repository: ``root``, else
    ``NNBOOK_COURSE_ROOT``, else the working folder or its first parent with ``solutions/``
    and ``chapters/`` (where a chapter's kernel starts)."""
    env_root = os.environ.get("NNBOOK_COURSE_ROOT")
    candidates = [Path(root)] if root else [Path(env_root)] if env_root else [Path.cwd(), *Path.cwd().parents]
    for folder in candidates:
        if (folder / "solutions" / "__init__.py").is_file() and (folder / "chapters").is_dir():
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
            return importlib.import_module(f"solutions.{module}")
    raise ReferenceUnavailableError(
        "the reference solutions (solutions/) are not available here: hidden tests only run "
        "in the instructor's course repository or while nnbook-course grades"
    )


def case_seed(key: str, submission: str | None = None) -> int:
    """The seed of exercise ``key``'s random cases: the key alone in the instructor's
    repository (the same cases on every machine), the key and the submission while grading
    (each student gets other inputs; grading the same student again draws the same ones)."""
    return zlib.crc32(key.encode() if submission is None else f"{key}/{submission}".encode())


def reference_cases(key: str, n: int = DEFAULT_CASES, *, seed: int | None = None,
                    root: Path | None = None) -> list[tuple[tuple, Any]]:
    """Inputs and expected outputs for exercise ``key`` (``"ch01.gd_step"``).

    ``solutions/<module>.py`` defines ``CASES = {name: (reference_fn, make_inputs)}`` where
    ``make_inputs(rng, n)`` returns a list of argument tuples; the generator is seeded with
    ``seed`` (default :func:`case_seed` of the key). An exercise without cases is an error:
    a hidden test that compares nothing would pass everything.
    """
    module, _, name = key.partition(".")
    cases = _solutions_module(module, root).CASES
    if name not in cases:
        raise KeyError(f"solutions/{module}.py has no CASES entry {name!r} (has: {sorted(cases)})")
    reference, make_inputs = cases[name]
    rng = np.random.default_rng(case_seed(key) if seed is None else seed)
    out = []
    for args in make_inputs(rng, n):
        args = tuple(args)
        out.append((args, reference(*_copy(args))))
    if not out:
        raise ValueError(f"{key}: make_inputs in solutions/{module}.py gave no cases; a hidden test needs at least one")
    return out
