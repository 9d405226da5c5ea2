"""Syntax highlighting for a file's diff lines, as HTML (the dashboard's review view).

``highlight_lines(path, texts)`` returns one HTML fragment per line of text: every character
escaped, tokens wrapped in ``<span class="...">`` with Pygments' short class names (``k``
keyword, ``s`` string, ``c`` comment, ...; ``css()`` gives a stylesheet for them). The lexer is
chosen by the file's name. Pygments is the dashboard extra's (``pip install shopfloor[dashboard]``)
and imported only when a file is highlighted; without it, or for a file it does not know, the
lines come back escaped and plain. A diff's lines are highlighted together (a string that spans
lines stays a string), but never joined into one fragment: each comes back on its own, so the
page can number them and hang comments on them.
"""

from __future__ import annotations

import html

MAX_CHARS = 400_000  # a larger file is shown escaped and plain: highlighting it would take seconds


def highlight_lines(path: str, texts: list[str]) -> list[str]:
    """One HTML fragment per line of ``texts`` (escaped; highlighted when Pygments knows the file)."""
    plain = [html.escape(t) for t in texts]
    if not texts or sum(len(t) + 1 for t in texts) > MAX_CHARS:
        return plain
    try:
        # Lazy: the dashboard extra's dependency, and a whole lexer library nothing else needs.
        from pygments import lex  # type: ignore[import-untyped]  # lazy: as above
        from pygments.lexers import get_lexer_for_filename  # type: ignore[import-untyped]  # lazy
        from pygments.token import STANDARD_TYPES, Token  # type: ignore[import-untyped]  # lazy
        from pygments.util import ClassNotFound  # type: ignore[import-untyped]  # lazy
    except ImportError:
        return plain
    try:
        lexer = get_lexer_for_filename(path, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return plain
    out: list[list[str]] = [[]]
    for kind, value in lex("\n".join(texts), lexer):
        css = _class(kind, STANDARD_TYPES, Token)
        for i, piece in enumerate(value.split("\n")):
            if i:
                out.append([])
            if piece:
                escaped = html.escape(piece)
                out[-1].append(f'<span class="{css}">{escaped}</span>' if css else escaped)
    lines = ["".join(parts) for parts in out]
    return lines[: len(texts)] if len(lines) >= len(texts) else plain


def _class(kind: object, names: dict[object, str], root: object) -> str:
    """Pygments' short class of a token type, or of its nearest parent that has one."""
    while kind is not None and kind is not root:
        name = names.get(kind)
        if name:
            return name
        kind = getattr(kind, "parent", None)
    return ""


def css(selector: str = ".hl") -> str:
    """A stylesheet for the classes ``highlight_lines`` uses, under ``selector`` ('' without Pygments)."""
    try:
        from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped]  # lazy: as above
    except ImportError:
        return ""
    return str(HtmlFormatter(style="default").get_style_defs(selector))
