"""The dashboard's pages on real floor data: a scripted floor runs once for the module (a first
pass, a second pass, a spiral, a dependency), then each page is read through Starlette's
TestClient the way a browser reads it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from conftest import Runner, base_env, copy_template
from shopfloor.dashboard.app import Dashboard, create_app
from shopfloor.dashboard.security import Guard
from shopfloor.tracker.service import Tracker
from test_floor import GATE, write_commit

HOSTILE = '<script>alert("t")</script> & <img src=x onerror=alert(1)>'


class Floor:
    def __init__(self, runner: Runner, ids: dict[str, str]) -> None:
        self.runner = runner
        self.ids = ids

    @property
    def repo(self) -> Path:
        return self.runner.cwd


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory, repo_template: Callable[[str], Path]) -> Floor:
    tmp = tmp_path_factory.mktemp("dashfloor")
    runner = Runner(copy_template(repo_template("committed"), tmp), base_env(tmp))
    config = runner.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + GATE)
    runner.git("add", "-A")
    runner.git("commit", "-qm", "gate")
    ids = {
        "first": runner.json("create", "Add a", "-p", "1")["id"],
        "refine": runner.json("create", "Add c " + HOSTILE, "-p", "2", "-d", "the description " + HOSTILE)["id"],
        "stuck": runner.json("create", "Add d", "-p", "3")["id"],
    }
    ids["second"] = runner.json("create", "Add b", "-p", "1", "--deps", f"blocks:{ids['first']}")["id"]
    # Matched by the prompt's first words: a briefing may name other issues (their retros).
    scripts = [
        {"match": f"Work on issue {ids['first']}:", "turns": write_commit("a.txt", "a\n", "add a")},
        {"match": f"Work on issue {ids['second']}:", "turns": write_commit("b.txt", "b\n", "add b")},
        {
            "match": f"Work on issue {ids['refine']}:",
            "turns": write_commit("c.txt", "c FIXME\n", "add c") + write_commit("c.txt", "c\n", "fix c"),
        },
        {
            "match": f"Work on issue {ids['stuck']}:",
            "turns": write_commit("d.txt", "d FIXME\n", "add d") + write_commit("d.txt", "d FIXME\n", "retry d"),
        },
    ]
    scenario = tmp / "backlog.json"
    scenario.write_text(json.dumps({"scripts": scripts}))
    done = runner(
        "run", "--workers", "2", "--agent", "scripted", "--terminal", "detached", "--until-idle",
        env={"SHOPFLOOR_SCENARIO": str(scenario)}, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr  # it blocked the spiral
    ids["open"] = runner.json("create", "Later", "--deps", f"blocks:{ids['stuck']}")["id"]
    return Floor(runner, ids)


@pytest.fixture
def client(ran: Floor) -> Iterator[TestClient]:
    tracker = Tracker.open("person", str(ran.repo))
    dash = Dashboard(str(ran.repo), tracker, Guard(None, frozenset({"testserver"})), "person")
    try:
        with TestClient(create_app(dash)) as test_client:
            yield test_client
    finally:
        dash.close()


def tagged(html: str, name: str) -> list[str]:
    """The opening tags that carry data-testid=NAME."""
    return re.findall(rf'<[^>]*data-testid="{re.escape(name)}"[^>]*>', html)


def attr(tag: str, name: str) -> str:
    found = re.search(rf'{name}="([^"]*)"', tag)
    assert found, (name, tag)
    return found.group(1)


def get(client: TestClient, path: str) -> str:
    done = client.get(path)
    assert done.status_code == 200, (path, done.status_code, done.text[:500])
    return done.text


def test_the_floor_page_counts_what_the_floor_did_and_lists_what_landed(ran: Floor, client: TestClient) -> None:
    html = get(client, "/")
    counts = {attr(t, "data-status"): int(attr(t, "data-count")) for t in tagged(html, "count-closed")}
    counts |= {attr(t, "data-status"): int(attr(t, "data-count")) for t in tagged(html, "count-blocked")}
    counts |= {attr(t, "data-status"): int(attr(t, "data-count")) for t in tagged(html, "count-open")}
    assert counts == {"closed": 3, "blocked": 1, "open": 1}
    landed = {attr(t, "data-issue") for t in tagged(html, "queue-merged")}
    assert landed == {ran.ids["first"], ran.ids["second"], ran.ids["refine"]}
    assert tagged(html, "worker-card") == []  # merged and blocked issues leave no worker


def test_an_issue_with_a_second_pass_shows_both_attempts_and_what_failed_first(ran: Floor, client: TestClient) -> None:
    html = get(client, f"/issue/{ran.ids['refine']}")
    attempts = tagged(html, "attempt")
    assert [(attr(t, "data-verdict"), attr(t, "data-outcome")) for t in attempts] == [
        ("fail", "failed"),
        ("pass", "merged"),
    ]
    first = html.split('data-testid="attempt"')[1]
    assert 'data-check="no-fixme" data-status="fail"' in first
    assert "1 file changed" in first
    gate_links = [attr(t, "href") for t in tagged(html, "attempt-gate-link")]
    assert len(gate_links) == 2 and all(re.fullmatch(r"/gate/\d+", link) for link in gate_links)
    assert len(tagged(html, "attempt-log-link")) == 2
    report = get(client, gate_links[0])
    assert attr(tagged(report, "verdict")[0], "data-verdict") == "fail"
    assert tagged(report, "check-row") and 'data-check="no-fixme" data-status="fail"' in report


def test_a_hostile_title_and_description_are_escaped_everywhere(ran: Floor, client: TestClient) -> None:
    for path in (f"/issue/{ran.ids['refine']}", f"/issue/{ran.ids['refine']}/log"):
        html = get(client, path)
        assert "<script>alert" not in html and "<img src=x" not in html, path
    html = get(client, f"/issue/{ran.ids['refine']}")
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;" in html


def test_a_spiral_shows_its_reason_on_the_issue_and_on_the_attempt(ran: Floor, client: TestClient) -> None:
    html = get(client, f"/issue/{ran.ids['stuck']}")
    reason = tagged(html, "blocked-reason")
    assert reason and "spiral" in html.split('data-testid="blocked-reason"')[1].split("</p>")[0]
    assert [attr(t, "data-outcome") for t in tagged(html, "attempt")][-1] == "spiral"
    assert "the same failure" in html.split('data-testid="attempt-spiral"')[1].split("</p>")[0]
    assert [attr(t, "href") for t in tagged(html, "dependent")] == [f"/issue/{ran.ids['open']}"]


def test_the_agent_log_shows_tool_calls_with_their_inputs_and_text(ran: Floor, client: TestClient) -> None:
    html = get(client, f"/issue/{ran.ids['first']}/log")
    kinds = [attr(t, "data-kind") for t in tagged(html, "log-event")]
    assert {"started", "tool", "text", "usage"} <= set(kinds)
    assert "git add -A &amp;&amp; git commit -qm &#39;add a&#39;" in html
    assert tagged(html, "log-prompt")


@pytest.mark.parametrize(
    "path", ["/issue/nosuch", "/gate/99999", "/gate/100000000000000000000", "/gate/0", "/issue/nosuch/log"]
)
def test_an_unknown_id_is_a_404_with_the_trackers_line(client: TestClient, path: str) -> None:
    done = client.get(path)
    assert done.status_code == 404
    assert tagged(done.text, "error")




def test_the_yield_charts_have_marks_from_the_floors_data(ran: Floor, client: TestClient) -> None:
    for query in ("", "?period=run&by=vibe"):
        html = get(client, "/yield" + query)
        charts = [attr(t, "data-chart") for t in tagged(html, "chart")]
        assert charts == [
            "first-pass-yield", "second-pass-rate", "gate-failures", "spirals-handoffs",
            "cycle-time", "tokens-per-merged", "cost-per-merged",
        ]  # fmt: skip
        fpy = html.split('data-testid="chart-first-pass-yield"')[1].split("</svg>")[0]
        values = sorted(float(v) for v in re.findall(r'class="mark"[^>]*data-value="([^"]+)"', fpy))
        assert values and values[0] == pytest.approx(2 / 3)  # "all": a and b first time, c second
        failures = html.split('data-testid="chart-gate-failures"')[1].split("</svg>")[0]
        assert 'data-series="no-fixme"' in failures
    row = tagged(get(client, "/yield"), "yield-row")[0]
    assert attr(row, "data-group") == "all"


def test_the_work_graph_draws_open_issues_with_their_state_and_links(ran: Floor, client: TestClient) -> None:
    html = get(client, "/graph")
    nodes = {attr(t, "data-issue"): attr(t, "data-state") for t in tagged(html, "graph-node")}
    assert nodes == {ran.ids["stuck"]: "blocked", ran.ids["open"]: "blocked"}
    edges = [(attr(t, "data-from"), attr(t, "data-to")) for t in tagged(html, "graph-edge")]
    assert edges == [(ran.ids["stuck"], ran.ids["open"])]
    assert f'href="/issue/{ran.ids["open"]}"' in html


def test_the_learnings_page_shows_the_memory_and_the_rules(ran: Floor, client: TestClient) -> None:
    html = get(client, "/learnings")
    kinds = {attr(t, "data-kind"): int(attr(t, "data-count")) for t in tagged(html, "memory-kind")}
    assert kinds.get("retro", 0) >= 1, kinds  # the floor wrote a retro for each finished issue
    assert tagged(html, "rules-proposed") and tagged(html, "rules-accepted")
