"""Issue ids: ``<prefix>-<base36 hash>``, short while the tracker is small.

Ids are hashes of fresh randomness and the issue's content, so agents on different branches
or machines can create issues at the same time without coordinating. The hash length grows
with the number of issues so that the birthday-bound chance that two ids ever collide stays
below 1%. Collisions that happen anyway are detected on insert and on import, never
silently overwritten.
"""

from __future__ import annotations

import math
import re

try:  # The C module hashlib itself uses; importing hashlib loads OpenSSL, about 3 ms per command.
    from _blake2 import blake2b as blake2b
except ImportError:  # pragma: no cover - other Python builds
    from hashlib import blake2b as blake2b

from shopfloor.errors import ValidationError

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
MIN_LENGTH = 4
MAX_LENGTH = 12
COLLISION_BUDGET = 0.01
_PREFIX = re.compile(r"^[a-z][a-z0-9]{0,15}$")
_ID = re.compile(r"^([a-z][a-z0-9]{0,15})-([0-9a-z]{3,12})((?:\.[1-9][0-9]*)*)$")


def collision_probability(count: int, length: int) -> float:
    """Birthday bound: the chance that any two of ``count`` random ids of ``length`` collide."""
    space = float(len(ALPHABET) ** length)
    return -math.expm1(-count * (count - 1) / (2.0 * space))


def id_length(existing: int) -> int:
    """The shortest hash length that keeps a collision among ``existing + 1`` ids under 1%."""
    for length in range(MIN_LENGTH, MAX_LENGTH + 1):
        if collision_probability(existing + 1, length) < COLLISION_BUDGET:
            return length
    return MAX_LENGTH


def base36(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rem = divmod(number, 36)
        digits.append(ALPHABET[rem])
    return "".join(reversed(digits)) or "0"


def make_id(prefix: str, content: str, nonce: bytes, length: int) -> str:
    """Hash ``content`` and ``nonce`` into an id of ``length`` base36 characters."""
    digest = blake2b(nonce + b"\0" + content.encode("utf-8", "surrogatepass"), digest_size=20).digest()
    return f"{prefix}-{base36(digest)[-length:].rjust(length, '0')}"


def child_id(parent: str, n: int) -> str:
    return f"{parent}.{n}"


def check_prefix(prefix: str) -> str:
    if not _PREFIX.fullmatch(prefix):
        raise ValidationError(
            f"invalid prefix {prefix!r}: use 1-16 lowercase letters and digits, starting with a letter"
        )
    return prefix


def prefix_from_name(name: str) -> str:
    """A default prefix from a repository's directory name (``My-Repo`` -> ``myrepo``)."""
    cleaned = re.sub(r"[^a-z0-9]", "", name.lower())
    cleaned = cleaned.lstrip("0123456789")[:8]
    return cleaned or "sf"


def is_valid_id(issue_id: str) -> bool:
    return bool(_ID.fullmatch(issue_id))


def parent_of(issue_id: str) -> str | None:
    head, dot, tail = issue_id.rpartition(".")
    return head if dot and tail.isdigit() else None
