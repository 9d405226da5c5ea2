"""One check's result, as reported and cached; and the gate report that holds them.

``CheckResult`` is what the gate computes; ``CheckJson`` is its JSON (``as_json``), which is what a
``GateReport`` carries in ``checks``, what ``gate show --json`` prints and what the ``gate_runs``
table stores. Both JSON shapes are ``TypedDict``s: at run time a report stays a plain ``dict``.
Which checks of a report fail or pass is ``gate.verdict``'s to say (``failing_checks`` and
``passing_checks``), from its one set of statuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, NotRequired, TypedDict, cast

from shopfloor.gate.findings import Finding

EXCERPT_HEAD = 15
EXCERPT_TAIL = 45
EXCERPT_CHARS = 6000


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str  # pass, fail, error, timeout, flaky, needs-approval, skipped
    duration_s: float = 0.0
    exit_code: int | None = None
    excerpt: str = ""  # the raw output's head and tail (what an opaque check has to show)
    signature: str | None = None
    builtin: bool = False
    junit: tuple[int, int, int] | None = None  # (collected, failed, skipped) when the check writes junit XML
    findings: tuple[Finding, ...] | None = None  # None: its output could not be split into findings
    differential: bool = False  # judged on the findings it added, not on its exit status
    preexisting: int = 0  # findings already on the base: counted, not blamed
    fixed: int | None = None  # findings on the base the candidate no longer has (None: the base's are unknown)
    base_status: str | None = None  # the same check's status on the base, when it was run there
    base_signature: str | None = None
    note: str = ""  # why the status is what it is (e.g. "61 pre-existing findings, none new")

    @property
    def new_findings(self) -> list[Finding]:
        return [f for f in self.findings or () if f.new is not False]

    def as_json(self) -> CheckJson:
        out = asdict(self)
        out["findings"] = None if self.findings is None else [f.as_json() for f in self.findings]
        return cast("CheckJson", out)

    @staticmethod
    def from_json(data: CheckJson | dict[str, Any]) -> CheckResult:
        junit = data.get("junit")
        found = data.get("findings")
        return CheckResult(
            **{
                **data,
                "junit": tuple(junit) if junit else None,
                "findings": None if found is None else tuple(Finding.from_json(f) for f in found),
            }
        )


class CheckJson(TypedDict):
    """One check in a gate report: ``CheckResult.as_json()`` (``tests/integration/test_types.py`` checks the
    keys are the dataclass's fields)."""

    name: str
    status: str  # one of gate.verdict.STATUSES
    duration_s: float
    exit_code: int | None
    excerpt: str
    signature: str | None
    builtin: bool
    junit: Sequence[int] | None  # (collected, failed, skipped); a list once read back from JSON
    findings: list[dict[str, Any]] | None  # Finding.as_json() each
    differential: bool
    preexisting: int
    fixed: int | None
    base_status: str | None
    base_signature: str | None
    note: str


class GateReport(TypedDict):
    """What ``gate run`` returns and records (``gate.gating``; ``gate.trackerskip`` for a change to
    the tracker's file alone, which runs no check); ``gate.runlog.get_run`` adds ``id`` and
    ``created_at`` when it reads one back."""

    verdict: str  # one of gate.verdict.VERDICTS
    rev: str
    commit: str
    tree: str
    base: str
    base_commit: str
    merge_base: str
    config_hash: str
    issue: str | None
    attempt: str | None
    vibe: int | None
    approval_required: bool
    approved: bool
    cached: bool
    itself: bool
    duration_s: float
    checks: list[CheckJson]
    env: NotRequired[str]  # the environment's fingerprint (not for a tracker-only change)
    advisory: NotRequired[bool]
    sandbox: NotRequired[str]
    note: NotRequired[str]  # why a tracker-only change was not gated
    id: NotRequired[int]  # set once recorded
    created_at: NotRequired[str]  # set by get_run


def excerpt(text: str) -> str:
    """The head and the tail of a check's output, bounded: a tool prints its summary last, and
    its first error early, so neither end alone is enough."""
    lines = text.rstrip("\n").splitlines()
    if len(lines) > EXCERPT_HEAD + EXCERPT_TAIL:
        skipped = len(lines) - EXCERPT_HEAD - EXCERPT_TAIL
        lines = [*lines[:EXCERPT_HEAD], f"… ({skipped} lines not shown) …", *lines[-EXCERPT_TAIL:]]
    out = "\n".join(lines)
    if len(out) <= EXCERPT_CHARS:
        return out
    half = (EXCERPT_CHARS - 3) // 2
    return out[:half] + "\n…\n" + out[-half:]
