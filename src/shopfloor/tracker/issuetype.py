"""The static type of an issue, for mypy: a ``TypedDict`` over the fields of ``schema.FIELDS``.

An issue stays a plain ``dict`` at run time (the JSONL, ``--json`` and the merge driver see the
same bytes); this only tells the type checker its keys and their value types. The fields are
defined once, in ``schema.FIELDS``: ``tests/integration/test_types.py`` checks that the keys here are exactly
``schema.FIELD_NAMES`` in that order, that a field is optional (``X | None``) exactly when the
schema makes it nullable, and that a dependency and a comment have ``DEP_KEYS`` and
``COMMENT_KEYS``. Code that builds an issue field by field from the schema works on a
``dict[str, Any]`` and hands it out as an ``Issue``.
"""

# No ``from __future__ import annotations``: evaluated annotations let ``NotRequired`` show in
# ``Issue.__optional_keys__``, which the test reads.
from typing import Any, NotRequired, TypedDict


class Dependency(TypedDict):
    id: str
    type: str  # one of schema.DEP_TYPES


class Comment(TypedDict):
    id: str
    author: str
    text: str
    created_at: str


class Issue(TypedDict):
    id: str
    title: str
    description: str
    design: str
    acceptance: str
    notes: str
    status: str  # one of schema.STATUSES
    priority: int
    type: str  # one of schema.TYPES
    vibe: int
    assignee: str | None
    labels: list[str]
    dependencies: list[Dependency]
    created_at: str
    created_by: str
    updated_at: str
    closed_at: str | None
    close_reason: str | None
    lease_until: str | None
    defer_until: str | None
    external_ref: str | None
    metadata: dict[str, Any]
    # Left out where they are not wanted: ``store.attach(comments=False)``, ``schema.public``.
    comments: NotRequired[list[Comment]]
