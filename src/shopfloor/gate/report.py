"""A gate report as text (pure): what ``gate show`` prints and what a failing agent is sent.

A failing check shows the findings it is blamed for, new ones first, each as
``path:line: code message`` or a failing test's id with its exception lines; then how many
pre-existing findings were not blamed and how many the change fixed. A check whose output
could not be split into findings shows its output's head and tail. Both are bounded: about
60 lines a check and 8 KB a report, so a check that prints megabytes cannot flood a prompt.
"""

from __future__ import annotations

from shopfloor.gate.findings import Finding
from shopfloor.gate.results import CheckJson, GateReport
from shopfloor.gate.verdict import blocking_checks

MAX_CHECK_LINES = 60
MAX_REPORT_BYTES = 8 * 1024


def check_lines(check: CheckJson, run_id: object = None, limit: int = MAX_CHECK_LINES) -> list[str]:
    """The evidence of one check, at most ``limit`` lines."""
    found = check.get("findings")
    lines: list[str] = [check["note"]] if check.get("note") else []
    if found:
        findings = [Finding.from_json(f) for f in found]
        blamed = [f for f in findings if f.new is not False]
        old = len(findings) - len(blamed)
        listed = blamed or (findings if check.get("status") == "fail" else [])
        body: list[str] = []
        for n, finding in enumerate(listed):
            text = finding.text().splitlines()
            if len(body) + len(text) > limit - len(lines) - 2:
                more = f"`shopfloor gate show {run_id} --json`" if run_id is not None else "the report's JSON"
                body.append(f"… and {len(listed) - n} more (all of them: {more})")
                break
            body += text
        lines += body
        if blamed and old:
            lines.append(f"({old} pre-existing finding(s) on the base are not blamed on this change)")
        if check.get("fixed"):
            lines.append(f"(this change fixed {check['fixed']} finding(s) the base has)")
    elif check.get("excerpt"):
        excerpt = check["excerpt"].splitlines()
        room = max(1, limit - len(lines))
        if len(excerpt) > room:
            head = room // 3
            excerpt = [*excerpt[:head], "…", *excerpt[-(room - head - 1) :]]
        lines += excerpt
    return lines[:limit]


def for_agent(report: GateReport, max_bytes: int = MAX_REPORT_BYTES) -> str:
    """The follow-up prompt for the agent whose commit failed the gate."""
    out = [
        f"The independent gate re-checked your commit and says {report['verdict'].upper()}. Fix what it found, "
        "commit on your branch, and end your turn."
    ]
    for check in blocking_checks(report):  # what the agent must fix, or what waits for a person
        out.append(f"\n## {check['name']}: {check['status']}")
        out += check_lines(check, report.get("id"))
    text = "\n".join(out)
    if len(text.encode()) <= max_bytes:
        return text
    cut = text.encode()[: max_bytes - 120].decode("utf-8", "ignore")
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    return cut + f"\n… (report cut at {max_bytes // 1024} KB: `shopfloor gate show {report.get('id')}` has the rest)"
