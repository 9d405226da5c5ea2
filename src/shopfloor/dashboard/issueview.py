"""The issue page, a gate report and an agent's log, as plain dicts for their templates (pure).

The attempt timeline: each attempt's verdict and outcome, what its gate run's failing checks
found (new findings apart from those already on the base), its diff stat, the handoff note its
session ended with and, for the attempt that spiralled, the floor's reason.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from shopfloor.agents.base import AgentEvent
from shopfloor.dashboard.viewmodels import duration, short
from shopfloor.floor.attempts import Attempt
from shopfloor.floor.reasons import STOPPED
from shopfloor.gate.findings import Finding
from shopfloor.gate.results import CheckJson, GateReport
from shopfloor.gate.verdict import FAILING
from shopfloor.queue.entries import Entry
from shopfloor.tracker.clock import epoch
from shopfloor.tracker.issuetype import Comment, Issue
from shopfloor.workers.archive import Run

HANDOFF = "Handoff:"  # how the floor's handoff note starts (floor.prompts.handoff_note)
FINDINGS_SHOWN = 30  # per check, on the page (the gate report has them all)
INPUT_CHARS = 2000  # of a tool call's input in the agent's log


def finding_view(f: Finding) -> dict[str, Any]:
    where = f.path + (f":{f.line}" if f.line else "") if f.path else ""
    return {
        "test": f.test,
        "where": where,
        "code": f.code,
        "message": f.message,
        "detail": list(f.detail),
        "new": f.new,
    }


def check_view(check: CheckJson) -> dict[str, Any]:
    found = [Finding.from_json(f) for f in check.get("findings") or []]
    new = [f for f in found if f.new is not False]
    old = [f for f in found if f.new is False]
    return {
        "name": check["name"],
        "status": check["status"],
        "failing": check["status"] in FAILING,
        "time": f"{check['duration_s']:.1f} s" if check.get("duration_s") else "-",
        "signature": check.get("signature") or "",
        "note": check.get("note") or "",
        "excerpt": check.get("excerpt") or "",
        "parsed": check.get("findings") is not None,
        "new": [finding_view(f) for f in new[:FINDINGS_SHOWN]],
        "new_total": len(new),
        "preexisting": [finding_view(f) for f in old[:FINDINGS_SHOWN]],
        "preexisting_total": max(len(old), int(check.get("preexisting") or 0)),
        "fixed": check.get("fixed"),
        "differential": bool(check.get("differential")),
        "base_status": check.get("base_status"),
    }


def report_view(report: GateReport) -> dict[str, Any]:
    checks = [check_view(c) for c in report["checks"]]
    failing = [c["name"] for c in checks if c["failing"]]
    if report["verdict"] == "pass":
        why = "every check passed" + (" (replayed from the cache)" if report.get("cached") else "")
    elif report["verdict"] == "fail":
        why = "failed: " + ", ".join(failing) if failing else "failed"
    else:
        why = f"vibe {report.get('vibe')}: a person approves before it lands"
        if report.get("approved"):
            why += " (approved)"
    return {
        "id": report.get("id"),
        "verdict": report["verdict"],
        "why": why,
        "issue": report.get("issue"),
        "rev": report["rev"],
        "commit": report["commit"][:12],
        "base": report["base"],
        "base_commit": report["base_commit"][:12],
        "config_hash": report["config_hash"],
        "duration": f"{report['duration_s']:.1f} s",
        "created_at": report.get("created_at", ""),
        "cached": bool(report.get("cached")),
        "note": report.get("note") or "",
        "checks": checks,
        "failing": [c for c in checks if c["failing"]],
    }


def _notes_by_attempt(attempts: Sequence[Attempt], comments: Sequence[Comment]) -> dict[int, list[str]]:
    """Each handoff note, on the last attempt started before it was written."""
    out: dict[int, list[str]] = {}
    for c in comments:
        if not c["text"].startswith(HANDOFF):
            continue
        before = [a for a in attempts if a.started_at <= c["created_at"]]
        if before:
            out.setdefault(before[-1].id, []).append(c["text"])
    return out


def attempt_view(
    n: int, a: Attempt, report: GateReport | None, notes: list[str], log_index: int | None, reason: str | None
) -> dict[str, Any]:
    ended = epoch(a.ended_at) if a.ended_at else None
    checks = report_view(report)["failing"] if report is not None else []
    return {
        "n": n,
        "id": a.id,
        "series": a.series,
        "agent": a.agent,
        "worker": a.worker,
        "started_at": a.started_at,
        "ended_at": a.ended_at or "",
        "took": duration(ended - epoch(a.started_at)) if ended is not None else "running",
        "verdict": a.verdict or "",
        "outcome": a.outcome or ("running" if not a.ended_at else ""),
        "tokens": a.tokens,
        "cost": f"${a.cost_usd:.2f}",
        "diff_stat": a.diff_stat or "",
        "gate_run": a.gate_run,
        "failed_checks": json.loads(a.failed_checks or "[]"),
        "failing": checks,
        "handoff": bool(a.handoff),
        "notes": notes,
        "spiral": reason if a.outcome == "spiral" else None,
        "log": log_index,
    }


def issue_view(
    issue: Issue,
    attempts: Sequence[Attempt],
    reports: dict[int, GateReport],
    runs: Sequence[dict[str, Any]],
    logs: Sequence[Run | None],
    log_count: int,
    blockers: Sequence[tuple[str, str, str]],
    dependents: Sequence[tuple[str, str, str]],
    reason: str | None,
    queue: Sequence[Entry],
) -> dict[str, Any]:
    notes = _notes_by_attempt(attempts, issue["comments"])
    all_logs = [r for r in logs if r is not None]
    timeline = []
    for n, a in enumerate(attempts, start=1):
        log = logs[n - 1] if n - 1 < len(logs) else None
        index = next((k for k, r in enumerate(all_logs, start=1) if r is log), None) if log is not None else None
        report = reports.get(a.gate_run) if a.gate_run is not None else None
        timeline.append(attempt_view(n, a, report, notes.get(a.id, []), index, reason))
    comments = [
        {
            "author": c["author"],
            "at": c["created_at"],
            "text": c["text"],
            "kind": "handoff" if c["text"].startswith(HANDOFF) else "stop" if c["text"].startswith(STOPPED) else "",
        }
        for c in issue["comments"]
    ]
    return {
        "id": issue["id"],
        "title": issue["title"],
        "status": issue["status"],
        "priority": issue["priority"],
        "type": issue["type"],
        "vibe": issue["vibe"],
        "assignee": issue["assignee"] or "",
        "labels": list(issue["labels"]),
        "description": issue["description"] or "",
        "design": issue["design"] or "",
        "acceptance": issue["acceptance"] or "",
        "notes": issue["notes"] or "",
        "created_at": issue["created_at"],
        "closed_at": issue["closed_at"] or "",
        "close_reason": issue["close_reason"] or "",
        "blockers": [{"id": i, "title": t, "status": s} for i, t, s in blockers],
        "dependents": [{"id": i, "title": t, "status": s} for i, t, s in dependents],
        "reason": reason,
        "attempts": timeline,
        "runs": list(runs),
        "log_count": log_count,
        "comments": comments,
        "queue": [{"id": e.id, "state": e.state, "gate_run": e.gate_run, "detail": e.detail or ""} for e in queue],
        "needs_approval": any(e.state == "needs-approval" for e in queue),
        "retryable": issue["status"] in ("blocked", "open", "in_progress") and bool(attempts),
    }


def event_view(event: AgentEvent) -> dict[str, Any] | None:
    """One agent event, readable: its text, a tool call with its input, usage; None for the rest."""
    data = event.data
    if event.kind == "text":
        text = str(data.get("text") or "").strip()
        return {"kind": "text", "text": text} if text else None
    if event.kind == "tool_use":
        raw = data.get("input")
        shown = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, indent=1) if raw else ""
        return {"kind": "tool", "name": str(data.get("name") or "?"), "text": short_block(shown, INPUT_CHARS)}
    if event.kind == "usage":
        parts = [f"{k} {v:,}" for k, v in data.items() if isinstance(v, int)]
        return {"kind": "usage", "text": ", ".join(parts)}
    if event.kind == "cost":
        return {"kind": "cost", "text": ", ".join(f"{k} {v}" for k, v in data.items())}
    if event.kind == "started":
        return {
            "kind": "started",
            "text": f"session {data.get('session_id') or '?'} (model {data.get('model') or '?'})",
        }
    if event.kind == "done":
        return {"kind": "done", "text": "with an error" if data.get("is_error") else "success"}
    if event.kind == "error":
        return {"kind": "error", "text": short(str(data.get("message") or ""), 400)}
    return None


def short_block(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def log_view(issue_id: str, runs: Sequence[tuple[Run, Sequence[AgentEvent], Sequence[str]]]) -> dict[str, Any]:
    shown = []
    for n, (run, events, lines) in enumerate(runs, start=1):
        items = [v for v in (event_view(e) for e in events) if v is not None]
        shown.append(
            {
                "n": n,
                "agent": run.meta.get("agent") or "?",
                "worker": run.meta.get("worker") or "",
                "generation": run.generation,
                "live": run.live,
                "prompts": [
                    {"how": p.get("how") or "?", "at": str(p.get("at") or "")[:19], "text": str(p.get("prompt") or "")}
                    for p in run.prompts
                ],
                "events": items,
                "lines": [] if items else list(lines),
            }
        )
    return {"issue": issue_id, "runs": shown}
