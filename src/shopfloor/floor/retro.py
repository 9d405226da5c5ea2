"""A finished issue's retro as markdown (pure: plain data in, text out; no IO).

The retro is ``.agents/retros/<issue id>.md`` (``floor.retros`` gathers the facts and the
floor's tracker commit carries the file). It opens with front matter, one ``key: value`` line
each between ``---`` lines, then the failure signatures the issue met (which attempt fixed
each, with that attempt's diff stat), the handoff notes, and the agent's own lessons: the
bullets its session gave when the floor asked it at the end (``floor.lessons``), with what that
turn cost (``retro_tokens``, ``retro_cost_usd``: the retro's own cost).

Untrusted text (the title, notes, check names, diff stats) stays data:
- every string value in the front matter is a JSON string (quotes, newlines and ``---`` are
  escaped, so a title can never end the front matter or add a key); JSON is valid YAML;
- in the body, a lesson is one line of a bullet list (its line breaks folded); a note is
  quoted line by line (``> ``) so it cannot open front matter or a heading of its own; and
  signatures and diff stats sit in code spans or blocks whose fence is longer than any run of
  backticks in them;
- each section has a cap, and says how much it left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from shopfloor.floor.lessons import BULLET_CHARS, MAX_BULLETS  # kept to the lessons turn's limits

TITLE_CHARS = 200
MAX_FILES = 50
MAX_FAILURES = 20
MAX_NOTES = 5
NOTE_CHARS = 2000
STAT_CHARS = 600
OUTCOMES = ("merged", "blocked")


@dataclass(frozen=True)
class Failure:
    """A failure signature the issue met: first seen at attempt ``seen`` (1-based), fixed by
    attempt ``fixed_by`` (None: never), whose diff stat is ``fix_stat``."""

    signature: str
    seen: int
    fixed_by: int | None = None
    fix_stat: str | None = None

    @property
    def check(self) -> str:
        return self.signature.rsplit(":", 1)[0] if ":" in self.signature else self.signature


@dataclass(frozen=True)
class Lessons:
    """The agent's lessons turn: asked, and answered with ``bullets`` or not (``why``)."""

    bullets: tuple[str, ...] = ()
    why: str | None = None  # why there are none ("no lessons: ..."); None while it is asked
    settled: bool = True
    tokens: int = 0  # what the turn spent: the retro's own cost
    cost_usd: float = 0.0

    @property
    def state(self) -> str:
        """The front matter's ``lessons:`` value: the bullet count, ``none``, or ``asked``."""
        if not self.settled:
            return "asked"
        return str(len(self.bullets)) if self.bullets else "none"


NOT_ASKED = "not-asked"


def lessons_state(lessons: Lessons | None) -> str:
    return lessons.state if lessons is not None else NOT_ASKED


@dataclass(frozen=True)
class Facts:
    issue: str
    title: str
    outcome: str  # merged | blocked
    attempts: int
    handoffs: int
    spiral: str | None  # the spiral's reason, or None
    tokens: int
    cost_usd: float
    cycle_time_s: float | None  # from the first attempt's start to the landing or the block
    files: tuple[str, ...]
    failures: tuple[Failure, ...] = ()
    notes: tuple[str, ...] = ()  # the handoff notes, oldest first
    lessons: Lessons | None = None  # None: the floor did not ask ([flywheel] ask_agent)


def _string(value: str, limit: int) -> str:
    """One front-matter string: cut to ``limit`` characters, then JSON-quoted (one line, always)."""
    return json.dumps(value if len(value) <= limit else value[: limit - 1] + "…", ensure_ascii=False)


def duration(seconds: float | None) -> str:
    """``3h 4m``, ``12m 5s``, ``40s``; ``unknown`` without one."""
    if seconds is None or seconds < 0:
        return "unknown"
    s = round(seconds)
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def front_matter(facts: Facts) -> list[str]:
    if facts.outcome not in OUTCOMES:
        raise ValueError(f"a retro's outcome is one of {', '.join(OUTCOMES)}, not {facts.outcome!r}")
    files = list(facts.files[:MAX_FILES])
    lines = [
        "---",
        f"issue: {_string(facts.issue, TITLE_CHARS)}",
        f"title: {_string(facts.title, TITLE_CHARS)}",
        f"outcome: {facts.outcome}",
        f"attempts: {int(facts.attempts)}",
        f"handoffs: {int(facts.handoffs)}",
        f"spiral: {_string(facts.spiral, TITLE_CHARS) if facts.spiral else 'none'}",
        f"tokens: {int(facts.tokens)}",
        f"cost_usd: {float(facts.cost_usd):.4f}",
        f"cycle_time: {_string(duration(facts.cycle_time_s), 40)}",
        f"cycle_time_s: {round(facts.cycle_time_s) if facts.cycle_time_s is not None else 'null'}",
        f"files_touched: {len(facts.files)}",
        f"files: {json.dumps([_cut(f, TITLE_CHARS) for f in files], ensure_ascii=False)}",
        f"lessons: {lessons_state(facts.lessons)}",
        f"retro_tokens: {int(facts.lessons.tokens) if facts.lessons else 0}",
        f"retro_cost_usd: {float(facts.lessons.cost_usd) if facts.lessons else 0.0:.4f}",
    ]
    if len(facts.files) > len(files):
        lines.append(f"files_left_out: {len(facts.files) - len(files)}")
    return [*lines, "---"]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _span(text: str) -> str:
    """``text`` in a code span that its own backticks cannot close, on one line."""
    flat = " ".join(text.split())
    fence = "`" * (max((len(r) for r in _runs(flat)), default=0) + 1)
    return f"{fence} {flat} {fence}"


def _runs(text: str) -> list[str]:
    out, current = [], ""
    for ch in text:
        if ch == "`":
            current += ch
        elif current:
            out.append(current)
            current = ""
    return [*out, current] if current else out


def _block(text: str) -> list[str]:
    """``text`` in a fenced block that no line of it can close."""
    fence = "`" * max(3, max((len(r) for r in _runs(text)), default=0) + 1)
    return [fence, *text.splitlines(), fence]


def _quote(text: str) -> list[str]:
    return [f"> {line}".rstrip() for line in text.splitlines()] or [">"]


def _heading(title: str) -> str:
    return "# " + " ".join(title.split())[:TITLE_CHARS]


def failures_section(failures: tuple[Failure, ...]) -> list[str]:
    lines = ["## Failure signatures", ""]
    if not failures:
        return [*lines, "None: every gate run passed.", ""]
    for failure in failures[:MAX_FAILURES]:
        fixed = f"fixed by attempt {failure.fixed_by}" if failure.fixed_by else "never fixed"
        lines.append(f"- check {_span(failure.check)}, signature {_span(failure.signature)}: first met at "
                     f"attempt {failure.seen}, {fixed}")  # fmt: skip
        if failure.fixed_by and failure.fix_stat:
            stat = failure.fix_stat
            cut = len(stat) - STAT_CHARS
            lines += ["", *("  " + line for line in _block(stat[:STAT_CHARS].rstrip()))]
            if cut > 0:
                lines.append(f"  ({cut} more characters of the diff stat left out)")
            lines.append("")
    if len(failures) > MAX_FAILURES:
        lines.append(f"- ({len(failures) - MAX_FAILURES} more signatures left out)")
    return lines if lines[-1] == "" else [*lines, ""]


def notes_section(notes: tuple[str, ...]) -> list[str]:
    lines = ["## Handoff notes", ""]
    if not notes:
        return [*lines, "None: no session handed off.", ""]
    shown = notes[-MAX_NOTES:]  # the latest notes say the most
    if len(notes) > len(shown):
        lines += [f"({len(notes) - len(shown)} earlier notes left out)", ""]
    for n, note in enumerate(shown, len(notes) - len(shown) + 1):
        body = note[:NOTE_CHARS]
        lines += [f"Note {n}:", "", *_quote(body)]
        if len(note) > NOTE_CHARS:
            lines.append(f"({len(note) - NOTE_CHARS} more characters left out)")
        lines.append("")
    return lines


def lessons_section(lessons: Lessons | None) -> list[str]:
    lines = ["## Lessons (from the agent)", ""]
    if lessons is None:
        return [*lines, "Not asked ([flywheel] ask_agent).", ""]
    if not lessons.settled:
        return [*lines, "Asked; its answer comes with a later tracker commit.", ""]
    if lessons.bullets:
        lines += [f"- {' '.join(b.split())[:BULLET_CHARS]}" for b in lessons.bullets[:MAX_BULLETS]]
    else:
        lines.append(" ".join((lessons.why or "no lessons").split())[:TITLE_CHARS] + ".")
    spent = f"The lessons turn cost {int(lessons.tokens)} tokens (${float(lessons.cost_usd):.4f}), the retro's cost."
    return [*lines, "", spent, ""]


def render(facts: Facts) -> str:
    """The retro's markdown."""
    lines = [
        *front_matter(facts),
        "",
        _heading(f"Retro of {facts.issue}: {facts.title}"),
        "",
        f"Outcome: {facts.outcome} after {facts.attempts} attempt{'' if facts.attempts == 1 else 's'}"
        + (f" (the attempts spiralled: {' '.join(facts.spiral.split())[:TITLE_CHARS]})" if facts.spiral else "")
        + ".",
        "",
        *failures_section(facts.failures),
        *notes_section(facts.notes),
        *lessons_section(facts.lessons),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def parse_front_matter(text: str) -> dict[str, object]:
    """The front matter ``render`` writes, read back (each value is JSON, or a bare word)."""
    lines = text.splitlines()
    if not lines or lines[0] != "---":
        raise ValueError("no front matter")
    out: dict[str, object] = {}
    for line in lines[1:]:
        if line == "---":
            return out
        key, _, value = line.partition(": ")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    raise ValueError("front matter never ends")
