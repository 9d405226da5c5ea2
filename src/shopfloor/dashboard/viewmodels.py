"""What each page shows, as plain dicts for its template (pure: rows in, dicts out).

No database, no clock, no I/O: the caller passes the rows ``data`` read and the time, so every
function here is tested with plain values (tests/unit/test_dashboard_views.py).
"""

from __future__ import annotations

from typing import Any

from shopfloor.queue.entries import Entry, live, stuck
from shopfloor.tracker.clock import epoch
from shopfloor.workers.progress import printable
from shopfloor.workers.records import FINAL_STATES, Worker

LAST_EVENT_WIDTH = 140  # characters of a worker's last event on its card
MERGED_SHOWN = 8  # the latest landed entries in the queue lane
STATUS_ORDER = ("open", "in_progress", "blocked", "deferred", "closed")


def short(text: str | None, width: int) -> str:
    """One line of at most ``width`` characters, control characters replaced (agent output)."""
    line = printable(" ".join((text or "").split()))
    return line if len(line) <= width else line[: width - 1] + "…"


def duration(seconds: float | None) -> str:
    """``1h 02m``, ``3m 05s``, ``12s``; ``-`` for None."""
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    if s >= 3600:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s}s"


def last_event(text: str | None) -> dict[str, str]:
    """A worker's last event split into its kind (``tool``, ``text``, ...) and the rest."""
    line = short(text, LAST_EVENT_WIDTH)
    kind, _, rest = line.partition(" ")
    if kind in ("tool", "text", "usage", "cost", "done", "session", "warning:"):
        return {"kind": kind.rstrip(":"), "text": rest.strip()}
    return {"kind": "", "text": line}


def worker_card(w: Worker, now: float, limit: float, title: str, tries: int) -> dict[str, Any]:
    used = w.context_used
    end = epoch(w.ended_at) if w.ended_at else now
    return {
        "name": w.name,
        "issue": w.issue,
        "title": title,
        "agent": w.agent,
        "state": w.state,
        "live": w.state not in FINAL_STATES,
        "context_pct": None if used is None else round(min(used, 1.0) * 100, 1),
        "limit_pct": round(limit * 100, 1),
        "over_limit": used is not None and used >= limit,
        "context_tokens": w.context_tokens,
        "last": last_event(w.last_event),
        "tokens": w.tokens,
        "cost": f"${w.cost_usd:.2f}",
        "started_at": w.started_at,
        "started_epoch": epoch(w.started_at),
        "elapsed": duration(end - epoch(w.started_at)),
        "attempt": tries,
    }


def entry_row(e: Entry) -> dict[str, Any]:
    return {
        "id": e.id,
        "issue": e.issue,
        "branch": e.branch,
        "state": e.state,
        "gate_run": e.gate_run,
        "detail": short(e.detail, 100),
        "updated_at": e.updated_at,
    }


def counts_view(counts: dict[str, int]) -> list[dict[str, Any]]:
    """Issues by status, the usual statuses first (zeros shown), any other after."""
    keys = [*STATUS_ORDER, *sorted(k for k in counts if k not in STATUS_ORDER)]
    return [{"status": k, "count": counts.get(k, 0)} for k in keys]


def lanes_view(data: dict[str, Any] | None, now: float) -> dict[str, Any]:
    if data is None:
        return {"running": False, "gate_jobs": 0, "gating": [], "landing": False}
    gating = [
        {"issue": str(g.get("issue")), "for": duration(now - float(g.get("since") or now))}
        for g in data.get("gating") or []
        if isinstance(g, dict)
    ]
    return {
        "running": True,
        "gate_jobs": int(data.get("gate_jobs") or 0),
        "gating": gating,
        "landing": bool(data.get("landing")),
    }


def floor_view(
    workers: list[Worker],
    queue: list[Entry],
    counts: dict[str, int],
    lanes: dict[str, Any] | None,
    now: float,
    limits: dict[str, float],
    titles: dict[str, str],
    tries: dict[str, int],
    default_limit: float = 0.40,
) -> dict[str, Any]:
    """The floor page: worker cards (live ones first), the gate pool, the queue lane, the counts."""
    ordered = sorted(workers, key=lambda w: (w.state in FINAL_STATES, w.started_at, w.name))
    merged = sorted((e for e in queue if e.state == "merged"), key=lambda e: e.id, reverse=True)
    return {
        "workers": [
            worker_card(w, now, limits.get(w.agent, default_limit), titles.get(w.issue, ""), tries.get(w.issue, 0))
            for w in ordered
        ],
        "lanes": lanes_view(lanes, now),
        "queue": [entry_row(e) for e in live(queue)],
        "batch": [entry_row(e) for e in queue if e.state == "testing"],  # what a queue pass gates together
        "stuck": [entry_row(e) for e in stuck(queue)],
        "merged": [entry_row(e) for e in merged[:MERGED_SHOWN]],
        "merged_total": len(merged),
        "counts": counts_view(counts),
        "total": sum(counts.values()),
    }


def _rate(r: dict[str, Any] | None) -> str:
    if not r:
        return "-"
    share = "-" if r.get("rate") is None else f"{r['rate']:.0%}"
    return f"{share} ({r.get('met', 0)}/{r.get('gated', 0)})"


def evidence_view(e: dict[str, Any]) -> dict[str, Any]:
    if "lesson" in e:
        what = f"{e.get('source') or '?'} said: {e['lesson']}"
    elif e.get("fixed_by"):
        what = f"fixed by attempt {e['fixed_by']}" + (f" ({e['fix_stat']})" if e.get("fix_stat") else "")
    else:
        what = "never fixed"
    return {"issue": str(e.get("issue") or ""), "what": what, "retro": str(e.get("retro") or "")}


def learn_view(rules: list[Any], effect: dict[str, Any], memory: dict[str, Any]) -> dict[str, Any]:
    """The learnings page: proposed rules with their evidence, accepted ones with their measured
    effect (the signature's rate per gated attempt before and after), the memory's size."""
    measured = {r["id"]: r for r in effect.get("accepted", [])}
    shown = []
    for r in rules:
        m = measured.get(r.id)
        shown.append(
            {
                "id": r.id,
                "text": r.text,
                "state": r.state,
                "signature": r.signature,
                "evidence": [evidence_view(e) for e in r.evidence],
                "accepted_by": r.accepted_by or "",
                "accepted_at": r.accepted_at or "",
                "before": _rate(m["before"]) if m else "",
                "after": _rate(m["after"]) if m else "",
            }
        )
    briefed = effect.get("briefed") or {}
    return {
        "proposed": [r for r in shown if r["state"] == "proposed"],
        "accepted": [r for r in shown if r["state"] == "accepted"],
        "other": [r for r in shown if r["state"] not in ("proposed", "accepted")],
        "briefed": {
            "briefed": _rate(briefed.get("briefed")),
            "not_briefed": _rate(briefed.get("not_briefed")),
            "learnings": [
                {"source": b["source"], "briefed": _rate(b.get("briefed")), "not_briefed": _rate(b.get("not_briefed"))}
                for b in briefed.get("learnings", [])[:30]
            ],
        },
        "memory": memory,
    }
