"""``shopfloor init``: set a repository up for the tracker, idempotently.

It writes ``.shopfloor/config.toml`` and an empty ``.shopfloor/issues.jsonl``, registers the
merge driver (``.gitattributes`` plus the local git config, which git does not clone, so
``doctor --fix`` re-registers it in a fresh clone), points AGENTS.md at ``shopfloor prime``,
and creates the database. With ``--hooks`` it also installs a pre-commit hook that exports
the tracker first (``tracker.hooks``).
"""

from __future__ import annotations

import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from shopfloor import git
from shopfloor.errors import ShopfloorError
from shopfloor.tracker import db, jsonl, store, writes
from shopfloor.tracker import hooks as git_hooks
from shopfloor.tracker.config import read_config, render_config, set_prefix
from shopfloor.tracker.gitignore import unignore
from shopfloor.tracker.ids import check_prefix
from shopfloor.tracker.locate import Location, locate

ATTRIBUTES_LINE = ".shopfloor/issues.jsonl merge=shopfloor"
AGENTS_MARKER = "shopfloor prime"
AGENTS_SECTION = """
## Issue tracker (shopfloor)

Work in this repository is tracked with shopfloor. Run `shopfloor prime` at the start of a
session: it prints how to find work, record what you did, and finish it (inside a floor
worker, the worker's own rules).
"""


@dataclass
class InitReport:
    prefix: str
    db_path: str
    actions: list[str] = field(default_factory=list)
    hook: bool = False  # the pre-commit hook that exports the tracker is in place


def shopfloor_command() -> str:
    """This shopfloor as a shell command, with an absolute path (for git to run)."""
    script = shutil.which("shopfloor")
    if script and Path(script).parent == Path(sys.executable).parent:
        return shlex.quote(script)
    return f"{shlex.quote(sys.executable)} -m shopfloor"


def merge_driver_command() -> str:
    """The command git runs to merge the tracker file, with an absolute path to this shopfloor."""
    return f"{shopfloor_command()} merge-driver %O %A %B"


def _git(location: Location, *args: str) -> str:
    return git.run(location.worktree, *args, check=args[:2] != ("config", "--get")).stdout.strip()


def _read_text(path: Path, location: Location) -> str | None:
    """A file ``init`` edits, as text; None if it does not exist. Unreadable or non-UTF-8
    files are refused before anything is written, naming the file and the fix."""
    try:
        name = str(path.relative_to(location.worktree))
    except ValueError:
        name = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ShopfloorError(f"cannot read {name}: {exc.strerror}: fix its permissions or move it aside") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ShopfloorError(
            f"{name} is not valid UTF-8 (byte {exc.start}): re-encode it as UTF-8, then re-run `shopfloor init`"
        ) from None


def merge_driver_registered(location: Location) -> bool:
    text = _read_text(location.worktree / ".gitattributes", location)
    has_line = text is not None and ATTRIBUTES_LINE in text.splitlines()
    return has_line and bool(_git(location, "config", "--get", "merge.shopfloor.driver"))


def register_merge_driver(location: Location, report: InitReport, attributes_text: str | None = None) -> None:
    attributes = location.worktree / ".gitattributes"
    if attributes_text is None:
        attributes_text = _read_text(attributes, location)
    text = attributes_text or ""
    if ATTRIBUTES_LINE not in text.splitlines():
        sep = "" if not text or text.endswith("\n") else "\n"
        jsonl.atomic_write(attributes, (text + sep + ATTRIBUTES_LINE + "\n").encode("utf-8"))
        report.actions.append("added the merge driver to .gitattributes")
    command = merge_driver_command()
    if _git(location, "config", "--get", "merge.shopfloor.driver") != command:
        _git(location, "config", "merge.shopfloor.name", "shopfloor tracker JSONL merge")
        _git(location, "config", "merge.shopfloor.driver", command)
        report.actions.append("registered the merge driver in .git/config")


def _point_agents_md(location: Location, report: InitReport, text: str) -> None:
    path = location.worktree / "AGENTS.md"
    if AGENTS_MARKER in text:
        return
    body = (text.rstrip("\n") + "\n" + AGENTS_SECTION) if text else ("# Agents" + "\n" + AGENTS_SECTION)
    jsonl.atomic_write(path, body.encode("utf-8"))
    report.actions.append(("created" if not text else "updated") + " AGENTS.md with a pointer to `shopfloor prime`")


AGENTS_DIRS = ("research", "plans", "retros")
AGENTS_README = """# .agents: what this repository has learnt

- `research/`: notes an agent or a person wrote while finding their way (an API's quirks, why an
  approach failed). Agents may write them on their branch; they land through the gate like any file.
- `plans/`: plans of work, in the `shopfloor create -f` format.
- `retros/`: one retro per finished issue, written by the floor.

`shopfloor learn search WORDS` searches all of it, with the floor's handoff notes and gate failures.
"""


def _agents_dirs(location: Location, report: InitReport) -> None:
    """``.agents/`` and its three directories, with a README that is never overwritten."""
    root = location.worktree / ".agents"
    made = [name for name in AGENTS_DIRS if not (root / name).is_dir()]
    for name in AGENTS_DIRS:
        (root / name).mkdir(parents=True, exist_ok=True)
    if made:
        report.actions.append("created " + ", ".join(f".agents/{name}/" for name in made))
    readme = root / "README.md"
    if not readme.exists():
        jsonl.atomic_write(readme, AGENTS_README.encode("utf-8"))
        report.actions.append("wrote .agents/README.md (what goes where)")


def _check_dir(path: Path, location: Location) -> None:
    if path.exists() and not path.is_dir():
        name = path.relative_to(location.worktree)
        raise ShopfloorError(f"{name} is a file, not a directory: move it aside, then re-run `shopfloor init`")


def init(prefix: str | None, start: str | None = None, *, hooks: bool = False, force: bool = False) -> InitReport:
    location = locate(start)
    # Check everything first, so a failure leaves the repository as it was.
    if shutil.which("git") is None:
        raise ShopfloorError("git is not on PATH: install git (apt-get install git) or add it to PATH")
    state = location.state_dir
    config_path = location.config_path
    _check_dir(state, location)
    for path in (".agents", *(f".agents/{name}" for name in AGENTS_DIRS)):
        _check_dir(location.worktree / path, location)
    config_text = _read_text(config_path, location)
    attributes_text = _read_text(location.worktree / ".gitattributes", location)
    agents_text = _read_text(location.worktree / "AGENTS.md", location)
    current = read_config(config_path)
    chosen = check_prefix(prefix) if prefix else current.prefix
    _git(location, "rev-parse", "--git-dir")  # git runs here (a broken repository fails now, not halfway)
    if hooks:
        git_hooks.check(location, force)
    report = InitReport(prefix=chosen, db_path=str(location.db_path))
    state.mkdir(exist_ok=True)
    if config_text is None:
        jsonl.atomic_write(config_path, render_config(chosen).encode("utf-8"))
        report.actions.append(f"wrote {config_path.relative_to(location.worktree)} (prefix {chosen})")
    elif chosen != current.prefix:
        jsonl.atomic_write(config_path, set_prefix(config_text, chosen).encode("utf-8"))
        report.actions.append(f"changed the prefix from {current.prefix} to {chosen} (existing ids keep theirs)")
    if not location.jsonl_path.exists():
        jsonl.atomic_write(location.jsonl_path, b"")
        report.actions.append("created .shopfloor/issues.jsonl")
    register_merge_driver(location, report, attributes_text)
    _point_agents_md(location, report, agents_text or "")
    _agents_dirs(location, report)

    report.actions.extend(unignore(location.worktree))  # a .gitignore that hides .shopfloor/ is fixed
    created = not location.db_path.exists()
    conn = db.connect(location.db_path, create=True)
    try:
        with db.transaction(conn):
            writes.set_meta(conn, "prefix", chosen)
        if created:
            report.actions.append(f"created the database {location.db_path}")
        if store.get_meta(conn, "prefix") != chosen:
            raise ShopfloorError("could not record the prefix in the database")
    finally:
        conn.close()
    if hooks:
        done = git_hooks.install(location, shopfloor_command(), force)
        if done:
            report.actions.append(done)
    report.hook = git_hooks.installed(location)
    return report
