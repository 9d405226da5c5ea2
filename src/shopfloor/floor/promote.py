"""Promotion to rules at the floor's edge: gather the failure signatures of finished issues
(``floor.retros``), refresh the proposals (``learn.rules``, ``learn.ruledb``), and write the
accepted rules into the agents' context files on a branch ``rules/<n>`` that the queue
lands (the context files are protected, so the gate holds it for a person's approval)."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from shopfloor import faults, git
from shopfloor.actors import is_agent
from shopfloor.agents.registry import ADAPTERS
from shopfloor.configfile import read_toml
from shopfloor.errors import ConflictError, ValidationError
from shopfloor.floor import attempts, knowledge, lessonturn, retros
from shopfloor.floor.lessons import unmarked
from shopfloor.floor.outcomes import Outcome
from shopfloor.gate.gating import repo_of, resolve_base
from shopfloor.learn import brief, ruledb, rules
from shopfloor.paths import floor_root
from shopfloor.queue import entries, landing
from shopfloor.queue.landing import QueueLock
from shopfloor.queue.trackercommit import retro_path
from shopfloor.tracker import store, writes
from shopfloor.tracker.service import Tracker

AGENTS_FILE = "AGENTS.md"  # every agent is briefed with it (floor.prompts), so it is always written
NAME, EMAIL = "shopfloor", "shopfloor@localhost"
PREFIX = "rules/"  # not floor/: a worker branch is an agent's work, and the gate never lets one change AGENTS.md
COUNTER = "shopfloor.rulesBranches"


def config(tracker: Tracker) -> rules.Config:
    """``[flywheel]`` of the project's config: every key checked, then the rules' two read."""
    path = tracker.location.config_path
    data = read_toml(Path(path))
    brief.parse(data, str(path))
    return rules.parse(data, str(path))


Finished = dict[str, list[attempts.Attempt]]  # the attempts of each finished issue, by issue


def finished(conn: sqlite3.Connection) -> Finished:
    """The attempts of each issue the floor finished (merged or blocked), by issue."""
    return {issue_id: tried for issue_id, (_, tried) in retros.finished_issues(conn).items()}


def seen(conn: sqlite3.Connection, done: Finished | None = None) -> list[rules.Seen]:
    """Each failure signature each finished issue met, and the attempt that fixed it, if one did."""
    out = []
    for issue_id, tried in (finished(conn) if done is None else done).items():
        for failure in retros.failures(tried):
            out.append(rules.Seen(issue_id, failure.signature, failure.fixed_by, failure.fix_stat))
    return out


def said(conn: sqlite3.Connection, done: Finished | None = None) -> list[rules.Said]:
    """The lessons finished issues left: their agent's own lessons (``floor.lessonturn``, the
    retro's "Lessons" bullets) and each line of their handoff notes."""
    out = []
    asked = lessonturn.of_all(conn)
    for issue_id, tried in (finished(conn) if done is None else done).items():
        recorded = asked.get(issue_id)
        for bullet in recorded.bullets if recorded is not None else ():
            out.append(rules.Said(issue_id, bullet, f"retro:{issue_id}"))
        for attempt in tried:
            note = knowledge.own_note(conn, attempt) if attempt.outcome == Outcome.HANDOFF_NOTE else None
            for line in (note or "").splitlines():
                text = unmarked(" ".join(line.split()))
                if text:
                    out.append(rules.Said(issue_id, text, f"handoff:{attempt.id}"))
    return out


def refresh(tracker: Tracker, cfg: rules.Config) -> list[int]:
    """Propose a rule for each signature that recurred across ``promote_after`` finished issues,
    and for each lesson near-identical ones of as many issues left; never twice for the same."""
    conn = tracker.conn
    done = finished(conn)
    found, lessons = seen(conn, done), said(conn, done)
    known = ruledb.listed(conn)
    retro_of = {i: retro_path(i) for i in {s.issue for s in found} | {s.issue for s in lessons}}
    proposals = rules.propose(found, cfg.promote_after, retro_of, known=[r.signature for r in known])
    old_lessons = [str(e["lesson"]) for r in known for e in r.evidence if e.get("lesson")]
    proposals += rules.propose_lessons(lessons, cfg.promote_after, old_lessons, retro_of)
    return ruledb.refresh(conn, proposals, tracker.now())


def context_files() -> list[str]:
    """AGENTS.md, then each file an agent in the registry reads of its own (CLAUDE.md, GEMINI.md)."""
    named = sorted({a.context_file for a in ADAPTERS.values() if a.context_file and a.context_file != AGENTS_FILE})
    return [AGENTS_FILE, *named]


def rendered(repo: Path, commit: str, accepted: list[rules.Rule]) -> dict[str, bytes]:
    """The context files whose managed section changes: AGENTS.md always, the others only where
    the repository has them."""
    out = {}
    for path in context_files():
        old = git.show(repo, commit, path)
        if old is None and path != AGENTS_FILE:
            continue
        new = rules.apply(old, accepted)
        if new is not None and new != old:
            out[path] = new.encode("utf-8")
    return out


@dataclass(frozen=True)
class Published:
    branch: str | None  # None: the files already say exactly this
    entry: int | None
    issue: str | None  # the issue a person approves (``shopfloor approve ID``) for it to land
    files: tuple[str, ...]


def _free_branch(repo: Path) -> str:
    """``rules/<n>``, past every such branch written before (counted in the repository's
    config, ``shopfloor.rulesBranches``): a superseded branch's name is never reused."""
    last = git.run(repo, "config", "--get", COUNTER, check=False).stdout.strip()
    n = int(last) + 1 if last.isdigit() else 1
    while git.is_branch(repo, f"{PREFIX}{n}"):
        n += 1
    git.run(repo, "config", COUNTER, str(n))
    return f"{PREFIX}{n}"


def _commit(repo: Path, parent: str, files: Mapping[str, bytes], message: str) -> str:
    with tempfile.TemporaryDirectory(prefix="shopfloor-rules-") as tmp:
        env = dict(os.environ, GIT_INDEX_FILE=str(Path(tmp) / "index"))
        git.run(repo, "read-tree", parent, env=env)
        for path, data in sorted(files.items()):
            blob = git.run_bytes(repo, "hash-object", "-w", "--stdin", data=data).decode().strip()
            git.run(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
        tree = git.run(repo, "write-tree", env=env).stdout.strip()
    return git.commit_tree(repo, tree, parent, message, (NAME, EMAIL), (NAME, EMAIL))


def _queued(tracker: Tracker, repo: Path) -> list[tuple[str, entries.Entry]]:
    """The ``rules/<n>`` branches still in the queue, with their entries."""
    live = entries.list_entries(tracker.conn, entries.LIVE_STATES)
    return [(e.branch, e) for e in live if e.branch.startswith(PREFIX) and git.is_branch(repo, e.branch)]


def _strays(repo: Path, queued: list[tuple[str, entries.Entry]], target: str) -> list[str]:
    """The ``rules/<n>`` branches neither queued nor on the target: what a publish cut short left
    (or one the queue turned away). The next publish reuses one that says the same, else deletes them."""
    names = git.run(repo, "for-each-ref", "--format=%(refname:short)", f"refs/heads/{PREFIX}").stdout.split()
    live = {branch for branch, _ in queued}
    return [
        name
        for name in sorted(names)
        if name.removeprefix(PREFIX).isdigit()
        and name not in live
        and git.run(repo, "merge-base", "--is-ancestor", name, target, check=False).returncode != 0
    ]


def _says(repo: Path, branch: str, files: Mapping[str, bytes]) -> bool:
    return bool(files) and all(git.show_bytes(repo, branch, p) == data for p, data in files.items())


def _issue_of(tracker: Tracker, repo: Path, branch: str) -> str | None:
    """The open issue a rules branch was published with, if it has one."""
    issue = git.run(repo, "config", "--get", f"branch.{branch}.shopfloor-issue", check=False).stdout.strip()
    if not issue or not store.exists(tracker.conn, issue) or store.get(tracker.conn, issue)["status"] == "closed":
        return None
    return issue


def _supersede(
    tracker: Tracker, repo: Path, queued: list[tuple[str, entries.Entry]], strays: list[str], why: str
) -> None:
    """Take the earlier rules branches out of the queue and delete the strays (their issues
    closed, the branches deleted): the new section replaces theirs. Refused while a queue pass
    is testing one."""
    if not queued and not strays:
        return
    with QueueLock(floor_root(tracker), wait_s=120):
        for branch, old in queued:
            if entries.get(tracker.conn, old.id).state == "testing":
                raise ConflictError(f"{branch} is being tested by the queue: run this again once the pass is over")
        gone = [(branch, old.issue) for branch, old in queued] + [(b, _issue_of(tracker, repo, b)) for b in strays]
        for _, old in queued:
            entries.delete(tracker.conn, old.id)
        for branch, issue in gone:
            if issue and store.exists(tracker.conn, issue):
                with tracker.write() as conn:
                    writes.close(conn, issue, f"superseded: {why}", tracker.actor, tracker.now())
            git.run(repo, "branch", "-D", branch)


def check_budget(accepted: list[rules.Rule], cfg: rules.Config) -> None:
    """Over the budget: a ValidationError naming the rules that do not fit."""
    too_many = rules.over_budget(accepted, cfg.rules_bytes)
    if too_many:
        ids = ", ".join(str(r.id) for r in too_many)
        raise ValidationError(
            f"the rules section is over its budget of {cfg.rules_bytes} bytes ([flywheel] rules_bytes): "
            f"rule(s) {ids} do not fit; retire one or shorten it (`shopfloor rules edit ID --text ...`)"
        )


def publish(tracker: Tracker, accepted: list[rules.Rule], why: str) -> Published:
    """Write the accepted rules' section on a new branch off the target, with an issue of vibe
    1 that a person approves, and queue it. Nothing new when the target or a queued branch
    already says exactly this. Safe to run again after a crash at any step: a branch left
    unqueued that says the same is taken up where it stopped (its issue made or reused, then
    queued); one that says something else is deleted."""
    repo = repo_of(tracker)
    _, commit, _ = resolve_base(repo, None)
    files = rendered(repo, commit, accepted)
    queued = _queued(tracker, repo)
    for branch, entry in queued:
        if _says(repo, branch, files):
            return Published(branch, entry.id, entry.issue, tuple(sorted(files)))  # already queued
    strays = _strays(repo, queued, commit)
    reuse = next((b for b in strays if _says(repo, b, files)), None)
    _supersede(tracker, repo, queued, [b for b in strays if b != reuse], why)
    if not files:
        return Published(None, None, None, ())
    title = f"rules: {why}"
    message = f"{title}\n\nThe rules section of {', '.join(sorted(files))}, written by `shopfloor rules`.\n"
    name = reuse
    if name is None:
        name = _free_branch(repo)
        git.run(repo, "branch", name, _commit(repo, commit, files, message))
    faults.point("rules-branch")
    issue = _issue_of(tracker, repo, name)
    if issue is None:
        with tracker.write() as conn:  # deferred: no worker picks it up; vibe 1: it waits for `shopfloor approve`
            issue = writes.create(
                conn,
                prefix=tracker.prefix,
                actor=tracker.actor,
                now=tracker.now(),
                fields={"title": title, "description": message, "status": "deferred", "vibe": 1},
            )
        git.run(repo, "config", f"branch.{name}.shopfloor-issue", issue)
    faults.point("rules-issue")
    entry = landing.add(tracker, name)
    return Published(name, entry.id, issue, tuple(sorted(files)))


# What each decision needs the rule's state to be, and makes it.
MOVES = {"accept": (("proposed", "rejected", "accepted"), "accepted"), "reject": (("proposed",), "rejected"),
         "retire": (("accepted",), "retired"), "edit": (tuple(rules.STATES), None)}  # fmt: skip


def decide(tracker: Tracker, rule_id: int, action: str, text: str | None = None) -> tuple[ruledb.Row, Published]:
    """A person's decision on a rule; when the accepted set changes, its section is published.
    Refused (nothing changed) for an agent, a rule in the wrong state, or a section over budget."""
    if is_agent(tracker.actor):
        raise ConflictError(f"{tracker.actor} is an agent: only a person decides the rules")
    cfg = config(tracker)
    row = ruledb.get(tracker.conn, rule_id)
    allowed, state = MOVES[action]
    if row.state not in allowed:
        raise ConflictError(f"rule {rule_id} is {row.state}: {action} needs it {' or '.join(allowed)}")
    new_text = rules.check_text(text) if text is not None else row.text
    new_state = state or row.state
    changed = replace(row, text=new_text, state=new_state)
    accepted = [r.rule() for r in ruledb.listed(tracker.conn, "accepted") if r.id != rule_id]
    if new_state == "accepted":
        accepted.append(changed.rule())
    check_budget(accepted, cfg)
    publishing = "accepted" in (row.state, new_state)
    why = f"{action} rule {rule_id}"
    # Published first, the state saved last: a crash in between leaves the rule as it was, and
    # the same command again finds the section already queued (``publish`` is idempotent).
    done = publish(tracker, accepted, why) if publishing else Published(None, None, None, ())
    faults.point("rules-state")
    values: dict[str, object] = {"text": new_text, "state": new_state}
    if action == "accept":
        values["accepted_by"] = tracker.actor
        values["accepted_at"] = tracker.now()
    ruledb.change(tracker.conn, rule_id, tracker.now(), **values)
    return ruledb.get(tracker.conn, rule_id), done
