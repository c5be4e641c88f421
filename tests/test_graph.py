"""Tests for nnbook.graph: trace() and draw_graph()."""

import shutil

import graphviz
import pytest

from nnbook import graph
from nnbook.engine import Value
from nnbook.graph import draw_graph, trace

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' not installed")


def small():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    c.label = "c"
    d = (c + a).tanh()
    d.label = "d"
    return a, b, c, d


def test_trace_nodes_and_edges():
    a, b, c, d = small()
    nodes, edges = trace(d)
    s = d._prev[0]  # the unnamed c + a
    assert set(nodes) == {a, b, c, s, d} and len(nodes) == 5
    assert set(edges) == {(a, c), (b, c), (c, s), (a, s), (s, d)} and len(edges) == 5
    assert nodes[0] is d, "depth first from the root"


def test_trace_reused_node_and_leaf():
    a = Value(1.0)
    nodes, edges = trace(a * a)
    assert len(nodes) == 2 and len(edges) == 1
    assert trace(a) == ([a], [])


def test_trace_is_iterative():
    x = Value(1.0)
    y = x
    for _ in range(20_000):
        y = y + 1.0
    nodes, edges = trace(y)
    assert len(nodes) == 40_001 and len(edges) == 40_000


@needs_dot
def test_draw_graph_records_ops_and_digits():
    a, b, c, d = small()
    d.backward()
    g = draw_graph(d)
    assert isinstance(g, graphviz.Digraph)
    assert hasattr(g, "_repr_mimebundle_")  # shows inline in Jupyter
    src = g.source
    assert "rankdir=LR" in src
    # record: label | data | grad, 4 significant digits, braces keep it one row in LR
    assert '"{ d | data -0.9993 | grad 1 }"' in src
    assert '"{ c | data -6 | grad 0.001341 }"' in src
    assert "{ data -4 | grad 0.001341 }" in src  # an unlabelled node
    for op in ("label=tanh", 'label="*"', 'label="+"'):
        assert op in src
    assert src.count("shape=record") == 5 and src.count("shape=ellipse") == 3
    # 3 op -> result edges + 5 input -> op edges
    assert src.count("->") == 8


@needs_dot
def test_draw_graph_renders_svg_and_top_down():
    *_, d = small()
    svg = draw_graph(d).pipe(format="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "tanh" in svg
    src = draw_graph(d, rankdir="TB").source
    assert "rankdir=TB" in src and '"d | data -0.9993 | grad 0"' in src
    assert draw_graph(d, fmt="png").format == "png"


@needs_dot
def test_labels_with_record_characters_are_escaped():
    v = Value(1.0, label="x{1}|<y>")
    src = draw_graph(v).source
    assert r"x\{1\}\|\<y\>" in src
    draw_graph(v).pipe(format="svg")  # and dot accepts it


def test_missing_dot_binary_says_how_to_install(monkeypatch):
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match=r"install it with `apt-get install graphviz` "
                       r"\(Debian/Ubuntu\) or `brew install graphviz`"):
        draw_graph(Value(1.0))


def test_bad_rankdir():
    with pytest.raises(ValueError, match="rankdir must be one of 'LR', 'TB', 'RL', 'BT', got 'XY'"):
        draw_graph(Value(1.0), rankdir="XY")


@needs_dot
def test_draw_graph_is_the_same_every_time():
    """Names come from positions, not id(): two builds of one formula give one picture."""
    def build():
        a, b = Value(2.0, label="a"), Value(-3.0, label="b")
        return (a * b + a).tanh()

    assert draw_graph(build()).source == draw_graph(build()).source
