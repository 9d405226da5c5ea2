"""``[workspace]`` settings: files copied into each new worktree, and setup commands run in it.

``copy`` names files or directories of the main working tree (``.env``, ``config/local.yml``)
that git does not carry into a worktree. ``setup`` is a list of argv lists run in the new
worktree, in order (``[["npm", "ci"]]``); they are never shell strings. ``port_base`` and
``ports_per_worker`` size each worker's own range of ports (``workspace.ports``).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopfloor.configfile import argv_list, only_known, section, string_list
from shopfloor.errors import ShopfloorError, ValidationError
from shopfloor.workspace import ports

DEFAULT_SETUP_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class WorkspaceConfig:
    copy: tuple[str, ...] = ()
    setup: tuple[tuple[str, ...], ...] = ()
    setup_timeout_s: float = DEFAULT_SETUP_TIMEOUT_S
    port_base: int = ports.DEFAULT_BASE  # each worker's own ports (workspace.ports)
    ports_per_worker: int = ports.DEFAULT_COUNT


def parse(data: dict[str, Any], path: Path) -> WorkspaceConfig:
    raw = section(data, "workspace", path)
    only_known(raw, {"copy", "setup", "setup_timeout", "port_base", "ports_per_worker"}, path, "[workspace]")
    copy = string_list(raw.get("copy", []), "workspace.copy", path)
    for name in copy:
        parts = Path(name).parts
        if not parts or Path(name).is_absolute() or ".." in parts or parts[0] == ".git" or set(parts) <= {"."}:
            raise ValidationError(
                f"{path}: workspace.copy entry {name!r} must be a relative path inside the repository, "
                "not the repository itself or .git"
            )
    timeout = raw.get("setup_timeout", DEFAULT_SETUP_TIMEOUT_S)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout <= 86400:
        raise ValidationError(f"{path}: workspace.setup_timeout must be seconds between 1 and 86400")
    setup = argv_list(raw.get("setup", []), "workspace.setup", path)
    port_base, per_worker = ports.parse(raw, path)
    return WorkspaceConfig(tuple(copy), tuple(tuple(cmd) for cmd in setup), float(timeout), port_base, per_worker)


def copy_files(config: WorkspaceConfig, main_tree: Path, worktree: Path) -> list[str]:
    """Copy each ``copy`` entry that exists; return the ones missing from the main tree."""
    missing = []
    root = main_tree.resolve()
    for name in config.copy:
        source = (main_tree / name).resolve()
        if not source.is_relative_to(root):
            raise ShopfloorError(f"workspace.copy entry {name!r} leads outside the repository ({source}): fix it")
        if not source.exists():
            missing.append(name)
            continue
        target = worktree / name
        try:
            if source.is_dir():
                for item in sorted(source.rglob("*")):
                    if not item.is_dir():
                        _copy_one(item, target / item.relative_to(source), worktree, name)
            else:
                _copy_one(source, target, worktree, name)
        except OSError as exc:
            raise ShopfloorError(f"cannot copy {name} into {worktree} ({exc}): check permissions") from None
    return missing


def _copy_one(source: Path, target: Path, worktree: Path, name: str) -> None:
    """Copy one file; never through a symlink the branch committed (at the file or above it)."""
    root = worktree.resolve()
    if not target.parent.resolve().is_relative_to(root):
        raise ShopfloorError(
            f"workspace.copy: {name} would be written outside the worktree {worktree} (through a symlink "
            "committed on its branch): remove the link from the branch"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink():
        target.unlink()  # replace the link itself, never write through it
    shutil.copy2(source, target, follow_symlinks=True)


def run_setup(config: WorkspaceConfig, worktree: Path, env: dict[str, str], log: Path) -> None:
    """Run each setup command in the worktree; the first failure stops, naming the command."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        for argv in config.setup:
            out.write(f"$ {argv!r}\n".encode())
            out.flush()
            try:
                done = subprocess.run(
                    list(argv),
                    cwd=worktree,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=config.setup_timeout_s,
                    check=False,
                )
            except FileNotFoundError:
                raise ShopfloorError(f"workspace setup command {argv[0]!r} was not found: install it") from None
            except subprocess.TimeoutExpired:
                raise ShopfloorError(
                    f"workspace setup {list(argv)} ran over {config.setup_timeout_s:g} s: raise "
                    "workspace.setup_timeout or fix the command"
                ) from None
            if done.returncode != 0:
                raise ShopfloorError(
                    f"workspace setup {list(argv)} failed with exit code {done.returncode} (output in {log}): "
                    "fix the command in .shopfloor/config.toml"
                )
