"""``shopfloor init``: set a repository up for the tracker, idempotently.

It writes ``.shopfloor/config.toml`` and an empty ``.shopfloor/issues.jsonl``, registers the
merge driver (``.gitattributes`` plus the local git config, which git does not clone, so
``doctor --fix`` re-registers it in a fresh clone), points AGENTS.md at ``shopfloor prime``,
and creates the database.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from shopfloor.errors import ShopfloorError
from shopfloor.tracker import db, jsonl, store
from shopfloor.tracker.config import read_config, render_config, set_prefix
from shopfloor.tracker.ids import check_prefix
from shopfloor.tracker.locate import Location, locate

ATTRIBUTES_LINE = ".shopfloor/issues.jsonl merge=shopfloor"
AGENTS_MARKER = "shopfloor prime"
AGENTS_SECTION = """
## Issue tracker (shopfloor)

Work in this repository is tracked with shopfloor. Run `shopfloor prime` at the start of a
session for the commands: find ready work, claim it, record what you did, close it.
"""


@dataclass
class InitReport:
    prefix: str
    db_path: str
    actions: list[str] = field(default_factory=list)


def merge_driver_command() -> str:
    """The command git runs to merge the tracker file, with an absolute path to this shopfloor."""
    script = shutil.which("shopfloor")
    if script and Path(script).parent == Path(sys.executable).parent:
        return f"{shlex.quote(script)} merge-driver %O %A %B"
    return f"{shlex.quote(sys.executable)} -m shopfloor merge-driver %O %A %B"


def _git(location: Location, *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=location.worktree, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ShopfloorError("git is not installed: install git (apt-get install git)") from None
    if done.returncode != 0 and args[:2] != ("config", "--get"):
        raise ShopfloorError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def merge_driver_registered(location: Location) -> bool:
    attributes = location.worktree / ".gitattributes"
    has_line = attributes.exists() and ATTRIBUTES_LINE in attributes.read_text(encoding="utf-8").splitlines()
    return has_line and bool(_git(location, "config", "--get", "merge.shopfloor.driver"))


def register_merge_driver(location: Location, report: InitReport) -> None:
    attributes = location.worktree / ".gitattributes"
    text = attributes.read_text(encoding="utf-8") if attributes.exists() else ""
    if ATTRIBUTES_LINE not in text.splitlines():
        sep = "" if not text or text.endswith("\n") else "\n"
        jsonl.atomic_write(attributes, (text + sep + ATTRIBUTES_LINE + "\n").encode("utf-8"))
        report.actions.append("added the merge driver to .gitattributes")
    command = merge_driver_command()
    if _git(location, "config", "--get", "merge.shopfloor.driver") != command:
        _git(location, "config", "merge.shopfloor.name", "shopfloor tracker JSONL merge")
        _git(location, "config", "merge.shopfloor.driver", command)
        report.actions.append("registered the merge driver in .git/config")


def _point_agents_md(location: Location, report: InitReport) -> None:
    path = location.worktree / "AGENTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if AGENTS_MARKER in text:
        return
    body = (text.rstrip("\n") + "\n" + AGENTS_SECTION) if text else ("# Agents" + "\n" + AGENTS_SECTION)
    jsonl.atomic_write(path, body.encode("utf-8"))
    report.actions.append(("created" if not text else "updated") + " AGENTS.md with a pointer to `shopfloor prime`")


def init(prefix: str | None, start: str | None = None) -> InitReport:
    location = locate(start)
    state = location.state_dir
    state.mkdir(exist_ok=True)
    config_path = location.config_path
    current = read_config(config_path)
    chosen = check_prefix(prefix) if prefix else current.prefix
    report = InitReport(prefix=chosen, db_path=str(location.db_path))
    if not config_path.exists():
        jsonl.atomic_write(config_path, render_config(chosen).encode("utf-8"))
        report.actions.append(f"wrote {config_path.relative_to(location.worktree)} (prefix {chosen})")
    elif chosen != current.prefix:
        text = config_path.read_text(encoding="utf-8")
        jsonl.atomic_write(config_path, set_prefix(text, chosen).encode("utf-8"))
        report.actions.append(f"changed the prefix from {current.prefix} to {chosen} (existing ids keep theirs)")
    if not location.jsonl_path.exists():
        jsonl.atomic_write(location.jsonl_path, b"")
        report.actions.append("created .shopfloor/issues.jsonl")
    register_merge_driver(location, report)
    _point_agents_md(location, report)
    created = not location.db_path.exists()
    conn = db.connect(location.db_path, create=True)
    try:
        with db.transaction(conn):
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('prefix', ?)", (chosen,))
        if created:
            report.actions.append(f"created the database {location.db_path}")
        if store.get_meta(conn, "prefix") != chosen:
            raise ShopfloorError("could not record the prefix in the database")
    finally:
        conn.close()
    return report
