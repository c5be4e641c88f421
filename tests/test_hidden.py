"""Hidden tests compared outside the kernel (nnbook.course.grade.hidden, nnbook.kit.checks' record side, nnbook.course.grade.reference)."""

import json

import numpy as np
import pytest

from nnbook.kit import checks
from nnbook.course.grade import hidden, reference
from nnbook.course.grade.hidden import hidden_calls


def test_hidden_calls_are_found_with_their_keys_tolerances_and_ends():
    source = ('assert f(1) == 2, "un café"\n### BEGIN HIDDEN TESTS\ncompare_with_reference(_g, "ch01.a", rtol=1e-4,\n'
              '                       atol=1e-6)\nx = compare_with_reference(f, \'ch01.b\')\n'
              'compare_with_reference(f, "ch01.c", inputs="[]")\n### END HIDDEN TESTS')
    calls = hidden_calls(source)
    assert [(c["key"], c.get("rtol"), c.get("atol")) for c in calls] == [("ch01.a", 1e-4, 1e-6), ("ch01.b", None, None)]
    assert all(source[c["end"]] == ")" for c in calls)
    assert hidden_calls("def broken(:\n") == []


def _record(outputs, key="ch01.k"):
    return {"key": key, "outputs": outputs}


CASES = [((np.array([1.0, 2.0]),), np.array([2.0, 4.0])), ((np.array([3.0]),), np.array([6.0]))]


def test_matching_outputs_pass_and_a_mismatch_names_the_input_and_the_expected_value():
    good = _record([{"value": checks._plain(expected)} for _, expected in CASES])
    assert hidden.compare_outputs("ch01.k", good, CASES) is None
    bad = _record([good["outputs"][0], {"value": checks._plain(np.array([5.0]))}])
    message = hidden.compare_outputs("ch01.k", bad, CASES)
    assert message.startswith("ch01.k: for inputs ([3.]): ") and "expected [6.]" in message and "[5.]" in message


@pytest.mark.parametrize("record, why", [
    (None, "reported no results"),
    (_record([], key="ch01.other"), "reported no results"),
    (_record([{"value": 1.0}]), "1 results for 2 cases"),
    (_record([{"oops": 1}, {"oops": 1}]), "malformed"),
])
def test_missing_or_malformed_records_fail(record, why):
    assert why in hidden.compare_outputs("ch01.k", record, CASES)


class Sneaky:
    def __eq__(self, other):
        return True


class MyArray(np.ndarray):
    pass


@pytest.mark.parametrize("value", [Sneaky(), np.zeros(2).view(MyArray), np.array([Sneaky()], dtype=object), {1: 2}])
def test_outputs_that_are_not_plain_data_fail_their_case(value):
    with pytest.raises(TypeError):
        checks._plain(value)
    message = hidden.compare_outputs("ch01.k", _record([{"not_plain": "x"}, {"not_plain": "x"}]), CASES)
    assert "return plain numbers" in message


def test_plain_outputs_survive_the_trip_through_json():
    value = {"a": [1, 2.5, None, True, "s"], "t": (np.float32(1.5), np.int64(3)),
             "arr": np.array([[1.0, np.nan], [np.inf, -0.0]]), "inf": float("-inf")}
    back = checks._decode(json.loads(json.dumps(checks._plain(value))))
    assert checks._mismatch(back, value, 0, 0) is None
    assert back["arr"].dtype == np.float64 and back["arr"].shape == (2, 2) and isinstance(back["t"], tuple)


def test_torch_tensors_are_recorded_as_arrays():
    torch = pytest.importorskip("torch")
    assert checks._plain(torch.tensor([1.0, 2.0], dtype=torch.float64)) == checks._plain(np.array([1.0, 2.0]))


def test_emit_outputs_runs_the_function_on_each_input_and_displays_one_record(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    checks.emit_outputs(lambda x: x * 2, "ch01.k", [args for args, _ in CASES])
    (record,) = [obj[checks.OUTPUTS_MIME] for obj in shown]
    assert hidden.compare_outputs("ch01.k", record, CASES) is None
    with pytest.raises(AssertionError, match="not implemented yet"):
        checks.emit_outputs(lambda x: (_ for _ in ()).throw(NotImplementedError()), "ch01.k", [(1,)])


def test_compare_with_reference_with_inputs_never_compares_in_the_kernel(monkeypatch):
    monkeypatch.setattr(checks, "_provider", checks._provider)  # the provider is restored after this test
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    inputs = checks.encode_cases([(args, None) for args, _ in CASES])
    assert checks.compare_with_reference(lambda x: "anything", "ch01.k", inputs=inputs) is None
    assert [o["value"] for o in shown[0][checks.OUTPUTS_MIME]["outputs"]] == ["anything", "anything"]
    # and the kernel is now a grading one: a hidden test without inputs does not look for solutions/
    with pytest.raises(checks.ReferenceUnavailableError, match="never read inside a grading kernel"):
        checks.compare_with_reference(lambda x: x, "ch01.k")


def test_case_seeds_depend_on_the_key_and_the_submission():
    assert reference.case_seed("ch01.a") == reference.case_seed("ch01.a")
    assert len({reference.case_seed("ch01.a"), reference.case_seed("ch01.b"), reference.case_seed("ch01.a", "alice"),
                reference.case_seed("ch01.a", "bob")}) == 4


def test_reference_cases_are_seeded_by_their_key(monkeypatch):
    from nnbook.course.paths import repo_root

    monkeypatch.setenv("NNBOOK_COURSE_ROOT", str(repo_root()))
    a = reference.reference_cases("ch01.gradient_descent", n=5)
    b = reference.reference_cases("ch01.gradient_descent", n=5)
    assert len(a) >= 5  # the n random cases, then the fixed edge cases every student gets
    assert checks.encode_cases(a) == checks.encode_cases(b)
    with pytest.raises(KeyError, match="no CASES entry 'nothing'"):
        reference.reference_cases("ch01.nothing")
    assert reference.DEFAULT_CASES == 25


def test_an_exercise_without_cases_is_refused(tmp_path):
    import subprocess
    import sys

    (tmp_path / "chapters").mkdir()
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "__init__.py").write_text("")
    (tmp_path / "solutions" / "chx.py").write_text("CASES = {'none': (abs, lambda rng, n: [])}\n")
    code = f"from nnbook.course.grade.reference import reference_cases; reference_cases('chx.none', root={str(tmp_path)!r})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode != 0 and "gave no cases; a hidden test needs at least one" in done.stderr
