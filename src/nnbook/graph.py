"""Draw the computation graph behind a ``Value`` with Graphviz.

Each Value is a record box ``label | data ... | grad ...`` and each operation
is a small ellipse between its inputs and its result, so the picture reads
like the formula: inputs on the left, the loss on the right (``rankdir="LR"``).

The returned ``graphviz.Digraph`` shows itself inline in Jupyter and can be
turned into SVG text with ``.pipe(format="svg")``.
"""

from __future__ import annotations

import shutil

__all__ = ["trace", "draw_graph"]

INSTALL_HINT = (
    "install it with `apt-get install graphviz` (Debian/Ubuntu) or `brew install graphviz`"
)


def trace(root):
    """All nodes reachable from ``root`` and the edges (input, output) between them.

    Iterative, so graphs of any depth can be traced. Both come back as lists in a fixed
    order (depth first from ``root``, inputs in the order the operation took them), so
    the same formula always gives the same picture.
    """
    nodes, edges, seen, seen_edges = [], [], set(), set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        for child in node._prev:
            if (id(child), id(node)) not in seen_edges:  # a*a uses a twice: one edge
                seen_edges.add((id(child), id(node)))
                edges.append((child, node))
        stack.extend(reversed(node._prev))
    return nodes, edges


def _escape(text):
    # These characters structure a record label; escape them in user labels.
    for ch in "\\{}|<>\"":
        text = text.replace(ch, "\\" + ch)
    return text


def draw_graph(root, rankdir="LR", fmt="svg"):
    """Return a ``graphviz.Digraph`` of the graph that computed ``root``.

    ``rankdir``: "LR" (left to right) or "TB" (top to bottom).
    ``fmt``: output format used by ``.render()`` / ``.pipe()``.
    Raises RuntimeError if Graphviz's ``dot`` program is not installed.
    """
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be one of 'LR', 'TB', 'RL', 'BT', got {rankdir!r}")
    if shutil.which("dot") is None:
        raise RuntimeError(f"Graphviz's `dot` program was not found; {INSTALL_HINT}")
    import graphviz  # imported here so trace() works without the package

    dot = graphviz.Digraph(format=fmt, graph_attr={"rankdir": rankdir})
    nodes, edges = trace(root)
    # Names by position rather than id(): stable across runs, so notebook outputs are too.
    name = {id(n): f"n{i}" for i, n in enumerate(nodes)}
    for n in nodes:
        uid = name[id(n)]
        fields = [f"data {n.data:.4g}", f"grad {n.grad:.4g}"]
        if n.label:
            fields.insert(0, _escape(n.label))
        # Graphviz stacks record fields across the rank direction, so with
        # LR they would pile up vertically; braces flip them back into one row.
        record = " | ".join(fields)
        if rankdir in ("LR", "RL"):
            record = "{ " + record + " }"
        dot.node(uid, label=record, shape="record")
        if n._op:
            dot.node(uid + n._op, label=_escape(n._op), shape="ellipse")
            dot.edge(uid + n._op, uid)
    for child, parent in edges:
        dot.edge(name[id(child)], name[id(parent)] + parent._op)
    return dot
