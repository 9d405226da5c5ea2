"""``gate init``: the checks a repository already uses, read from its own configuration.

Detection is pure: a function of the project's config files (their text, read once at the
edge by ``read_project``) and of which tools are on PATH. It proposes only tools the project
shows it uses:
- a tool's own config section (``[flake8]`` in setup.cfg/tox.ini/.flake8, ``[mypy]`` or
  ``[mypy-*]``, ``[tool.black]``, ``[tool.ruff]``, ruff.toml, ``[isort]``, ``[tool.pylint]``, ...);
- a hook in ``.pre-commit-config.yaml``, a command in tox.ini, noxfile.py or a Makefile recipe;
- a dev dependency (``requirements-dev.txt``, optional dependencies, dependency groups) only
  when the tool is also on PATH: a listed tool nobody configured is a weaker sign.

pytest is proposed for every Python project. A proposed tool that is not installed is still
proposed: ``gate init`` runs every proposal on the target and drops what cannot run there.
Each proposal says why it was proposed (``why``).
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 1024 * 1024
# The files detection reads (relative to the repository's root).
INI_FILES = (
    "setup.cfg",
    "tox.ini",
    ".flake8",
    "mypy.ini",
    ".mypy.ini",
    ".isort.cfg",
    "pytest.ini",
    ".pylintrc",
    "pylintrc",
)
OTHER_FILES = (
    "pyproject.toml",
    "ruff.toml",
    ".ruff.toml",
    ".pre-commit-config.yaml",
    "noxfile.py",
    "Makefile",
    "makefile",
    "GNUmakefile",
    "package.json",
    "pnpm-lock.yaml",
    "yarn.lock",
    "package-lock.json",
    "go.mod",
    "Cargo.toml",
    "setup.py",
    "pyrightconfig.json",
    "requirements-dev.txt",
    "requirements_dev.txt",
    "dev-requirements.txt",
    "requirements-test.txt",
    "requirements/dev.txt",
    "requirements/test.txt",
)
PROJECT_FILES = INI_FILES + OTHER_FILES
# Every tool whose presence on PATH detection may ask about.
TOOLS = (
    "python",
    "python3",
    "ruff",
    "flake8",
    "pylint",
    "pycodestyle",
    "black",
    "isort",
    "mypy",
    "pyright",
    "npm",
    "pnpm",
    "yarn",
    "go",
    "cargo",
    "make",
)
PY_PATHS = ("**/*.py", "**/*.pyi")


@dataclass(frozen=True)
class Project:
    """What detection reads: the text of the project files that exist, and whether the tree
    holds Python source."""

    files: Mapping[str, str]
    python_source: bool = False

    @property
    def python(self) -> bool:
        return self.python_source or any(
            name in self.files for name in ("pyproject.toml", "setup.py", "setup.cfg", "tox.ini")
        )


@dataclass(frozen=True)
class Proposal:
    """A check ``gate init`` proposes, with the evidence for it."""

    name: str
    argv: tuple[str, ...]
    why: str
    timeout: int = 600
    paths: tuple[str, ...] = ()
    fast: bool = False
    junit: bool = False
    setup: tuple[tuple[str, ...], ...] = ()

    def as_table(self) -> dict[str, Any]:
        """The ``[[gate.check]]`` keys, without the ones left at their defaults."""
        out: dict[str, Any] = {"name": self.name, "argv": list(self.argv), "timeout": self.timeout}
        if self.paths:
            out["paths"] = list(self.paths)
        if self.setup:
            out["setup"] = [list(s) for s in self.setup]
        if self.fast:
            out["fast"] = True
        if self.junit:
            out["junit"] = True
        return out


def read_project(root: Path) -> Project:
    """The edge: read the project files detection looks at (bounded, undecodable bytes replaced)."""
    files: dict[str, str] = {}
    for name in PROJECT_FILES:
        path = root / name
        try:
            if path.is_file():
                with path.open("rb") as handle:
                    files[name] = handle.read(MAX_FILE_BYTES).decode("utf-8", "replace")
        except OSError:
            continue
    return Project(files, _has_python_source(root))


def _has_python_source(root: Path) -> bool:
    """Python files at the top, or one or two directories down (``pkg/``, ``src/pkg/``)."""
    for pattern in ("*.py", "*/*.py", "*/*/*.py"):
        for path in root.glob(pattern):
            if not any(part.startswith(".") or part == "node_modules" for part in path.relative_to(root).parts):
                return True
    return False


# ---- evidence: which tools the project shows it uses -------------------------------------

Evidence = dict[str, list[str]]

# INI section name -> tool, per file that tool reads it from.
_INI_SECTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "setup.cfg": (
        ("flake8", "flake8"),
        ("mypy", "mypy"),
        ("mypy-*", "mypy"),
        ("tool:pytest", "pytest"),
        ("isort", "isort"),
        ("tool:isort", "isort"),
        ("pycodestyle", "pycodestyle"),
        ("pep8", "pycodestyle"),
        ("pylint.*", "pylint"),
    ),
    "tox.ini": (("flake8", "flake8"), ("pytest", "pytest"), ("isort", "isort"), ("pycodestyle", "pycodestyle")),
    ".flake8": (("flake8", "flake8"),),
    "mypy.ini": (("mypy", "mypy"), ("mypy-*", "mypy")),
    ".mypy.ini": (("mypy", "mypy"), ("mypy-*", "mypy")),
    ".isort.cfg": (("settings", "isort"), ("isort", "isort")),
    "pytest.ini": (("pytest", "pytest"),),
    ".pylintrc": (("*", "pylint"),),
    "pylintrc": (("*", "pylint"),),
}
_PYPROJECT_TOOLS = {
    "ruff": "ruff",
    "black": "black",
    "isort": "isort",
    "mypy": "mypy",
    "pylint": "pylint",
    "pyright": "pyright",
    "flake8": "flake8",
}
_HOOKS = {
    "flake8": "flake8",
    "black": "black",
    "black-jupyter": "black",
    "isort": "isort",
    "mypy": "mypy",
    "ruff": "ruff",
    "ruff-check": "ruff",
    "ruff-format": "ruff-format",
    "pylint": "pylint",
    "pycodestyle": "pycodestyle",
    "pyright": "pyright",
}
_COMMAND_WORDS = ("flake8", "black", "isort", "mypy", "pylint", "pycodestyle", "pyright", "pytest")
_HOOK_ID = re.compile(r"(?:^|[\s{,-])id:\s*['\"]?([\w.-]+)", re.MULTILINE)  # block or flow style
_INI_HEADER = re.compile(r"^\s*\[([^\]\n]+)\]", re.MULTILINE)
_MAKE_TARGET = re.compile(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", re.MULTILINE)
_DEV_FILES = tuple(name for name in OTHER_FILES if name.startswith(("requirements", "dev-requirements")))


def _word(tool: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.-]){re.escape(tool)}(?![\w-])")


def _note(evidence: Evidence, tool: str, why: str) -> None:
    reasons = evidence.setdefault(tool, [])
    if why not in reasons:
        reasons.append(why)


def _ini_sections(text: str) -> dict[str, dict[str, str]]:
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return {name.strip(): {} for name in _INI_HEADER.findall(text)}
    return {name: dict(parser.items(name)) for name in parser.sections()}


def _section_matches(section: str, pattern: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return section.startswith(pattern[:-1])
    return section == pattern


def _from_ini(project: Project, evidence: Evidence) -> None:
    for name, wanted in _INI_SECTIONS.items():
        text = project.files.get(name)
        if text is None:
            continue
        for section in _ini_sections(text):
            for pattern, tool in wanted:
                if _section_matches(section, pattern):
                    _note(evidence, tool, f"[{section}] in {name}" if pattern != "*" else name)
                    break


def _pyproject(project: Project) -> dict[str, Any]:
    try:
        return tomllib.loads(project.files.get("pyproject.toml", ""))
    except tomllib.TOMLDecodeError:
        return {}


def _from_pyproject(project: Project, evidence: Evidence) -> None:
    tools = _pyproject(project).get("tool")
    if not isinstance(tools, dict):
        return
    for key, tool in _PYPROJECT_TOOLS.items():
        if isinstance(tools.get(key), dict):
            _note(evidence, tool, f"[tool.{key}] in pyproject.toml")
    ruff = tools.get("ruff")
    if isinstance(ruff, dict) and isinstance(ruff.get("format"), dict):
        _note(evidence, "ruff-format", "[tool.ruff.format] in pyproject.toml")
    pytest = tools.get("pytest")
    if isinstance(pytest, dict) and "ini_options" in pytest:
        _note(evidence, "pytest", "[tool.pytest.ini_options] in pyproject.toml")


def _from_tool_files(project: Project, evidence: Evidence) -> None:
    if "pyrightconfig.json" in project.files:
        _note(evidence, "pyright", "pyrightconfig.json")
    for name in ("ruff.toml", ".ruff.toml"):
        text = project.files.get(name)
        if text is None:
            continue
        _note(evidence, "ruff", name)
        if re.search(r"^\s*\[format\]", text, re.MULTILINE):
            _note(evidence, "ruff-format", f"[format] in {name}")


def _from_hooks(project: Project, evidence: Evidence) -> None:
    text = project.files.get(".pre-commit-config.yaml", "")
    for hook in _HOOK_ID.findall(text):
        tool = _HOOKS.get(hook)
        if tool:
            _note(evidence, tool, f"the {hook} hook in .pre-commit-config.yaml")


_HOOK_BLOCK = re.compile(r"^(\s*)-\s+id:\s*['\"]?([\w.-]+)['\"]?\s*$")
_HOOK_ARGS = re.compile(r"^(\s+)args:\s*(.*?)\s*$")
_LIST_ITEM = re.compile(r"^(\s+)-\s+(.+?)\s*$")
_SAFE_ARG = re.compile(r"^--?[\w-]+(=[\w.,:/*+-]*)?$")
# Options that make a hook rewrite files: the gate only reads, so they are left out.
_EDITS_FILES = {"--fix", "--unsafe-fixes", "--exit-non-zero-on-fix", "--show-fixes", "--in-place", "-i", "--write"}


def _unquote(item: str) -> str:
    item = item.strip()
    return item[1:-1] if len(item) >= 2 and item[0] == item[-1] and item[0] in "'\"" else item


def hook_args(text: str) -> dict[str, tuple[str, ...]]:
    """The options a ``.pre-commit-config.yaml`` passes to each tool's hook (``args``, as a flow
    list ``[a, b]`` or a block list): the project runs its linter with them, so the gate must too
    (a flake8 run without ``--max-line-length=88`` would blame changes for lines the project
    accepts). Only plain options are taken (``--name`` or ``--name=value``), never paths or file
    lists: one other value leaves the tool's argv as it was."""
    found: dict[str, list[str]] = {}
    hook: str | None = None
    indent = block = -1
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        depth = len(line) - len(line.lstrip())
        start = _HOOK_BLOCK.match(line)
        if start:
            hook, indent, block = start.group(2), len(start.group(1)), -1
            continue
        if hook is None or depth <= indent:
            hook = None  # outside any hook's mapping
            continue
        item = _LIST_ITEM.match(line)
        if block >= 0 and item and depth > block:
            found.setdefault(hook, []).append(_unquote(item.group(2)))
            continue
        block = -1
        args = _HOOK_ARGS.match(line)
        if args and args.group(2).startswith("["):
            found[hook] = [_unquote(v) for v in args.group(2).strip("[]").split(",") if v.strip()]
        elif args and not args.group(2):
            block, found[hook] = len(args.group(1)), []
    out: dict[str, tuple[str, ...]] = {}
    for hook_id, values in found.items():
        tool = _HOOKS.get(hook_id)
        kept = [v for v in values if v.split("=")[0] not in _EDITS_FILES]
        if tool and kept and all(_SAFE_ARG.match(v) for v in kept):
            out[tool] = tuple(kept)
    return out


def make_recipes(text: str) -> dict[str, str]:
    """Each Makefile target's recipe text (the tab-indented lines under it)."""
    out: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines():
        target = _MAKE_TARGET.match(line)
        if target:
            current = target.group(1)
            out.setdefault(current, "")
        elif line.startswith("\t") and current is not None:
            out[current] += line.strip() + "\n"
        elif line.strip() and not line.lstrip().startswith("#"):
            current = None
    return out


def _commands(text: str, where: str, evidence: Evidence) -> None:
    """Tools named as commands in tox.ini, noxfile.py or a Makefile recipe."""
    for tool in _COMMAND_WORDS:
        if _word(tool).search(text):
            _note(evidence, tool, f"run in {where}")
    if re.search(r"(?<![\w.-])ruff\s+format\b", text):
        _note(evidence, "ruff-format", f"ruff format run in {where}")
    if re.search(r"(?<![\w.-])ruff(?![\w-])(?!\s+format)", text):
        _note(evidence, "ruff", f"run in {where}")


def _makefile(project: Project) -> tuple[str, str] | None:
    for name in ("GNUmakefile", "makefile", "Makefile"):
        if name in project.files:
            return name, project.files[name]
    return None


def _tox(project: Project, key: str) -> dict[str, str]:
    """Each tox environment's ``key`` (commands, deps), by environment name."""
    sections = _ini_sections(project.files.get("tox.ini", ""))
    return {name: values[key] for name, values in sections.items() if name.startswith("testenv") and key in values}


def _from_commands(project: Project, evidence: Evidence) -> None:
    for env, commands in _tox(project, "commands").items():
        _commands(commands, f"tox's {env}" if env != "testenv" else "tox", evidence)
    if "noxfile.py" in project.files:
        _commands(project.files["noxfile.py"], "noxfile.py", evidence)
    found = _makefile(project)
    if found:
        recipes = make_recipes(found[1])
        for target, recipe in recipes.items():
            _commands(recipe, f"make {target}", evidence)


def _dev_dependencies(project: Project) -> list[tuple[str, str]]:
    """(text naming dev dependencies, where) pairs: requirements files, optional dependencies, groups."""
    out = [(project.files[name], name) for name in _DEV_FILES if name in project.files]
    out += [(deps, f"tox's {env}") for env, deps in _tox(project, "deps").items()]
    data = _pyproject(project)
    optional = data.get("project", {}).get("optional-dependencies") if isinstance(data.get("project"), dict) else None
    if isinstance(optional, dict):
        out.append((json.dumps(optional), "the optional dependencies in pyproject.toml"))
    groups = data.get("dependency-groups")
    if isinstance(groups, dict):
        out.append((json.dumps(groups), "[dependency-groups] in pyproject.toml"))
    poetry = data.get("tool", {}).get("poetry") if isinstance(data.get("tool"), dict) else None
    if isinstance(poetry, dict):
        out.append((json.dumps({k: v for k, v in poetry.items() if "dep" in k or k == "group"}), "[tool.poetry]"))
    return out


def _from_dev_dependencies(project: Project, on_path: frozenset[str], evidence: Evidence) -> None:
    for text, where in _dev_dependencies(project):
        for tool in (*_COMMAND_WORDS, "ruff"):
            if tool in on_path and tool not in evidence and _word(tool).search(text):
                _note(evidence, tool, f"a dev dependency in {where}, and installed")


def evidence_for(project: Project, on_path: frozenset[str]) -> Evidence:
    """Each tool the project shows it uses -> why we think so."""
    evidence: Evidence = {}
    _from_ini(project, evidence)
    _from_pyproject(project, evidence)
    _from_tool_files(project, evidence)
    _from_hooks(project, evidence)
    _from_commands(project, evidence)
    _from_dev_dependencies(project, on_path, evidence)
    return evidence


# ---- proposals ---------------------------------------------------------------------------


def _mypy_has_files(project: Project) -> bool:
    """Whether mypy's config names what to check (then ``mypy`` alone knows; else ``mypy .``)."""
    tools = _pyproject(project).get("tool")
    if isinstance(tools, dict) and isinstance(tools.get("mypy"), dict) and tools["mypy"].get("files"):
        return True
    for name in ("mypy.ini", ".mypy.ini", "setup.cfg"):
        if name in project.files and _ini_sections(project.files[name]).get("mypy", {}).get("files"):
            return True
    return False


_CONFIG = ("pyproject.toml", "setup.cfg", "tox.ini")
# Each Python tool, in the order proposed: (name, argv, timeout, config files besides _CONFIG, fast).
_PYTHON_TOOLS: tuple[tuple[str, tuple[str, ...], int, tuple[str, ...], bool], ...] = (
    ("ruff", ("ruff", "check", "--no-fix", "--output-format=concise", "."), 300, ("ruff.toml", ".ruff.toml"), True),
    ("flake8", ("flake8",), 600, (".flake8",), True),
    ("pycodestyle", ("pycodestyle", "."), 600, (), True),
    ("pylint", ("pylint", "--recursive=y", "."), 1200, (".pylintrc", "pylintrc"), False),
    ("ruff-format", ("ruff", "format", "--check", "."), 300, ("ruff.toml", ".ruff.toml"), True),
    ("black", ("black", "--check", "."), 300, (), True),
    ("isort", ("isort", "--check-only", "--diff", "."), 300, (".isort.cfg",), True),
    # --no-pretty: a project's `pretty = true` would wrap each message over several lines.
    ("mypy", ("mypy", "--no-pretty", "."), 900, ("mypy.ini", ".mypy.ini"), False),
    ("pyright", ("pyright",), 900, ("pyrightconfig.json",), False),
)


def _python_checks(project: Project, on_path: frozenset[str]) -> list[Proposal]:
    if not project.python:
        return []
    evidence = evidence_for(project, on_path)
    hooks = hook_args(project.files.get(".pre-commit-config.yaml", ""))
    out: list[Proposal] = []
    for name, argv, timeout, files, fast in _PYTHON_TOOLS:
        if name not in evidence:
            continue
        if name == "mypy" and _mypy_has_files(project):
            argv = ("mypy", "--no-pretty")  # its config names what to check
        extra = hooks.get(name, ())
        if extra:  # the hook's options go before the path argument, if the argv has one
            argv = (*argv[:-1], *extra, argv[-1]) if argv[-1] == "." else (*argv, *extra)
        why = "; ".join(evidence[name][:3])
        out.append(Proposal(name, argv, why, timeout, (*PY_PATHS, *_CONFIG, *files), fast))
    python = "python3" if "python" not in on_path and "python3" in on_path else "python"
    argv = (python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml={junit}")
    why = "; ".join(evidence["pytest"][:3]) if "pytest" in evidence else "a Python project"
    out.append(Proposal("pytest", argv, why, 1800, junit=True))
    return out


def _node_checks(project: Project) -> list[Proposal]:
    try:
        scripts = json.loads(project.files["package.json"]).get("scripts") or {}
    except (KeyError, ValueError, AttributeError):
        return []
    if not isinstance(scripts, dict):
        return []
    files = project.files
    runner = "pnpm" if "pnpm-lock.yaml" in files else "yarn" if "yarn.lock" in files else "npm"
    install = "ci" if runner == "npm" and "package-lock.json" in files else "install"
    setup = ((runner, install),)
    out = []
    for script, fast in (("lint", True), ("typecheck", False), ("test", False)):
        if script in scripts:
            why = f'the "{script}" script in package.json'
            out.append(Proposal(f"npm-{script}", (runner, "run", script), why, 1800, (), fast, setup=setup))
    return out


def _go_checks(project: Project) -> list[Proposal]:
    if "go.mod" not in project.files:
        return []
    return [
        Proposal("go-vet", ("go", "vet", "./..."), "go.mod", 900, fast=True),
        Proposal("go-build", ("go", "build", "./..."), "go.mod", 900),
        Proposal("go-test", ("go", "test", "./..."), "go.mod", 1800),
    ]


def _rust_checks(project: Project) -> list[Proposal]:
    if "Cargo.toml" not in project.files:
        return []
    return [
        Proposal("cargo-check", ("cargo", "check", "--all-targets"), "Cargo.toml", 1800, fast=True),
        Proposal("clippy", ("cargo", "clippy", "--all-targets", "--", "-D", "warnings"), "Cargo.toml", 1800),
        Proposal("cargo-test", ("cargo", "test"), "Cargo.toml", 1800),
    ]


def _make_checks(project: Project) -> list[Proposal]:
    """A Makefile's lint, typecheck and test targets, for a project nothing else was found for."""
    found = _makefile(project)
    if not found:
        return []
    recipes = make_recipes(found[1])
    out = []
    for target, fast in (("lint", True), ("typecheck", False), ("check", False), ("test", False)):
        if target in recipes:
            out.append(
                Proposal(f"make-{target}", ("make", target), f"the {target} target in {found[0]}", 1800, (), fast)
            )
    return out


def detect(project: Project, on_path: frozenset[str] = frozenset()) -> list[Proposal]:
    """The checks to propose for ``project``, given which of ``TOOLS`` are on PATH."""
    found = _python_checks(project, on_path) + _node_checks(project) + _go_checks(project) + _rust_checks(project)
    return found or _make_checks(project)
