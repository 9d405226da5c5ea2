"""Human output: compact plain text. (JSON output never comes through here.)"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from shopfloor.tracker.schema import Issue


STATUS_MARK = {"open": "○", "in_progress": "◐", "blocked": "⊘", "deferred": "❄", "closed": "●"}


def issues(count: int) -> str:
    """``1 issue``, ``3 issues``."""
    return f"{count} issue" + ("" if count == 1 else "s")


def issue_line(issue: Issue, id_width: int = 0) -> str:
    mark = STATUS_MARK.get(issue["status"], "?")
    labels = f"  [{', '.join(issue['labels'])}]" if issue.get("labels") else ""
    who = f"  @{issue['assignee']}" if issue.get("assignee") else ""
    return f"{mark} {issue['id']:<{id_width}}  P{issue['priority']} {issue['type']:<7} {issue['title']}{labels}{who}"


def issue_lines(issues: Sequence[Issue], empty: str, why: Mapping[str, str] | None = None) -> str:
    """One line per issue; a blocked one with a recorded reason (``why``) says it after ``⊘``."""
    if not issues:
        return empty
    width = max(len(i["id"]) for i in issues)
    why = why or {}
    return "\n".join(issue_line(i, width) + (f"  ⊘ {why[i['id']]}" if i["id"] in why else "") for i in issues)


def _block(title: str, text: str | None) -> list[str]:
    if not text:
        return []
    return ["", f"{title}:", *("  " + line for line in text.splitlines())]


def issue_detail(issue: Issue, events: Iterable[dict[str, Any]] = ()) -> str:
    lines = [
        f"{issue['id']}  {issue['title']}",
        f"  status {issue['status']}  priority P{issue['priority']}  type {issue['type']}  vibe {issue['vibe']}",
        f"  created {issue['created_at']} by {issue['created_by'] or '?'}  updated {issue['updated_at']}",
    ]
    if issue.get("assignee"):
        lease = f" (lease until {issue['lease_until']})" if issue.get("lease_until") else ""
        lines.append(f"  assignee {issue['assignee']}{lease}")
    if issue.get("closed_at"):
        lines.append(f"  closed {issue['closed_at']}: {issue.get('close_reason') or ''}")
    if issue.get("defer_until"):
        lines.append(f"  deferred until {issue['defer_until']}")
    if issue.get("external_ref"):
        lines.append(f"  external {issue['external_ref']}")
    if issue["labels"]:
        lines.append(f"  labels {', '.join(issue['labels'])}")
    for dep in issue["dependencies"]:
        lines.append(f"  depends on {dep['id']} ({dep['type']})")
    metadata = dict(issue.get("metadata") or {})
    if isinstance(metadata.get("plan"), str):  # the plan it came from (tracker.plancreate)
        lines.append(f"  plan {metadata.pop('plan')}")
    if metadata:
        lines.append(f"  metadata {metadata}")
    lines += _block("Description", issue["description"])
    lines += _block("Design", issue["design"])
    lines += _block("Acceptance", issue["acceptance"])
    lines += _block("Notes", issue["notes"])
    comments = issue.get("comments") or []
    if comments:
        lines += ["", "Comments:"]
        for c in comments:
            lines.append(f"  [{c['created_at'][:19]}] {c['author']}: {c['text']}")
    events = list(events)
    if events:
        lines += ["", "History:"]
        for e in events:
            change = ""
            if e["field"]:
                change = f" {e['field']}: {e['old'] if e['old'] is not None else '-'} -> "
                change += f"{e['new'] if e['new'] is not None else '-'}"
            elif e["new"]:
                change = f" {e['new']}"
            lines.append(f"  {e['at'][:19]} {e['actor']} {e['kind']}{change}")
    return "\n".join(lines)


def attempt_lines(tried: Sequence[dict[str, Any]]) -> list[str]:
    """``show``'s attempts section, from the attempts' JSON shape."""
    if not tried:
        return []
    lines = ["attempts:"]
    for n, a in enumerate(tried, start=1):
        failed = ", ".join(a["failed_checks"]) or "-"
        hand = ", after a handoff" if a["handoff"] else ""
        hand += ", answering a person's review" if a.get("input") == "review" else ""  # ``floor.review``
        series = f" (try {a['series']})" if a.get("series", 1) > 1 else ""  # after `shopfloor retry`
        lines.append(
            f"  {n}. {a['agent']} gen {a['generation']}{series}: {a['verdict'] or 'running'} (failed: {failed}), "
            f"{a['tokens']:,} tokens, ${a['cost_usd']:.4f}, outcome {a['outcome'] or '-'}{hand}"
        )
        if a.get("log"):
            lines.append(f"     log {a['log']}")
    return lines


def blocked_lines(
    found: Sequence[tuple[Issue, Sequence[tuple[str, str, str]]]], why: Mapping[str, str] | None = None
) -> list[str]:
    """``blocked``'s human output; ``why``: the floor's reason for an issue it blocked."""
    why = why or {}
    if not found:
        return ["nothing is blocked"]
    width = max(len(i["id"]) for i, _ in found)
    lines = []
    for issue, blockers in found:
        lines.append(issue_line(issue, width))
        by = ", ".join(f"{b} ({s}{', parent' if how == 'parent' else ''})" for b, s, how in blockers)
        reason = f": {why[issue['id']]}" if issue["id"] in why else ""
        lines.append(f"    blocked by {by}" if by else f"    status is blocked{reason}")
    return lines


def tree_lines(node: dict[str, Any], depth: int = 0) -> list[str]:
    """``dep tree``'s human output, from its JSON shape."""
    via = f" [{node['via']}]" if node["via"] else ""
    again = " (see above)" if node.get("repeated") else ""
    lines = [f"{'  ' * depth}{'└─ ' if depth else ''}{node['id']} {node['status']}: {node['title']}{via}{again}"]
    for child in node["children"]:
        lines += tree_lines(child, depth + 1)
    return lines
