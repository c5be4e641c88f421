"""Similar answers for review (nnbook.course.report.similarity): renaming hides nothing, unrelated code is apart."""

import inspect
from pathlib import Path

import nnbook
from nnbook.course.report import similarity

ANSWER = '''def scale(xs, k):
    """Multiply every entry of xs by k."""
    out = []
    for x in xs:
        if x > 0:
            out.append(x * k + 1)
        else:
            out.append(x * k - 1)
    return out
'''
RENAMED = ANSWER.replace("out", "result").replace("x ", "value ").replace("1", "2") + "# my own work\n"
OTHER = '''def scale(xs, k):
    """Multiply every entry of xs by k."""
    import numpy as np
    return np.asarray(xs, dtype=float) * k
'''
STUB = 'def scale(xs, k):\n    """Multiply every entry of xs by k."""\n    # YOUR CODE HERE\n    raise NotImplementedError()'


def test_renamed_names_literals_and_comments_do_not_hide_a_copy():
    a, b = similarity.fingerprints(ANSWER), similarity.fingerprints(RENAMED)
    assert len(a) >= similarity.MIN_FINGERPRINTS and similarity.similarity(a, b) == 1.0
    assert similarity.similarity(a, similarity.fingerprints(OTHER)) < 0.5


def test_pairs_and_library_copies_are_listed_and_short_or_distinct_answers_are_not():
    library = similarity.library_fingerprints(Path(nnbook.__file__).resolve().parent)
    from nnbook.engine import Value

    copied = inspect.getsource(Value.tanh)
    answers = {"ex": {"alice": ANSWER, "bob": RENAMED, "carol": OTHER, "dan": copied, "erin": "def scale(xs, k):\n    return 0"}}
    rows = similarity.similar_answers(answers, {"ex": STUB}, library)
    pairs = {(r["a"], r["b"]) for r in rows}
    assert ("alice", "bob") in pairs
    assert any(a == "dan" and b.startswith("library: nnbook.engine") for a, b in pairs)
    assert not any("carol" in pair or "erin" in pair for pair in pairs)


def test_broken_syntax_still_fingerprints_what_it_can():
    assert similarity.fingerprints(ANSWER + "\ndef broken(:\n    (") >= similarity.fingerprints(ANSWER) - {0}
