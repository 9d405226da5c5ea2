"""Three-way merge of tracker files, per issue and per field; pure functions over plain data.

Rules (each field's rule is named in ``schema.FIELDS``):
- a field changed on one side only takes that side's value;
- a field changed on both sides to different values: the side with the newer ``updated_at``
  wins (ties broken by value, so the result never depends on which side is "ours");
- ``notes`` are unioned, comments are unioned by id;
- labels and dependencies merge as sets: additions from both sides are kept and a removal
  on either side is honoured;
- ``updated_at`` is the newer of the two; an issue that combines edits from both sides is
  stamped one microsecond later still, so any database importing the result takes it;
- ``status``: closed wins over any other status when both sides changed it; ``closed_at``
  and ``close_reason`` follow the winning status;
- an issue deleted on one side and untouched on the other stays deleted; edited on the
  other, it is kept (an edit is never lost);
- the same id on both sides naming *different* issues (another ``created_at`` or
  ``created_by``) is a collision: both are kept, one renamed (see ``collisions``).

Every rule is symmetric: ``merge(o, a, b) == merge(o, b, a)``; a property test checks it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shopfloor.tracker.clock import bump
from shopfloor.tracker.collisions import Rename, identity, rename_colliding, same_identity, unify_ids
from shopfloor.tracker.schema import FIELDS, as_issue, sort_comments

TYPE_CHECKING = False
if TYPE_CHECKING:
    from shopfloor.tracker.schema import Issue


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _resolve_conflict(a: Any, b: Any, a_time: str, b_time: str) -> Any:
    if a_time != b_time:
        return a if a_time > b_time else b
    return a if _key(a) >= _key(b) else b


def merge_scalar(o: Any, a: Any, b: Any, a_time: str, b_time: str, has_base: bool) -> Any:
    if _key(a) == _key(b):
        return a
    if has_base and _key(a) == _key(o):
        return b
    if has_base and _key(b) == _key(o):
        return a
    return _resolve_conflict(a, b, a_time, b_time)


def merge_text_union(o: str, a: str, b: str) -> str:
    """Union two edits of a text: both sides' additions survive, in a side-independent order."""
    if a == b or b == o:
        return a
    if a == o:
        return b
    if a in b:
        return b
    if b in a:
        return a
    if o and a.startswith(o) and b.startswith(o):
        first, second = sorted((a[len(o) :], b[len(o) :]))
        return o + first.rstrip("\n") + "\n" + second.lstrip("\n")
    first, second = sorted((a, b))
    return first.rstrip("\n") + "\n" + second


def merge_set(o: Iterable[str], a: Iterable[str], b: Iterable[str]) -> set[str]:
    """Kept if both sides have it, or one side added it; removed if one side removed it."""
    base, ours, theirs = set(o), set(a), set(b)
    return (ours & theirs) | (ours - base) | (theirs - base)


def _dep_keys(deps: Iterable[dict[str, str]]) -> set[str]:
    return {f"{d['type']}\0{d['id']}" for d in deps}


def _merge_deps(o: Any, a: Any, b: Any) -> list[dict[str, str]]:
    merged = merge_set(_dep_keys(o), _dep_keys(a), _dep_keys(b))
    pairs = sorted((key.split("\0")[1], key.split("\0")[0]) for key in merged)
    return [{"id": dep_id, "type": dep_type} for dep_id, dep_type in pairs]


def _merge_comments(o: Any, a: Any, b: Any) -> list[dict[str, str]]:
    by_id: dict[str, dict[str, str]] = {}
    for comment in [*o, *a, *b]:
        known = by_id.get(comment["id"])
        # Same id, different content (a hand edit): keep one, chosen without regard to side.
        if known is None or _key(comment) > _key(known):
            by_id[comment["id"]] = comment
    keep = merge_set((c["id"] for c in o), (c["id"] for c in a), (c["id"] for c in b))
    return sort_comments([by_id[cid] for cid in keep])


def _closing(issue: Issue) -> str:
    return _key((issue["closed_at"], issue["close_reason"]))


def _merge_status(o: Issue | None, a: Issue, b: Issue) -> tuple[str, Issue]:
    """Return the merged status and the side whose closing fields go with it."""
    sa, sb = a["status"], b["status"]
    if sa == sb:
        if sa == "closed" and _closing(a) != _closing(b):
            # Both closed, differently: a side that kept the base's closing keeps nothing to say.
            if o is not None and _closing(a) == _closing(o):
                return sa, b
            if o is not None and _closing(b) == _closing(o):
                return sa, a
            return sa, _resolve_conflict(a, b, a["updated_at"], b["updated_at"])
        return sa, a
    if o is not None and sa == o["status"]:
        return sb, b
    if o is not None and sb == o["status"]:
        return sa, a
    if "closed" in (sa, sb):
        return "closed", a if sa == "closed" else b
    winner = _resolve_conflict(a, b, a["updated_at"], b["updated_at"])
    return winner["status"], winner


def merge_issue(o: Issue | None, a: Issue, b: Issue) -> Issue:
    """Merge two versions of one issue (same identity) against their common base ``o``."""
    has_base = o is not None
    status, status_side = _merge_status(o, a, b)
    # Field by field, by the schema's names: read through plain mappings.
    x: Mapping[str, Any] = a
    y: Mapping[str, Any] = b
    base: Mapping[str, Any] = o if o is not None else a
    side: Mapping[str, Any] = status_side
    merged: dict[str, Any] = {}
    for spec in FIELDS:
        name = spec.name
        if spec.merge == "identity":
            merged[name] = x[name]
        elif spec.merge == "newest":
            merged[name] = max(x[name], y[name])
        elif spec.merge == "status":
            merged[name] = status if name == "status" else (side[name] if status == "closed" else None)
        elif spec.merge == "text_union":
            merged[name] = merge_text_union(base[name] if has_base else "", x[name], y[name])
        elif name == "labels":
            merged[name] = sorted(merge_set(base[name] if has_base else (), x[name], y[name]))
        elif name == "dependencies":
            merged[name] = _merge_deps(base[name] if has_base else (), x[name], y[name])
        elif spec.merge == "comments":
            merged[name] = _merge_comments(base[name] if has_base else (), x[name], y[name])
        else:
            merged[name] = merge_scalar(base[name], x[name], y[name], a["updated_at"], b["updated_at"], has_base)
    return as_issue(merged)


def merge_versions(o: Issue | None, a: Issue, b: Issue) -> Issue:
    """``merge_issue``, and a result that combines both sides is stamped newer than either,
    so every database that later imports it takes it over its own copy."""
    merged = merge_issue(o, a, b)
    if not _unchanged(merged, a) and not _unchanged(merged, b):
        merged["updated_at"] = bump(merged["updated_at"])
    return merged


@dataclass
class MergeResult:
    issues: list[Issue]
    renames: list[Rename] = field(default_factory=list)


def _unchanged(o: Issue, x: Issue) -> bool:
    return _key(o) == _key(x)


def _unchanged_but_id(o: Issue, x: Issue) -> bool:
    return _key({**o, "id": x["id"]}) == _key(x)


def merge_files(base: list[Issue], ours: list[Issue], theirs: list[Issue]) -> MergeResult:
    """Merge three parsed tracker files into one list of issues."""
    o = {i["id"]: i for i in base}
    a = {i["id"]: i for i in ours}
    b = {i["id"]: i for i in theirs}
    # One issue under two ids is given one id, then colliding ids are resolved, so the
    # per-issue merge only ever sees one issue per id and one id per issue.
    a, b = unify_ids(o, a, b)
    a, b, renames = rename_colliding(o, a, b)
    o_by_identity = {identity(i): i for i in base}
    out: list[Issue] = []
    for issue_id in sorted(set(a) | set(b)):
        ia, ib = a.get(issue_id), b.get(issue_id)
        either = ia if ia is not None else ib
        assert either is not None
        io = o.get(issue_id)
        if io is None or not same_identity(io, either):
            io = o_by_identity.get(identity(either))  # the base may know it under another id
        if ia is not None and ib is not None:
            base_issue = io if io is not None and same_identity(io, ia) else None
            out.append(merge_versions(base_issue, ia, ib))
        else:
            only = either
            if io is not None and same_identity(io, only) and _unchanged_but_id(io, only):
                continue  # deleted on the other side and not edited here: stays deleted
            out.append(only)
    return MergeResult(out, renames)
