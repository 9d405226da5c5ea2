"""The one definition of an issue.

Everything that knows the shape of an issue reads it from ``FIELDS``: the SQLite store builds
its columns from it, the JSONL writer takes its key order from it, the merge driver takes each
field's merge rule from it, and the CLI validates input with it. Earlier trackers kept a
private copy of the field list in their merge driver, which drifted and silently dropped
fields; here there is no second copy.

An issue is plain data: a ``dict`` whose keys are exactly ``FIELD_NAMES`` in that order.
"""

from __future__ import annotations

import json
import re
import sys
from typing import cast  # typing is loaded already (shopfloor.inputs): no start-up cost here

from shopfloor.errors import ValidationError
from shopfloor.inputs import TEXT_LIMIT, read_at_most
from shopfloor.tracker.clock import MAX_YEAR, is_real_time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from shopfloor.tracker.issuetype import Issue as Issue  # the fields below, as a TypedDict for mypy

STATUSES = ("open", "in_progress", "blocked", "deferred", "closed")
TYPES = ("bug", "feature", "task", "epic", "chore")
DEP_TYPES = ("blocks", "parent-child", "related", "discovered-from")
# Only these dependency types decide whether an issue is ready.
BLOCKING_DEP_TYPES = ("blocks", "parent-child")
PRIORITIES = (0, 1, 2, 3, 4)
VIBES = (1, 2, 3, 4, 5)
TITLE_MAX = 500
TEXT_MAX = 1_000_000
ID_MAX = 100
JSON_DEPTH_MAX = 100
# Ids end up in file names, shell commands and git messages: ASCII letters, digits, . - _ only.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# C0 controls, DEL and the C1 controls: exactly Unicode category Cc.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Field:
    """One field of an issue.

    ``kind`` says how a value is validated and stored (id, title, text, enum, int, time, json,
    labels, deps, comments); ``merge`` names the rule the git merge driver applies when both
    branches changed the field (identity, scalar, text_union, status, newest, set, comments;
    see ``tracker.merge``).
    """

    __slots__ = ("choices", "default", "kind", "merge", "name", "nullable", "searchable")

    def __init__(
        self,
        name: str,
        kind: str,
        merge: str,
        default: Any = None,
        choices: tuple[Any, ...] = (),
        *,
        searchable: bool = False,
        nullable: bool = True,
    ) -> None:
        self.name = name
        self.kind = kind
        self.merge = merge
        self.default = default
        self.choices = choices
        self.searchable = searchable
        self.nullable = nullable

    @property
    def is_column(self) -> bool:
        """Stored as a column of the ``issues`` table (the rest live in side tables)."""
        return self.kind not in ("labels", "deps", "comments")


FIELDS: tuple[Field, ...] = (
    Field("id", "id", "identity", nullable=False),
    Field("title", "title", "scalar", nullable=False, searchable=True),
    Field("description", "text", "scalar", "", searchable=True, nullable=False),
    Field("design", "text", "scalar", "", searchable=True, nullable=False),
    Field("acceptance", "text", "scalar", "", searchable=True, nullable=False),
    Field("notes", "text", "text_union", "", searchable=True, nullable=False),
    Field("status", "enum", "status", "open", STATUSES, nullable=False),
    Field("priority", "int", "scalar", 2, PRIORITIES, nullable=False),
    Field("type", "enum", "scalar", "task", TYPES, nullable=False),
    Field("vibe", "int", "scalar", 3, VIBES, nullable=False),
    Field("assignee", "text", "scalar"),
    Field("labels", "labels", "set", (), nullable=False),
    Field("dependencies", "deps", "set", (), nullable=False),
    Field("created_at", "time", "identity", nullable=False),
    Field("created_by", "text", "identity", "", nullable=False),
    Field("updated_at", "time", "newest", nullable=False),
    Field("closed_at", "time", "status"),
    Field("close_reason", "text", "status"),
    Field("lease_until", "time", "scalar"),
    Field("defer_until", "time", "scalar"),
    Field("external_ref", "text", "scalar"),
    Field("metadata", "json", "scalar", None, nullable=False),
    Field("comments", "comments", "comments", (), nullable=False),
)

FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
COLUMN_FIELDS: tuple[Field, ...] = tuple(f for f in FIELDS if f.is_column)
SEARCHABLE: tuple[str, ...] = tuple(f.name for f in FIELDS if f.searchable)
# Fields a user may set directly with ``create``/``update`` (the rest are managed).
EDITABLE: tuple[str, ...] = (
    "title",
    "description",
    "design",
    "acceptance",
    "notes",
    "status",
    "priority",
    "type",
    "vibe",
    "assignee",
    "defer_until",
    "external_ref",
    "metadata",
)
COMMENT_KEYS = ("id", "author", "text", "created_at")
DEP_KEYS = ("id", "type")


def check_text(value: str, what: str) -> str:
    """Reject text that is not valid Unicode.

    Undecodable bytes in arguments arrive as lone surrogates (``surrogateescape``); a strict
    encode refuses every lone surrogate, so it catches them without a per-character loop.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{what} is not valid UTF-8: re-encode the input as UTF-8") from None
    if len(value) > TEXT_MAX:
        raise ValidationError(f"{what} is {len(value)} characters; the limit is {TEXT_MAX}")
    return value


def text_arg(value: str | None, what: str) -> str | None:
    """A text argument that may be ``-`` for stdin (the CLI's and the agent's); either way it must be
    valid UTF-8 (``check_text``)."""
    if value is None:
        return None
    if value == "-":
        data = read_at_most(sys.stdin.buffer, TEXT_LIMIT, f"the {what} on stdin", "shorten it")
        try:
            value = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError(f"{what} on stdin is not valid UTF-8 (byte {exc.start}): re-encode it") from None
    return check_text(value, what)


def _choice_error(field: Field, value: Any) -> ValidationError:
    allowed = ", ".join(str(c) for c in field.choices)
    return ValidationError(f"invalid {field.name} {value!r}: use one of {allowed}")


def validate_field(name: str, value: Any) -> Any:
    """Return ``value`` normalised for field ``name`` or raise ``ValidationError``."""
    field = FIELD_BY_NAME.get(name)
    if field is None:
        raise ValidationError(f"unknown field {name!r}: known fields are {', '.join(FIELD_NAMES)}")
    if value is None:
        if field.nullable:
            return None
        if field.kind == "json":
            return {}
        if field.default is not None and field.kind not in ("id", "time"):
            return list(field.default) if isinstance(field.default, tuple) else field.default
        raise ValidationError(f"{name} is required")
    return _VALIDATORS[field.kind](field, value)


def _v_id(field: Field, value: Any) -> str:
    if not isinstance(value, str) or len(value) > ID_MAX or not _ID.fullmatch(value):
        raise ValidationError(
            f"invalid id {value!r}: ids are 1-{ID_MAX} ASCII letters, digits, '.', '-' or '_', "
            "starting with a letter or digit"
        )
    return value


def _v_title(field: Field, value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError("title must be text")
    title = check_text(value, "title").strip()
    if not title:
        raise ValidationError("title is empty: give the issue a title of 1 to 500 characters")
    if len(title) > TITLE_MAX:
        raise ValidationError(f"title is {len(title)} characters long: shorten it to at most {TITLE_MAX}")
    if "\n" in title or "\r" in title:
        raise ValidationError("title spans several lines: keep it on one line and put the rest in -d")
    control = _CONTROL.search(title)
    if control:
        raise ValidationError(
            f"title contains the control character U+{ord(control.group()):04X}: remove it "
            "(put tabs and other formatting in -d)"
        )
    return title


def _v_text(field: Field, value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field.name} must be text, not {type(value).__name__}")
    return check_text(value, field.name)


def _v_enum(field: Field, value: Any) -> str:
    if value not in field.choices:
        raise _choice_error(field, value)
    return str(value)


def _v_int(field: Field, value: Any) -> int:
    number: Any = value
    if isinstance(value, str):
        text = value.strip().upper().removeprefix("P")
        number = int(text) if text.isdigit() else value
    if isinstance(number, bool) or number not in field.choices:
        raise _choice_error(field, value)
    return int(number)


def _v_time(field: Field, value: Any) -> str:
    if not isinstance(value, str) or not is_real_time(value):
        raise ValidationError(
            f"invalid {field.name} {value!r}: expected a real time up to the year {MAX_YEAR}, "
            "like 2026-11-28T11:20:44.000000Z"
        )
    return value


class JsonConstantError(ValueError):
    """``NaN``, ``Infinity`` or ``-Infinity`` in JSON text (Python accepts them; JSON does not)."""


def reject_json_constant(name: str) -> Any:
    """``parse_constant`` for ``json.loads``: NaN and Infinity are not JSON and not portable."""
    raise JsonConstantError(name)


def decode_json(text: str, where: str, nested: str) -> Any:
    """``json.loads`` that refuses NaN and Infinity, and nesting too deep for the parser, each as
    one ``ValidationError`` naming ``where``; ``nested`` says how to fix the nesting there."""
    try:
        return json.loads(text, parse_constant=reject_json_constant)
    except JsonConstantError as exc:
        raise ValidationError(f"{where}: {exc} is not JSON: write a finite number, a string or null") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{where}: invalid JSON at column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise ValidationError(f"{where}: nested too deeply: {nested}") from None


def _check_json_value(value: Any, what: str) -> None:
    """Walk decoded JSON without recursion: every string valid UTF-8, every float finite,
    nesting at most ``JSON_DEPTH_MAX`` deep, only JSON types."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            check_text(item, what)
        elif isinstance(item, bool) or item is None or isinstance(item, int):
            continue
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                raise ValidationError(f"{what} holds {item}, which JSON cannot store: use a finite number or a string")
        elif isinstance(item, dict | list | tuple):
            if depth >= JSON_DEPTH_MAX:
                raise ValidationError(f"{what} is nested more than {JSON_DEPTH_MAX} levels deep: flatten it")
            if isinstance(item, dict):
                for key, inner in item.items():
                    if not isinstance(key, str):
                        raise ValidationError(f"{what} has a non-text key {key!r}: JSON keys are strings")
                    check_text(key, what)
                    stack.append((inner, depth + 1))
            else:
                stack.extend((inner, depth + 1) for inner in item)
        else:
            raise ValidationError(f"{what} holds a {type(item).__name__}, which is not JSON")


def _v_json(field: Field, value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = decode_json(value, field.name, "flatten it")
    if not isinstance(value, dict):
        raise ValidationError(f"{field.name} must be a JSON object")
    _check_json_value(value, field.name)
    return value


def _v_labels(field: Field, value: Any) -> list[str]:
    if not isinstance(value, list | tuple):
        raise ValidationError("labels must be a list of strings")
    return sorted({validate_label(label) for label in value})


def validate_label(label: Any) -> str:
    if not isinstance(label, str) or not label.strip():
        raise ValidationError(f"invalid label {label!r}: labels are non-empty text")
    text: str = check_text(label.strip(), "label")
    if len(text) > 100 or "," in text or any(ch.isspace() for ch in text):
        raise ValidationError(f"invalid label {text!r}: no spaces or commas, at most 100 characters")
    return text


def _v_deps(field: Field, value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list | tuple):
        raise ValidationError("dependencies must be a list of {id, type} objects")
    deps = set()
    for dep in value:
        if not isinstance(dep, dict) or set(dep) != set(DEP_KEYS):
            raise ValidationError(f'invalid dependency {dep!r}: expected {{"id": ..., "type": ...}}')
        dep_type = dep["type"]
        if dep_type not in DEP_TYPES:
            raise ValidationError(f"invalid dependency type {dep_type!r}: use one of {', '.join(DEP_TYPES)}")
        deps.add((_v_id(field, dep["id"]), dep_type))
    return [{"id": dep_id, "type": dep_type} for dep_id, dep_type in sorted(deps)]


def _v_comments(field: Field, value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list | tuple):
        raise ValidationError("comments must be a list")
    out: dict[str, dict[str, str]] = {}
    for comment in value:
        if not isinstance(comment, dict) or set(comment) != set(COMMENT_KEYS):
            raise ValidationError(f"invalid comment {comment!r}: expected keys {', '.join(COMMENT_KEYS)}")
        if not all(isinstance(comment[k], str) for k in COMMENT_KEYS) or not is_real_time(comment["created_at"]):
            raise ValidationError(f"invalid comment {comment.get('id')!r}: text fields and a timestamp expected")
        out[comment["id"]] = {k: check_text(comment[k], "comment") for k in COMMENT_KEYS}
    return sort_comments(list(out.values()))


def sort_comments(comments: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(comments, key=lambda c: (c["created_at"], c["id"]))


_VALIDATORS = {
    "id": _v_id,
    "title": _v_title,
    "text": _v_text,
    "enum": _v_enum,
    "int": _v_int,
    "time": _v_time,
    "json": _v_json,
    "labels": _v_labels,
    "deps": _v_deps,
    "comments": _v_comments,
}


def normalise(raw: dict[str, Any]) -> Issue:
    """Validate a whole issue record (from JSONL or a merge) and return it in canonical form.

    Unknown keys are an error, never silently dropped: a file written by a newer shopfloor
    must not lose data by passing through an older one.
    """
    if not isinstance(raw, dict):
        raise ValidationError("an issue must be a JSON object")
    unknown = sorted(set(raw) - set(FIELD_NAMES))
    if unknown:
        raise ValidationError(
            f"unknown field(s) {', '.join(unknown)}: this file may come from a newer shopfloor; upgrade it"
        )
    issue = {name: validate_field(name, raw.get(name)) for name in FIELD_NAMES}
    if issue["metadata"] is None:
        issue["metadata"] = {}
    return as_issue(issue)


def blank_issue(issue_id: str, title: str, created_at: str, created_by: str) -> Issue:
    """A new issue with every field at its default."""
    issue: dict[str, Any] = {}
    for field in FIELDS:
        default = field.default
        issue[field.name] = list(default) if isinstance(default, tuple) else default
    issue.update(id=issue_id, title=title, created_at=created_at, created_by=created_by, updated_at=created_at)
    issue["metadata"] = {}
    return as_issue(issue)


def public(issue: Issue, *, comments: bool = False) -> Issue:
    """The JSON shape the CLI prints: every field in schema order; comments only on request."""
    return as_issue({k: v for k, v in issue.items() if comments or k != "comments"})


def as_issue(fields: dict[str, Any]) -> Issue:
    """A record built field by field from ``FIELDS`` (keys that mypy cannot follow), as an
    ``Issue``. Only for such records: the keys are the schema's, in its order, by construction."""
    return cast("Issue", fields)
