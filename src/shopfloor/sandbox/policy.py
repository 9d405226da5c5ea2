"""What a confined process may see and write, and the bubblewrap argv that enforces it (pure).

The whole file system is mounted read-only; a few directories are hidden behind an empty
tmpfs (the tracker's database, the other workers' workspaces, the other workers' channels);
then only the directories named writable are bound back read-write, and a few single paths
are bound back read-only below a hidden one (a worker's channel socket, an agent's
credentials file). Mount order matters to bwrap: a later tmpfs hides earlier binds below
it, so every tmpfs comes first, outermost first, then the binds.
"""

from __future__ import annotations

from dataclasses import dataclass

from shopfloor.errors import ShopfloorError


@dataclass(frozen=True)
class Confinement:
    """One confined process: where it runs and what it may touch (absolute paths only)."""

    workdir: str  # writable, and the working directory
    writable: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()  # replaced by an empty tmpfs
    readonly: tuple[tuple[str, str], ...] = ()  # (source, destination) bound read-only after the tmpfs
    network: bool = True  # False: a network namespace of its own, with no interfaces but loopback
    workdir_writable: bool = True  # False: the working directory stays read-only (a planning session's checkout)


def _absolute(path: str, what: str) -> str:
    if not path.startswith("/") or "\0" in path or path.rstrip("/") == "":
        raise ShopfloorError(f"the sandbox's {what} {path!r} must be an absolute path below /")
    return path.rstrip("/") or "/"


def _depth(path: str) -> tuple[int, str]:
    return path.count("/"), path


def bwrap_argv(binary: str, confinement: Confinement) -> list[str]:
    """The ``bwrap`` command line (ending in ``--``) that runs a command under ``confinement``."""
    workdir = _absolute(confinement.workdir, "working directory")
    hidden = sorted({_absolute(p, "hidden path") for p in confinement.hidden}, key=_depth)
    given = (*confinement.writable, workdir) if confinement.workdir_writable else confinement.writable
    writable = sorted({_absolute(p, "writable path") for p in given}, key=_depth)
    argv = [binary, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for path in hidden:
        argv += ["--tmpfs", path]
    for path in writable:
        argv += ["--bind", path, path]
    for source, dest in sorted(confinement.readonly, key=lambda pair: _depth(pair[1])):
        # -try: a source that is gone (the channel, once its worker ended, when the floor saves the
        # workspace inside this sandbox) is skipped; its absence exposes nothing.
        argv += ["--ro-bind-try", _absolute(source, "read-only source"), _absolute(dest, "read-only path")]
    argv += ["--unshare-pid", "--unshare-ipc", "--die-with-parent"]
    if not confinement.network:
        argv.append("--unshare-net")
    return [*argv, "--chdir", workdir, "--"]


def inside(path: str, roots: tuple[str, ...]) -> bool:
    """Whether ``path`` is one of ``roots`` or below one (pure; no symlinks resolved)."""
    clean = path.rstrip("/")
    return any(clean == root.rstrip("/") or clean.startswith(root.rstrip("/") + "/") for root in roots)
