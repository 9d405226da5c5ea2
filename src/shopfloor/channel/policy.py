"""What a worker may do through its channel: pure rules, given the worker's own issue.

A worker (an agent acting as ``worker/<name>``) may read the tracker and the memory (``learn
search``, ``learn show``), comment on its own issue
(a handoff note is such a comment), say ``done``, create new issues linked ``discovered-from``
its own issue, and set its own issue to ``blocked``. Everything else is a person's or the
floor's, and is refused with one line that names who does it and how.

``refusal`` returns that line, or None when the operation is allowed. Issue ids in ``args``
must already be resolved to full ids (the server does that before it asks).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from shopfloor.actors import of_worker

# Labels the gate trusts when a person set them (gate.trust); a worker never sets or removes them.
TRUST_LABELS = frozenset({"allow-test-changes", "approved"})

READ_OPS = frozenset(
    {"show", "list", "ready", "blocked", "search", "dep tree", "dep cycles", "learn search", "learn show"}
)
OWN_ISSUE_OPS = frozenset({"comment", "done", "update", "heartbeat"})
ALLOWED_OPS = READ_OPS | OWN_ISSUE_OPS | {"create"}
LOCAL_OPS = frozenset({"prime"})  # static text: answered by the CLI itself, no channel needed

# Fields of `create` a worker may set (never vibe, an assignee, a parent, or a plan file).
CREATE_FIELDS = frozenset(
    {"title", "description", "design", "acceptance", "notes", "type", "priority", "defer_until", "external_ref"}
)

DONE_HINT = "commit on your branch and run `shopfloor done`; the merge queue closes the issue when the work lands"

STATIC: dict[str, str] = {
    "approve": "a worker may not approve issues; a person does that with `shopfloor approve ID`",
    "close": f"a worker may not close issues: {DONE_HINT}",
    "reopen": "a worker may not reopen issues; a person does that with `shopfloor reopen ID`",
    "label": "a worker may not add or remove labels; a person does that with `shopfloor label add ID LABEL`",
    "dep add": "a worker may not change dependencies; record the link as a comment, or create a new issue "
    "(it is linked discovered-from yours): `shopfloor create TITLE`",
    "dep remove": "a worker may not change dependencies; a person does that with `shopfloor dep remove ID OTHER`",
    "queue": "a worker may not touch the merge queue; say `shopfloor done` and the floor queues your branch",
    "gate": "a worker may not run the gate; say `shopfloor done` and the floor gates your branch "
    "(run the project's own tests and checks directly)",
    "worker": "a worker may not start, stop or remove workers; a person does that with `shopfloor worker ...`",
    "run": "a worker may not run the floor; a person does that with `shopfloor run`",
    "demo": "a worker may not run the demo; a person does that with `shopfloor demo`",
    "status": "a worker may not inspect the floor; a person does that with `shopfloor status`",
    "metrics": "a worker may not inspect the floor's metrics; a person does that with `shopfloor metrics`",
    "init": "a worker may not set the tracker up; a person does that with `shopfloor init`",
    "export": "a worker may not export the tracker; the floor commits it on the target branch",
    "import": "a worker may not import into the tracker; a person does that with `shopfloor import`",
    "doctor": "a worker may not check or repair the tracker; a person does that with `shopfloor doctor`",
    "merge driver": "a worker may not run git's merge driver for the tracker",
    "scripted model": "a worker may not start a scripted model server",
    "learn stats": "a worker may search the memory (`shopfloor learn search WORDS`) and read a learning "
    "(`shopfloor learn show ID`), not inspect it",
}


def _refused(reason: str) -> str:
    return f"refused: {reason}"


def trust_labels(configured: Iterable[str] = ()) -> frozenset[str]:
    """The built-in trust labels plus those ``[gate] trust_labels`` names."""
    return TRUST_LABELS | {str(label) for label in configured}


def static_refusal(op: str, args: Mapping[str, Any] | None = None, trust: Collection[str] = TRUST_LABELS) -> str | None:
    """The refusal for an operation no worker may ever do, whatever its arguments (which only
    pick the line: a trust label is named)."""
    if op in ALLOWED_OPS or op in LOCAL_OPS:
        return None
    labels = set((args or {}).get("labels") or ())
    if op.startswith("label ") and labels & set(trust):
        named = sorted(labels & set(trust))
        return _refused(
            f"a worker may not add or remove the trust label {', '.join(named)}; a person does that with "
            f"`shopfloor {op} ID {named[0]}`"
        )
    for key in (op, " ".join(op.split()[:2]), op.split()[0] if op.split() else ""):
        if key in STATIC:
            return _refused(STATIC[key])
    return _refused(f"{op!r} is not an operation of the worker channel")


def _given(args: Mapping[str, Any], names: Collection[str]) -> list[str]:
    return sorted(n for n in names if args.get(n) not in (None, False, [], ""))


def refusal(
    op: str, args: Mapping[str, Any], own_issue: str, worker: str, trust: Collection[str] = TRUST_LABELS
) -> str | None:
    """None if ``worker`` (its own issue ``own_issue``) may do ``op`` with ``args``; else one line."""
    static = static_refusal(op, args, trust)
    if static is not None or op in READ_OPS:
        if op == "ready" and args.get("claim"):
            return _refused(f"a worker may not claim issues; worker/{worker} works on {own_issue}")
        return static
    if op in OWN_ISSUE_OPS:
        target = args.get("id") or own_issue
        if target != own_issue:
            return _refused(f"{of_worker(worker)} works on {own_issue} and may not change {target} (only read it)")
        if op == "update":
            return _update_refusal(args, own_issue)
        return None
    if op == "create":
        return _create_refusal(args, own_issue, trust)
    return _refused(f"{op!r} is not an operation of the worker channel")  # pragma: no cover (ALLOWED_OPS)


def _update_refusal(args: Mapping[str, Any], own_issue: str) -> str | None:
    if args.get("more_ids"):
        return _refused(f"a worker updates only its own issue {own_issue}, one id")
    if args.get("claim"):
        return _refused("a worker may not claim issues; the floor assigns work")
    if args.get("vibe") is not None:
        return _refused(
            f"a worker may not change an issue's vibe level; a person does that with "
            f"`shopfloor update {own_issue} --vibe N`"
        )
    others = [n for n in _given(args, _UPDATE_FIELDS) if n != "status"]
    status = args.get("status")
    if others or status not in (None, "blocked"):
        what = f"--{others[0].replace('_', '-')}" if others else f"--status {status}"
        return _refused(
            f"a worker may only set its own issue to blocked (`shopfloor update {own_issue} --status blocked`, "
            f"then comment why), not {what}"
        )
    return None


_UPDATE_FIELDS = frozenset(
    {
        "title", "status", "description", "design", "acceptance", "notes", "type", "priority", "vibe",
        "assignee", "defer_until", "external_ref", "metadata",
    }
)  # fmt: skip


def _create_refusal(args: Mapping[str, Any], own_issue: str, trust: Collection[str]) -> str | None:
    if args.get("file"):
        return _refused("a worker creates one issue at a time (no plan files): `shopfloor create TITLE -d ...`")
    if args.get("vibe") is not None:
        return _refused("a worker may not set a new issue's vibe level; a person does that later")
    if args.get("parent"):
        return _refused(f"a worker's new issue is linked discovered-from {own_issue}; it may not pick a parent")
    if args.get("assignee"):
        return _refused("a worker may not assign issues; the floor assigns work")
    labels = set(args.get("label") or ())
    if labels & set(trust):
        named = ", ".join(sorted(labels & set(trust)))
        return _refused(f"a worker may not set the trust label {named}; a person does that")
    for dep_type, target in args.get("deps") or ():
        if (dep_type, target) != ("discovered-from", own_issue):
            return _refused(
                f"a worker's new issue is linked discovered-from {own_issue} only, not {dep_type}:{target}; "
                "say in its description what it depends on"
            )
    return None
