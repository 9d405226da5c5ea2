"""Promotion to rules (pure): a failure that recurs across issues becomes a proposed rule, and
accepted rules become one marked section of the agents' context files.

A failure is its gate signature, ``check:hash`` as the attempts record it. When the same
signature was met by ``promote_after`` distinct finished issues, ``propose`` returns one
``Proposal`` with its evidence: the issues, and the attempt that fixed it in each, when known.
``section``/``apply`` render accepted rules as one line each (with a link to their evidence)
between two marker comments; everything outside the markers stays byte-identical.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shopfloor.configfile import section as config_section
from shopfloor.errors import ValidationError

DEFAULT_PROMOTE_AFTER = 3
DEFAULT_RULES_BYTES = 2000
MAX_RULES_BYTES = 50_000
MAX_TEXT = 300
STATES = ("proposed", "accepted", "rejected", "retired")
BEGIN = "<!-- shopfloor:rules begin (managed by `shopfloor rules`; edit with `shopfloor rules edit`) -->"
END = "<!-- shopfloor:rules end -->"
HEADING = "## Rules (accepted from recurring failures)"


@dataclass(frozen=True)
class Config:
    promote_after: int = DEFAULT_PROMOTE_AFTER
    rules_bytes: int = DEFAULT_RULES_BYTES


def _whole(raw: Mapping[str, Any], key: str, default: int, low: int, high: int, where: str) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationError(f"{where}: flywheel.{key} must be a whole number from {low} to {high}")
    return value


def parse(data: Mapping[str, Any], where: str) -> Config:
    """``[flywheel] promote_after`` and ``rules_bytes`` (the keys are checked by ``learn.brief.parse``)."""
    raw = config_section(dict(data), "flywheel", where)
    return Config(
        promote_after=_whole(raw, "promote_after", DEFAULT_PROMOTE_AFTER, 2, 1000, where),
        rules_bytes=_whole(raw, "rules_bytes", DEFAULT_RULES_BYTES, 100, MAX_RULES_BYTES, where),
    )


@dataclass(frozen=True)
class Seen:
    """One finished issue met ``signature``; attempt ``fixed_by`` (1-based) was the first gated one without it."""

    issue: str
    signature: str
    fixed_by: int | None = None
    fix_stat: str | None = None


@dataclass(frozen=True)
class Proposal:
    signature: str
    text: str
    evidence: list[dict[str, Any]]  # one per issue: {"issue", "fixed_by", "fix_stat", "retro"}


def default_text(signature: str, issues: int) -> str:
    check = signature.split(":", 1)[0]
    return f"Run the `{check}` check before handing in: it failed the same way ({signature}) in {issues} issues."


def propose(seen: Iterable[Seen], promote_after: int, retro_of: Mapping[str, str] | None = None) -> list[Proposal]:
    """A proposal per signature met by at least ``promote_after`` distinct issues, by signature.
    ``retro_of``: an issue's retro path, the evidence a rule links to."""
    by_signature: dict[str, dict[str, Seen]] = {}
    for s in seen:
        by_signature.setdefault(s.signature, {}).setdefault(s.issue, s)
    out = []
    for signature, issues in sorted(by_signature.items()):
        if len(issues) < promote_after:
            continue
        evidence = [
            {"issue": s.issue, "fixed_by": s.fixed_by, "fix_stat": s.fix_stat, "retro": (retro_of or {}).get(s.issue)}
            for _, s in sorted(issues.items())
        ]
        out.append(Proposal(signature, default_text(signature, len(issues)), evidence))
    return out


def check_text(text: str) -> str:
    """A rule's text: one line, not empty, at most ``MAX_TEXT`` characters."""
    line = text.strip()
    if not line or "\n" in line or "\r" in line or len(line) > MAX_TEXT:
        raise ValidationError(f"a rule's text must be one non-empty line of at most {MAX_TEXT} characters")
    if BEGIN in line or END in line or "<!--" in line:
        raise ValidationError("a rule's text may not hold an HTML comment")
    return line


@dataclass(frozen=True)
class Rule:
    id: int
    text: str
    link: str  # where its evidence is: a retro path, else ``shopfloor rules show ID``


def line(rule: Rule) -> str:
    return f"- {rule.text} (rule {rule.id}; evidence: {rule.link})"


def section(rules: Iterable[Rule]) -> str:
    """The managed section, markers included, ending with a newline ("" when no rule is accepted)."""
    lines = [line(r) for r in sorted(rules, key=lambda r: r.id)]
    if not lines:
        return ""
    return "\n".join([BEGIN, HEADING, "", *lines, END]) + "\n"


def over_budget(rules: Iterable[Rule], budget: int) -> list[Rule]:
    """The rules (by id) that do not fit the section's budget in bytes, in order; [] when all fit."""
    ordered = sorted(rules, key=lambda r: r.id)
    used = len(f"{BEGIN}\n{HEADING}\n\n{END}\n".encode())
    out = []
    for rule in ordered:
        used += len((line(rule) + "\n").encode())
        if used > budget:
            out.append(rule)
    return out


def apply(existing: str | None, rules: Iterable[Rule]) -> str | None:
    """``existing`` with its managed section replaced by the rules' (appended at the end when it
    has none; removed when no rule is left). None: the file need not exist (none, no rules)."""
    body = section(rules)
    text = existing or ""
    start = text.find(BEGIN)
    if start >= 0:
        end = text.find(END, start)
        if end < 0:
            raise ValidationError(f"the context file has {BEGIN!r} but no end marker: fix it by hand")
        after = end + len(END)
        if text[after : after + 1] == "\n":
            after += 1
        if not body and start > 0 and text[start - 1 : start] == "\n" and text[:start].endswith("\n\n"):
            start -= 1  # the blank line this section was appended after
        return text[:start] + body + text[after:]
    if not body:
        return existing
    if not text:
        return body
    return text + ("" if text.endswith("\n") else "\n") + "\n" + body
