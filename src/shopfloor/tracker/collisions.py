"""Id collisions: the same id naming two different issues.

Two issues are the same issue when their ``created_at`` and ``created_by`` agree; the same
id with another identity means two branches (or clones) happened to mint the same id. The
newcomer is renamed to an id derived from its identity, so every clone that meets the same
collision picks the same new id, and references to it are rewritten. Nothing is overwritten
and every rename is reported.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass

from shopfloor.tracker import ids

TYPE_CHECKING = False
if TYPE_CHECKING:
    from shopfloor.tracker.schema import Issue


@dataclass(frozen=True)
class Rename:
    old: str
    new: str
    title: str


def identity(issue: Issue) -> tuple[str, str]:
    return issue["created_at"], issue["created_by"]


def same_identity(x: Issue, y: Issue) -> bool:
    return identity(x) == identity(y)


def derived_id(issue: Issue, taken: Collection[str]) -> str:
    """A fresh id for ``issue`` that depends only on its identity and ``taken``."""
    old = issue["id"]
    prefix, _, rest = old.partition("-")
    length = max(ids.MIN_LENGTH, len(rest.split(".")[0]))
    content = f"{issue['created_at']}\0{issue['created_by']}\0{issue['title']}"
    for attempt in range(1000):
        candidate = ids.make_id(prefix, content, f"collision-{attempt}".encode(), length)
        if candidate not in taken and candidate != old:
            return candidate
        if attempt % 10 == 9:
            length = min(length + 1, ids.MAX_LENGTH)
    raise RuntimeError(f"no free id for the colliding issue {old}")


def rewrite_refs(issue: Issue, old: str, new: str) -> Issue:
    if not any(d["id"] == old for d in issue["dependencies"]):
        return issue
    fixed = copy.deepcopy(issue)
    deps = {(new if d["id"] == old else d["id"], d["type"]) for d in fixed["dependencies"]}
    fixed["dependencies"] = [{"id": i, "type": t} for i, t in sorted(deps)]
    return fixed


def _rewrite_added_refs(issue: Issue, base_issue: Issue | None, old: str, new: str) -> Issue:
    had: set[tuple[str, str]] = set()
    if base_issue is not None and same_identity(base_issue, issue):
        had = {(d["id"], d["type"]) for d in base_issue["dependencies"]}
    moved = {(d["id"], d["type"]) for d in issue["dependencies"] if d["id"] == old} - had
    if not moved:
        return issue
    fixed = copy.deepcopy(issue)
    deps = {(d["id"], d["type"]) for d in fixed["dependencies"]} - moved
    deps |= {(new, kind) for _, kind in moved}
    fixed["dependencies"] = [{"id": i, "type": t} for i, t in sorted(deps)]
    return fixed


def unique_identities(issues: dict[str, Issue]) -> dict[tuple[str, str], str]:
    """identity -> id, for identities that name exactly one issue (older data may share one)."""
    return invert_unique({issue_id: identity(issue) for issue_id, issue in issues.items()})


def invert_unique(identity_of: dict[str, tuple[str, str]]) -> dict[tuple[str, str], str]:
    """id -> identity turned into identity -> id, dropping identities shared by several ids."""
    found: dict[tuple[str, str], str] = {}
    shared: set[tuple[str, str]] = set()
    for issue_id, key in identity_of.items():
        if key in found:
            shared.add(key)
        found[key] = issue_id
    for key in shared:
        del found[key]
    return found


def _rekey(side: dict[str, Issue], old: str, new: str) -> Issue:
    moved = copy.deepcopy(side.pop(old))
    moved["id"] = new
    side[new] = moved
    return moved


def move(side: dict[str, Issue], old: str, new: str) -> None:
    """Give issue ``old`` the id ``new`` on one side, rewriting that side's references."""
    _rekey(side, old, new)
    for other_id in list(side):
        side[other_id] = rewrite_refs(side[other_id], old, new)


def unify_ids(
    base: dict[str, Issue], ours: dict[str, Issue], theirs: dict[str, Issue]
) -> tuple[dict[str, Issue], dict[str, Issue]]:
    """One issue under two ids (an earlier merge renamed it on one side): give it one id.

    The side that renamed it wins (its id differs from the base's); with no base, the smaller
    id. Without this, every merge that met the same collision again minted another copy.
    """
    a, b = dict(ours), dict(theirs)
    in_base = unique_identities(base)
    in_a, in_b = unique_identities(a), unique_identities(b)
    for key in sorted(set(in_a) & set(in_b)):
        i, j = in_a[key], in_b[key]
        if i == j:
            continue
        was = in_base.get(key)
        target = j if was == i else i if was == j else min(i, j)
        side, old = (a, i) if target == j else (b, j)
        occupant = side.get(target)
        if occupant is not None and identity(occupant) != key:
            continue  # the id is someone else's on that side: leave it to collision handling
        move(side, old, target)
    return a, b


def rename_incoming(existing: dict[str, Issue], incoming: dict[str, Issue]) -> tuple[dict[str, Issue], list[Rename]]:
    """Rename incoming issues whose id is taken by a different existing issue (for import)."""
    renames: list[Rename] = []
    taken = set(existing) | set(incoming)
    result = dict(incoming)
    for issue_id in sorted(incoming):
        mine = existing.get(issue_id)
        theirs = incoming[issue_id]
        if mine is None or same_identity(mine, theirs):
            continue
        new = derived_id(theirs, taken)
        taken.add(new)
        renames.append(Rename(issue_id, new, theirs["title"]))
        move(result, issue_id, new)
    return result, renames


def rename_colliding(
    base: dict[str, Issue], ours: dict[str, Issue], theirs: dict[str, Issue]
) -> tuple[dict[str, Issue], dict[str, Issue], list[Rename]]:
    """Resolve ids present on both sides with different identities (for the merge driver).

    The side to rename is chosen without regard to which side is "ours": the issue already in
    the base keeps its id; otherwise the one whose identity sorts last is renamed.
    """
    a, b = dict(ours), dict(theirs)
    renames: list[Rename] = []
    taken = set(base) | set(a) | set(b)
    for issue_id in sorted(set(a) & set(b)):
        x, y = a[issue_id], b[issue_id]
        if same_identity(x, y):
            continue
        o = base.get(issue_id)
        if o is not None and same_identity(o, x):
            side = b
        elif o is not None and same_identity(o, y):
            side = a
        else:
            side = b if (identity(y), y["title"]) > (identity(x), x["title"]) else a
        new = derived_id(side[issue_id], taken)
        taken.add(new)
        moved = _rekey(side, issue_id, new)
        renames.append(Rename(issue_id, new, moved["title"]))
        # On that side, every dependency on the old id that the base did not already have
        # meant the renamed issue (including ones added to issues that exist in the base).
        for other_id in list(side):
            side[other_id] = _rewrite_added_refs(side[other_id], base.get(other_id), issue_id, new)
    return a, b, renames
