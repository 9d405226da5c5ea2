"""Names for worker branches and directories, from untrusted issue ids (pure).

An issue id comes from a JSONL file anyone can edit, so it must never choose a path outside
the workspace root or produce an invalid or surprising git ref. Everything but ASCII letters,
digits, '.', '_' and '-' becomes '-'; dot runs, leading dots and dashes, and a trailing
``.lock`` are removed; the result is never empty, and when cleaning changed anything a short
hash of the original id is appended.
"""

from __future__ import annotations

import hashlib
import re

BRANCH_PREFIX = "floor/"
MAX_NAME = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(issue_id: str) -> str:
    """The id itself when it is already safe; otherwise a cleaned form plus a hash of the id,
    so two ids that clean up alike (``t-a..b`` and ``t-a.b``) never share a name."""
    name = _UNSAFE.sub("-", issue_id)
    name = re.sub(r"\.{2,}", ".", name)
    name = name.strip(".-")
    while name.endswith(".lock"):
        name = name[: -len(".lock")].rstrip(".-")
    name = name[:MAX_NAME].rstrip(".-")
    if name and name == issue_id:
        return name
    digest = hashlib.blake2b(issue_id.encode("utf-8", "surrogatepass"), digest_size=3).hexdigest()
    return f"{name[: MAX_NAME - 7].rstrip('.-') or 'issue'}-{digest}"


def branch_for(issue_id: str) -> str:
    return BRANCH_PREFIX + safe_name(issue_id)


def is_safe_ref_part(name: str) -> bool:
    """The checks of ``git check-ref-format`` that a single path component can fail."""
    return bool(name) and not (
        name.startswith((".", "-"))
        or name.endswith((".", ".lock"))
        or ".." in name
        or "@{" in name
        or any(ch in name for ch in " ~^:?*[\\\x7f")
        or any(ord(ch) < 32 for ch in name)
    )
