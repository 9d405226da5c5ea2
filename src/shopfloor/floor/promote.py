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

from shopfloor import git
from shopfloor.actors import is_agent
from shopfloor.agents.registry import ADAPTERS
from shopfloor.configfile import read_toml
from shopfloor.errors import ConflictError, ValidationError
from shopfloor.floor import attempts, retros
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


def seen(conn: sqlite3.Connection) -> list[rules.Seen]:
    """Each failure signature each finished issue met, and the attempt that fixed it, if one did."""
    by_issue: dict[str, list[attempts.Attempt]] = {}
    for attempt in attempts.all_attempts(conn):
        by_issue.setdefault(attempt.issue, []).append(attempt)
    out = []
    for issue_id, tried in sorted(by_issue.items()):
        if not store.exists(conn, issue_id) or retros.outcome_of(dict(store.get(conn, issue_id)), tried) is None:
            continue
        for failure in retros.failures(tried):
            out.append(rules.Seen(issue_id, failure.signature, failure.fixed_by, failure.fix_stat))
    return out


def refresh(tracker: Tracker, cfg: rules.Config) -> list[int]:
    """Propose a rule for each signature that recurred across ``promote_after`` finished issues."""
    found = seen(tracker.conn)
    proposals = rules.propose(found, cfg.promote_after, {s.issue: retro_path(s.issue) for s in found})
    return ruledb.refresh(tracker.conn, proposals, tracker.now())


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


def _supersede(tracker: Tracker, repo: Path, queued: list[tuple[str, entries.Entry]], why: str) -> None:
    """Take the earlier rules branches out of the queue (their issues closed, the branches
    deleted): the new section replaces theirs. Refused while a queue pass is testing one."""
    if not queued:
        return
    with QueueLock(floor_root(tracker), wait_s=120):
        for branch, old in queued:
            if entries.get(tracker.conn, old.id).state == "testing":
                raise ConflictError(f"{branch} is being tested by the queue: run this again once the pass is over")
        for branch, old in queued:
            entries.delete(tracker.conn, old.id)
            if old.issue:
                with tracker.write() as conn:
                    writes.close(conn, old.issue, f"superseded: {why}", tracker.actor, tracker.now())
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
    already says exactly this."""
    repo = repo_of(tracker)
    _, commit, _ = resolve_base(repo, None)
    files = rendered(repo, commit, accepted)
    queued = _queued(tracker, repo)
    for branch, entry in queued:
        if files and all(git.show_bytes(repo, branch, p) == data for p, data in files.items()):
            return Published(branch, entry.id, entry.issue, tuple(sorted(files)))  # already queued
    _supersede(tracker, repo, queued, why)
    if not files:
        return Published(None, None, None, ())
    branch = _free_branch(repo)
    title = f"rules: {why}"
    message = f"{title}\n\nThe rules section of {', '.join(sorted(files))}, written by `shopfloor rules`.\n"
    head = _commit(repo, commit, files, message)
    with tracker.write() as conn:  # deferred: no worker picks it up; vibe 1: it waits for `shopfloor approve`
        issue = writes.create(
            conn,
            prefix=tracker.prefix,
            actor=tracker.actor,
            now=tracker.now(),
            fields={"title": title, "description": message, "status": "deferred", "vibe": 1},
        )
    git.run(repo, "branch", branch, head)
    git.run(repo, "config", f"branch.{branch}.shopfloor-issue", issue)
    entry = landing.add(tracker, branch)
    return Published(branch, entry.id, issue, tuple(sorted(files)))


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
    values: dict[str, object] = {"text": new_text, "state": new_state}
    if action == "accept":
        values["accepted_by"] = tracker.actor
    ruledb.change(tracker.conn, rule_id, tracker.now(), **values)
    publishing = "accepted" in (row.state, new_state)
    why = f"{action} rule {rule_id}"
    done = publish(tracker, accepted, why) if publishing else Published(None, None, None, ())
    return ruledb.get(tracker.conn, rule_id), done
