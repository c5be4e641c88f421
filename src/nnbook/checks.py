"""Checks that exercise test cells call.

Public tests use :func:`assert_close` and friends, whose messages tell the student what
was expected and what they returned.

Hidden tests call :func:`compare_with_reference`. Where the inputs and expected outputs
come from is the heart of the grading design:

* In the instructor's source notebooks (``chapters/``), the reference implementation is
  imported from ``solutions/`` and run on seeded random inputs.
* When an assignment is generated for grading, ``nnbook.course`` runs the same code once
  and *bakes* the inputs and expected outputs into the hidden test as a JSON literal
  (``cases=...``). The grading kernel therefore never needs ``solutions/``, and student
  code running in that kernel has nothing to import: while grading (``NBGRADER_EXECUTION``
  is set) this module refuses to load ``solutions`` at all.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = [
    "assert_close",
    "assert_shape",
    "compare_with_reference",
    "reference_cases",
    "encode_cases",
    "decode_cases",
    "ReferenceUnavailableError",
]

DEFAULT_CASES = 25


class ReferenceUnavailableError(RuntimeError):
    """The reference solutions cannot be used here (e.g. while grading)."""


# --------------------------------------------------------------------- public checks
def _short(obj: Any, limit: int = 200) -> str:
    text = np.array2string(obj, precision=6, threshold=20) if isinstance(obj, np.ndarray) else repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def assert_close(got: Any, expected: Any, *, rtol: float = 1e-6, atol: float = 1e-9, what: str = "result") -> None:
    """Assert that ``got`` matches ``expected`` (numbers, arrays, nested lists/tuples).

    The failure message names ``what`` and shows both values, which is what a student
    needs to find the bug.
    """
    problem = _mismatch(got, expected, rtol, atol)
    if problem:
        raise AssertionError(f"{what}: {problem}")


def assert_shape(array: Any, shape: tuple, what: str = "array") -> None:
    actual = tuple(np.shape(array))
    if actual != tuple(shape):
        raise AssertionError(f"{what} should have shape {tuple(shape)}, but has shape {actual}")


def _mismatch(got: Any, expected: Any, rtol: float, atol: float) -> str | None:
    """Return why ``got`` differs from ``expected``, or None when they agree."""
    if got is None and expected is not None:
        return "got None; did you forget a `return` statement?"
    if isinstance(expected, (list, tuple)) and not _is_numeric_sequence(expected):
        if not isinstance(got, (list, tuple)) or len(got) != len(expected):
            return f"expected a sequence of length {len(expected)}, got {_short(got)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            problem = _mismatch(g, e, rtol, atol)
            if problem:
                return f"item {i}: {problem}"
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            return f"expected a dict with keys {sorted(expected)}, got {_short(got)}"
        for key in expected:
            problem = _mismatch(got[key], expected[key], rtol, atol)
            if problem:
                return f"key {key!r}: {problem}"
        return None
    if isinstance(expected, (str, bool)) or expected is None:
        return None if got == expected else f"expected {expected!r}, got {_short(got)}"
    try:
        got_arr = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return f"expected a number or array like {_short(expected)}, got {_short(got)} ({type(got).__name__})"
    exp_arr = np.asarray(expected, dtype=float)
    if got_arr.shape != exp_arr.shape:
        return f"expected shape {exp_arr.shape}, got shape {got_arr.shape} ({_short(got)})"
    if not np.allclose(got_arr, exp_arr, rtol=rtol, atol=atol, equal_nan=True):
        return f"expected {_short(expected)}, got {_short(got)}"
    return None


def _is_numeric_sequence(seq: Any) -> bool:
    """True for (nested) lists of numbers, which compare as arrays."""
    try:
        kind = np.asarray(seq).dtype.kind
    except ValueError:  # ragged nesting
        return False
    return kind in "iuf"


# ----------------------------------------------------------------- JSON for the cases
def _encode(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype), "shape": list(obj.shape)}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(x) for x in obj]}
    if isinstance(obj, list):
        return [_encode(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): _encode(v) for k, v in obj.items()}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot bake a {type(obj).__name__} into a hidden test; use numbers, arrays, lists or dicts")


def _decode(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_decode(x) for x in obj]
    if isinstance(obj, dict):
        if "__ndarray__" in obj:
            return np.array(obj["__ndarray__"], dtype=obj["dtype"]).reshape(obj["shape"])
        if "__tuple__" in obj:
            return tuple(_decode(x) for x in obj["__tuple__"])
        return {k: _decode(v) for k, v in obj.items()}
    return obj


def encode_cases(cases: list[tuple[tuple, Any]]) -> str:
    return json.dumps([[_encode(tuple(args)), _encode(expected)] for args, expected in cases], separators=(",", ":"))


def decode_cases(text: str) -> list[tuple[tuple, Any]]:
    return [(tuple(_decode(args)), _decode(expected)) for args, expected in json.loads(text)]


# --------------------------------------------------------------- reference solutions
def _solutions_module(module: str):
    """Import ``solutions.<module>`` from the course repository (instructor side only)."""
    if os.environ.get("NBGRADER_EXECUTION"):
        raise ReferenceUnavailableError(
            "hidden test has no baked reference cases; regenerate the assignment with "
            "`nnbook-course release` (solutions/ is never importable while grading)"
        )
    root = os.environ.get("NNBOOK_COURSE_ROOT")
    candidates = [Path(root)] if root else [Path.cwd(), *Path.cwd().parents]
    for folder in candidates:
        if (folder / "solutions" / "__init__.py").is_file() and (folder / "chapters").is_dir():
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
            return importlib.import_module(f"solutions.{module}")
    raise ReferenceUnavailableError(
        "the reference solutions (solutions/) are not available here: hidden tests only run "
        "in the instructor's course repository or in a generated assignment"
    )


def reference_cases(key: str, n: int = DEFAULT_CASES) -> list[tuple[tuple, Any]]:
    """Inputs and expected outputs for exercise ``key`` (``"ch01.gd_step"``).

    ``solutions/<module>.py`` defines ``CASES = {name: (reference_fn, make_inputs)}`` where
    ``make_inputs(rng, n)`` returns a list of argument tuples. The generator is seeded
    from the key, so the cases are the same on every machine and every run.
    """
    module, _, name = key.partition(".")
    cases = _solutions_module(module).CASES
    if name not in cases:
        raise KeyError(f"solutions/{module}.py has no CASES entry {name!r} (has: {sorted(cases)})")
    reference, make_inputs = cases[name]
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    out = []
    for args in make_inputs(rng, n):
        args = tuple(args)
        out.append((args, reference(*_copy(args))))
    return out


def _copy(args: tuple) -> tuple:
    return tuple(a.copy() if isinstance(a, np.ndarray) else (list(a) if isinstance(a, list) else a) for a in args)


def compare_with_reference(
    student_fn: Callable,
    key: str,
    *,
    cases: str | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> None:
    """Compare ``student_fn`` with the reference on randomised inputs.

    Returns None on purpose: nbgrader reads a number printed by a grade cell as partial
    credit, so a grade cell must never end in a value.

    ``cases`` is the baked JSON that ``nnbook.course`` writes into generated assignments;
    without it the reference is run from ``solutions/`` (instructor side only).
    """
    if not callable(student_fn):
        raise AssertionError(f"{key}: expected a function, got {_short(student_fn)}")
    pairs = decode_cases(cases) if cases is not None else reference_cases(key)
    for args, expected in pairs:
        try:
            got = student_fn(*_copy(args))
        except NotImplementedError:
            raise AssertionError(f"{key}: not implemented yet") from None
        problem = _mismatch(got, expected, rtol, atol)
        if problem:
            shown = ", ".join(_short(a, 80) for a in args)
            raise AssertionError(f"{key}: for inputs ({shown}): {problem}")
