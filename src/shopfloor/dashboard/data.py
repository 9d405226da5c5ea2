"""What the dashboard's pages read, through each package's own read functions (never SQL on
another package's tables: tests/unit/test_rows.py).

Every function takes an open ``Tracker`` and returns plain rows; turning them into what a page
shows is ``viewmodels``' job.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopfloor.agents import registry
from shopfloor.agents.base import AgentEvent
from shopfloor.dashboard import graphview, yieldview
from shopfloor.errors import ShopfloorError
from shopfloor.floor import attempts, lanes, learnings, measure, promote, reasons, review
from shopfloor.floor.attempts import Attempt
from shopfloor.floor.coordinator import FloorConfig, limit_for
from shopfloor.gate import runlog
from shopfloor.gate.results import GateReport
from shopfloor.learn import index, ruledb
from shopfloor.paths import state_dir
from shopfloor.queue import entries
from shopfloor.queue.entries import Entry
from shopfloor.tracker import readiness, store
from shopfloor.tracker.clock import epoch
from shopfloor.tracker.issuetype import Issue
from shopfloor.tracker.service import Tracker
from shopfloor.workers import lifecycle, logview
from shopfloor.workers.archive import Run
from shopfloor.workers.records import Worker

DEFAULT_LIMIT = 0.40  # the 40% rule (agents.base.AgentOptions)
GRAPH_DEPS = ("blocks", "parent-child")  # the dependencies that hold an issue back


@dataclass(frozen=True)
class FloorRows:
    now: float  # epoch seconds when read
    workers: list[Worker]
    queue: list[Entry]
    counts: dict[str, int]
    lanes: dict[str, Any] | None  # the running floor's gate jobs and queue lane, or None
    limits: dict[str, float]  # each worker's agent's context limit (the 40% rule by default)
    titles: dict[str, str]  # the workers' issues' titles
    tries: dict[str, int]  # the workers' issues' attempts so far (this one included)


def floor_rows(tracker: Tracker) -> FloorRows:
    workers = lifecycle.list_workers(tracker)
    limits: dict[str, float] = {}
    config = FloorConfig()
    for agent in {w.agent for w in workers}:
        try:
            limits[agent] = limit_for(tracker, config, agent)
        except ShopfloorError:  # a config the floor itself would refuse: show the default line
            limits[agent] = DEFAULT_LIMIT
    return FloorRows(
        now=time.time(),
        workers=workers,
        queue=entries.list_entries(tracker.conn, None),
        counts=store.status_counts(tracker.conn),
        lanes=lanes.read(state_dir(tracker)),
        limits=limits,
        titles={i["id"]: i["title"] for i in store.fetch(tracker.conn, sorted({w.issue for w in workers}))},
        tries={w.issue: len(attempts.of_issue(tracker.conn, w.issue)) for w in workers},
    )


def lanes_file(tracker: Tracker) -> Path:
    return state_dir(tracker) / lanes.RECORD_NAME


@dataclass(frozen=True)
class IssueRows:
    issue: Issue
    attempts: list[Attempt]
    reports: dict[int, GateReport]  # the attempts' gate runs, by id
    runs: list[dict[str, Any]]  # every gate run of the issue (gate.runlog.list_runs), newest first
    logs: list[Run | None]  # each attempt's agent log run (workers.logview.match), or None
    log_count: int  # the issue's logged runs in all
    blockers: list[tuple[str, str, str]]  # (id, title, status) of what blocks it
    dependents: list[tuple[str, str, str]]
    reason: str | None  # why it is blocked (floor.reasons.latest), if it is
    queue: list[Entry]  # its queue entries


def _linked(conn: Any, ids: list[str]) -> list[tuple[str, str, str]]:
    return [(i["id"], i["title"], i["status"]) for i in store.fetch(conn, ids)]


def issue_rows(tracker: Tracker, text: str) -> IssueRows:
    """Everything the issue page shows; ``text`` is an id as a person types it (resolved by the tracker)."""
    issue_id = tracker.resolve(text)
    issue = store.get(tracker.conn, issue_id)
    rows = attempts.of_issue(tracker.conn, issue_id)
    reports: dict[int, GateReport] = {}
    for a in rows:
        if a.gate_run is not None and a.gate_run not in reports:
            with contextlib.suppress(ShopfloorError):
                reports[a.gate_run] = runlog.get_run(tracker.conn, a.gate_run)
    runs = logview.runs_of(tracker, issue_id)
    deps = [d["id"] for d in issue["dependencies"] if d["type"] == "blocks"]
    dependents = store.dep_graph(tracker.conn, ("blocks",))
    return IssueRows(
        issue=issue,
        attempts=rows,
        reports=reports,
        runs=runlog.list_runs(tracker.conn, issue_id, 100),
        logs=logview.match([(a.worker, a.generation) for a in rows], runs),
        log_count=len(runs),
        blockers=_linked(tracker.conn, deps),
        dependents=_linked(tracker.conn, sorted(i for i, on in dependents.items() if issue_id in on)),
        reason=reasons.latest(tracker.conn, [issue_id]).get(issue_id) if issue["status"] == "blocked" else None,
        queue=[e for e in entries.list_entries(tracker.conn, None) if e.issue == issue_id],
    )


def gate_report(tracker: Tracker, run_id: int) -> GateReport:
    return runlog.get_run(tracker.conn, run_id)


def agent_log(tracker: Tracker, text: str) -> tuple[str, list[tuple[Run, list[AgentEvent], list[str]]]]:
    """An issue's agent runs: each with its events read through its agent's adapter, and its
    plain lines (prompts, pane, stderr: ``shopfloor logs``) for an agent whose events are not parsed."""
    issue_id = tracker.resolve(text)
    out = []
    for run in logview.runs_of(tracker, issue_id):
        events: list[AgentEvent] = []
        try:
            adapter = registry.get(str(run.meta.get("agent") or ""))
        except ShopfloorError:
            adapter = None
        if adapter is not None:
            raw = logview.read_range(run.path / "events.jsonl", run.ranges["events.jsonl"])
            for line in raw.splitlines():
                events.extend(adapter.parse_line(line))
        out.append((run, events, logview.lines_of(run)))
    return issue_id, out


def yield_rows(tracker: Tracker) -> tuple[list[yieldview.YieldIssue], list[yieldview.YieldAttempt]]:
    """The rows ``shopfloor metrics`` computes its figures from (``floor.measure.rows``), each
    with its times, so the yield page can split them by day or by run."""
    found = measure.rows(tracker.conn)
    issues = [yieldview.YieldIssue(row, found.settled.get(row.issue)) for row in found.issues]
    tried = [
        yieldview.YieldAttempt(row, epoch(a.started_at), epoch(a.ended_at) if a.ended_at else None)
        for a, row in zip(found.attempts, found.attempt_rows, strict=True)
    ]
    return issues, tried


@dataclass(frozen=True)
class GraphRows:
    states: dict[str, str]  # each open issue's state: ready, blocked, in_progress, deferred, open
    priority: dict[str, int]
    edges: list[tuple[str, str]]  # (blocker, blocked) between open issues
    titles: dict[str, str]  # of the issues drawn


def graph_rows(tracker: Tracker, limit: int = graphview.MAX_NODES) -> GraphRows:
    nodes, deps = store.snapshot(tracker.conn)
    blocked = readiness.blocked_ids(nodes, deps)
    ready = set(readiness.ready_ids(nodes, deps, tracker.now()))
    states: dict[str, str] = {}
    for issue_id, node in nodes.items():
        if node.status == "closed":
            continue
        if node.status == "in_progress":
            states[issue_id] = "in_progress"
        elif issue_id in blocked:
            states[issue_id] = "blocked"
        elif issue_id in ready:
            states[issue_id] = "ready"
        elif node.status == "deferred" or node.defer_until:
            states[issue_id] = "deferred"
        else:
            states[issue_id] = "open"
    edges = sorted({(on, issue) for issue, on, kind in deps if kind in GRAPH_DEPS and issue in states and on in states})
    priority = {i: nodes[i].priority for i in states}
    shown = graphview.choose(states, priority, edges, limit)
    titles = {i["id"]: i["title"] for i in store.fetch(tracker.conn, shown)}
    return GraphRows(states, priority, edges, titles)


@dataclass(frozen=True)
class LearnRows:
    rules: list[ruledb.Row]  # every rule, proposed ones included (as the floor last refreshed them)
    effect: dict[str, Any]  # floor.measure.rules_section: accepted rules before/after, briefed learnings
    memory: dict[str, Any]  # learn.index.stats: the memory's documents by kind


def learn_rows(tracker: Tracker) -> LearnRows:
    """The rules and the memory as ``shopfloor rules list`` and ``learn stats`` show them: the
    memory's index brought up to date with its files, and a proposal for every failure that
    recurred since (both derived from what the floor recorded, as those commands refresh them)."""
    learnings.refresh(tracker)
    promote.refresh(tracker, promote.config(tracker))
    return LearnRows(
        rules=ruledb.listed(tracker.conn),
        effect=measure.rules_section(tracker.conn, attempts.all_attempts(tracker.conn)),
        memory=index.stats(tracker.conn),
    )


def review_rows(tracker: Tracker, issue_id: str) -> tuple[dict[str, Any] | None, str | None, list[review.Stored]]:
    """The issue's change as its latest attempt left it (``floor.review.change``; None, with why,
    when it has no branch), and its reviews so far."""
    try:
        found: dict[str, Any] | None = review.change(tracker, issue_id).as_json()
        why = None
    except ShopfloorError as exc:
        found, why = None, str(exc)
    return found, why, review.of_issue(tracker.conn, issue_id)
