"""From check results to a verdict (pure).

``pass`` only when every counted check passed; ``fail`` when any failed, errored or timed
out; ``needs-approval`` when nothing failed but a check asks for a human (protected files,
a large diff) or the issue's vibe level requires approval. A check that failed once and
passed when run again is ``flaky``: recorded, not counted against the change, unless what
failed is a test the change added or touched (``own_tests``).
"""

from __future__ import annotations

from dataclasses import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:  # the report's shape only; at run time this module needs nothing of the gate's
    from shopfloor.gate.results import CheckJson, GateReport

# A check's status, the one set every package reads: ``failing`` counts against the change,
# ``passing`` holds (a flaky check passed when run again), ``needs-approval`` waits for a person,
# ``skipped`` did not run. ``blocking`` keeps a change from landing.
STATUSES = ("pass", "fail", "error", "timeout", "flaky", "needs-approval", "skipped")
FAILING = ("fail", "error", "timeout")
PASSING = ("pass", "flaky")
BLOCKING = (*FAILING, "needs-approval")


def failing(status: str) -> bool:
    return status in FAILING


def passing(status: str) -> bool:
    return status in PASSING


def blocking(status: str) -> bool:
    return status in BLOCKING


# The same predicates over a whole report: its checks of each kind, in the report's order.


def failing_checks(report: GateReport) -> list[CheckJson]:
    return [c for c in report["checks"] if failing(c["status"])]


def passing_checks(report: GateReport) -> list[CheckJson]:
    return [c for c in report["checks"] if passing(c["status"])]


def blocking_checks(report: GateReport) -> list[CheckJson]:
    """The checks that keep the change from landing: the failing ones and those that wait for a person."""
    return [c for c in report["checks"] if blocking(c["status"])]


VERDICTS = ("pass", "fail", "needs-approval")
APPROVAL_VIBE = 2  # vibe levels at or below this need a human's approval before merge
FAST_VIBE = 4  # vibe levels at or above this run only the fast subset


@dataclass(frozen=True)
class Plan:
    """Which configured checks run, from the issue's vibe level."""

    fast_only: bool
    approval: bool


def plan_for(vibe: int | None) -> Plan:
    level = 3 if vibe is None else vibe
    return Plan(fast_only=level >= FAST_VIBE, approval=level <= APPROVAL_VIBE)


def combine(statuses: list[str], approval_required: bool = False) -> str:
    if any(s in FAILING for s in statuses):
        return "fail"
    if approval_required or "needs-approval" in statuses:
        return "needs-approval"
    return "pass"


def after_retry(first: str, second: str | None, own: bool = False) -> str:
    """A failing check is run once more: passing then makes it flaky, else the first status stands.

    ``own``: what failed is the change's own test code (a test it added, or one in a file it
    modified). Such a test passing on the retry is not forgiven: a test written to fail once
    and pass the second time would otherwise hide whatever its first failure showed."""
    if first == "fail" and second == "pass" and not own:
        return "flaky"
    return first


def own_tests(tests: list[str], changed: set[str]) -> list[str]:
    """The failing tests (pytest node ids, ``path::name``) in a file the change added or modified.

    A node id is relative to the directory pytest ran from, so a changed path that ends with
    the id's file counts too."""
    out = []
    for test in tests:
        where = test.split("::", 1)[0]
        if any(path == where or path.endswith("/" + where) for path in changed):
            out.append(test)
    return out


def fails_on_base_too(check: CheckJson) -> bool:
    """A failing check that failed the same way on the base: the base is red by itself.

    Checks judged by their findings never get here (the differential already forgave what the
    base had); this is the case of an opaque check, which fails if it fails."""
    return check.get("base_status") == "fail" and check.get("base_signature") == check.get("signature")


def red_base(report: GateReport) -> bool:
    """Whether every failure in a report is the base's own (nothing the change did is blamed)."""
    found = failing_checks(report)
    return bool(found) and all(fails_on_base_too(c) for c in found)
