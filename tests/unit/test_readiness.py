"""Readiness: the SQL query (``store.READY_SQL``) against the pure rules (``readiness``), and the
dependency-cycle helpers.
"""

from __future__ import annotations

import calendar
import graphlib
import itertools
import os
import tempfile
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopfloor.tracker import db, readiness, schema, store, writes
from shopfloor.tracker.clock import iso
from shopfloor.tracker.readiness import Edge, Node

PROPERTY = settings(max_examples=150, deadline=None)
EPOCH = calendar.timegm((2026, 11, 28, 11, 20, 44, 0, 0, 0))


def ts(seconds: int) -> str:
    return iso(EPOCH + seconds)


NOW = ts(500)
CREATED = (ts(0), ts(0), ts(1), ts(2))  # few values, so ties in age are common
DEFERS = (None, None, ts(100), NOW, ts(900))  # none, past, exactly now, future
# Ids whose byte order and code point order could differ if the store collated them oddly.
ISSUE_IDS = ("t-a1", "t-a1.1", "t-a1.2", "t-a10", "t-b", "t-B", "t-z", "t-_", "t-0")
MISSING = "t-gone"  # a dependency target that is not in the tracker (deleted on another branch)


STATUS_WEIGHTED = ("open", "open", "open", "in_progress", "blocked", "deferred", "closed", "closed")
# The blocking types come up more often than the others, so deep parent chains are common.
DEP_WEIGHTED = ("blocks", "blocks", "parent-child", "parent-child", "parent-child", "related", "discovered-from")


@st.composite
def graphs(draw: st.DrawFn) -> tuple[dict[str, Node], list[Edge]]:
    issue_ids = draw(st.lists(st.sampled_from(ISSUE_IDS), unique=True, min_size=1, max_size=len(ISSUE_IDS)))
    nodes = {
        issue_id: Node(
            status=draw(st.sampled_from(STATUS_WEIGHTED)),
            priority=draw(st.sampled_from(schema.PRIORITIES)),
            created_at=draw(st.sampled_from(CREATED)),
            defer_until=draw(st.sampled_from(DEFERS)),
        )
        for issue_id in issue_ids
    }
    targets = st.sampled_from([*issue_ids, MISSING])
    edges = {
        (issue_id, target, kind)
        for issue_id in issue_ids
        for target, kind in draw(st.lists(st.tuples(targets, st.sampled_from(DEP_WEIGHTED)), max_size=3))
    }
    # A parent-child chain (each issue a child of the one before), so blocking has to travel far.
    chain = draw(st.permutations(issue_ids))[: draw(st.integers(0, len(issue_ids)))]
    edges |= {(child, parent, "parent-child") for parent, child in itertools.pairwise(chain)}
    return nodes, sorted(edges)


def build_db(path: str, nodes: Mapping[str, Node], edges: list[Edge]) -> None:
    conn = db.connect(path, create=True)
    try:
        with db.transaction(conn):
            for issue_id, node in nodes.items():
                issue = schema.blank_issue(issue_id, f"issue {issue_id}", node.created_at, "tester")
                issue.update(status=node.status, priority=node.priority, defer_until=node.defer_until)
                if node.status == "closed":
                    issue.update(closed_at=node.created_at, close_reason="done")
                issue["dependencies"] = [{"id": dep, "type": kind} for src, dep, kind in edges if src == issue_id]
                writes.insert_issue(conn, schema.normalise(issue))
    finally:
        conn.close()


@PROPERTY
@given(graphs())
def test_sql_readiness_matches_the_pure_rules(graph: tuple[dict[str, Node], list[Edge]]) -> None:
    nodes, edges = graph
    expected = readiness.ready_ids(nodes, edges, NOW)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tracker.db")
        build_db(path, nodes, edges)
        conn = db.connect(path, create=False)
        try:
            assert store.ready_ids(conn, NOW) == expected
            assert [i["id"] for i in store.ready(conn, NOW)] == expected
            for limit in (1, 2):
                assert store.ready_ids(conn, NOW, limit=limit) == expected[:limit]
            # Blockers the store reports are exactly the spec's open blockers.
            for issue_id in nodes:
                sql_blockers = [b for b, _status, how in store.blockers_of(conn, issue_id) if how == "blocks"]
                assert sql_blockers == readiness.open_blockers(issue_id, nodes, edges)
            # `shopfloor blocked` lists exactly the spec's blocked issues that are not closed.
            spec_blocked = {i for i in readiness.blocked_ids(nodes, edges) if nodes[i].status != "closed"}
            assert {issue["id"] for issue, _ in store.blocked(conn)} == spec_blocked
        finally:
            conn.close()


def test_pure_rules_on_a_known_graph() -> None:
    """The spec itself, on a hand-checked example (so the comparison above is not spec-vs-spec only)."""
    nodes = {
        "t-root": Node("blocked", 2, ts(0)),
        "t-kid": Node("open", 0, ts(1)),  # child of a blocked parent
        "t-grandkid": Node("open", 0, ts(1)),  # grandchild of it
        "t-waits": Node("open", 1, ts(1)),  # blocked by an open issue
        "t-done-dep": Node("open", 3, ts(1)),  # its blocker is closed
        "t-closed": Node("closed", 0, ts(0)),
        "t-related": Node("open", 1, ts(0)),  # only a related link to an open issue
        "t-later": Node("open", 0, ts(0), defer_until=ts(900)),
        "t-earlier": Node("open", 1, ts(2), defer_until=ts(100)),
        "t-busy": Node("in_progress", 0, ts(0)),
        "t-free": Node("open", 1, ts(1)),
        "t-orphan": Node("open", 2, ts(0)),  # blocks-dependency on an issue that no longer exists
    }
    edges: list[Edge] = [
        ("t-kid", "t-root", "parent-child"),
        ("t-grandkid", "t-kid", "parent-child"),
        ("t-waits", "t-busy", "blocks"),
        ("t-done-dep", "t-closed", "blocks"),
        ("t-related", "t-busy", "related"),
        ("t-orphan", MISSING, "blocks"),
    ]
    assert readiness.blocked_ids(nodes, edges) == {"t-root", "t-kid", "t-grandkid", "t-waits"}
    assert readiness.ready_ids(nodes, edges, NOW) == [
        "t-related",
        "t-free",
        "t-earlier",
        "t-orphan",
        "t-done-dep",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tracker.db")
        build_db(path, nodes, edges)
        conn = db.connect(path, create=False)
        try:
            assert store.ready_ids(conn, NOW) == readiness.ready_ids(nodes, edges, NOW)
        finally:
            conn.close()


# --- cycles ------------------------------------------------------------------------------------


def test_cycle_if_added() -> None:
    assert readiness.cycle_if_added({}, "a", "a") == ["a", "a"]
    assert readiness.cycle_if_added({"a": ["b"]}, "b", "a") == ["b", "a", "b"]
    assert readiness.cycle_if_added({"a": ["b"], "b": ["c"]}, "c", "a") == ["c", "a", "b", "c"]
    dag = {"a": ["b", "c"], "b": ["d"], "c": ["d"]}
    assert readiness.cycle_if_added(dag, "a", "d") is None
    assert readiness.cycle_if_added(dag, "b", "c") is None
    assert readiness.cycle_if_added(dag, "e", "a") is None
    assert readiness.cycle_if_added(dag, "d", "a") in (["d", "a", "b", "d"], ["d", "a", "c", "d"])


@pytest.mark.parametrize(
    ("graph", "cycles"),
    [
        ({}, []),
        ({"a": ["a"]}, [["a", "a"]]),
        ({"a": ["b"], "b": ["a"]}, [["a", "b", "a"]]),
        ({"a": ["b"], "b": ["c"], "c": ["a"]}, [["a", "b", "c", "a"]]),
        ({"c": ["a"], "b": ["c"], "a": ["b"]}, [["a", "b", "c", "a"]]),
        ({"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []}, []),
        (
            {"a": ["b"], "b": ["a"], "x": ["y"], "y": ["x", "z"], "z": ["z"]},
            [["a", "b", "a"], ["x", "y", "x"], ["z", "z"]],
        ),
    ],
)
def test_find_cycles(graph: dict[str, list[str]], cycles: list[list[str]]) -> None:
    assert readiness.find_cycles(graph) == cycles


NAMES = "abcdef"
small_graphs = st.dictionaries(
    st.sampled_from(NAMES), st.lists(st.sampled_from(NAMES), unique=True, max_size=3), max_size=len(NAMES)
)


def reachable(graph: Mapping[str, list[str]], start: str) -> set[str]:
    """Nodes reachable from ``start`` by one or more edges."""
    seen: set[str] = set()
    frontier = list(graph.get(start, ()))
    while frontier:
        node = frontier.pop()
        if node not in seen:
            seen.add(node)
            frontier.extend(graph.get(node, ()))
    return seen


def is_acyclic(graph: Mapping[str, list[str]]) -> bool:
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError:
        return False
    return True


def check_cycle(graph: Mapping[str, list[str]], cycle: list[str]) -> None:
    assert len(cycle) >= 2 and cycle[0] == cycle[-1]
    assert len(set(cycle[:-1])) == len(cycle) - 1, f"{cycle} repeats a node"
    for src, dst in itertools.pairwise(cycle):
        assert dst in graph.get(src, ()), f"{src} -> {dst} is not an edge"


@PROPERTY
@given(small_graphs)
def test_find_cycles_finds_one_cycle_per_cyclic_component(graph: dict[str, list[str]]) -> None:
    cycles = readiness.find_cycles(graph)
    assert cycles == sorted(cycles)
    assert (cycles == []) == is_acyclic(graph)
    for cycle in cycles:
        check_cycle(graph, cycle)
    # Strongly connected components with a cycle, by brute force.
    nodes = set(graph) | {d for ds in graph.values() for d in ds}
    reach = {n: reachable(graph, n) for n in nodes}
    components = {frozenset({m for m in nodes if m in reach[n] and n in reach[m]}) for n in nodes if n in reach[n]}
    assert len(cycles) == len(components)
    for comp in components:
        assert sum(set(cycle) <= comp for cycle in cycles) == 1, f"component {sorted(comp)} needs exactly one cycle"


@PROPERTY
@given(small_graphs, st.sampled_from(NAMES), st.sampled_from(NAMES))
def test_cycle_if_added_is_exactly_reachability(graph: dict[str, list[str]], issue: str, depends_on: str) -> None:
    cycle = readiness.cycle_if_added(graph, issue, depends_on)
    closes_cycle = issue == depends_on or issue in reachable(graph, depends_on)
    assert (cycle is not None) == closes_cycle
    if cycle is not None:
        with_edge = {**graph, issue: [*graph.get(issue, ()), depends_on]}
        check_cycle(with_edge, cycle)
        assert cycle[0] == issue
        assert cycle[1] == depends_on
