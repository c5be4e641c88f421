"""Checks that exercise test cells call, as the student's kernel sees them.

Public tests use :func:`assert_close` and friends, whose messages tell the student what
was expected and what they returned.

Hidden tests call :func:`compare_with_reference`. Where the expected outputs come from is
chosen in code, never by an environment variable:

* **While graded**, ``nnbook-course grade`` writes the submission's ``inputs`` into each
  call (:mod:`nnbook.course.grade.hidden`): the student's function runs on them and
  :func:`emit_outputs` displays what it returned as a record of plain data, which the
  grader compares outside the kernel. The expected values never enter the kernel. A call
  with ``inputs`` also switches the kernel to :func:`use_grader_inputs`, after which a call
  without them fails instead of looking for the reference answers (the grader's setup cell
  may call it first thing).
* **In the instructor's repository** (the book build, nbval of ``chapters/``), a call
  without ``inputs`` asks the *reference provider* for inputs and expected outputs and
  compares here. A provider is registered with :func:`use_reference`; with none
  registered, the first call imports :mod:`nnbook.course.grade.reference` (the course
  pipeline, which reads ``solutions/``) if it is importable. The chapters therefore import
  only this kit and run unchanged in the book, under nbval and while graded.
* **In the student kit** ``nnbook.course`` is not shipped: a hidden test raises
  :class:`ReferenceUnavailableError`, which says that hidden tests run when graded.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any, Callable

import numpy as np

__all__ = [
    "assert_close",
    "assert_shape",
    "compare_with_reference",
    "with_globals",
    "encode_cases",
    "decode_cases",
    "emit_outputs",
    "use_reference",
    "use_grader_inputs",
    "OUTPUTS_MIME",
    "ReferenceUnavailableError",
]


class ReferenceUnavailableError(RuntimeError):
    """The reference solutions cannot be used here (the student's machine, or while grading)."""


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
def _decode(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_decode(x) for x in obj]
    if isinstance(obj, dict):
        if "__float__" in obj:
            return float(obj["__float__"])
        if "__ndarray__" in obj:
            return np.array(_decode(obj["__ndarray__"]), dtype=obj["dtype"]).reshape(obj["shape"])
        if "__tuple__" in obj:
            return tuple(_decode(x) for x in obj["__tuple__"])
        return {k: _decode(v) for k, v in obj.items()}
    return obj


def encode_cases(cases: list[tuple[tuple, Any]]) -> str:
    """Cases as JSON of plain data (:func:`_plain`, the same encoding as the output records)."""
    try:
        return json.dumps([[_plain(tuple(args)), _plain(expected)] for args, expected in cases], separators=(",", ":"))
    except TypeError as exc:
        raise TypeError(f"cannot bake {exc} into a hidden test; use numbers, arrays, lists or dicts") from None


def decode_cases(text: str) -> list[tuple[tuple, Any]]:
    return [(tuple(_decode(args)), _decode(expected)) for args, expected in json.loads(text)]


# -------------------------------------------------------- where expected values come from
# The reference provider: exercise key -> [(args, expected), ...]. None: not chosen yet
# (the first hidden test without inputs imports the course's, if it is installed).
_provider: Callable[[str], list] | None = None
COURSE_REFERENCE = "nnbook.course.grade.reference"


def use_reference(provider: Callable[[str], list] | None) -> None:
    """Compare hidden tests without ``inputs`` with ``provider(key)``'s cases, a list of
    ``(args, expected)``; None goes back to the default (the course's, if installed)."""
    global _provider
    _provider = provider


def _refuse(key: str) -> list:
    raise ReferenceUnavailableError(
        f"{key}: hidden tests get their inputs from the grader (nnbook-course grade); the reference "
        "solutions (solutions/) are never read inside a grading kernel")


def use_grader_inputs() -> None:
    """Grading: every hidden test must carry the inputs the grader wrote into it; one
    without them fails rather than look for the reference answers."""
    use_reference(_refuse)


def _reference_cases(key: str) -> list:
    global _provider
    if _provider is None:
        try:
            reference = importlib.import_module(COURSE_REFERENCE)
        except ModuleNotFoundError as exc:
            if not COURSE_REFERENCE.startswith(exc.name or "?"):
                raise  # the course is installed but broken: say so, not "no course"
            raise ReferenceUnavailableError(
                f"{key}: hidden tests run when your notebook is graded; the reference solutions "
                "are not part of the student kit") from None
        _provider = reference.reference_cases
    return _provider(key)


def _copy(args: tuple) -> tuple:
    return tuple(a.copy() if isinstance(a, np.ndarray) else (list(a) if isinstance(a, list) else a) for a in args)


def compare_with_reference(
    student_fn: Callable,
    key: str,
    *,
    inputs: str | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> None:
    """Compare ``student_fn`` with the reference on randomised inputs.

    Returns None on purpose: nbgrader reads a number printed by a grade cell as partial
    credit, so a grade cell must never end in a value.

    While grading, ``nnbook-course grade`` writes the submission's ``inputs`` into the call
    (JSON, see :func:`encode_cases`): the student's function runs on them and its outputs
    are emitted as a record (:func:`emit_outputs`) that the grader compares *outside* the
    kernel, which never holds an expected value. Without ``inputs`` the reference provider
    gives the cases (module docstring) and they are compared here.
    """
    if not callable(student_fn):
        raise AssertionError(f"{key}: expected a function, got {_short(student_fn)}")
    if inputs is not None:
        use_grader_inputs()  # this kernel is being graded: never look for the reference answers
        emit_outputs(student_fn, key, [args for args, _ in decode_cases(inputs)])
        return
    for args, expected in _reference_cases(key):
        got = _call(student_fn, key, args)
        problem = _mismatch(got, expected, rtol, atol)
        if problem:
            raise AssertionError(case_message(key, args, problem))


def with_globals(fn: Callable, replacements: dict) -> Callable:
    """``fn``, wrapped so that while it runs the global names in ``replacements`` (of the
    namespace ``fn`` was defined in) are bound to the given values, then restored.

    A grade cell uses it to test one exercise with correct versions of the functions it
    calls from earlier exercises: one slip costs one exercise, not every later one.
    """
    namespace = getattr(fn, "__globals__", None)
    if namespace is None:  # not a plain function: nothing to rebind
        return fn
    missing = object()

    def wrapped(*args, **kwargs):
        saved = {name: namespace.get(name, missing) for name in replacements}
        namespace.update(replacements)
        try:
            return fn(*args, **kwargs)
        finally:
            for name, value in saved.items():
                if value is missing:
                    namespace.pop(name, None)
                else:
                    namespace[name] = value
    return wrapped


def _call(student_fn: Callable, key: str, args: tuple) -> Any:
    try:
        return student_fn(*_copy(args))
    except NotImplementedError:
        raise AssertionError(f"{key}: not implemented yet") from None


def case_message(key: str, args: tuple, problem: str) -> str:
    """What a student reads when a hidden case fails: the inputs and what was wrong."""
    shown = ", ".join(_short(a, 80) for a in args)
    return f"{key}: for inputs ({shown}): {problem}"


# ------------------------------------------------ outputs recorded while grading
OUTPUTS_MIME = "application/vnd.nnbook.hidden-outputs+json"


def _plain(obj: Any) -> Any:
    """``obj`` as JSON of plain data, or TypeError: the types a hidden test may compare.

    Exactly ``numpy.ndarray`` (not a subclass) of numbers, booleans or strings; numpy and
    Python scalars; ``None``; lists, tuples and dicts with string keys of those; a torch
    tensor becomes its array. Anything else (an object with its own ``__eq__``, an array
    subclass) cannot be a correct answer's output.
    """
    torch = sys.modules.get("torch")
    if torch is not None and type(obj) in (torch.Tensor, torch.nn.Parameter):
        obj = obj.detach().cpu().numpy()
    if type(obj) is np.ndarray:
        if obj.dtype.kind not in "biufUS":
            raise TypeError(f"an array of dtype {obj.dtype}")
        return {"__ndarray__": [_plain(x) for x in obj.ravel().tolist()], "dtype": str(obj.dtype),
                "shape": list(obj.shape)}
    if isinstance(obj, np.generic) and type(obj).__module__ == "numpy":
        return _plain(obj.item())
    if type(obj) is float and not np.isfinite(obj):
        return {"__float__": repr(obj)}
    if obj is None or type(obj) in (bool, int, float, str):
        return obj
    if type(obj) is tuple:
        return {"__tuple__": [_plain(x) for x in obj]}
    if type(obj) is list:
        return [_plain(x) for x in obj]
    if type(obj) is dict and all(type(k) is str for k in obj):
        return {k: _plain(v) for k, v in obj.items()}
    kind = type(obj).__qualname__ if type(obj).__module__ == "builtins" else f"{type(obj).__module__}.{type(obj).__qualname__}"
    raise TypeError(f"a {kind}")


def emit_outputs(student_fn: Callable, key: str, arg_list: list[tuple]) -> None:
    """Run ``student_fn`` on each input and display the outputs as one record."""
    from IPython.display import display

    outputs = []
    for args in arg_list:
        got = _call(student_fn, key, args)
        try:
            outputs.append({"value": _plain(got)})
        except TypeError as exc:
            outputs.append({"not_plain": str(exc)})
    display({OUTPUTS_MIME: {"key": key, "outputs": outputs}}, raw=True)
