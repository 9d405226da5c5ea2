"""The dashboard in chromium, against real floors on the scripted agent: the floor page updates
live while a floor runs (a worker card appears, its context bar moves, its queue entry lands,
the counts change, and the page never reloads); an issue that needed a second pass shows both
attempts with the first one's failing test; the yield charts draw real points; an approve works
with the token and is refused without it, changing nothing; a review written on a change's lines
reaches the same agent session, its answer is the next attempt, and an approve lands it.

Each test writes screenshots of the pages it opens (``browserkit.screenshot``): the README's
come from ``SHOPFLOOR_SCREENSHOTS=docs/screenshots pytest tests/browser``."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from browserkit import VIEWPORT, Dashboard, Navigations
from conftest import SHOPFLOOR, Runner
from gatekit import make_project
from test_floor import run_floor, setup_gate, write_commit
from test_review_floor import ANSWER, session_prompts, waiting_change
from workerkit import wait_for

# The project's own tests are the gate: a failing one is named in the attempt's findings.
TESTS_GATE = """
[[gate.check]]
name = "tests"
argv = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml={junit}"]
timeout = 300
junit = true
"""
CONTEXT_WINDOW = "\n[agents.scripted]\ncontext_window = 100000\n"
SLOW = 2.5  # seconds an agent's tool call lasts where the page must see a state before the next


# Every context reading the first worker's card shows, in order (the stream swaps the floor's
# fragment in; an observer sees each swap).
WATCH_CONTEXT = """s => {
  window.sfContexts = [];
  const floor = document.querySelector('[data-testid=floor]');
  new MutationObserver(() => {
    const card = document.querySelector(s);
    if (card) window.sfContexts.push(card.dataset.context);
  }).observe(floor, {childList: true, subtree: true});
}"""


CHARTED = ("first-pass-yield", "second-pass-rate", "gate-failures", "cycle-time", "tokens-per-merged")


def marks_by_chart(page: Any) -> dict[str, int]:
    """How many marks (points, bars) each chart's SVG draws."""
    found: dict[str, int] = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[data-testid=chart]')].map(
             f => [f.dataset.chart, f.querySelectorAll('svg .mark').length]))"""
    )
    return found


def values(page: Any, chart: str, series: str) -> list[float]:
    marks = page.locator(f'[data-chart="{chart}"] svg .mark[data-series="{series}"]')
    return [float(v) for v in (marks.nth(i).get_attribute("data-value") for i in range(marks.count())) if v]


def turn(command: str, context: int) -> dict[str, Any]:
    """A Bash call whose turn leaves ``context`` tokens in the agent's context."""
    return {"tool": {"name": "Bash", "input": {"command": command}}, "usage": {"input_tokens": context}}


def project(floor: Runner) -> None:
    """calc.py with its tests, gated by them; the scripted agent with a 100k context window."""
    make_project(floor, gate=TESTS_GATE)
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + CONTEXT_WINDOW)
    floor.git("commit", "-qam", "a context window for the scripted agent")


def start_floor(floor: Runner, scripts: list[dict[str, Any]]) -> subprocess.Popen[str]:
    """`shopfloor run --until-idle` on the scripted agent, as a background process."""
    scenario = floor.cwd.parent / "scenario.json"
    scenario.write_text(json.dumps({"scripts": scripts}))
    return subprocess.Popen(
        [str(SHOPFLOOR), "run", "--workers", "1", "--agent", "scripted", "--terminal", "detached", "--until-idle"],
        cwd=floor.cwd,
        env=floor.env | {"SHOPFLOOR_SCENARIO": str(scenario)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(run: subprocess.Popen[str]) -> str:
    out, _ = run.communicate(timeout=300)
    assert run.returncode == 0, out
    return out


def card(issue: str) -> str:
    return f'[data-testid="worker-card"][data-issue="{issue}"]'


def count(page: Any, status: str) -> int:
    return int(page.get_attribute(f'[data-testid="count-{status}"]', "data-count"))


def wait_js(page: Any, expression: str, arg: Any = None, timeout: float = 60) -> Any:
    return page.wait_for_function(expression, arg=arg, timeout=timeout * 1000)


def test_the_floor_page_follows_a_live_floor_without_reloading(
    floor: Runner,
    dashboard: Callable[..., Dashboard],
    page: Any,
    screenshot: Callable[[Any, str], Path],
) -> None:
    project(floor)
    first = floor.json("create", "Add a greeting", "-p", "1")["id"]
    second = floor.json("create", "Make add faster", "-p", "2")["id"]
    growing = [
        turn(f"sleep {SLOW}", 10_000),  # 10% of the window
        turn(f"sleep {SLOW}", 30_000),  # 30%: the bar moves (below the 40% line: no handoff)
        *write_commit("greeting.txt", "hello\n", "add a greeting"),
    ]
    broken = "def add(a: int, b: int) -> int:\n    return a - b\n"
    fixed = "def add(a: int, b: int) -> int:\n    return a + b  # checked\n"
    scripts = [
        {"match": first, "turns": growing},
        {
            "match": second,
            "turns": [*write_commit("calc.py", broken, "faster add"), *write_commit("calc.py", fixed, "fix")],
        },
    ]
    server = dashboard(floor)
    navigations = Navigations(page)
    page.goto(f"{server.url}/?token={server.token}")
    page.wait_for_selector('[data-testid="live"][data-state="live"]')
    page.evaluate("window.sfLoaded = 'first load'")  # gone if the page ever reloads
    page.evaluate(WATCH_CONTEXT, card(first))
    assert count(page, "open") == 2 and count(page, "closed") == 0
    assert page.locator('[data-testid="worker-card"]').count() == 0

    run = start_floor(floor, scripts)
    try:
        # A card for the first issue appears, and its context bar moves: the page shows more than
        # one reading (10%, then 30%, then 2% as the session's context is read again).
        page.wait_for_selector(card(first), timeout=60_000)
        wait_js(page, "() => new Set(window.sfContexts.filter(v => v !== '')).size >= 2")
        shown = [float(v) for v in dict.fromkeys(page.evaluate("window.sfContexts")) if v]
        assert {10.0, 30.0} & set(shown) and max(shown) < 40, shown  # the scripted turns' readings
        width = page.get_attribute(f'{card(first)} [data-testid="context-fill"]', "width")
        assert float(width or 0) == float(page.get_attribute(card(first), "data-context") or 0)
        assert page.get_attribute(f'{card(first)} [data-testid="context-limit"]', "x1") == "40.0"
        screenshot(page, "floor")
        # Its queue entry lands, and the counts change.
        merged = f'[data-testid="queue-merged"][data-issue="{first}"]'
        page.wait_for_selector(merged, timeout=90_000)
        wait_js(page, "() => Number(document.querySelector('[data-testid=count-closed]').dataset.count) >= 1")
        # The second issue's worker takes the slot (its first pass fails the gate), then lands too.
        page.wait_for_selector(f'[data-testid="queue-merged"][data-issue="{second}"]', timeout=120_000)
        wait_js(page, "() => Number(document.querySelector('[data-testid=count-closed]').dataset.count) === 2")
        out = finish(run)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert count(page, "open") == 0, out
    # All of it arrived through the event stream, on the page loaded once.
    assert page.evaluate("window.sfLoaded") == "first load"
    assert navigations.urls == [f"{server.url}/"]  # the ?token= URL, redirected by the server to /
    assert int(page.get_attribute('[data-testid="floor"]', "data-updates")) >= 4

    # The issue that needed a second pass: both attempts, the first one's failing test named.
    page.click(f'[data-testid="queue-merged"][data-issue="{second}"] a')
    page.wait_for_selector('[data-testid="attempts"]')
    assert page.url == f"{server.url}/issue/{second}"
    attempts = page.locator('[data-testid="attempt"]')
    assert attempts.count() == 2
    assert [attempts.nth(i).get_attribute("data-verdict") for i in (0, 1)] == ["fail", "pass"]
    failing = attempts.nth(0).locator('[data-testid="check"][data-check="tests"] [data-testid="failing-test"]')
    assert failing.all_inner_texts() == ["tests/test_calc.py::test_add"]  # not test_add_zero: 0 - 0 == 0
    assert attempts.nth(1).locator('[data-testid="attempt-failing"]').count() == 0
    assert "1 file changed" in attempts.nth(0).locator('[data-testid="attempt-diffstat"]').inner_text()
    screenshot(page, "issue")
    # Its first attempt's gate report: every check, the verdict and why.
    attempts.nth(0).locator('[data-testid="attempt-gate-link"]').click()
    page.wait_for_selector('[data-testid="verdict"]')
    assert page.get_attribute('[data-testid="verdict"]', "data-verdict") == "fail"
    assert page.get_attribute('[data-testid="check-row"][data-check="tests"]', "data-status") == "fail"
    assert "tests/test_calc.py::test_add" in page.locator('[data-testid="failing-test"]').all_inner_texts()
    screenshot(page, "gate")

    # The yield charts draw the run's real figures: one issue of two landed on its first pass.
    page.click('[data-testid="nav-yield"]')
    page.wait_for_selector('[data-testid="charts"]')
    marks = marks_by_chart(page)
    assert all(marks[name] > 0 for name in CHARTED), marks
    assert values(page, "first-pass-yield", "all") == [0.5] and values(page, "second-pass-rate", "all") == [0.5]
    assert values(page, "gate-failures", "tests") == [1]  # the second issue's first pass
    screenshot(page, "yield")
    page.select_option('[data-testid="period"]', "run")  # per run instead of per day: one run so far
    page.wait_for_url("**/yield?period=run*")
    assert page.get_attribute('[data-testid="charts"]', "data-buckets") == "1"
    per_run = marks_by_chart(page)
    assert values(page, "first-pass-yield", "all") == [0.5] and all(per_run[name] > 0 for name in CHARTED), per_run

    # The work graph: two new open issues, one blocking the other; a click on a node opens it.
    blocker = floor.json("create", "Add a farewell")["id"]
    blocked = floor.json("create", "Say both", "--deps", f"blocks:{blocker}")["id"]
    page.click('[data-testid="nav-graph"]')
    page.wait_for_selector('[data-testid="graph"]')
    assert page.locator('[data-testid="graph-node"]').count() == 2
    assert page.locator('[data-testid="graph-edge"]').count() == 1
    screenshot(page, "graph")
    page.click(f'[data-testid="graph-node"][href="/issue/{blocked}"]')
    page.wait_for_url(f"**/issue/{blocked}")
    assert page.locator('[data-testid="blocker"]').all_inner_texts() == [blocker]

    # The agent's log of the second issue, readable: its tool calls with their inputs.
    page.goto(f"{server.url}/issue/{second}/log")
    assert page.locator('[data-testid="log-run"]').count() >= 1
    tools = page.locator('[data-testid="log-event"][data-kind="tool"]').all_inner_texts()
    assert any("calc.py" in t for t in tools), tools
    screenshot(page, "log")
    page.click('[data-testid="nav-learnings"]')
    page.wait_for_selector('[data-testid="memory"]')
    screenshot(page, "learnings")


def tracker_state(floor: Runner) -> str:
    """Everything a refused action could have changed: the issues (labels, comments, events), the
    queue, main."""
    dump = floor.cwd.parent / "dump.jsonl"
    floor("export", "-o", str(dump))
    queue = floor("queue", "list", "--all", "--json").stdout
    return dump.read_text() + queue + floor.git("rev-parse", "main")


POST = """async ([issue, csrf]) => {
  const body = new URLSearchParams({issue: issue, csrf: csrf, next: '/'});  // a form's encoding
  const r = await fetch('/action/approve', {method: 'POST', body: body});
  return [r.status, await r.text()];
}"""


def test_an_approve_works_with_the_token_and_without_it_is_refused_and_changes_nothing(
    floor: Runner,
    dashboard: Callable[..., Dashboard],
    browser: Any,
    screenshot: Callable[[Any, str], Path],
) -> None:
    setup_gate(floor)
    careful = floor.json("create", "Rotate the signing key", "--vibe", "1")["id"]
    scenario = floor.cwd.parent / "scenario.json"
    scenario.write_text(
        json.dumps({"scripts": [{"match": careful, "turns": write_commit("key.txt", "k2\n", "rotate")}]})
    )
    run_floor(floor, scenario)  # gated, then waits in the queue for a person
    server = dashboard(floor)
    waiting = f'[data-testid="queue-entry"][data-issue="{careful}"][data-state="needs-approval"]'

    # Without the token: read-only, no Approve button, and the same request is refused.
    anonymous = browser.new_context(viewport=VIEWPORT)
    page = anonymous.new_page()
    page.goto(f"{server.url}/")
    page.wait_for_selector(waiting)
    assert page.get_attribute('[data-testid="mode"]', "data-mode") == "read-only"
    assert page.locator('[data-testid="approve"]').count() == 0
    before = tracker_state(floor)
    status, said = page.evaluate(POST, [careful, "guessed"])
    assert (status, said) == (
        403,
        "refused: read-only: open the URL with the token that `shopfloor dashboard` printed to act",
    )
    # A CSRF token from a page that may act does not make up for the missing token either.
    allowed = browser.new_context(viewport=VIEWPORT)
    acting = allowed.new_page()
    acting.goto(f"{server.url}/?token={server.token}")
    csrf = acting.get_attribute(f'{waiting} [data-testid="approve-form"] input[name="csrf"]', "value")
    status, said = page.evaluate(POST, [careful, csrf])
    assert status == 403 and said.startswith("refused: read-only"), said
    # ... nor a wrong token in the URL.
    page.goto(f"{server.url}/?token=not-{server.token}")
    assert page.get_attribute('[data-testid="mode"]', "data-mode") == "read-only"
    assert page.evaluate(POST, [careful, csrf])[0] == 403
    assert tracker_state(floor) == before
    assert "approved" not in floor.json("show", careful)["labels"]
    anonymous.close()

    # With the token: the Approve button approves, and the next floor lands it; the page shows it live.
    acting.wait_for_selector(f"{waiting} [data-testid='approve']")
    assert acting.get_attribute('[data-testid="mode"]', "data-mode") == "act"
    screenshot(acting, "approve")
    acting.click(f"{waiting} [data-testid='approve']")
    acting.wait_for_selector('[data-testid="message"]')
    assert acting.inner_text('[data-testid="message"]') == f"{careful}: approved by tester"
    shown = floor.json("show", careful)
    assert "approved" in shown["labels"] and shown["status"] != "closed"
    assert shown["comments"][-1]["text"] == "approved for merge by tester"
    acting.wait_for_selector('[data-testid="live"][data-state="live"]')
    run_floor(floor, scenario)
    acting.wait_for_selector(f'[data-testid="queue-merged"][data-issue="{careful}"]', timeout=60_000)
    assert floor.json("show", careful)["status"] == "closed" and floor.git("show", "main:key.txt") == "k2"
    allowed.close()


def test_a_review_sent_from_the_issue_page_is_answered_by_the_same_session_then_approved(
    floor: Runner,
    dashboard: Callable[..., Dashboard],
    page: Any,
    screenshot: Callable[[Any, str], Path],
) -> None:
    sid, scenario = waiting_change(floor)  # a vibe 1 change waits for a person
    session = floor.json("worker", "list")[0]["session_id"]
    server = dashboard(floor)
    page.goto(f"{server.url}/?token={server.token}")
    page.goto(f"{server.url}/issue/{sid}")
    # The change, file by file; a line's number opens a comment box under it.
    assert page.locator('[data-testid="diff-file"]').evaluate_all("fs => fs.map(f => f.dataset.path)") == [
        "NOTES.md",
        "greet.py",
    ]
    page.click('[data-testid="comment-line"][data-at="greet.py:1"]')
    page.fill('[data-testid="comment-row"][data-at="greet.py:1"] [data-testid="comment-input"]', "add type hints")
    page.fill('[data-testid="review-note"]', "otherwise fine")
    screenshot(page, "review")
    page.click('[data-testid="send-review"]')
    page.wait_for_selector('[data-testid="message"]')
    said = page.inner_text('[data-testid="message"]')
    assert said == f"{sid}: review 1 (1 comment on greet.py and a note) sent to {sid}'s session", said
    # The same session was resumed with the comment, its file, line and code.
    worker = wait_for(floor, sid)
    assert worker["session_id"] == session
    told = session_prompts(floor, session)
    assert len(told) == 2 and "1. greet.py:1\n   code: def greet(name):\n   > add type hints" in told[1], told

    # Its answer is gated and waits for approval again; the issue page shows the second attempt
    # answering the review, and the new change.
    run_floor(floor, scenario)
    page.reload()
    attempts = page.locator('[data-testid="attempt"]')
    assert attempts.count() == 2
    assert page.get_attribute('[data-testid="review"][data-review="1"]', "data-sent") == "true"
    assert page.get_attribute('[data-testid="review"][data-review="1"]', "data-answered-by")
    code = page.locator('[data-testid="diff-file"][data-path="greet.py"] [data-testid="diff-line"]').all_inner_texts()
    assert any("def greet(name: str) -> str:" in line for line in code), code

    # Approve from the same page: the next floor lands the reviewed change.
    page.click('[data-testid="approve"]')
    page.wait_for_selector('[data-testid="message"]')
    assert page.inner_text('[data-testid="message"]') == f"{sid}: approved by tester"
    run_floor(floor, scenario)
    page.reload()
    assert page.get_attribute('[data-testid="issue-status"]', "data-status") == "closed"
    assert floor.git("show", "main:greet.py") == ANSWER.rstrip("\n")
