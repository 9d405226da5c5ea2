"""The issue page's review view (pure): the change of the issue's latest attempt, file by file,
each line numbered and highlighted (``floor.highlight``), the lines a comment may hang on marked
(the new side's number; the old side's in a deleted file, as ``shopfloor review`` counts them);
and the issue's earlier reviews."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from shopfloor.floor.highlight import highlight_lines

SIGNS = {"add": "+", "del": "-", "ctx": " "}
MAX_LINES = 4000  # of the whole change on the page; `shopfloor review --show` prints the rest


def file_view(f: dict[str, Any], budget: int) -> tuple[dict[str, Any], int]:
    deleted = f["status"] == "D"
    lines = [ln for h in f["hunks"] for ln in h["lines"]]
    shown = lines[:budget]
    # highlight_lines escapes every character (and marks tokens up): safe to insert as it is
    marked = highlight_lines(f["path"], [ln["text"] for ln in shown])
    rows: list[dict[str, Any]] = []
    k = 0
    for h in f["hunks"]:
        if k >= len(shown):
            break
        rows.append({"hunk": h["header"]})
        for ln in h["lines"]:
            if k >= len(shown):
                break
            at = ln["old"] if deleted else ln["new"]
            rows.append(
                {
                    "kind": ln["kind"],
                    "sign": SIGNS.get(ln["kind"], " "),
                    "old": ln["old"],
                    "new": ln["new"],
                    "html": Markup(marked[k]),
                    "line": at if (deleted or ln["kind"] != "del") else None,
                }
            )
            k += 1
    return (
        {
            "path": f["path"],
            "old_path": f["old_path"] if f["old_path"] and f["old_path"] != f["path"] else None,
            "status": f["status"],
            "binary": f["binary"],
            "rows": rows,
            "cut": len(lines) - len(shown),
        },
        budget - len(shown),
    )


def change_view(change: dict[str, Any] | None, why_not: str | None, reviews: Sequence[Any]) -> dict[str, Any]:
    """``change``: ``floor.review.Change.as_json()``, or None with ``why_not`` (no branch yet)."""
    files = []
    budget = MAX_LINES
    for f in (change or {}).get("files", []):
        shown, budget = file_view(f, max(budget, 0))
        files.append(shown)
    return {
        "available": change is not None,
        "why_not": why_not or "",
        "branch": (change or {}).get("branch", ""),
        "target": (change or {}).get("target", ""),
        "head": str((change or {}).get("head", ""))[:12],
        "files": files,
        "reviews": [
            {
                "id": r.id,
                "actor": r.actor,
                "at": r.at,
                "note": r.note or "",
                "comments": json.loads(r.comments),
                "answered_by": r.answered_by,
                "sent": bool(r.sent_at),
            }
            for r in reviews
        ],
    }
