"""Promotion to rules (pure): a failure that recurs across issues becomes a proposed rule, and
accepted rules become one marked section of the agents' context files.

A failure is its gate signature, ``check:hash`` as the attempts record it. When the same
signature was met by ``promote_after`` distinct finished issues, ``propose`` returns one
``Proposal`` with its evidence: the issues, and the attempt that fixed it in each, when known.
``section``/``apply`` render accepted rules as one line each (with a link to their evidence)
between two marker comments; everything outside the markers stays byte-identical.

A lesson (an agent's lessons bullet, a line of a handoff note) recurs when near-identical
ones come from ``promote_after`` distinct issues. Near-identical is defined on words: a
lesson's words are its lower-cased runs of letters, digits and ``_`` (joined across inner
``.``, ``-`` and ``/``: ``pytest.ini``, ``ruff-format``), less the stop words, a trailing
plural ``s`` dropped, ``n't`` read as ``not``. Two lessons are near-identical when the
Jaccard index of their word sets (shared over all) is at least ``NEAR`` (0.6) and they agree
on negation (both or neither say not, no, never: "do not run X" is not "run X"). A lesson of
fewer than ``MIN_WORDS`` words says too little to count. Near-identical lessons are grouped
transitively (connected components), so the groups do not depend on the order they are read in.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
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
LESSON = "lesson:"  # the signature of a rule promoted from near-identical lessons: lesson:<16 hex>
NEAR = 0.6
MIN_WORDS = 3
_WORD = re.compile(r"[a-z0-9_]+(?:[./-][a-z0-9_]+)*")
_STOP_WORDS = (  # "not", "no" and "never" are kept: "do not run X" is not "run X"
    "a an the and or but of to in on at by for with from into as is are was were be been being it its "
    "this that these those there here than then so do does did if when while before after you your we "
    "our they their i my me all any each every some such can could should would will may must"
)
_STOP = frozenset(_STOP_WORDS.split())
_NEGATIONS = frozenset({"not", "no", "never"})


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


def propose(
    seen: Iterable[Seen],
    promote_after: int,
    retro_of: Mapping[str, str] | None = None,
    known: Iterable[str] = (),
) -> list[Proposal]:
    """A proposal per signature met by at least ``promote_after`` distinct issues, by signature,
    unless it is ``known`` (a rule was proposed for it: whatever a person did with it since, it is
    not proposed again). ``retro_of``: an issue's retro path, the evidence a rule links to."""
    by_signature: dict[str, dict[str, Seen]] = {}
    for s in seen:
        by_signature.setdefault(s.signature, {}).setdefault(s.issue, s)
    done = set(known)
    out = []
    for signature, issues in sorted(by_signature.items()):
        if len(issues) < promote_after or signature in done:
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


def words(text: str) -> frozenset[str]:
    """A lesson's normalised words (see the module's doc)."""
    out = set()
    for word in _WORD.findall(text.lower().replace("n't", " not")):
        if word in _STOP:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.add(word)
    return frozenset(out)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def near(a: frozenset[str], b: frozenset[str], threshold: float = NEAR) -> bool:
    return jaccard(a, b) >= threshold and bool(a & _NEGATIONS) == bool(b & _NEGATIONS)


@dataclass(frozen=True)
class Said:
    """A lesson one finished issue left: an agent's bullet, or a line of a handoff note."""

    issue: str
    text: str
    source: str  # where it was said: retro:<issue> (the agent's lessons), handoff:<attempt>


def _groups(sets: list[frozenset[str]], threshold: float) -> list[list[int]]:
    """The connected components of "near-identical", as sorted index lists. Only pairs that can
    reach the threshold are compared (the prefix filter of all-pairs similarity joins): with
    each set's words taken rarest first and the sets read smallest first, two sets at a Jaccard
    of at least t share a word of the first |x| - ceil(t |x|) + 1 words of the one read later
    and of the first |y| - ceil(2t / (1 + t) |y|) + 1 of the one read before, so only those
    are indexed and probed."""
    parent = list(range(len(sets)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    frequency = Counter(w for s in sets for w in s)
    postings: dict[str, list[int]] = {}
    for i in sorted(range(len(sets)), key=lambda i: (len(sets[i]), i)):
        s = sets[i]
        ordered = sorted(s, key=lambda w: (frequency[w], w))
        size, negated = len(s), bool(s & _NEGATIONS)
        probe = ordered[: size - math.ceil(threshold * size) + 1]
        for j in {j for w in probe for j in postings.get(w, ())}:
            other = sets[j]
            if len(other) < threshold * size or bool(other & _NEGATIONS) != negated:
                continue
            shared = len(s & other)
            if shared >= threshold * (size + len(other) - shared) and root(i) != root(j):
                parent[root(i)] = root(j)
        for w in ordered[: size - math.ceil(2 * threshold / (1 + threshold) * size - 1e-9) + 1]:
            postings.setdefault(w, []).append(i)
    components: dict[int, list[int]] = {}
    for i in range(len(sets)):
        components.setdefault(root(i), []).append(i)
    return sorted(components.values())


def lesson_text(text: str) -> str:
    """A lesson as a rule's one line: whitespace folded, no comment markers, at most ``MAX_TEXT``."""
    line = " ".join(text.replace("<!--", "").replace("-->", "").split())
    return line if len(line) <= MAX_TEXT else line[: MAX_TEXT - 1] + "…"


def propose_lessons(
    said: Iterable[Said],
    promote_after: int,
    known: Iterable[str] = (),
    retro_of: Mapping[str, str] | None = None,
    threshold: float = NEAR,
) -> list[Proposal]:
    """A proposal per group of near-identical lessons from at least ``promote_after`` distinct
    issues, unless one of them is near-identical to a ``known`` lesson (one a rule was already
    proposed from, whatever a person did with it since). Its text is the group's shortest
    lesson; its evidence one lesson per issue; its signature ``lesson:<hash>`` of that text's words."""
    kept = sorted({(s.issue, s.source, s.text) for s in said if len(words(s.text)) >= MIN_WORDS})
    sets = [words(text) for _, _, text in kept]
    old = [w for w in (words(t) for t in known) if w]
    out = []
    for group in _groups(sets, threshold):
        issues: dict[str, int] = {}
        for i in group:
            issues.setdefault(kept[i][0], i)
        if len(issues) < promote_after or any(near(sets[i], k, threshold) for i in group for k in old):
            continue
        chosen = min(group, key=lambda i: (len(kept[i][2]), kept[i]))
        digest = hashlib.blake2b(" ".join(sorted(sets[chosen])).encode(), digest_size=8).hexdigest()
        evidence = [
            {"issue": issue, "lesson": kept[i][2], "source": kept[i][1], "retro": (retro_of or {}).get(issue)}
            for issue, i in sorted(issues.items())
        ]
        out.append(Proposal(f"{LESSON}{digest}", lesson_text(kept[chosen][2]), evidence))
    return sorted(out, key=lambda p: p.signature)
