"""Tests for nnbook.kit.checks: the messages students read, the JSON that carries baked cases
(encode/decode round trip), and comparison with the reference."""

import sys

import numpy as np
import pytest

from nnbook.kit import checks
from nnbook.kit.checks import (
    ReferenceUnavailableError,
    assert_close,
    assert_shape,
    compare_with_reference,
    decode_cases,
    encode_cases,
    use_grader_inputs,
    use_reference,
)

# ------------------------------------------------------------------ encode / decode

VALUES = [
    0, -3, 2.5, float("inf"), True, None, "relu",
    np.float64(1.25), np.int64(7),
    np.arange(6, dtype=np.int64).reshape(2, 3),
    np.linspace(-1, 1, 5, dtype=np.float32),
    np.zeros((0, 4)),
    np.array(3.0),
    (1, (2.0, "a")),
    [[1, 2], [3]],
    {"w": np.ones(2), "b": 0.5, "nested": {"k": (1, 2)}},
]


def _same(a, b):
    """Equal in value AND in kind: arrays keep dtype and shape, tuples stay tuples."""
    assert type(a) is type(b) or (isinstance(a, np.generic) and type(b) in (int, float)), (a, b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    else:
        assert a == b


@pytest.mark.parametrize("value", VALUES, ids=[f"{type(v).__name__}{i}" for i, v in enumerate(VALUES)])
def test_encode_decode_round_trip(value):
    cases = [((value, 1), value), ((), [value])]
    decoded = decode_cases(encode_cases(cases))
    assert len(decoded) == 2
    for (args, expected), (args2, expected2) in zip(cases, decoded):
        assert isinstance(args2, tuple)
        _same(tuple(args), args2)
        _same(expected if not isinstance(expected, np.generic) else expected.item(), expected2)


def test_encoded_cases_are_compact_json_text():
    text = encode_cases([((np.array([1.0, 2.0]),), 3.0)])
    assert text == '[[{"__tuple__":[{"__ndarray__":[1.0,2.0],"dtype":"float64","shape":[2]}]},3.0]]'


def test_encoding_something_unbakeable_names_its_type():
    with pytest.raises(TypeError, match="cannot bake a set into a hidden test"):
        encode_cases([(({1, 2},), 0)])


# ------------------------------------------------------------------ messages


def test_assert_close_passes_within_tolerance():
    assert_close(1.0 + 1e-9, 1.0)
    assert_close([1.0, [2.0, 3.0]], (1.0, (2.0, 3.0 + 1e-12)))
    assert_close({"a": np.ones(3)}, {"a": [1, 1, 1]})
    assert_close(float("nan"), float("nan"))
    assert_close(1.1, 1.0, rtol=0.2)


@pytest.mark.parametrize("got, expected, message", [
    (None, 1.0, "result: got None; did you forget a `return` statement?"),
    (2.0, 1.0, "result: expected 1.0, got 2.0"),
    (np.ones(3), np.ones(2), "result: expected shape (2,), got shape (3,) ([1. 1. 1.])"),
    ([1.0], ([1.0], "x"), "result: expected a sequence of length 2, got [1.0]"),
    ([1.0, "y"], ([1.0], "x"), "result: item 0: expected shape (1,), got shape () (1.0)"),
    (([1.0], "y"), ([1.0], "x"), "result: item 1: expected 'x', got 'y'"),
    ({"a": 1}, {"b": 1}, "result: expected a dict with keys ['b'], got {'a': 1}"),
    ({"a": 2.0}, {"a": 1.0}, "result: key 'a': expected 1.0, got 2.0"),
    ("text", 1.0, "result: expected a number or array like 1.0, got 'text' (str)"),
])
def test_assert_close_says_what_was_expected_and_what_came(got, expected, message):
    with pytest.raises(AssertionError) as info:
        assert_close(got, expected)
    assert str(info.value) == message


def test_assert_close_names_what_and_shortens_long_values():
    with pytest.raises(AssertionError, match=r"^the gradient: expected") as info:
        assert_close(np.zeros(1000), np.ones(1000), what="the gradient")
    assert len(str(info.value)) < 500 and "..." in str(info.value)


def test_assert_shape():
    assert_shape(np.zeros((2, 3)), (2, 3))
    with pytest.raises(AssertionError, match=r"^W should have shape \(3, 2\), but has shape \(2, 3\)$"):
        assert_shape(np.zeros((2, 3)), (3, 2), what="W")


# ------------------------------------------------------------------ reference comparison

CASES = [((2.0,), 4.0), ((np.array([1.0, 3.0]),), np.array([1.0, 9.0]))]


@pytest.fixture
def square_cases(monkeypatch):
    """The instructor's side: the reference cases of a made-up exercise ch99.square."""
    use_reference(lambda key: list(CASES))
    yield
    use_reference(None)


def test_compare_with_the_reference(square_cases):
    assert compare_with_reference(lambda x: x**2, "ch99.square") is None  # None: no partial credit
    with pytest.raises(AssertionError, match=r"^ch99.square: for inputs \(2.0\): expected 4.0, got 6.0$"):
        compare_with_reference(lambda x: 3 * x, "ch99.square")


def test_compare_reports_stubs_and_non_functions(square_cases):
    def stub(x):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="^ch99.square: not implemented yet$"):
        compare_with_reference(stub, "ch99.square")
    with pytest.raises(AssertionError, match="expected a function, got 3"):
        compare_with_reference(3, "ch99.square")


def test_compare_does_not_let_the_student_change_the_inputs(square_cases):
    def squares_in_place(x):
        if isinstance(x, np.ndarray):
            x *= x
            return x
        return x * x

    compare_with_reference(squares_in_place, "ch99.square")
    compare_with_reference(squares_in_place, "ch99.square")  # the cases are intact


def test_encoded_cases_round_trip():
    back = checks.decode_cases(encode_cases(CASES))
    assert checks._mismatch([b for _, b in back], [b for _, b in CASES], 0, 0) is None
    assert isinstance(back[0][0], tuple) and back[1][0][0].dtype == np.float64


def test_grading_refuses_a_hidden_test_without_the_graders_inputs(monkeypatch):
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: None)
    use_grader_inputs()
    try:
        with pytest.raises(ReferenceUnavailableError, match="never read inside a grading kernel"):
            compare_with_reference(lambda x: x, "ch01.gradient_descent")
        inputs = encode_cases([((2.0,), None)])
        assert compare_with_reference(lambda x: x, "ch01.gradient_descent", inputs=inputs) is None  # records
    finally:
        use_reference(None)


def test_without_the_course_a_hidden_test_says_it_runs_when_graded(monkeypatch):
    """The student kit has no nnbook.course: the default provider cannot be imported."""
    use_reference(None)
    monkeypatch.setitem(sys.modules, "nnbook.course.grade.reference", None)  # import raises ImportError
    with pytest.raises(ReferenceUnavailableError, match="hidden tests run when your notebook is graded"):
        compare_with_reference(lambda x: x, "ch01.gradient_descent")


def test_in_the_course_repository_the_course_reference_is_the_default(monkeypatch):
    from nnbook.course.grade import reference
    from nnbook.course.paths import repo_root

    monkeypatch.setenv("NNBOOK_COURSE_ROOT", str(repo_root()))
    use_reference(None)
    with pytest.raises(AssertionError, match="^ch01.gradient_descent: "):
        compare_with_reference(lambda *args: None, "ch01.gradient_descent")
    assert checks._provider is reference.reference_cases
    use_reference(None)


def test_with_globals_lends_a_name_while_the_function_runs_and_restores_it():
    from nnbook.kit.checks import with_globals

    namespace = {"helper": lambda: "mine"}
    exec("def outer():\n    return helper()", namespace)
    lent = with_globals(namespace["outer"], {"helper": lambda: "correct", "absent": 1})
    assert lent() == "correct"
    assert namespace["helper"]() == "mine" and "absent" not in namespace

    exec("def failing():\n    raise RuntimeError(helper())", namespace)
    try:
        with_globals(namespace["failing"], {"helper": lambda: "correct"})()
    except RuntimeError as exc:
        assert str(exc) == "correct"
    assert namespace["helper"]() == "mine", "restored after an exception too"
