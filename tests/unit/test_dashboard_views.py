"""The dashboard's pure parts: view models, charts, the work graph's layout, yield periods, the guard."""

from __future__ import annotations

import re

import pytest

from shopfloor.dashboard import charts, graphview, viewmodels, yieldview
from shopfloor.dashboard.charts import Series
from shopfloor.dashboard.security import COOKIE, Guard, hosts_for
from shopfloor.floor.metrics import AttemptRow, IssueRow
from shopfloor.queue.entries import Entry
from shopfloor.tracker.clock import iso
from shopfloor.workers.records import Worker

T0 = 1_780_000_000.0


def worker(name: str, state: str = "running", used: float | None = 0.25, last: str | None = None) -> Worker:
    return Worker(
        name=name, issue=name, actor=f"worker/{name}", branch=f"floor/{name}", worktree="/w", agent="claude",
        state=state, terminal="detached", log_dir="/l", started_at=iso(T0), context_used=used, tokens=1234,
        cost_usd=0.5, last_event=last,
    )  # fmt: skip


def entry(n: int, state: str, branch: str = "b") -> Entry:
    return Entry(n, f"{branch}{n}", f"t-{n}", "main", state, "h", iso(T0), iso(T0 + n))


def test_the_floor_view_puts_live_workers_first_and_marks_one_over_its_context_limit() -> None:
    view = viewmodels.floor_view(
        [worker("t-done", "done"), worker("t-hot", used=0.45, last="tool  Bash: pytest -q\x1b[31m"), worker("t-ok")],
        [entry(1, "merged"), entry(2, "queued"), entry(3, "failed"), entry(4, "needs-approval"), entry(5, "testing")],
        {"open": 3, "closed": 1, "weird": 2},
        None,
        T0 + 125,
        {"claude": 0.40},
        {"t-hot": "Hot <b>"},
        {"t-hot": 2},
    )
    cards = view["workers"]
    assert [c["name"] for c in cards] == ["t-hot", "t-ok", "t-done"]
    hot = cards[0]
    assert hot["over_limit"] and hot["context_pct"] == 45.0 and hot["limit_pct"] == 40.0
    assert hot["last"] == {"kind": "tool", "text": "Bash: pytest -q\ufffd[31m"}  # no escape sequence passes
    assert hot["elapsed"] == "2m 05s" and hot["attempt"] == 2 and hot["title"] == "Hot <b>"
    assert not cards[1]["over_limit"] and cards[2]["live"] is False
    assert [e["id"] for e in view["queue"]] == [2, 4, 5] and [e["id"] for e in view["stuck"]] == [3]
    assert [e["id"] for e in view["batch"]] == [5]
    assert [e["id"] for e in view["merged"]] == [1]
    assert [c["status"] for c in view["counts"]][:5] == ["open", "in_progress", "blocked", "deferred", "closed"]
    assert view["counts"][-1] == {"status": "weird", "count": 2} and view["total"] == 6
    assert view["lanes"]["running"] is False


def test_durations_read_like_a_clock() -> None:
    assert [viewmodels.duration(s) for s in (None, 5, 65, 3725)] == ["-", "5s", "1m 05s", "1h 02m"]


def test_a_line_chart_escapes_its_labels_and_marks_every_value() -> None:
    svg = str(charts.lines("x", ["d1", "d2", "<d3>"], [Series("<agent>", [0.5, None, 1.0]), Series("b", [0.2] * 3)]))
    assert len(re.findall(r'class="mark"', svg)) == 5
    assert "<agent>" not in svg and "&lt;agent&gt;" in svg and "&lt;d3&gt;" in svg
    assert svg.startswith('<svg class="chart" data-testid="chart-x"')


def test_stacked_bars_have_one_mark_per_nonzero_segment_and_empty_data_says_so() -> None:
    svg = str(charts.bars("f", ["a", "b"], [Series("lint", [1, 0]), Series("tests", [2, 3])]))
    assert sorted(re.findall(r'data-value="([^"]+)"', svg)) == ["1", "2", "3"]
    assert "no data yet" in str(charts.bars("f", ["a"], [Series("lint", [0])]))
    assert "no data yet" in str(charts.lines("f", [], []))


def test_histogram_bins_and_round_axis_tops() -> None:
    assert charts.histogram_bins([0, 59, 60, 301, 10**6], (0, 60, 300)) == [2, 1, 2]
    assert [charts.nice_max(v) for v in (0, 0.7, 3, 7, 1234)] == [1.0, 1.0, 5.0, 10.0, 2000.0]


def test_layers_follow_the_longest_chain_and_survive_a_cycle() -> None:
    edges = [("a", "b"), ("b", "c"), ("a", "c"), ("x", "y"), ("y", "x")]
    depth = graphview.layers(["a", "b", "c", "x", "y", "lone"], edges)
    assert (depth["a"], depth["b"], depth["c"], depth["lone"]) == (0, 1, 2, 0)
    assert {depth["x"], depth["y"]} <= {0, 1}
    places = graphview.positions(["a", "b", "c"], edges)
    assert places["a"][0] < places["b"][0] < places["c"][0]


def test_the_graph_draws_linked_escaped_nodes_and_prefers_linked_issues_when_capped() -> None:
    states = {"t-1": "ready", "t-2": "blocked", "t-3": "ready", "t-4": "in_progress"}
    chosen = graphview.choose(states, {"t-1": 0, "t-2": 1, "t-3": 0, "t-4": 3}, [("t-1", "t-2")], limit=3)
    assert chosen == ["t-1", "t-2", "t-4"]
    svg = str(graphview.svg(["t-1", "t-2"], {"t-1": "<script>x</script>"}, states, [("t-1", "t-2")]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert svg.count('data-testid="graph-node"') == 2 and 'href="/issue/t-2"' in svg
    assert 'data-from="t-1" data-to="t-2"' in svg


def attempt(
    issue: str, at: float, verdict: str = "pass", failed: tuple[str, ...] = (), agent: str = "claude"
) -> yieldview.YieldAttempt:
    return yieldview.YieldAttempt(AttemptRow(issue, agent, 3, verdict, failed, 100, 0.1), at, at + 60)


def test_runs_split_at_a_long_pause_and_each_period_gets_its_own_figures() -> None:
    tried = [
        attempt("a", T0, "fail", ("tests",)),
        attempt("a", T0 + 100),
        attempt("b", T0 + 200),
        attempt("c", T0 + 5 * 3600, agent="codex"),
    ]
    assert len(yieldview.runs_of(tried)) == 2
    issues = [
        yieldview.YieldIssue(IssueRow("a", "claude", 3, True, False, 160.0), T0 + 200),
        yieldview.YieldIssue(IssueRow("b", "claude", 3, True, False, 60.0), T0 + 300),
        yieldview.YieldIssue(IssueRow("c", "codex", 2, True, False, 60.0), T0 + 5 * 3600 + 60),
    ]
    view = yieldview.yield_view(issues, tried, "run", "agent")
    assert view["buckets"] == 2
    fpy = next(c for c in view["charts"] if c["name"] == "first-pass-yield")
    marks = re.findall(r'data-series="([^"]+)" data-value="([^"]+)"', str(fpy["svg"]))
    assert ("all", "0.5") in marks and ("all", "1") in marks and ("agent codex", "1") in marks
    assert view["total"]["merged"] == 3


@pytest.mark.parametrize(
    ("cookie", "form", "headers", "allowed"),
    [
        ("tok" * 8, {"csrf": "C"}, {"host": "127.0.0.1:8765", "origin": "http://127.0.0.1:8765"}, True),
        (None, {"csrf": "C"}, {"host": "127.0.0.1:8765", "origin": "http://127.0.0.1:8765"}, False),
        ("tok" * 8, {}, {"host": "127.0.0.1:8765", "origin": "http://127.0.0.1:8765"}, False),
        ("tok" * 8, {"csrf": "C"}, {"host": "127.0.0.1:8765", "origin": "http://evil.example"}, False),
        ("tok" * 8, {"csrf": "C"}, {"host": "127.0.0.1:8765", "referer": "http://127.0.0.1:8765/issue/x"}, True),
        ("tok" * 8, {"csrf": "C"}, {"host": "127.0.0.1:8765"}, False),
    ],
)
def test_the_guard_needs_the_cookie_the_csrf_token_and_the_same_origin(
    cookie: str | None, form: dict[str, str], headers: dict[str, str], allowed: bool
) -> None:
    guard = Guard("tok" * 8, hosts_for("127.0.0.1", 8765), csrf="C")
    cookies = {COOKIE: cookie} if cookie else {}
    assert (guard.refusal(cookies, headers, form) is None) is allowed
    assert Guard(None, frozenset()).refusal(cookies, headers, form) is not None  # read-only: never


def test_the_hosts_a_dashboard_answers_to() -> None:
    hosts = hosts_for("127.0.0.1", 8765)
    assert {"127.0.0.1:8765", "localhost:8765", "[::1]:8765"} <= hosts
    guard = Guard(None, hosts)
    assert guard.allows_host("localhost:8765") and not guard.allows_host("evil.example:8765")
    assert not guard.allows_host(None) and not guard.allows_host("localhost:9999")
    assert Guard(None, hosts_for("0.0.0.0", 80)).allows_host("anything:80")
