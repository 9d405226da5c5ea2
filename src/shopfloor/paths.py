"""Where the floor keeps things on disk, named once (pure: paths in, paths out; nothing is created).

- the **main tree**: the repository's own checkout (the parent of the common ``.git``);
- the **workspace root**, ``<main tree>.floor`` beside it: one clone per issue, and the floor's own
  work directories in it: ``.queue`` (the merge queue's worktree, locked by ``.queue.lock``) and
  ``.gate`` (the gate's runs);
- the **state directory**, ``<git common dir>/shopfloor`` (where the tracker's database is): the
  floor's lock (``floor.lock``) and the records ``status`` reads.
"""

from __future__ import annotations

from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from shopfloor.tracker.service import Tracker

WORKSPACE_SUFFIX = ".floor"
QUEUE_DIR = ".queue"
QUEUE_LOCK = ".queue.lock"
GATE_DIR = ".gate"
LOCK_NAME = "floor.lock"


def main_tree(tracker: Tracker) -> Path:
    """The repository's main checkout, from any of its worktrees."""
    common = Path(tracker.location.common_dir).resolve()
    return common.parent if common.name == ".git" else Path(tracker.location.worktree_dir)


def workspace_root(main_tree: Path) -> Path:
    """``<main tree>.floor``, beside the main tree: the issues' clones and the floor's work directories."""
    return main_tree.parent / f"{main_tree.name}{WORKSPACE_SUFFIX}"


def floor_root(tracker: Tracker) -> Path:
    """The workspace root of the tracker's repository."""
    return workspace_root(main_tree(tracker))


def queue_dir(root: Path) -> Path:
    """The merge queue's worktree, in the workspace root ``root``."""
    return root / QUEUE_DIR


def queue_lock(root: Path) -> Path:
    """The merge queue's lock file, in the workspace root ``root``: one pass at a time."""
    return root / QUEUE_LOCK


def gate_dir(tracker: Tracker) -> Path:
    """Where the gate keeps its runs."""
    return floor_root(tracker) / GATE_DIR


def state_dir(tracker: Tracker) -> Path:
    """``<git common dir>/shopfloor``: the tracker's database, the floor's lock and its records."""
    return Path(tracker.location.db_file).parent


def floor_lock(state: Path) -> Path:
    """The floor's lock file in the state directory ``state``: one coordinator per repository."""
    return state / LOCK_NAME
