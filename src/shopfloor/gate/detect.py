"""``gate init``: sensible default checks detected from the repository's files (pure detection)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from shopfloor.errors import ConflictError, ValidationError

Check = dict[str, Any]


def _python(root: Path) -> list[Check]:
    pyproject = (
        (root / "pyproject.toml").read_text(encoding="utf-8", errors="replace")
        if (root / "pyproject.toml").exists()
        else ""
    )
    if not pyproject and not (root / "setup.py").exists() and not any(root.glob("*.py")):
        return []
    checks: list[Check] = [
        {
            "name": "ruff",
            "argv": ["ruff", "check", "."],
            "timeout": 300,
            "paths": ["**/*.py", "pyproject.toml"],
            "fast": True,
        },
        {
            "name": "ruff-format",
            "argv": ["ruff", "format", "--check", "."],
            "timeout": 300,
            "paths": ["**/*.py"],
            "fast": True,
        },
    ]
    if "[tool.mypy]" in pyproject or (root / "mypy.ini").exists():
        checks.append({"name": "mypy", "argv": ["mypy"], "timeout": 900, "paths": ["**/*.py"]})
    elif "[tool.pyright]" in pyproject or (root / "pyrightconfig.json").exists():
        checks.append({"name": "pyright", "argv": ["pyright"], "timeout": 900, "paths": ["**/*.py"]})
    checks.append(
        {
            "name": "pytest",
            "argv": ["python", "-m", "pytest", "-q", "--junitxml={junit}"],
            "timeout": 1800,
            "junit": True,
        }
    )
    return checks


def _node(root: Path) -> list[Check]:
    try:
        scripts = json.loads((root / "package.json").read_text(encoding="utf-8")).get("scripts") or {}
    except (OSError, ValueError, AttributeError):
        return []
    runner = "pnpm" if (root / "pnpm-lock.yaml").exists() else "yarn" if (root / "yarn.lock").exists() else "npm"
    setup = (
        [[runner, "install"]]
        if runner != "npm"
        else [["npm", "ci"]]
        if (root / "package-lock.json").exists()
        else [["npm", "install"]]
    )
    checks: list[Check] = []
    for script, fast in (("lint", True), ("typecheck", False), ("test", False)):
        if isinstance(scripts, dict) and script in scripts:
            checks.append(
                {
                    "name": f"npm-{script}",
                    "argv": [runner, "run", script],
                    "timeout": 1800,
                    "fast": fast,
                    "setup": setup,
                }
            )
    return checks


def _go(root: Path) -> list[Check]:
    if not (root / "go.mod").exists():
        return []
    return [
        {"name": "go-vet", "argv": ["go", "vet", "./..."], "timeout": 900, "fast": True},
        {"name": "go-build", "argv": ["go", "build", "./..."], "timeout": 900},
        {"name": "go-test", "argv": ["go", "test", "./..."], "timeout": 1800},
    ]


def _rust(root: Path) -> list[Check]:
    if not (root / "Cargo.toml").exists():
        return []
    return [
        {"name": "cargo-check", "argv": ["cargo", "check", "--all-targets"], "timeout": 1800, "fast": True},
        {"name": "clippy", "argv": ["cargo", "clippy", "--all-targets", "--", "-D", "warnings"], "timeout": 1800},
        {"name": "cargo-test", "argv": ["cargo", "test"], "timeout": 1800},
    ]


def detect(root: Path) -> list[Check]:
    return _python(root) + _node(root) + _go(root) + _rust(root)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    return "[" + ", ".join(_toml_value(v) for v in value) + "]"


def render(checks: list[Check]) -> str:
    lines = [
        "",
        "# The gate re-checks every candidate with these rules, read from the target branch.",
        "# Each check: argv (never a shell string), timeout in seconds, paths that trigger it,",
        "# setup commands, fast = true for the subset run at vibe 4-5, junit = true when argv",
        '# holds "{junit}" (the test counts are compared with the base).',
        "[gate]",
        'target = "main"',
        "complexity_max = 15",
        "complexity_ratchet = 25",
    ]
    for check in checks:
        lines += ["", "[[gate.check]]"] + [f"{key} = {_toml_value(value)}" for key, value in check.items()]
    return "\n".join(lines) + "\n"


_GATE_HEADER = re.compile(r"^\s*\[\[?\s*gate(\s*[\].]|\.)")
_ANY_HEADER = re.compile(r"^\s*\[")


def without_gate(text: str) -> str:
    """The config text with every [gate] / [gate.*] / [[gate.check]] table removed, and the
    comment block ``gate init`` writes above them; every other table is kept as it was."""
    out: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        if _ANY_HEADER.match(line):
            skipping = bool(_GATE_HEADER.match(line))
        if not skipping:
            out.append(line)
    kept = "".join(out)
    return re.sub(r"\n# The gate re-checks every candidate[^\n]*\n(#[^\n]*\n)*", "\n", kept)


def write_config(path: Path, checks: list[Check], *, force: bool) -> Path:
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except UnicodeDecodeError:
        raise ValidationError(f"{path} is not valid UTF-8: fix or re-encode it first") from None
    if any(_GATE_HEADER.match(line) for line in text.splitlines()):
        if not force:
            raise ConflictError(f"{path} already has a [gate] section: edit it, or pass --force to replace it")
        text = without_gate(text)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(text.rstrip("\n") + "\n" + render(checks), encoding="utf-8")
    os.replace(temp, path)
    return path
