"""One check's result, as reported and cached."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

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

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["findings"] = None if self.findings is None else [f.as_json() for f in self.findings]
        return out

    @staticmethod
    def from_json(data: dict[str, Any]) -> CheckResult:
        junit = data.get("junit")
        found = data.get("findings")
        return CheckResult(
            **{
                **data,
                "junit": tuple(junit) if junit else None,
                "findings": None if found is None else tuple(Finding.from_json(f) for f in found),
            }
        )


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
