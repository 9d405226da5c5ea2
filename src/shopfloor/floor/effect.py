"""The measured effect of the memory (pure): the "rules" section of ``shopfloor metrics``.

Computed from plain rows (``floor.measure`` reads them):

- **Accepted rules.** A rule names a failure signature. Its rate is the gated attempts that
  met the signature over the gated attempts, counted before and after the rule was accepted
  (by the attempt's start). Each window keeps its counts, so a reader sees the n behind a rate.
- **Briefed learnings.** A learning (a memory source id an attempt was briefed with) has the
  signatures its source met: a retro (``retro:<issue>``) every signature its issue met; a
  handoff note (``handoff:<attempt>``) those its issue met up to that attempt; a gate excerpt
  (``gate:<run>:<check>``) that check's signature in that run. Research notes and plans name
  no signature and are not measured. An attempt counts as briefed with a learning when it or an
  earlier attempt of its issue was (a briefing is in the first prompt; the passes after it
  resume that session or are handed its notes). Its "came back" rate is the gated attempts
  briefed with it that still met one of its signatures, over the gated attempts briefed with it.
  The baseline is the gated attempts not briefed with it that could have been: of other issues,
  started after the learning existed (its source attempt ended).
  Over all learnings, per attempt: a briefed attempt came back when it met a signature of any
  learning it was briefed with; an attempt briefed with none is the baseline, against the
  learnings that existed when it started, of other issues.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

SHOWN = 10  # the learnings ``lines`` prints (most briefed first); --json has them all


@dataclass(frozen=True)
class Tried:
    """One attempt, as far as the memory's effect goes."""

    id: int
    issue: str
    started: float  # epoch seconds
    ended: float | None
    gated: bool  # the gate judged it (it has a verdict)
    gate_run: int | None = None
    signatures: frozenset[str] = frozenset()
    learnings: tuple[str, ...] = ()  # the source ids its briefing included


@dataclass(frozen=True)
class Accepted:
    id: int
    signature: str
    accepted: float  # epoch seconds


def rate(met: int, gated: int) -> dict[str, Any]:
    return {"met": met, "gated": gated, "rate": met / gated if gated else None}


def _window(tried: Iterable[Tried], signatures: frozenset[str]) -> dict[str, Any]:
    gated = [t for t in tried if t.gated]
    return rate(sum(1 for t in gated if t.signatures & signatures), len(gated))


def accepted_rules(rules: Iterable[Accepted], tried: list[Tried]) -> list[dict[str, Any]]:
    """Per accepted rule (by id): its signature's rate per gated attempt before and after acceptance."""
    out = []
    for rule in sorted(rules, key=lambda r: r.id):
        sig = frozenset({rule.signature})
        out.append(
            {
                "id": rule.id,
                "signature": rule.signature,
                "before": _window((t for t in tried if t.started < rule.accepted), sig),
                "after": _window((t for t in tried if t.started >= rule.accepted), sig),
            }
        )
    return out


@dataclass(frozen=True)
class Learning:
    source: str
    issue: str  # the issue it came from
    since: float  # when it existed: its source attempt ended
    signatures: frozenset[str]


def learning(source: str, tried: list[Tried]) -> Learning | None:
    """What ``source`` teaches about (None: it names no signature the attempts know)."""
    kind, _, rest = source.partition(":")
    ended = [t for t in tried if t.ended is not None]
    if kind == "retro":
        own = [t for t in ended if t.issue == rest]
    elif kind == "handoff" and rest.isdigit():
        at = next((t for t in ended if t.id == int(rest)), None)
        own = [t for t in ended if at is not None and t.issue == at.issue and t.id <= at.id]
    elif kind == "gate":
        run, _, check = rest.partition(":")
        own = [
            replace(t, signatures=frozenset(s for s in t.signatures if s.split(":", 1)[0] == check))
            for t in ended
            if run.isdigit() and t.gate_run == int(run)
        ]
    else:
        return None
    signatures = frozenset().union(*(t.signatures for t in own)) if own else frozenset()
    if not signatures:
        return None
    return Learning(source, own[-1].issue, max(t.ended or 0.0 for t in own), signatures)


def carried(tried: list[Tried]) -> dict[int, frozenset[str]]:
    """Each attempt's learnings: its own and those of the earlier attempts of its issue."""
    so_far: dict[str, set[str]] = {}
    out = {}
    for t in sorted(tried, key=lambda t: t.id):
        so_far.setdefault(t.issue, set()).update(t.learnings)
        out[t.id] = frozenset(so_far[t.issue])
    return out


def _overall(tried: list[Tried], briefed_with: dict[int, frozenset[str]], learnings: list[Learning]) -> dict[str, Any]:
    """Per gated attempt: briefed with a measured learning and met one of its signatures, or
    briefed with none and met a signature of one that existed, of another issue (the baseline)."""
    known = {found.source: found for found in learnings}
    counts = {"briefed": [0, 0], "not_briefed": [0, 0]}
    for t in tried:
        if not t.gated:
            continue
        mine = [known[s] for s in sorted(briefed_with[t.id]) if s in known]
        if mine:
            key, relevant = "briefed", mine
        else:
            key, relevant = "not_briefed", [f for f in learnings if f.issue != t.issue and f.since <= t.started]
        if not relevant:
            continue
        counts[key][1] += 1
        counts[key][0] += bool(t.signatures & frozenset().union(*(f.signatures for f in relevant)))
    return {key: rate(*values) for key, values in counts.items()}


def briefed(tried: list[Tried]) -> dict[str, Any]:
    """Per briefed learning (by source id), and over all of them: how often its signature came
    back in an attempt briefed with it, against the attempts that could have been and were not."""
    briefed_with = carried(tried)
    sources = sorted({s for t in tried for s in t.learnings})
    learnings = [found for found in (learning(s, tried) for s in sources) if found is not None]
    per: list[dict[str, Any]] = []
    for found in learnings:
        with_it = [t for t in tried if found.source in briefed_with[t.id]]
        without = [
            t
            for t in tried
            if found.source not in briefed_with[t.id] and t.issue != found.issue and t.started >= found.since
        ]
        per.append(
            {
                "source": found.source,
                "signatures": sorted(found.signatures),
                "briefed": _window(with_it, found.signatures),
                "not_briefed": _window(without, found.signatures),
            }
        )
    return {
        "learnings": per,
        "unmeasured": [s for s in sources if s not in {f.source for f in learnings}],
        **_overall(tried, briefed_with, learnings),
    }


def section(rules: Iterable[Accepted], tried: list[Tried]) -> dict[str, Any]:
    """The "rules" section of ``shopfloor metrics``."""
    return {"accepted": accepted_rules(rules, tried), "briefed": briefed(tried)}


def _pct(r: dict[str, Any]) -> str:
    share = "-" if r["rate"] is None else f"{r['rate']:.0%}"
    return f"{share} ({r['met']}/{r['gated']})"


def lines(sec: dict[str, Any]) -> list[str]:
    """The section as ``shopfloor metrics`` prints it."""
    out = []
    accepted = sec["accepted"]
    if accepted:
        out.append("rules: signature met per gated attempt, before -> after acceptance")
    for r in accepted:
        out.append(f"  rule {r['id']} {r['signature']}: {_pct(r['before'])} -> {_pct(r['after'])}")
    b = sec["briefed"]
    if b["learnings"]:
        out.append(
            f"briefed learnings: signature came back {_pct(b['briefed'])} briefed, {_pct(b['not_briefed'])} not briefed"
        )
    most = sorted(b["learnings"], key=lambda row: (-row["briefed"]["gated"], row["source"]))
    for row in most[:SHOWN]:
        out.append(f"  {row['source']}: {_pct(row['briefed'])} briefed, {_pct(row['not_briefed'])} not briefed")
    if len(most) > SHOWN:
        out.append(f"  and {len(most) - SHOWN} more learning(s): see --json")
    if b["unmeasured"]:
        out.append(f"  not measured (no signature): {', '.join(b['unmeasured'])}")
    return out
