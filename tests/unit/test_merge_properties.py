"""Property tests for the three-way merge of tracker files (``tracker.merge.merge_files``).

A random base file is edited independently on two branches ("ann" and "ben"), the way agents
edit the tracker: scalar fields, labels, dependencies, comments, notes, status changes,
closing, new issues, deletions. Every edit bumps ``updated_at`` past everything in the base.
The merged result is then checked against the rules stated in ``tracker.merge``'s docstring,
computed from the three inputs alone.
"""

from __future__ import annotations

import calendar
import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopfloor.errors import ValidationError
from shopfloor.tracker import ids, jsonl, schema
from shopfloor.tracker.clock import bump, is_timestamp, iso
from shopfloor.tracker.merge import MergeResult, merge_files

Issue = dict[str, Any]

EPOCH = calendar.timegm((2026, 11, 28, 11, 20, 44, 0, 0, 0))
BASE36 = ids.ALPHABET
PEOPLE = ("alice", "bob", "carol")
LABELS = ("bug", "ui", "db", "perf", "größe", "p1")
REASONS = ("done", "wontfix", "duplicate of t-1")
# Base issues are created and last updated within the first 1000 seconds; branch edits come after.
BRANCH_START = 1000

PROPERTY = settings(max_examples=150, deadline=None)


def ts(seconds: int, micros: int = 0) -> str:
    """A tracker timestamp ``seconds`` after the epoch used by these tests."""
    stamp = iso(EPOCH + seconds)[:-7] + f"{micros:06d}Z"
    assert is_timestamp(stamp)
    return stamp


def make_comment(issue_id: str, author: str, text: str, at: str) -> dict[str, str]:
    # Content-derived id, as writes.add_comment makes it.
    cid = ids.make_id("c", f"{issue_id}\0{author}\0{at}\0{text}", b"", 8)
    return {"id": cid, "author": author, "text": text, "created_at": at}


def canonical(issue: Issue) -> Issue:
    """The issue as the tracker stores it (labels, dependencies and comments sorted); raises if invalid."""
    return schema.normalise(copy.deepcopy(issue))


def key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def encoded(result: MergeResult) -> bytes:
    return jsonl.encode(result.issues)


# --- value strategies -------------------------------------------------------------------------

TITLES = st.one_of(
    st.sampled_from(["fix login", "add cache", "Übersetzung prüfen", "tidy db"]),
    st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=12)
    .map(str.strip)
    .filter(bool),
)
TEXTS = st.one_of(
    st.sampled_from(["", "steps:\n1. run it", "see t-oabc"]),
    st.text(st.characters(codec="utf-8"), max_size=16),
)
SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "title": TITLES,
    "description": TEXTS,
    "design": TEXTS,
    "acceptance": TEXTS,
    "priority": st.sampled_from(schema.PRIORITIES),
    "type": st.sampled_from(schema.TYPES),
    "vibe": st.sampled_from(schema.VIBES),
    "assignee": st.sampled_from([None, *PEOPLE]),
    "external_ref": st.sampled_from([None, "gh-1", "gh-2"]),
    "defer_until": st.sampled_from([None, ts(5000), ts(9000, 250000)]),
    "metadata": st.sampled_from([{}, {"sprint": 3}, {"sprint": 4, "team": "db"}, {"nested": {"b": 1, "a": [1, 2]}}]),
}
SCALAR_NAMES = tuple(sorted(SCALARS))
# Every field the schema merges with the "scalar" rule must be covered by the edits above.
assert {f.name for f in schema.FIELDS if f.merge == "scalar"} - set(SCALARS) == {"lease_until"}


@st.composite
def base_files(draw: st.DrawFn, max_issues: int = 5) -> list[Issue]:
    n = draw(st.integers(0, max_issues))
    suffixes = draw(st.lists(st.text(BASE36, min_size=3, max_size=3), min_size=n, max_size=n, unique=True))
    issue_ids = [f"t-o{s}" for s in suffixes]
    issues = []
    for k, issue_id in enumerate(issue_ids):
        created = ts(100 * k)
        issue = schema.blank_issue(issue_id, draw(TITLES), created, draw(st.sampled_from(PEOPLE)))
        for name in ("description", "priority", "type", "assignee", "metadata"):
            issue[name] = draw(SCALARS[name])
        issue["notes"] = draw(st.sampled_from(["", "base note"]))
        issue["labels"] = draw(st.lists(st.sampled_from(LABELS), unique=True, max_size=3))
        deps = draw(
            st.lists(st.tuples(st.sampled_from(issue_ids), st.sampled_from(schema.DEP_TYPES)), unique=True, max_size=2)
        )
        issue["dependencies"] = [{"id": t, "type": kind} for t, kind in deps if t != issue_id]
        issue["comments"] = [
            make_comment(issue_id, draw(st.sampled_from(PEOPLE)), text, ts(100 * k + m + 1))
            for m, text in enumerate(draw(st.lists(st.sampled_from(["first", "second", "ok"]), max_size=2)))
        ]
        issue["updated_at"] = ts(100 * k + draw(st.integers(3, 99)))
        issue["status"] = draw(st.sampled_from(schema.STATUSES))
        if issue["status"] == "closed":
            issue["closed_at"] = issue["updated_at"]
            issue["close_reason"] = draw(st.sampled_from(REASONS))
        issues.append(canonical(issue))
    return issues


EDIT_KINDS = (
    "scalar",
    "scalar",
    "label_add",
    "label_remove",
    "dep_add",
    "dep_remove",
    "comment",
    "notes",
    "status",
    "close",
    "new",
    "delete",
)


Hot = tuple[str, str, str]  # (issue id, edit kind, scalar field) that both branches edit first


@st.composite
def branches(
    draw: st.DrawFn, base: list[Issue], author: str, new_ids: st.SearchStrategy[str], hot: Hot | None = None
) -> list[Issue]:
    """``base`` after a random sequence of edits by ``author``, starting with the ``hot`` edit if given.

    Reopen-then-close of an issue that was closed in the base is not generated here (it
    changes ``closed_at``/``close_reason`` without changing ``status``): see
    ``test_reclose_on_one_side_is_kept`` for that case.
    """
    base_by_id = {i["id"]: i for i in base}
    issues = {i["id"]: copy.deepcopy(i) for i in base}
    clock = BRANCH_START
    steps = draw(st.integers(0, 6)) + (hot is not None)
    for step in range(steps):
        clock += draw(st.integers(1, 3))  # strictly increasing here; ties with the other branch do happen
        now = ts(clock)
        if step == 0 and hot is not None:
            issue_id, kind, name = hot
            if kind in ("status", "close"):  # one branch may close while the other changes the status
                kind = draw(st.sampled_from(["status", "close"]))
        else:
            kind = draw(st.sampled_from(EDIT_KINDS))
            if not issues and kind != "new":
                continue
            issue_id = draw(st.sampled_from(sorted(issues))) if issues else ""
            name = draw(st.sampled_from(SCALAR_NAMES))
        if kind == "new":
            new_id = draw(new_ids)
            if new_id in issues or new_id in base_by_id:
                continue
            issue = schema.blank_issue(new_id, draw(TITLES), now, author)
            issue["priority"] = draw(SCALARS["priority"])
            issue["labels"] = draw(st.lists(st.sampled_from(LABELS), unique=True, max_size=2))
            if issues and draw(st.booleans()):
                target = draw(st.sampled_from(sorted(issues)))
                issue["dependencies"] = [{"id": target, "type": draw(st.sampled_from(schema.DEP_TYPES))}]
            issues[new_id] = canonical(issue)
            continue
        if kind == "delete":
            del issues[issue_id]
            continue
        issue = copy.deepcopy(issues[issue_id])
        before = key(issue)
        if kind == "scalar":
            issue[name] = draw(SCALARS[name])
        elif kind == "label_add":
            label = draw(st.sampled_from(LABELS))
            issue["labels"] = sorted({*issue["labels"], label})
        elif kind == "label_remove" and issue["labels"]:
            label = draw(st.sampled_from(issue["labels"]))
            issue["labels"] = [x for x in issue["labels"] if x != label]
        elif kind == "dep_add":
            targets = sorted(set(issues) - {issue_id})
            if targets:
                dep = {"id": draw(st.sampled_from(targets)), "type": draw(st.sampled_from(schema.DEP_TYPES))}
                if dep not in issue["dependencies"]:
                    issue["dependencies"] = [*issue["dependencies"], dep]
        elif kind == "dep_remove" and issue["dependencies"]:
            dep = draw(st.sampled_from(issue["dependencies"]))
            issue["dependencies"] = [d for d in issue["dependencies"] if d != dep]
        elif kind == "comment":
            text = draw(st.sampled_from(["lgtm", "needs tests", "blocked on review", "ünïcode"]))
            issue["comments"] = [*issue["comments"], make_comment(issue_id, author, text, now)]
        elif kind == "notes":
            token = f"{author}-{clock}"
            issue["notes"] = f"{issue['notes']}\n{token}" if issue["notes"] else token
        elif kind == "status":
            choices = [s for s in schema.STATUSES if s not in ("closed", issue["status"])]
            issue["status"] = draw(st.sampled_from(choices))
            issue["closed_at"] = issue["close_reason"] = None  # a reopen clears the closing fields
        elif kind == "close":
            in_base = base_by_id.get(issue_id)
            if issue["status"] != "closed" and (in_base is None or in_base["status"] != "closed"):
                issue.update(status="closed", closed_at=now, close_reason=draw(st.sampled_from(REASONS)))
                issue["lease_until"] = None
        if key(issue) != before:  # like writes.update: no change, no touch
            issue["updated_at"] = now
            issues[issue_id] = canonical(issue)
    return sorted(issues.values(), key=lambda i: i["id"])


def side_ids(tag: str) -> st.SearchStrategy[str]:
    return st.text(BASE36, min_size=3, max_size=3).map(lambda s: f"t-{tag}{s}")


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Issue], list[Issue], list[Issue]]:
    """(base, ours, theirs); new ids differ between the branches (collisions are tested apart).

    Usually both branches start by editing the same thing (one field, the status, the labels...
    of one issue), each with its own value, so that concurrent edits are common, not rare.
    """
    base = draw(base_files())
    hot: Hot | None = None
    if base and draw(st.integers(0, 3)):
        kinds = [k for k in EDIT_KINDS if k not in ("new", "delete")]
        hot = (
            draw(st.sampled_from([i["id"] for i in base])),
            draw(st.sampled_from(kinds)),
            draw(st.sampled_from(SCALAR_NAMES)),
        )
    ours = draw(branches(base, "ann", side_ids("a"), hot))
    theirs = draw(branches(base, "ben", side_ids("b"), hot))
    return base, ours, theirs


# --- the rules, computed from the inputs -------------------------------------------------------


def dep_pairs(issue: Issue) -> set[tuple[str, str]]:
    return {(d["id"], d["type"]) for d in issue["dependencies"]}


def comment_map(issue: Issue) -> dict[str, str]:
    return {c["id"]: key(c) for c in issue["comments"]}


def lines(text: str) -> set[str]:
    return {line for line in text.split("\n") if line}


def closing(issue: Issue) -> tuple[Any, Any]:
    return issue["closed_at"], issue["close_reason"]


def check_issue_rules(o: Issue, a: Issue, b: Issue, r: Issue) -> None:
    """The per-field rules for an issue that both branches kept (and the base had)."""
    for name in ("id", "created_at", "created_by"):
        assert r[name] == o[name]
    # updated_at: the newer of the two, and one microsecond later still when the result combines
    # edits from both sides (so it is newer than either copy a database may hold).
    newest = max(a["updated_at"], b["updated_at"])
    unbumped = {**r, "updated_at": newest}
    if key(unbumped) in (key(a), key(b)):
        assert r["updated_at"] == newest
    else:
        assert r["updated_at"] == bump(newest)
        assert r["updated_at"] > a["updated_at"] and r["updated_at"] > b["updated_at"]

    for name in SCALAR_NAMES:
        va, vb, vo = a[name], b[name], o[name]
        if key(va) == key(vo):
            assert key(r[name]) == key(vb), f"{name} changed only by theirs must be theirs"
        elif key(vb) == key(vo):
            assert key(r[name]) == key(va), f"{name} changed only by ours must be ours"
        elif a["updated_at"] != b["updated_at"]:
            newer = va if a["updated_at"] > b["updated_at"] else vb
            assert key(r[name]) == key(newer), f"{name} changed on both sides: the newer edit wins"
        else:
            assert key(r[name]) in (key(va), key(vb))

    for name, as_set in (("labels", lambda i: set(i["labels"])), ("dependencies", dep_pairs)):
        so, sa, sb, sr = as_set(o), as_set(a), as_set(b), as_set(r)
        added = (sa - so) | (sb - so)
        removed = (so - sa) | (so - sb)
        assert added <= sr, f"{name} added on a branch were lost: {added - sr}"
        assert not (removed & sr), f"{name} removed on a branch came back: {removed & sr}"
        assert sr <= sa | sb, f"{name} appeared from nowhere: {sr - (sa | sb)}"
        assert (so & sa & sb) <= sr, f"{name} kept by both branches were lost"

    ca, cb, cr = comment_map(a), comment_map(b), comment_map(r)
    for side in (ca, cb):
        for cid, body in side.items():
            assert cr.get(cid) == body, f"comment {cid} lost or altered"
    assert set(cr) <= set(ca) | set(cb)

    assert lines(a["notes"]) | lines(b["notes"]) <= lines(r["notes"]), "a note line was lost"

    sa, sb, so = a["status"], b["status"], o["status"]
    if sa == so and sb == so:
        assert r["status"] == so
        assert closing(r) == closing(a) == closing(b)
    elif sb == so:
        assert (r["status"], closing(r)) == (sa, closing(a)), "status changed only by ours must be ours"
    elif sa == so:
        assert (r["status"], closing(r)) == (sb, closing(b)), "status changed only by theirs must be theirs"
    elif "closed" in (sa, sb):
        assert r["status"] == "closed", "closing on either branch must win over other status changes"
        assert closing(r) in [closing(x) for x in (a, b) if x["status"] == "closed"]
    elif a["updated_at"] != b["updated_at"]:
        newer = a if a["updated_at"] > b["updated_at"] else b
        assert (r["status"], closing(r)) == (newer["status"], closing(newer))
    else:
        assert r["status"] in (sa, sb)
    if so != "closed" and "closed" in (sa, sb):
        assert r["status"] == "closed", "an issue closed on either branch must stay closed"
    assert (r["status"] == "closed") == (r["closed_at"] is not None)


def check_file_rules(base: list[Issue], ours: list[Issue], theirs: list[Issue], result: MergeResult) -> None:
    o = {i["id"]: i for i in base}
    a = {i["id"]: i for i in ours}
    b = {i["id"]: i for i in theirs}
    r = {i["id"]: i for i in result.issues}
    assert len(r) == len(result.issues), "duplicate ids in the result"
    assert result.renames == []

    expected_ids = set()
    for issue_id in set(o) | set(a) | set(b):
        io, ia, ib = o.get(issue_id), a.get(issue_id), b.get(issue_id)
        if ia is not None and ib is not None:
            expected_ids.add(issue_id)
            if io is None:  # impossible here: new ids differ between the branches
                raise AssertionError("unexpected shared new id")
            check_issue_rules(io, ia, ib, r[issue_id])
        elif ia is not None or ib is not None:
            only = ia if ia is not None else ib
            assert only is not None
            if io is not None and key(io) == key(only):
                assert issue_id not in r, f"{issue_id} deleted on one branch, untouched on the other: must stay deleted"
            else:
                # New on one branch, or deleted on one branch but edited on the other: kept as is.
                assert issue_id in r, f"{issue_id} was lost"
                assert key(r[issue_id]) == key(only)
                expected_ids.add(issue_id)
    assert set(r) == expected_ids


def check_well_formed(result: MergeResult) -> None:
    data = jsonl.encode(result.issues)
    for issue in result.issues:
        assert list(issue) == list(schema.FIELD_NAMES)
        assert key(schema.normalise(copy.deepcopy(issue))) == key(issue), "merge output is not canonical"
    decoded = jsonl.decode(data)
    assert jsonl.encode(decoded) == data
    assert [key(i) for i in decoded] == [key(i) for i in sorted(result.issues, key=lambda i: i["id"])]


# --- properties --------------------------------------------------------------------------------


@PROPERTY
@given(scenarios())
def test_merge_is_symmetric(scenario: tuple[list[Issue], list[Issue], list[Issue]]) -> None:
    base, ours, theirs = scenario
    forward = merge_files(base, ours, theirs)
    backward = merge_files(base, theirs, ours)
    assert encoded(forward) == encoded(backward)
    assert forward.renames == backward.renames


@PROPERTY
@given(scenarios())
def test_merge_follows_the_rules(scenario: tuple[list[Issue], list[Issue], list[Issue]]) -> None:
    base, ours, theirs = scenario
    check_file_rules(base, ours, theirs, merge_files(base, ours, theirs))


@PROPERTY
@given(scenarios())
def test_merge_output_is_canonical_and_round_trips(scenario: tuple[list[Issue], list[Issue], list[Issue]]) -> None:
    base, ours, theirs = scenario
    check_well_formed(merge_files(base, ours, theirs))


@PROPERTY
@given(scenarios())
def test_merge_identities(scenario: tuple[list[Issue], list[Issue], list[Issue]]) -> None:
    base, ours, _ = scenario
    expected_base = jsonl.encode(base)
    assert encoded(merge_files(base, base, base)) == expected_base
    expected_ours = jsonl.encode(ours)
    assert encoded(merge_files(base, ours, base)) == expected_ours, "merge(o, a, o) must be a"
    assert encoded(merge_files(base, base, ours)) == expected_ours, "merge(o, o, a) must be a"
    assert encoded(merge_files(base, ours, ours)) == expected_ours, "merge(o, a, a) must be a"


@PROPERTY
@given(scenarios())
def test_merge_does_not_mutate_its_inputs(scenario: tuple[list[Issue], list[Issue], list[Issue]]) -> None:
    before = [jsonl.encode(f) for f in scenario]
    merge_files(*scenario)
    merge_files(scenario[0], scenario[2], scenario[1])
    assert [jsonl.encode(f) for f in scenario] == before


STATUS_EDITS = st.sampled_from([None, "open", "in_progress", "blocked", "deferred", "close"])


def edit_status(issue: Issue, edit: str | None, at: str) -> Issue:
    edited = copy.deepcopy(issue)
    if edit == "close" and issue["status"] != "closed":
        edited.update(status="closed", closed_at=at, close_reason="done", updated_at=at)
    elif edit not in (None, "close", issue["status"]):
        edited.update(status=edit, closed_at=None, close_reason=None, updated_at=at)
    return edited


@PROPERTY
@given(st.sampled_from(schema.STATUSES), STATUS_EDITS, STATUS_EDITS, st.integers(1, 3), st.integers(1, 3))
def test_status_changes_on_both_sides(
    base_status: str, edit_a: str | None, edit_b: str | None, ta: int, tb: int
) -> None:
    """Every combination of status changes and closes on one issue, at every relative timing."""
    base = schema.blank_issue("t-os", "status", ts(0), "alice")
    base.update(status=base_status, updated_at=ts(1))
    if base_status == "closed":
        base.update(closed_at=ts(1), close_reason="old reason")
    ours = edit_status(base, edit_a, ts(BRANCH_START + ta))
    theirs = edit_status(base, edit_b, ts(BRANCH_START + tb))
    result = merge_files([base], [ours], [theirs])
    assert encoded(result) == encoded(merge_files([base], [theirs], [ours]))
    check_issue_rules(base, ours, theirs, result.issues[0])


# --- id collisions -----------------------------------------------------------------------------


def identity(issue: Issue) -> tuple[str, str]:
    return issue["created_at"], issue["created_by"]


@st.composite
def collision_scenarios(draw: st.DrawFn) -> tuple[list[Issue], list[Issue], list[Issue]]:
    """Both branches create issues from a tiny shared pool of ids; the first one always collides.

    Some new issues depend on others, and some base issues get a dependency on a new issue
    from the same branch. Nothing is deleted, so every issue on either branch must survive.
    """
    base = draw(base_files(max_issues=3))
    sides = []
    for author in ("ann", "ben"):
        issues = {i["id"]: copy.deepcopy(i) for i in base}
        clock = BRANCH_START + draw(st.integers(0, 2))
        count = draw(st.integers(1, 3))
        for n in range(count):
            clock += draw(st.integers(1, 3))
            now = ts(clock)
            issue_id = "t-nx" if n == 0 else draw(st.sampled_from(["t-nx", "t-ny", "t-nz"]))
            if issue_id in issues:
                continue
            issue = schema.blank_issue(issue_id, draw(TITLES), now, author)
            if issues and draw(st.booleans()):
                target = draw(st.sampled_from(sorted(issues)))
                issue["dependencies"] = [{"id": target, "type": draw(st.sampled_from(schema.DEP_TYPES))}]
            issues[issue_id] = canonical(issue)
            base_ids = sorted(i["id"] for i in base)
            if base_ids and draw(st.booleans()):
                # An existing issue now waits on the new one (e.g. `shopfloor dep add <old> <new>`).
                src = copy.deepcopy(issues[draw(st.sampled_from(base_ids))])
                dep = {"id": issue_id, "type": draw(st.sampled_from(schema.DEP_TYPES))}
                src["dependencies"] = [*src["dependencies"], dep]
                src["updated_at"] = now
                issues[src["id"]] = canonical(src)
        sides.append(sorted(issues.values(), key=lambda i: i["id"]))
    return base, sides[0], sides[1]


@PROPERTY
@given(collision_scenarios())
def test_collision_keeps_both_issues_symmetrically(scenario: tuple[list[Issue], list[Issue], list[Issue]]) -> None:
    base, ours, theirs = scenario
    forward = merge_files(base, ours, theirs)
    backward = merge_files(base, theirs, ours)
    assert encoded(forward) == encoded(backward)
    assert forward.renames == backward.renames
    check_well_formed(forward)

    result_ids = [i["id"] for i in forward.issues]
    assert len(result_ids) == len(set(result_ids))
    everyone = {identity(i): i for i in [*base, *ours, *theirs]}
    by_identity = {identity(i): i for i in forward.issues}
    assert len(by_identity) == len(forward.issues), "two result issues share one identity"
    assert set(by_identity) == set(everyone), "an issue was lost (or invented) in a collision"
    for ident, issue in by_identity.items():
        if ident[1] in ("ann", "ben"):  # new on exactly one branch: content kept, id maybe renamed
            assert issue["title"] == everyone[ident]["title"]

    a_ids, b_ids = {i["id"] for i in ours}, {i["id"] for i in theirs}
    theirs_by_id = {i["id"]: i for i in theirs}
    collided = {i["id"] for i in ours if i["id"] in b_ids and identity(i) != identity(theirs_by_id[i["id"]])}
    assert "t-nx" in collided
    assert sorted(r.old for r in forward.renames) == sorted(collided), "every collision renames exactly one issue"
    known = {i["id"] for i in base} | a_ids | b_ids
    for rename in forward.renames:
        assert rename.new not in known, "renamed onto an id that was already taken"
        assert rename.new in result_ids
        assert ids.is_valid_id(rename.new)
        assert rename.old in result_ids, "the other issue keeps the old id"


@PROPERTY
@given(collision_scenarios())
def test_collision_rename_keeps_references_pointing_at_the_same_issue(
    scenario: tuple[list[Issue], list[Issue], list[Issue]],
) -> None:
    """A dependency made on a branch must, after the merge, still point at the issue it meant."""
    base, ours, theirs = scenario
    result = merge_files(base, ours, theirs)
    by_identity = {identity(i): i for i in result.issues}
    by_id = {i["id"]: i for i in result.issues}
    for side in (ours, theirs):
        side_by_id = {i["id"]: i for i in side}
        for issue in side:
            merged = by_identity[identity(issue)]
            merged_deps = {(identity(by_id[d["id"]]), d["type"]) for d in merged["dependencies"] if d["id"] in by_id}
            for dep in issue["dependencies"]:
                meant = identity(side_by_id[dep["id"]])
                assert (meant, dep["type"]) in merged_deps, (
                    f"{issue['id']} -> {dep['id']} ({dep['type']}) no longer points at the issue "
                    f"created {meant[0]} by {meant[1]}; renames: {result.renames}"
                )


def test_collision_rename_rewrites_dependency_added_to_a_base_issue() -> None:
    """Branch ann creates t-nx and makes the existing t-oppp depend on it; ben creates another t-nx.

    ann's t-nx sorts last by identity, so it is the one renamed; t-oppp's dependency must follow it.
    """
    parent = schema.blank_issue("t-oppp", "existing work", ts(0), "alice")
    ann_new = schema.blank_issue("t-nx", "ann's bug", ts(BRANCH_START + 8), "ann")
    ann_parent = copy.deepcopy(parent)
    ann_parent["dependencies"] = [{"id": "t-nx", "type": "blocks"}]
    ann_parent["updated_at"] = ts(BRANCH_START + 9)
    ben_new = schema.blank_issue("t-nx", "ben's feature", ts(BRANCH_START + 5), "ben")
    for ours, theirs in (([ann_parent, ann_new], [parent, ben_new]), ([parent, ben_new], [ann_parent, ann_new])):
        result = merge_files([parent], ours, theirs)
        assert [(r.old, r.title) for r in result.renames] == [("t-nx", "ann's bug")]
        new_id = result.renames[0].new
        merged_parent = next(i for i in result.issues if i["id"] == "t-oppp")
        assert merged_parent["dependencies"] == [{"id": new_id, "type": "blocks"}], (
            "t-oppp still points at t-nx, which after the merge is ben's unrelated issue"
        )


def test_same_issue_added_on_both_sides_is_not_a_collision() -> None:
    issue = schema.blank_issue("t-nx", "same", ts(BRANCH_START), "ann")
    edited = copy.deepcopy(issue)
    edited.update(labels=["ui"], updated_at=ts(BRANCH_START + 1))
    result = merge_files([], [issue], [edited])
    assert result.renames == []
    assert [key(i) for i in result.issues] == [key(edited)]


# --- closing fields ----------------------------------------------------------------------------


@PROPERTY
@given(st.integers(1, 20), st.integers(1, 20), TITLES)
def test_reclose_on_one_side_is_kept(reclose_at: int, edit_at: int, title: str) -> None:
    """Base closed; ann reopens and closes it again with a new reason; ben only edits the title.

    Only ann changed closed_at/close_reason, so the result must carry ann's values whatever the
    timing ("a field changed on one side only takes that side's value").
    """
    closed = schema.blank_issue("t-oc", "closed long ago", ts(0), "alice")
    closed.update(status="closed", closed_at=ts(1), close_reason="done", updated_at=ts(1))
    ann = copy.deepcopy(closed)
    ann.update(closed_at=ts(BRANCH_START + reclose_at), close_reason="really done")
    ann["updated_at"] = ann["closed_at"]
    ben = copy.deepcopy(closed)
    ben.update(title=title if title != closed["title"] else "other", updated_at=ts(BRANCH_START + edit_at))
    for ours, theirs in ((ann, ben), (ben, ann)):
        merged = merge_files([closed], [ours], [theirs]).issues[0]
        assert merged["title"] == ben["title"]
        assert closing(merged) == closing(ann), "ann's re-close was dropped in favour of the base's closing fields"


# --- timestamps in merged records --------------------------------------------------------------


def test_normalise_rejects_timestamp_with_trailing_newline() -> None:
    """Merge and SQLite order timestamps as strings, which needs the fixed width the schema promises."""
    issue = schema.blank_issue("t-oa", "x", ts(0), "alice")
    issue["updated_at"] = ts(0) + "\n"
    with pytest.raises(ValidationError):
        schema.normalise(issue)
