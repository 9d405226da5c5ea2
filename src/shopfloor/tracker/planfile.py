"""Bulk planning files for ``shopfloor create -f``: markdown or JSONL, parsed into drafts.

Markdown: each ``## `` heading starts an issue. Lines right under it of the form ``key: value``
set fields (priority, type, vibe, labels, deps, assignee, parent); the rest is the
description, except ``### Acceptance``, ``### Design`` and ``### Notes`` sections::

    ## Add a login page
    priority: 1
    type: feature
    labels: web, auth
    deps: blocks:#2

    Users sign in with email and password.

    ### Acceptance
    A user with a valid password reaches the dashboard.

JSONL: one object per line with the same keys as ``shopfloor show --json`` (title required).

In both, ``#N`` refers to the N-th issue of the same file, so a plan can wire its own
dependencies before any id exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shopfloor.errors import ValidationError
from shopfloor.tracker.schema import DEP_TYPES, EDITABLE, check_text, decode_json

_SECTIONS = {"acceptance": "acceptance", "design": "design", "notes": "notes", "description": "description"}
_KEYS = {"priority", "type", "vibe", "labels", "deps", "assignee", "parent", "status", "external_ref", "defer_until"}


@dataclass
class Draft:
    fields: dict[str, Any]
    labels: list[str] = field(default_factory=list)
    deps: list[tuple[str, str]] = field(default_factory=list)  # (type, target or "#N")
    parent: str | None = None
    where: str = ""


def parse_deps(text: str) -> list[tuple[str, str]]:
    """``blocks:sf-a1,related:sf-b2`` or bare ids (meaning ``blocks``)."""
    deps = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        dep_type, sep, target = part.partition(":")
        if not sep:
            if part in DEP_TYPES:
                raise ValidationError(f"dependency {part!r} has no id: write {part}:ID")
            dep_type, target = "blocks", part
        dep_type, target = dep_type.strip(), target.strip()
        if dep_type not in DEP_TYPES:
            raise ValidationError(
                f"invalid dependency type {dep_type!r} in {part!r}: use one of {', '.join(DEP_TYPES)}"
            )
        if not target:
            raise ValidationError(f"dependency {part!r} has no id: write {dep_type}:ID")
        deps.append((dep_type, target))
    return deps


def parse_markdown(text: str, path: str) -> list[Draft]:
    drafts: list[Draft] = []
    current: Draft | None = None
    section = "description"
    in_header = False
    buffers: dict[str, list[str]] = {}

    def finish() -> None:
        if current is not None:
            for name, lines in buffers.items():
                body = "\n".join(lines).strip()
                if body:
                    current.fields[name] = body
            drafts.append(current)

    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.startswith("## "):
            finish()
            current = Draft(fields={"title": line[3:].strip()}, where=f"{path}:{lineno}")
            section, in_header, buffers = "description", True, {}
            continue
        if current is None:
            continue
        if line.startswith("### "):
            name = line[4:].strip().lower()
            if name not in _SECTIONS:
                raise ValidationError(f"{path}:{lineno}: unknown section {name!r}: use one of {', '.join(_SECTIONS)}")
            section, in_header = _SECTIONS[name], False
            continue
        key, sep, value = line.partition(":")
        if in_header and sep and key.strip().lower() in _KEYS:
            _apply_key(current, key.strip().lower(), value.strip(), f"{path}:{lineno}")
            continue
        if in_header and not line.strip():
            continue
        in_header = False
        buffers.setdefault(section, []).append(line)
    finish()
    return drafts


def _apply_key(draft: Draft, key: str, value: str, where: str) -> None:
    try:
        if key == "labels":
            draft.labels += [v.strip() for v in value.split(",") if v.strip()]
        elif key == "deps":
            draft.deps += parse_deps(value)
        elif key == "parent":
            draft.parent = value
        else:
            draft.fields[key] = value
    except ValidationError as exc:
        raise ValidationError(f"{where}: {exc}") from None


def _text_list(value: Any, what: str) -> list[str]:
    """A list of strings, or one comma-separated string (as in markdown plans)."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(f"{what} must be a list of strings or a comma-separated string")
    return list(value)


def _json_deps(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return parse_deps(value)
    usage = 'dependencies must be "TYPE:ID,..." or a list of {"id": ID, "type": TYPE} objects'
    if not isinstance(value, list):
        raise ValidationError(usage)
    deps = []
    for dep in value:
        if not isinstance(dep, dict) or not set(dep) <= {"id", "type"}:
            raise ValidationError(f"invalid dependency {dep!r}: {usage}")
        dep_id, dep_type = dep.get("id"), dep.get("type", "blocks")
        if not isinstance(dep_id, str) or not dep_id.strip():
            raise ValidationError(f"dependency {dep!r} has no id: {usage}")
        if dep_type not in DEP_TYPES:
            raise ValidationError(f"invalid dependency type {dep_type!r}: use one of {', '.join(DEP_TYPES)}")
        deps.append((str(dep_type), dep_id.strip()))
    return deps


def _json_draft(record: dict[str, Any], where: str) -> Draft:
    draft = Draft(fields={}, where=where)
    for key, value in record.items():
        if key == "labels":
            draft.labels = _text_list(value, "labels")
        elif key in ("dependencies", "deps"):
            draft.deps = _json_deps(value)
        elif key == "parent":
            if value is not None and not isinstance(value, str):
                raise ValidationError(f"parent must be an issue id or #N, not {type(value).__name__}")
            draft.parent = value
        elif key == "defer_until":
            if value is not None and not isinstance(value, str):
                raise ValidationError("defer_until must be a time like 2026-12-01 or +3d")
            draft.fields[key] = value
        elif key in EDITABLE:
            draft.fields[key] = value
        else:
            raise ValidationError(f"field {key!r} cannot be set when creating an issue")
    return draft


def parse_jsonl(text: str, path: str) -> list[Draft]:
    drafts = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        record = decode_json(line, where, "a plan line is one flat JSON object")
        if not isinstance(record, dict):
            raise ValidationError(f"{where}: each line must be a JSON object")
        try:
            drafts.append(_json_draft(record, where))
        except ValidationError as exc:
            raise ValidationError(f"{where}: {exc}") from None
    return drafts


def parse_plan(data: bytes, path: str) -> list[Draft]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path}: not valid UTF-8 at byte {exc.start}: re-encode the file as UTF-8") from None
    check_text(text, path)
    is_jsonl = path.endswith((".jsonl", ".json")) or text.lstrip().startswith("{")
    drafts = parse_jsonl(text, path) if is_jsonl else parse_markdown(text, path)
    if not drafts:
        hint = "one JSON object per line" if is_jsonl else "a '## Title' heading per issue"
        raise ValidationError(f"{path}: no issues found: write {hint}")
    return drafts


def local_ref(target: str, created: list[str]) -> str:
    """Resolve ``#N`` against the ids created so far from the same file (the caller adds
    the ``file:line`` to errors)."""
    if not target.startswith("#"):
        return target
    number = target[1:]
    if not (number.isascii() and number.isdigit()) or len(number) > 9 or not 1 <= int(number) <= len(created):
        raise ValidationError(f"{target} does not name an earlier issue of this file")
    return created[int(number) - 1]
