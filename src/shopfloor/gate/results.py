"""One check's result, as reported and cached."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

EXCERPT_LINES = 40
EXCERPT_CHARS = 4000


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str  # pass, fail, error, timeout, flaky, needs-approval, skipped
    duration_s: float = 0.0
    exit_code: int | None = None
    excerpt: str = ""
    signature: str | None = None
    builtin: bool = False
    junit: tuple[int, int, int] | None = None  # (collected, failed, skipped) when the check writes junit XML

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> CheckResult:
        junit = data.get("junit")
        return CheckResult(**{**data, "junit": tuple(junit) if junit else None})


def excerpt(text: str) -> str:
    """The first failing lines, bounded: the lines that mention an error, else the tail."""
    lines = text.splitlines()
    if len(lines) <= EXCERPT_LINES:
        chosen = lines
    else:
        flagged = [i for i, line in enumerate(lines) if any(w in line.lower() for w in ("error", "fail", "assert"))]
        start = max(0, flagged[0] - 3) if flagged else len(lines) - EXCERPT_LINES
        chosen = lines[start : start + EXCERPT_LINES]
    out = "\n".join(chosen)
    return out if len(out) <= EXCERPT_CHARS else out[: EXCERPT_CHARS - 1] + "…"
