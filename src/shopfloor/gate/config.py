"""``[gate]`` and ``[[gate.check]]`` in ``.shopfloor/config.toml`` (pure: parsed from text).

The gate's rules are always read from the *base* (the target branch), never from the
candidate: an agent cannot switch a check off by editing the file on its branch. The
``config_hash`` names the rules a verdict was reached under (part of the cache key).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, replace
from typing import Any

from shopfloor.configfile import argv_list, only_known, string_list
from shopfloor.errors import ValidationError
from shopfloor.sandbox.config import parse as sandbox_config

CONFIG_PATH = ".shopfloor/config.toml"  # the gate's rules, read as committed on the base

# A pattern without a slash names a file in ANY directory (matched on the path's last component,
# whatever its case): pytest, ruff, mypy, flake8 and coverage read the settings files of every
# directory they visit. A pattern with a slash is a glob from the root (``**`` spans directories).
DEFAULT_PROTECTED = (
    # The gate's own rules, CI and hooks.
    ".shopfloor/config.toml",
    ".ci/**",
    ".github/**",
    ".circleci/**",
    ".buildkite/**",
    ".woodpecker/**",
    ".gitlab-ci.yml",
    ".gitlab/**",
    ".travis.yml",
    "azure-pipelines.yml",
    "bitbucket-pipelines.yml",
    "Jenkinsfile",
    ".drone.yml",
    "appveyor.yml",
    ".woodpecker.yml",
    ".githooks/**",
    "**/.husky/**",
    ".pre-commit-config.yaml",
    ".pre-commit-config.yml",
    "Makefile",
    "GNUmakefile",
    # Files the checks' tools read their settings from: editing them can switch a check off.
    # Python: pytest, ruff, flake8, pylint, mypy, pyright, coverage, tox, nox, setuptools.
    "pyproject.toml",
    "setup.cfg",
    "tox.ini",
    "noxfile.py",
    "pytest.ini",
    ".pytest.ini",
    "pytest.toml",
    ".pytest.toml",
    "conftest.py",
    "ruff.toml",
    ".ruff.toml",
    ".flake8",
    ".pylintrc",
    "pylintrc",
    "mypy.ini",
    ".mypy.ini",
    "pyrightconfig.json",
    ".coveragerc",
    # Python start-up files and bytecode: they run before, or instead of, the source.
    "sitecustomize.py",
    "usercustomize.py",
    "*.pth",
    "*.pyc",
    "*.pyo",
    "**/__pycache__/**",
    # JavaScript and TypeScript: npm, ESLint, Prettier, tsc, Jest, Vitest.
    "package.json",
    ".npmrc",
    ".eslintrc*",
    "eslint.config.*",
    ".eslintignore",
    ".prettierrc*",
    "prettier.config.*",
    ".prettierignore",
    "tsconfig*.json",
    "jsconfig*.json",
    "jest.config.*",
    "vitest.config.*",
    "vitest.workspace.*",
    "vite.config.*",
    # Rust and Go.
    "Cargo.toml",
    "**/.cargo/**",
    "clippy.toml",
    ".clippy.toml",
    "rustfmt.toml",
    ".rustfmt.toml",
    "go.mod",
    "go.work",
    ".golangci.*",
)
DEFAULT_TEST_PATHS = (
    "tests/**",
    "test/**",
    "**/test_*.py",
    "**/*_test.py",
    "**/*_test.go",
    "**/*.test.*",
    "**/*.spec.*",
    "**/__tests__/**",
)
_CHECK_KEYS = {"name", "argv", "timeout", "paths", "setup", "fast", "junit"}
_GATE_KEYS = {
    "target",
    "check",
    "complexity_max",
    "complexity_ratchet",
    "max_changed_lines",
    "max_changed_files",
    "protected",
    "test_paths",
    "builtins",
    "env",
    "max_file_bytes",
}
# Bumped when the way results are judged changes, so cached verdicts of older rules are not replayed.
RULES_VERSION = 3
BUILTINS = ("complexity", "tests-not-weakened", "protected-files", "secrets", "diff-size", "suppressions")

FIX = "fix it on the target branch"  # the gate reads its rules from there, never from the change


@dataclass(frozen=True)
class Check:
    name: str
    argv: tuple[str, ...]
    timeout_s: float = 600.0
    paths: tuple[str, ...] = ()  # run only when the diff touches one of these (empty: always)
    setup: tuple[tuple[str, ...], ...] = ()
    fast: bool = False  # part of the fast subset (vibe 4-5)
    junit: bool = False  # argv holds "{junit}": where the runner writes its junit XML
    env: tuple[str, ...] = ()  # the caller's variables it may see besides PATH and the locale ([gate] env)
    writable: tuple[str, ...] = ()  # directories it may write besides its checkout ([sandbox] writable)

    @property
    def hash(self) -> str:
        """What a cached result of this check on a tree depends on (its own definition only)."""
        text = json.dumps([RULES_VERSION, asdict(self)], sort_keys=True)
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class GateConfig:
    target: str = ""  # empty: none configured, the repository's main (or default) branch is the target
    checks: tuple[Check, ...] = ()
    complexity_max: int = 15
    complexity_ratchet: int = 25
    max_changed_lines: int = 2000
    max_changed_files: int = 60
    max_file_bytes: int = 5_000_000  # a changed file larger than this is not read: a person approves it
    protected: tuple[str, ...] = DEFAULT_PROTECTED
    test_paths: tuple[str, ...] = DEFAULT_TEST_PATHS
    builtins: tuple[str, ...] = BUILTINS

    @property
    def hash(self) -> str:
        text = json.dumps([RULES_VERSION, asdict(self)], sort_keys=True)
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _int(raw: dict[str, Any], key: str, default: int, where: str, low: int = 1) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValidationError(f"{where}: {key} must be a whole number of at least {low}")
    return value


def _check(raw: Any, n: int, where: str) -> Check:
    at = f"{where}: [[gate.check]] number {n}"
    if not isinstance(raw, dict):
        raise ValidationError(f"{at} must be a table")
    only_known(raw, _CHECK_KEYS, where, f"[[gate.check]] number {n}", FIX)
    if "\0" in repr(raw):
        raise ValidationError(f"{at} holds a NUL character: remove it")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 64 or any(c in name for c in "\n\t/"):
        raise ValidationError(f"{at} needs a name: a short string without slashes")
    argv = raw.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise ValidationError(f'{at} ({name}): argv must be a non-empty list of strings, e.g. ["pytest", "-q"]')
    timeout = raw.get("timeout", 600)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout <= 86400:
        raise ValidationError(f"{at} ({name}): timeout must be seconds between 1 and 86400")
    fast, junit = raw.get("fast", False), raw.get("junit", False)
    if not isinstance(fast, bool) or not isinstance(junit, bool):
        raise ValidationError(f"{at} ({name}): fast and junit are true or false")
    if junit and not any("{junit}" in a for a in argv):
        raise ValidationError(f'{at} ({name}): junit = true needs "{{junit}}" in argv, e.g. "--junitxml={{junit}}"')
    return Check(
        name=name,
        argv=tuple(argv),
        timeout_s=float(timeout),
        paths=tuple(string_list(raw.get("paths", []), f"gate.check {name} paths", where)),
        setup=tuple(tuple(c) for c in argv_list(raw.get("setup", []), f"gate.check {name} setup", where)),
        fast=fast,
        junit=junit,
    )


def parse(text: str, where: str) -> GateConfig:
    """The gate section of a config file's text (as found on the base)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{where} is not valid TOML ({exc}): {FIX}") from None
    gate = data.get("gate", {})
    if not isinstance(gate, dict):
        raise ValidationError(f"{where}: [gate] must be a table")
    only_known(gate, _GATE_KEYS, where, "[gate]", FIX)
    raw_checks = gate.get("check", [])
    if not isinstance(raw_checks, list):
        raise ValidationError(f"{where}: gate checks are [[gate.check]] tables")
    env = tuple(string_list(gate.get("env", []), "gate.env", where))
    bad = [name for name in env if not name or not all(c.isalnum() or c == "_" for c in name)]
    if bad:
        raise ValidationError(f"{where}: gate.env names environment variables: {bad[0]!r} is not one")
    writable = sandbox_config(data, where).writable
    checks = tuple(
        replace(_check(raw, n, where), env=env, writable=writable) for n, raw in enumerate(raw_checks, start=1)
    )
    names = [c.name for c in checks]
    clash = sorted({n for n in names if names.count(n) > 1} | (set(names) & set(BUILTINS)))
    if clash:
        raise ValidationError(f"{where}: check names must be unique and not a built-in's: {', '.join(clash)}")
    target = gate.get("target", "")
    if not isinstance(target, str) or ("target" in gate and not target):
        raise ValidationError(f"{where}: gate.target must be a branch name")
    builtins = tuple(string_list(gate.get("builtins", list(BUILTINS)), "gate.builtins", where))
    if set(builtins) - set(BUILTINS):
        raise ValidationError(f"{where}: gate.builtins may name only {', '.join(BUILTINS)}")
    return GateConfig(
        target=target,
        checks=checks,
        complexity_max=_int(gate, "complexity_max", 15, where),
        complexity_ratchet=_int(gate, "complexity_ratchet", 25, where),
        max_changed_lines=_int(gate, "max_changed_lines", 2000, where),
        max_changed_files=_int(gate, "max_changed_files", 60, where),
        max_file_bytes=_int(gate, "max_file_bytes", 5_000_000, where),
        protected=tuple(string_list(gate.get("protected", list(DEFAULT_PROTECTED)), "gate.protected", where)),
        test_paths=tuple(string_list(gate.get("test_paths", list(DEFAULT_TEST_PATHS)), "gate.test_paths", where)),
        builtins=builtins,
    )
