"""Near-identical answers, for a human to review: token fingerprints in the spirit of MOSS.

Each answer cell is tokenised (Python's own tokenizer) and normalised: every identifier
becomes ``N``, every number ``0``, every string ``S``; comments and blank lines are dropped,
so renaming variables or editing literals changes nothing. Hashes of every ``K`` tokens in a
row are *winnowed* (Schleimer, Wilkerson and Aiken, 2003: the smallest hash of each window
of ``W`` hashes is kept), which keeps a small set of fingerprints that any long enough
shared passage must share. Two answers are compared by the share of the smaller one's
fingerprints the other also has.

Fingerprints of the released stub (the signature and docstring every student starts from)
are removed first. An answer is compared with every other student's answer to the same cell
and with every function and class of the ``nnbook`` library's source. This is evidence for
a review, never a verdict: it changes no score.

Hand-written rather than a library: the pinned dependencies have no code-similarity tool,
and the method is a few lines.
"""

from __future__ import annotations

import ast
import hashlib
import io
import keyword
import tokenize
from itertools import combinations
from pathlib import Path

from nnbook.kit import cells

K = 5  # tokens per hashed k-gram
W = 4  # window of hashes out of which the smallest is kept
MIN_FINGERPRINTS = 8  # answers shorter than this match too easily to say anything
THRESHOLD = 0.8  # share of the smaller answer's fingerprints found in the other


def tokens(source: str) -> list[str]:
    """The normalised token stream of ``source`` (IPython magics and bad syntax tolerated)."""
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER):
                continue
            if tok.type == tokenize.NAME:
                out.append(tok.string if keyword.iskeyword(tok.string) else "N")
            elif tok.type == tokenize.NUMBER:
                out.append("0")
            elif tok.type == tokenize.STRING:
                out.append("S")
            elif tok.type == tokenize.NEWLINE:
                out.append(";")
            else:
                out.append(tokenize.tok_name[tok.type] if tok.type in (tokenize.INDENT, tokenize.DEDENT) else tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # what was read so far still counts
    return out


def fingerprints(source: str) -> set[int]:
    """Winnowed hashes of the k-grams of ``source``'s normalised tokens."""
    toks = tokens(source)
    grams = [int.from_bytes(hashlib.blake2b(" ".join(toks[i:i + K]).encode(), digest_size=8).digest(), "big")
             for i in range(len(toks) - K + 1)]
    if len(grams) <= W:
        return set(grams)
    return {min(grams[i:i + W]) for i in range(len(grams) - W + 1)}


def similarity(a: set[int], b: set[int]) -> float:
    small = min(len(a), len(b))
    return len(a & b) / small if small else 0.0


NOT_LIBRARY = ("course", "kit")  # subpackages of nnbook that are not the teaching library


def library_fingerprints(package: Path) -> dict[str, set[int]]:
    """``nnbook.module.name`` -> fingerprints, for every top-level function and class (and
    method) in the teaching library's source: the grading kit and the course pipeline are
    not what a student could copy an answer from."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent)
        if rel.parts[1] in NOT_LIBRARY or "__pycache__" in rel.parts:
            continue
        text = path.read_text()
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        module = ".".join(rel.with_suffix("").parts)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                prints = fingerprints(ast.get_source_segment(text, node) or "")
                if len(prints) >= MIN_FINGERPRINTS:
                    out[f"{module}.{node.name}"] = prints
    return out


def similar_answers(answers: dict[str, dict[str, str]], stubs: dict[str, str], library: dict[str, set[int]],
                    threshold: float = THRESHOLD) -> list[dict]:
    """Pairs to review. ``answers``: cell id -> {student: source}; ``stubs``: cell id -> the
    released stub. Returns rows {cell, a, b, score}, ``b`` a student or ``library: name``."""
    rows = []
    for cell, by_student in answers.items():
        shared = fingerprints(stubs.get(cell, ""))
        prints = {s: fingerprints(src) - shared for s, src in by_student.items()}
        prints = {s: p for s, p in prints.items() if len(p) >= MIN_FINGERPRINTS}
        for a, b in combinations(sorted(prints), 2):
            score = similarity(prints[a], prints[b])
            if score >= threshold:
                rows.append({"cell": cell, "a": a, "b": b, "score": score})
        for student, mine in sorted(prints.items()):
            best = max(((similarity(mine, theirs), name) for name, theirs in library.items()), default=(0.0, ""))
            if best[0] >= threshold:
                rows.append({"cell": cell, "a": student, "b": f"library: {best[1]}", "score": best[0]})
    return sorted(rows, key=lambda r: (r["cell"], -r["score"], r["a"], r["b"]))


def answer_cells(course: Path, assignment: str) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Every submission's answer cells and the released stubs, by cell id."""
    import nbformat

    def solution_cells(path: Path) -> dict[str, str]:
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # unreadable submissions are collect's business
            return {}
        return {cells.grade_id(c): c.source for c in nb.cells if cells.is_answer_code(c)}

    stubs: dict[str, str] = {}
    for path in sorted((course / "release" / assignment).glob("*.ipynb")):
        stubs.update(solution_cells(path))
    answers: dict[str, dict[str, str]] = {}
    for folder in sorted((course / "submitted").glob(f"*/{assignment}")):
        for path in sorted(folder.glob("*.ipynb")):
            for cell, source in solution_cells(path).items():
                answers.setdefault(cell, {})[folder.parent.name] = source
    return answers, stubs
