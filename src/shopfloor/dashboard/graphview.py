"""The work graph (pure): open issues and their dependencies, laid out in layers, drawn as SVG.

An issue sits one layer right of everything that blocks it (its longest chain of open blockers,
``blocks`` and ``parent-child`` alike); within a layer, issues are ordered by where their
blockers sit, so edges cross less. Each node is a link to its issue page. A tracker with more
open issues than ``MAX_NODES`` shows those in a dependency or in progress first, then by priority.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

MAX_NODES = 300
NODE_W, NODE_H = 170, 40
GAP_X, GAP_Y = 60, 14
PAD = 16
TITLE_CHARS = 26
STATE_FILL = {"ready": "#dcf1e3", "blocked": "#f6dcdc", "in_progress": "#dde8f6", "deferred": "#eee", "open": "#fff"}


def choose(
    states: Mapping[str, str], priority: Mapping[str, int], edges: Sequence[tuple[str, str]], limit: int = MAX_NODES
) -> list[str]:
    """The open issues to draw: those in a dependency or in progress first, then by priority."""
    linked = {n for e in edges for n in e}
    order = sorted(states, key=lambda i: (i not in linked and states[i] != "in_progress", priority.get(i, 9), i))
    return order[:limit]


def layers(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Each node's layer: 0 with no blocker among ``nodes``, else one more than its deepest
    blocker's (longest path, in topological order; nodes on a cycle keep what was reached)."""
    shown = set(nodes)
    after: dict[str, list[str]] = defaultdict(list)
    waiting = dict.fromkeys(nodes, 0)
    for blocker, blocked in set(edges):
        if blocker in shown and blocked in shown and blocker != blocked:
            after[blocker].append(blocked)
            waiting[blocked] += 1
    depth = dict.fromkeys(nodes, 0)
    ready = [n for n in nodes if waiting[n] == 0]
    while ready:
        n = ready.pop()
        for m in after[n]:
            depth[m] = max(depth[m], depth[n] + 1)
            waiting[m] -= 1
            if waiting[m] == 0:
                ready.append(m)
    return depth


def positions(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, tuple[float, float]]:
    """Where each node's box goes: columns by layer, rows ordered by the blockers' mean row."""
    depth = layers(nodes, edges)
    columns: dict[int, list[str]] = defaultdict(list)
    for n in nodes:
        columns[depth[n]].append(n)
    before: dict[str, list[str]] = defaultdict(list)
    for blocker, blocked in edges:
        before[blocked].append(blocker)
    row: dict[str, float] = {}
    out: dict[str, tuple[float, float]] = {}
    for col in sorted(columns):
        members = sorted(enumerate(columns[col]), key=lambda item: (_mean_row(item[1], before, row), item[0]))
        for r, (_, n) in enumerate(members):
            row[n] = r
            out[n] = (PAD + col * (NODE_W + GAP_X), PAD + r * (NODE_H + GAP_Y))
    return out


def _mean_row(n: str, before: Mapping[str, list[str]], row: Mapping[str, float]) -> float:
    rows = [row[b] for b in before.get(n, ()) if b in row]
    return sum(rows) / len(rows) if rows else float("inf")


def svg(
    nodes: Sequence[str],
    titles: Mapping[str, str],
    states: Mapping[str, str],
    edges: Sequence[tuple[str, str]],
) -> Markup:
    """The graph's SVG: an edge from each blocker to what it blocks, a linked box per issue."""
    if not nodes:
        return Markup('<p class="empty" data-testid="graph-empty">No open issues.</p>')
    place = positions(nodes, edges)
    width = max(x for x, _ in place.values()) + NODE_W + PAD
    height = max(y for _, y in place.values()) + NODE_H + PAD
    out = [
        f'<svg id="graph" data-testid="graph" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" xmlns="http://www.w3.org/2000/svg" role="img">'
    ]
    for blocker, blocked in edges:
        if blocker in place and blocked in place:
            (x1, y1), (x2, y2) = place[blocker], place[blocked]
            sx, sy, ex, ey = x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2
            mid = (sx + ex) / 2
            out.append(
                f'<path class="edge" data-testid="graph-edge" '
                f'data-from="{escape(blocker)}" data-to="{escape(blocked)}" '
                f'd="M{sx:.0f},{sy:.0f} C{mid:.0f},{sy:.0f} {mid:.0f},{ey:.0f} {ex:.0f},{ey:.0f}"/>'
            )
    for n in nodes:
        x, y = place[n]
        state = states.get(n, "open")
        title = titles.get(n, "")
        short = title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"
        out.append(
            f'<a href="/issue/{escape(n)}" data-testid="graph-node" '
            f'data-issue="{escape(n)}" data-state="{escape(state)}">'
            f'<g class="node state-{escape(state)}"><title>{escape(n)}: {escape(title)} ({escape(state)})</title>'
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="5" '
            f'fill="{STATE_FILL.get(state, "#fff")}"/>'
            f'<text x="{x + 8:.0f}" y="{y + 16:.0f}" font-weight="600">{escape(n)}</text>'
            f'<text x="{x + 8:.0f}" y="{y + 31:.0f}">{escape(short)}</text></g></a>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def graph_view(
    states: Mapping[str, str],
    priority: Mapping[str, int],
    titles: Mapping[str, str],
    edges: Sequence[tuple[str, str]],
    limit: int = MAX_NODES,
) -> dict[str, Any]:
    shown = choose(states, priority, edges, limit)
    counts: dict[str, int] = defaultdict(int)
    for s in states.values():
        counts[s] += 1
    return {
        "svg": svg(shown, titles, states, edges),
        "shown": len(shown),
        "total": len(states),
        "counts": dict(sorted(counts.items())),
        "legend": [(s, STATE_FILL[s]) for s in ("ready", "blocked", "in_progress", "deferred")],
    }
