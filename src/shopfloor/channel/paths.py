"""Where a worker's channel socket lives: a short private directory, the same path in and out
of the sandbox.

Unix socket paths are limited to 107 bytes and a worker's log directory can be long, so the
socket lives in ``$TMPDIR/sf-<uid>/<8 hex of the log dir>/ch.sock``. Both directories are
0700 and must belong to this user (``/tmp`` is shared). The sandbox binds ``channel_dir`` into
the agent's view at the same path.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path

from shopfloor.errors import ShopfloorError

SOCKET_NAME = "ch.sock"
CHANNEL_ENV = "SHOPFLOOR_CHANNEL"
TOKEN_ENV = "SHOPFLOOR_TOKEN"


def _root() -> Path:
    return Path(tempfile.gettempdir()) / f"sf-{os.getuid()}"


def channel_dir(log_dir: str | os.PathLike[str]) -> Path:
    """The directory holding the channel socket of the worker whose log directory is ``log_dir``."""
    key = hashlib.blake2b(os.fsencode(os.path.abspath(log_dir)), digest_size=4).hexdigest()
    return _root() / key


def socket_path(log_dir: str | os.PathLike[str]) -> Path:
    return channel_dir(log_dir) / SOCKET_NAME


def _private_dir(path: Path) -> None:
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
    except OSError as exc:
        raise ShopfloorError(f"cannot create the worker channel directory {path} ({exc.strerror})") from None
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise ShopfloorError(
            f"the worker channel directory {path} is not a private directory of this user: remove it and retry"
        )


def prepare(socket: str | os.PathLike[str]) -> Path:
    """Create the socket's private directories; remove a stale socket left at ``socket``."""
    path = Path(socket)
    if len(os.fsencode(path)) > 107:
        raise ShopfloorError(f"the worker channel path {path} is over 107 bytes: set TMPDIR to a shorter directory")
    _private_dir(path.parent.parent)
    _private_dir(path.parent)
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass
    return path


def discard(socket: str | os.PathLike[str], inode: int | None = None) -> None:
    """Remove the socket and its directory (the per-user root stays). With ``inode``, only that
    socket: a newer server (a restarted worker's) may have bound the path meanwhile."""
    path = Path(socket)
    with contextlib.suppress(OSError):
        if inode is None or os.lstat(path).st_ino == inode:
            os.unlink(path)
    with contextlib.suppress(OSError):
        os.rmdir(path.parent)
