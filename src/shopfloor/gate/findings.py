"""Findings (pure): what a check reported, one item per problem, parsed from its output.

A finding is one failing test (a pytest node id with its exception line), or one linter or
type-checker message (``path:line: code message``). Its ``key`` is what identifies it across
runs and across trees: line numbers shift when code above moves, so the key is the test id,
or the code with its path and its message with numbers stripped. Keys are what the gate
compares between the base and the candidate (``differential.split``) and what the floor's
spiral detection fingerprints.

``parse`` returns ``None`` when the output holds nothing it recognises: such a check is
opaque, and keeps the plain rule (it fails if it fails). It also returns ``None`` when the
findings it recognises cannot be the whole story (the differential may forgive a failing
check only when its findings account for the failure): pytest's own count of failures and
errors disagrees with the tests its short summary names, or there are more findings than
``MAX_FINDINGS``. The tests that failed are read from pytest's short summary only, never
from what a test printed; lines outside pytest's report (another tool in the same check)
are read as linter findings too.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any

MAX_FINDINGS = 20000  # a check that reports more is opaque: a list cut short could hide a new finding
MAX_MESSAGE = 300
MAX_DETAIL_LINES = 6


@dataclass(frozen=True)
class Finding:
    check: str
    message: str
    path: str | None = None
    line: int | None = None
    code: str | None = None
    test: str | None = None  # a test id (pytest node id, go test name)
    detail: tuple[str, ...] = ()  # a failing test's assertion or exception lines (pytest's E lines)
    new: bool | None = None  # set by the differential: new in the candidate, or already on the base

    @property
    def key(self) -> str:
        if self.test:
            return f"test {self.test}"
        return f"{self.code or '-'} {self.path or '-'} {_digits.sub('N', self.message)}"

    def text(self) -> str:
        """One line (plus a failing test's exception lines) as a person or an agent reads it."""
        if self.test:
            head = f"FAILED {self.test}" + (f" - {self.message}" if self.message else "")
            return "\n".join([head, *(f"    E {d}" for d in self.detail)])
        where = f"{self.path}:{self.line}:" if self.path and self.line else f"{self.path}:" if self.path else ""
        return " ".join(part for part in (where, self.code or "", self.message) if part)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["detail"] = list(self.detail)
        return out

    @staticmethod
    def from_json(data: dict[str, Any]) -> Finding:
        return Finding(**{**data, "detail": tuple(data.get("detail") or ())})


_digits = re.compile(r"\d+")
_ansi = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# pytest's short test summary (on by default: -rfE): "FAILED tests/t.py::test_x - TypeError: ..."
# A parametrized id may hold spaces and " - " inside its brackets: "FAILED t.py::test_y[a - b] - ...".
_PYTEST_SUMMARY = re.compile(r"^(FAILED|ERROR) (\S+?(?:\[.*?\])?)(?: - (.*))?$")
_PYTEST_SUMMARY_HEAD = re.compile(r"^=+ short test summary info =+$")
_PYTEST_REPORT_HEAD = re.compile(
    r"^={3,} (?:test session starts|FAILURES|ERRORS|warnings summary|short test summary info) ={3,}$"
)
# pytest's last line: "3 failed, 1 passed, 1 error in 0.67s" (between "=" signs unless -q)
_PYTEST_STATS = re.compile(r"^=*\s*(?P<counts>\d+ [^=]*?|no tests ran) in \d+(?:\.\d+)?s(?: \([\d:.]+\))?\s*=*$")
_PYTEST_FAILED_COUNT = re.compile(r"(?:^|, )(\d+) (?:failed|errors?)\b")
_PYTEST_SECTION = re.compile(r"^_{3,} (?:ERROR at \w+ of |ERROR collecting )?(.+?) _{3,}$")
_PYTEST_E = re.compile(r"^E {1,}(.*)$")
_RAISED = re.compile(r"^(?:assert\b|[\w.]*(?:Error|Exception|Failed|Exit|Interrupt|Warning)\b)")
_PYTEST_WHERE = re.compile(r"^(\S+\.py):(\d+): (\w[\w.]*)$")
_GO_FAIL = re.compile(r"^\s*--- FAIL: (\S+)")
# path:line[:col]: rest (flake8, ruff concise, mypy, pylint, pyright's --outputjson aside, go vet, eslint unix)
_LINE = re.compile(r"^(?P<path>[\w./\\@+-][^\s:]*\.[A-Za-z0-9]+):(?P<line>\d+):(?:(?P<col>\d+):?)?\s+(?P<rest>\S.*)$")
_TSC = re.compile(r"^(?P<path>[^\s(]+)\((?P<line>\d+),\d+\): (?:error|warning) (?P<code>TS\d+): (?P<rest>.*)$")
_RUFF_FULL = re.compile(r"^(?P<code>[A-Z]+\d+|[a-z][a-z-]*(?=:)):? (?:\[\*\] )?(?P<rest>.+)$")
_ARROW = re.compile(r"^\s*--> (?P<path>[^\s:]+):(?P<line>\d+):\d+$")
_REFORMAT = re.compile(r"^(?:would reformat|Would reformat:) (?P<path>\S.*)$")
_ISORT = re.compile(r"^ERROR: (?P<path>\S+) Imports are incorrectly sorted")
_MYPY = re.compile(r"^(?P<level>error|warning): (?P<msg>.*?)(?:\s+\[(?P<code>[a-z][\w-]*)\])?$")
_MYPY_NOTE = re.compile(r"^note: ")
_CODED = re.compile(r"^(?P<code>[A-Z]{1,4}\d{1,5}):?\s+(?:\[\*\]\s+)?(?P<msg>.*)$")


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _relative(path: str, roots: tuple[str, ...]) -> str:
    for root in roots:
        if root and path.startswith(root):
            path = path[len(root) :]
            break
    path = path.replace("\\", "/").lstrip("/")
    return path[2:] if path.startswith("./") else path


def parse(check: str, output: str, roots: tuple[str, ...] = ()) -> list[Finding] | None:
    """The findings in a check's output, or None when it holds none this parser knows.

    ``roots`` are directory prefixes to strip from paths (the gate's worktree), so the same
    finding in the base's checkout and the candidate's has the same key."""
    text = _ansi.sub("", output.replace("\r\n", "\n"))
    roots = tuple(r.rstrip("/") + "/" for r in roots)
    lines = text.splitlines()
    pytest_report = _pytest_report(lines)
    if pytest_report is not None:
        tests = _pytest(check, lines, pytest_report, roots)
        if tests is None:
            return None  # pytest counted failures its summary does not name: they cannot be compared
        if tests:  # and whatever another tool in the same check printed before or after pytest
            outside = [line for n, line in enumerate(lines) if not pytest_report[0] <= n <= pytest_report[1]]
            return _complete(tests + _lint(check, outside, roots))
    go = [Finding(check, "", test=m.group(1)) for line in lines if (m := _GO_FAIL.match(line))]
    if go:
        return _complete(_unique(go))
    return _complete(_lint(check, lines, roots)) or None


def _complete(found: list[Finding]) -> list[Finding] | None:
    """All the findings, or None: a list cut short could leave out the one finding that is new."""
    return found if len(found) <= MAX_FINDINGS else None


def _pytest_report(lines: list[str]) -> tuple[int, int] | None:
    """The first and last line of pytest's report (its first section heading to its last count
    line), or None when the output holds no pytest report."""
    first = next((n for n, line in enumerate(lines) if _PYTEST_REPORT_HEAD.match(line)), None)
    stats = [n for n, line in enumerate(lines) if _PYTEST_STATS.match(line)]
    if first is None and not stats:
        return None
    start = min(n for n in (first, stats[0] if stats else None) if n is not None)
    return start, stats[-1] if stats and stats[-1] >= start else len(lines) - 1


def _unique(found: list[Finding]) -> list[Finding]:
    seen: set[tuple[str | None, str]] = set()
    out = []
    for f in found:
        if (f.test, f.message) not in seen:
            seen.add((f.test, f.message))
            out.append(f)
    return out


def _pytest(check: str, lines: list[str], report: tuple[int, int], roots: tuple[str, ...]) -> list[Finding] | None:
    """The failing tests named in pytest's short summary; None when they are not all of the
    failures and errors pytest counted (a summary cut short, ``-rN``, or output made to look
    like pytest's): such output cannot be compared with the base's."""
    summary: list[tuple[str, str, str]] = []
    counted: int | None = None
    in_summary = False
    for text in lines[report[0] : report[1] + 1]:
        stats = _PYTEST_STATS.match(text)
        if stats:
            counted = (counted or 0) + sum(int(n) for n in _PYTEST_FAILED_COUNT.findall(stats.group("counts")))
            in_summary = False
            continue
        if text.startswith("="):
            in_summary = bool(_PYTEST_SUMMARY_HEAD.match(text))
            continue
        match = _PYTEST_SUMMARY.match(text) if in_summary else None
        if match and ("::" in match.group(2) or match.group(2).endswith(".py")):
            summary.append((match.group(1), _relative(match.group(2), roots), match.group(3) or ""))
    if counted is not None and counted != len(summary):
        return None
    if not summary:
        return []
    sections = _by_name(_pytest_sections(lines, roots))
    out = []
    for kind, test, message in summary:
        detail, where = _section_for(test, sections)
        path: str = where[0] if where else test.split("::")[0]
        line: int | None = where[1] if where else None
        out.append(
            Finding(
                check,
                # The exception or assertion itself, from its E lines: pytest cuts its summary line to
                # the terminal's width, after a long test id to almost nothing.
                _clip(next((d for d in detail if _RAISED.match(d)), None) or message or kind.lower()),
                path=path,
                line=line,
                code=kind,
                test=test,
                detail=detail,
            )
        )
    return _unique(out)


Section = tuple[tuple[str, ...], tuple[str, int] | None]


def _pytest_sections(lines: list[str], roots: tuple[str, ...]) -> dict[str, Section]:
    """Each failure section's heading -> (its E lines, bounded; the last ``path:line: Error`` in it)."""
    out: dict[str, Section] = {}
    head: str | None = None
    e_lines: list[str] = []
    where: tuple[str, int] | None = None

    def close() -> None:
        if head is not None and head not in out:
            out[head] = (_bounded(e_lines), where)

    for line in lines:
        match = _PYTEST_SECTION.match(line)
        if match or line.startswith(("=====", "-- Docs")):
            close()
            head = match.group(1) if match else None
            e_lines, where = [], None
            continue
        if head is None:
            continue
        e = _PYTEST_E.match(line)
        if e:
            e_lines.append(_clip(e.group(1)))
        w = _PYTEST_WHERE.match(line)
        if w:
            where = (_relative(w.group(1), roots), int(w.group(2)))
    close()
    return out


def _bounded(e_lines: list[str]) -> tuple[str, ...]:
    """The first E lines and the last (the exception itself is last), at most MAX_DETAIL_LINES."""
    if len(e_lines) <= MAX_DETAIL_LINES:
        return tuple(e_lines)
    half = MAX_DETAIL_LINES // 2
    return (*e_lines[:half], "…", *e_lines[-(MAX_DETAIL_LINES - half - 1) :])


def _name(head_or_id: str) -> str:
    """A test's function name, from its section heading (``TestX.test_y[p]``) or its node id."""
    return head_or_id.split("[", 1)[0].replace("::", ".").rsplit(".", 1)[-1]


def _by_name(sections: dict[str, Section]) -> dict[str, dict[str, Section]]:
    index: dict[str, dict[str, Section]] = {}
    for head, section in sections.items():
        index.setdefault(_name(head), {})[head] = section
    return index


def _section_for(test: str, sections: dict[str, dict[str, Section]]) -> Section:
    """pytest heads a failure section with the test's name (``TestX.test_y[param]``), not its node
    id. Only the sections of the same function name are compared (output with thousands of
    both must not take minutes)."""
    dotted = test.replace("::", ".")
    best: Section = ((), None)
    best_len = 0
    for head, section in sections.get(_name(test), {}).items():
        if (dotted.endswith("." + head) or dotted == head or test.endswith(head)) and len(head) > best_len:
            best, best_len = section, len(head)
    return best


def _lint(check: str, lines: list[str], roots: tuple[str, ...]) -> list[Finding]:
    out: list[Finding] = []
    pending: tuple[str, str] | None = None  # ruff's full format: "CODE message" then "  --> path:line:col"
    for line in lines:
        arrow = _ARROW.match(line)
        if arrow and pending:
            out.append(
                Finding(
                    check,
                    _clip(pending[1]),
                    path=_relative(arrow.group("path"), roots),
                    line=int(arrow.group("line")),
                    code=pending[0],
                )
            )
            pending = None
            continue
        found = _one_line(check, line, roots)
        if found is not None:
            out.append(found)
        full = None if found else _RUFF_FULL.match(line)
        pending = (full.group("code"), full.group("rest")) if full else None  # its arrow is the next line
    return out


def _one_line(check: str, line: str, roots: tuple[str, ...]) -> Finding | None:
    match = _LINE.match(line) or _TSC.match(line)
    if match:
        rest = match.group("rest")
        if _MYPY_NOTE.match(rest):
            return None
        code = match.groupdict().get("code")
        mypy = _MYPY.match(rest)
        coded = _CODED.match(rest)
        if code:
            message = rest
        elif mypy:
            code, message = mypy.group("code") or mypy.group("level"), mypy.group("msg")
        elif coded:
            code, message = coded.group("code"), coded.group("msg")
        else:
            message = rest
        return Finding(
            check, _clip(message), path=_relative(match.group("path"), roots), line=int(match.group("line")), code=code
        )
    other = _REFORMAT.match(line) or _ISORT.match(line)
    if other:
        return Finding(check, "would be reformatted", path=_relative(other.group("path").strip(), roots))
    return None


def mark(found: list[Finding], new: bool) -> list[Finding]:
    return [replace(f, new=new) for f in found]
