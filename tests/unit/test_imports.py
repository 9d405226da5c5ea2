"""Library modules import at the top; an import inside a function says why on its line or the one above.

The CLI (``shopfloor/cli``) is exempt: its handlers import lazily so that each command loads only
what it uses (start-up time is a budget). Elsewhere a hidden import hides a dependency from the
reader and from the layer contracts' intent; the few that stay (heavy packages one check needs,
the tracker's start-up path) carry their reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import shopfloor

SRC = Path(shopfloor.__file__).parent


def unexplained_imports(source: str) -> list[int]:
    """Line numbers of imports inside functions with no comment on their line or the line above."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import | ast.ImportFrom):
                line = lines[inner.lineno - 1]
                above = lines[inner.lineno - 2].strip() if inner.lineno > 1 else ""
                if "#" not in line and not above.startswith("#"):
                    found.append(inner.lineno)
    return sorted(set(found))


def test_the_rule_finds_a_bare_import_in_a_function_and_accepts_an_explained_one() -> None:
    source = (
        "import os\n\n"
        "def bare():\n    import json\n    return json\n\n"
        "def explained():\n    import lizard  # lazy: heavy\n    return lizard\n\n"
        "def above():\n    # lazy: start-up time\n    import difflib\n    return difflib\n"
    )
    assert unexplained_imports(source) == [4]


def test_library_modules_import_at_the_top_unless_a_comment_says_why() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if "cli" in path.relative_to(SRC).parts[:1]:
            continue
        for line in unexplained_imports(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(SRC)}:{line}")
    assert not offenders, f"imports inside functions without a reason: {offenders}"
