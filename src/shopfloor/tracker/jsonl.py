"""The committed form of the tracker: ``.shopfloor/issues.jsonl``.

One issue per line, sorted by id, keys in schema order, nested objects with sorted keys,
UTF-8 without escapes, a newline after every line. The same issues always give the same
bytes, so git diffs show exactly what changed.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from shopfloor.errors import ShopfloorError, ValidationError
from shopfloor.tracker.schema import FIELD_NAMES, decode_json, normalise

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from shopfloor.tracker.schema import Issue

CONFLICT_MARKERS = ("<<<<<<<", "=======", ">>>>>>>", "|||||||")
MAX_LINE = 16 * 1024 * 1024


class JsonlError(ShopfloorError):
    """A JSONL file that cannot be read; the message names file:line and the reason."""


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def encode_issue(issue: Mapping[str, Any]) -> str:
    """One issue as its canonical JSONL line (without the newline)."""
    record = {name: issue[name] for name in FIELD_NAMES}
    record["metadata"] = _canonical(record["metadata"] or {})
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def encode(issues: Iterable[Issue]) -> bytes:
    lines = [encode_issue(i) + "\n" for i in sorted(issues, key=lambda i: i["id"])]
    return "".join(lines).encode("utf-8")


def _conflict_hint(path: str, lineno: int) -> JsonlError:
    return JsonlError(
        f"{path}:{lineno}: git conflict markers in the tracker file; the shopfloor merge driver "
        "resolves these: run `shopfloor init` to register it, then `git checkout --merge -- "
        f"{path}` (or resolve by hand and run `shopfloor import`)"
    )


def decode(data: bytes, path: str = "issues.jsonl") -> list[Issue]:
    """Parse and validate every line, or raise ``JsonlError`` naming the first bad one.

    All-or-nothing: a caller gets either every issue or an error, never a partial list.
    """
    issues: list[Issue] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        if len(raw) > MAX_LINE:
            raise JsonlError(f"{path}:{lineno}: line is {len(raw)} bytes, over the {MAX_LINE}-byte limit")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonlError(
                f"{path}:{lineno}: not valid UTF-8 at byte {exc.start}: re-encode the file as UTF-8"
            ) from None
        if line.startswith(CONFLICT_MARKERS):
            raise _conflict_hint(path, lineno)
        try:
            record = decode_json(line, f"{path}:{lineno}", "fix that line (tracker records nest only a few levels)")
        except ValidationError as exc:
            raise JsonlError(str(exc)) from None
        try:
            issue = normalise(record)
        except ValidationError as exc:
            raise JsonlError(f"{path}:{lineno}: {exc}") from None
        if issue["id"] in seen:
            raise JsonlError(f"{path}:{lineno}: id {issue['id']} already appears on line {seen[issue['id']]}")
        seen[issue["id"]] = lineno
        issues.append(issue)
    return issues


def read(path: Path) -> list[Issue]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise JsonlError(f"{path}: cannot read: {exc.strerror}") from None
    return decode(data, str(path))


def atomic_write(path: Path, data: bytes) -> os.stat_result:
    """Write ``data`` to ``path`` via a temp file in the same directory and a rename.

    Returns the stat of the written file (taken before the rename, so it describes exactly
    ``data`` even if someone replaces the file right after).
    """

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ShopfloorError(
            f"cannot write {path} ({exc.strerror}): check that its directory exists and is writable"
        ) from None
    try:
        # mkstemp makes the file 0600; a committed file should get the mode it had, or the
        # usual one (0666 less the umask), so others on the machine can read it.
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            mask = os.umask(0)
            os.umask(mask)
            mode = 0o666 & ~mask
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            info = os.fstat(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ShopfloorError(f"cannot write {path} ({exc.strerror}): check the path and free disk space") from None
        raise
    return info
