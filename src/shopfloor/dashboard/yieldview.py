"""The yield page (pure): the floor's figures over time, per day or per run, by agent or by vibe.

The figures are ``floor.metrics.compute``'s, computed again on each period's rows: an issue
counts in the period it settled (landed, or was blocked by a spiral), with all its attempts, so
first-pass yield, second-pass rate, cycle time and tokens and cost per merged issue mean what
``shopfloor metrics`` means by them. Gate failures and handoffs count in the period their
attempt started. A run is a stretch of attempts with no pause longer than ``RUN_GAP_S`` (the
floor keeps no record of its runs, so they are read from when its attempts happened).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from shopfloor.dashboard import charts
from shopfloor.dashboard.charts import Series
from shopfloor.floor.metrics import AttemptRow, IssueRow, compute

RUN_GAP_S = 15 * 60.0
PERIODS = ("day", "run")
GROUPINGS = ("agent", "vibe")
MAX_BUCKETS = 60  # the latest periods shown


@dataclass(frozen=True)
class YieldIssue:
    row: IssueRow
    settled: float | None  # when it landed, or its spiral ended; None: not settled yet


@dataclass(frozen=True)
class YieldAttempt:
    row: AttemptRow
    started: float
    ended: float | None


def day_of(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")


def runs_of(attempts: Sequence[YieldAttempt], gap_s: float = RUN_GAP_S) -> list[tuple[float, float]]:
    """The runs (start, end) the attempts fall into: a new one after a pause longer than ``gap_s``."""
    out: list[list[float]] = []
    for a in sorted(attempts, key=lambda a: a.started):
        end = a.ended if a.ended is not None else a.started
        if out and a.started <= out[-1][1] + gap_s:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([a.started, end])
    return [(s, e) for s, e in out]


def bucketer(period: str, attempts: Sequence[YieldAttempt]) -> tuple[Callable[[float], str], list[str]]:
    """A function from a time to its period's label, and the labels in order."""
    if period == "run":
        runs = runs_of(attempts)
        labels = [f"run {n} ({datetime.fromtimestamp(s, UTC):%m-%d %H:%M})" for n, (s, _) in enumerate(runs, 1)]

        def run_of(t: float) -> str:
            found = 0
            for n, (start, _) in enumerate(runs):
                if start <= t:
                    found = n
            return labels[found] if labels else "run 1"

        return run_of, labels
    times = [a.started for a in attempts]
    days = sorted({day_of(t) for t in times})
    return day_of, days


def _groups(issues: Sequence[YieldIssue], by: str) -> list[str]:
    return sorted({i.row.agent if by == "agent" else str(i.row.vibe) for i in issues})


def _key(by: str) -> Callable[[Any], str]:
    return (lambda r: r.agent) if by == "agent" else (lambda r: str(r.vibe))


def yield_view(
    issues: Sequence[YieldIssue], attempts: Sequence[YieldAttempt], period: str = "day", by: str = "agent"
) -> dict[str, Any]:
    period = period if period in PERIODS else "day"
    by = by if by in GROUPINGS else "agent"
    of, labels = bucketer(period, attempts)
    labels = labels[-MAX_BUCKETS:]
    index = {label: n for n, label in enumerate(labels)}
    key = _key(by)
    groups = _groups(issues, by)
    settled: dict[str, list[YieldIssue]] = defaultdict(list)
    for i in issues:
        if i.settled is not None and of(i.settled) in index:
            settled[of(i.settled)].append(i)
    by_issue: dict[str, list[AttemptRow]] = defaultdict(list)
    for a in attempts:
        by_issue[a.row.issue].append(a.row)
    figures = {
        label: compute([i.row for i in settled[label]], [a for i in settled[label] for a in by_issue[i.row.issue]])
        for label in labels
    }

    def per_group(name: str) -> list[Series]:
        out = [Series("all", [figures[label][name] for label in labels])]
        for g in groups:
            values = [figures[label][f"by_{by}"].get(g, {}).get(name) for label in labels]
            out.append(Series(f"{by} {g}", values))
        return out

    started: dict[str, list[YieldAttempt]] = defaultdict(list)
    for a in attempts:
        if of(a.started) in index:
            started[of(a.started)].append(a)
    failures = Counter(c for a in attempts for c in a.row.failed_checks)
    checks = [c for c, _ in failures.most_common(8)]
    failed = [
        Series(check, [sum(check in a.row.failed_checks for a in started[label]) for label in labels])
        for check in checks
    ]
    spirals_handoffs = [
        Series("spirals", [sum(1 for i in settled[label] if i.row.spiral) for label in labels]),
        Series("handoffs", [sum(1 for a in started[label] if a.row.handoff) for label in labels]),
    ]
    merged = [i.row for i in issues if i.row.merged and i.row.cycle_time_s is not None]
    cycle = [
        Series(
            f"{by} {g}",
            charts.histogram_bins([i.cycle_time_s or 0.0 for i in merged if key(i) == g], charts.CYCLE_EDGES),
        )
        for g in groups
    ]
    cycle_labels = [charts.cycle_label(n) for n in range(len(charts.CYCLE_EDGES))]
    total = compute([i.row for i in issues], [a.row for a in attempts])
    names = ["all", *(f"{by} {g}" for g in groups)]
    return {
        "period": period,
        "by": by,
        "periods": PERIODS,
        "groupings": GROUPINGS,
        "buckets": len(labels),
        "total": total,
        "charts": [
            _chart(
                "first-pass-yield",
                "First-pass yield",
                charts.lines("first-pass-yield", labels, per_group("first_pass_yield"), "%", 1.0),
                names,
            ),
            _chart(
                "second-pass-rate",
                "Second-pass rate",
                charts.lines("second-pass-rate", labels, per_group("second_pass_rate"), "%", 1.0),
                names,
            ),
            _chart("gate-failures", "Gate failures by check", charts.bars("gate-failures", labels, failed), checks),
            _chart(
                "spirals-handoffs",
                "Spirals and handoffs",
                charts.bars("spirals-handoffs", labels, spirals_handoffs, stacked=False),
                ["spirals", "handoffs"],
            ),
            _chart(
                "cycle-time",
                "Cycle time (claim to landed), merged issues",
                charts.bars("cycle-time", cycle_labels, cycle),
                names[1:],
            ),
            _chart(
                "tokens-per-merged",
                "Tokens per merged issue",
                charts.lines("tokens-per-merged", labels, per_group("tokens_per_merged")),
                names,
            ),
            _chart(
                "cost-per-merged",
                "Cost per merged issue",
                charts.lines("cost-per-merged", labels, per_group("cost_per_merged_usd"), "$"),
                names,
            ),
        ],
    }


def _chart(name: str, title: str, svg: Markup, series: Sequence[str]) -> dict[str, Any]:
    return {"name": name, "title": title, "svg": svg, "legend": charts.legend(series)}
