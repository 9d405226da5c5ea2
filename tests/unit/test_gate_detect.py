"""`gate init`'s detection (pure: file contents and the tools on PATH in, proposals out), the
action it takes on a check's result on the target, the config it writes, the .gitignore fix."""

from __future__ import annotations

import tomllib

import pytest

from shopfloor.gate.config import parse
from shopfloor.gate.configwrite import render, without_gate
from shopfloor.gate.detect import Project, Proposal, detect, make_recipes
from shopfloor.gate.findings import Finding
from shopfloor.gate.initrun import BASELINE, CANNOT, KEPT, MISSING, action_for
from shopfloor.gate.results import CheckResult
from shopfloor.tracker.gitignore import negations

PY = {"calc.py": ""}


def names(files: dict[str, str], on_path: frozenset[str] = frozenset({"python"}), python: bool = True) -> list[str]:
    return [p.name for p in detect(Project(files, python), on_path)]


def proposal(files: dict[str, str], name: str, on_path: frozenset[str] = frozenset({"python"})) -> Proposal:
    return next(p for p in detect(Project(files, True), on_path) if p.name == name)


def test_flake8_configured_in_setup_cfg_is_proposed_and_ruff_is_not() -> None:
    files = {"setup.cfg": "[metadata]\nname = x\n\n[flake8]\nmax-line-length = 100\n"}
    assert names(files) == ["flake8", "pytest"]
    flake8 = proposal(files, "flake8")
    assert flake8.argv == ("flake8",) and flake8.why == "[flake8] in setup.cfg" and flake8.fast
    assert names({"tox.ini": "[flake8]\nignore = E501\n"}) == ["flake8", "pytest"]
    assert names({".flake8": "[flake8]\n"}) == ["flake8", "pytest"]


@pytest.mark.parametrize(
    ("files", "argv"),
    [
        ({"setup.cfg": "[mypy]\nstrict = True\n"}, ("mypy", "--no-pretty", ".")),
        ({"setup.cfg": "[mypy]\nfiles = src/pkg\n"}, ("mypy", "--no-pretty")),
        ({"setup.cfg": "[mypy-requests.*]\nignore_missing_imports = True\n"}, ("mypy", "--no-pretty", ".")),
        ({"mypy.ini": "[mypy]\nfiles = a.py\n"}, ("mypy", "--no-pretty")),
        ({".mypy.ini": "[mypy]\n"}, ("mypy", "--no-pretty", ".")),
        ({"pyproject.toml": "[tool.mypy]\nfiles = ['src']\n"}, ("mypy", "--no-pretty")),
    ],
)
def test_any_mypy_config_proposes_mypy(files: dict[str, str], argv: tuple[str, ...]) -> None:
    assert names(files) == ["mypy", "pytest"]
    assert proposal(files, "mypy").argv == argv


def test_black_and_isort_where_they_are_configured() -> None:
    files = {"pyproject.toml": "[tool.black]\nline-length = 100\n\n[tool.isort]\nprofile = 'black'\n"}
    assert names(files) == ["black", "isort", "pytest"]
    assert proposal(files, "black").argv == ("black", "--check", ".")
    assert proposal(files, "isort").argv == ("isort", "--check-only", "--diff", ".")
    assert names({".isort.cfg": "[settings]\nprofile = black\n"}) == ["isort", "pytest"]
    assert names({"setup.cfg": "[isort]\nline_length = 100\n"}) == ["isort", "pytest"]


def test_pre_commit_hooks_name_the_tools() -> None:
    hooks = """repos:
  - repo: https://github.com/PyCQA/flake8
    rev: 7.0.0
    hooks:
      - id: flake8
  - repo: https://github.com/psf/black
    hooks: [{id: black}]
  - repo: https://github.com/astral-sh/ruff-pre-commit
    hooks:
      - id: ruff
        args: [--fix]
      - id: ruff-format
  - repo: https://github.com/pre-commit/mirrors-mypy
    hooks:
      -   id: mypy
  - repo: local
    hooks:
      - id: check-yaml
"""
    files = {".pre-commit-config.yaml": hooks, **PY}
    assert names(files) == ["ruff", "flake8", "ruff-format", "black", "mypy", "pytest"]
    assert proposal(files, "ruff").argv == ("ruff", "check", "--no-fix", "--output-format=concise", ".")
    assert proposal(files, "ruff-format").argv == ("ruff", "format", "--check", ".")
    assert "the ruff hook in .pre-commit-config.yaml" in proposal(files, "ruff").why


def test_ruff_only_when_the_project_configures_it_and_its_formatter_only_when_used() -> None:
    assert names({"pyproject.toml": "[project]\nname = 'x'\n"}) == ["pytest"]
    assert names({"pyproject.toml": "[tool.ruff]\nline-length = 100\n"}) == ["ruff", "pytest"]
    assert names({"pyproject.toml": "[tool.ruff.lint]\nselect = ['E']\n"}) == ["ruff", "pytest"]
    both = ["ruff", "ruff-format", "pytest"]
    assert names({"pyproject.toml": "[tool.ruff]\n[tool.ruff.format]\nquote-style = 'single'\n"}) == both
    assert names({"ruff.toml": "line-length = 100\n", **PY}) == ["ruff", "pytest"]
    assert names({".ruff.toml": "[format]\nindent-style = 'tab'\n", **PY}) == both


def test_commands_in_tox_nox_and_makefile_recipes_count() -> None:
    tox = "[tox]\nenvlist = py311, lint\n\n[testenv:lint]\ndeps = flake8\ncommands = flake8 src tests\n"
    assert names({"tox.ini": tox}) == ["flake8", "pytest"]
    assert proposal({"tox.ini": tox}, "flake8").why == "run in tox's testenv:lint"
    # A tool tox only installs is a dev dependency: proposed when it is installed.
    deps_only = {"tox.ini": "[testenv]\ndeps =\n    black==22.12\ncommands = pytest {posargs}\n"}
    assert names(deps_only) == ["pytest"]
    assert names(deps_only, frozenset({"black"})) == ["black", "pytest"]
    nox = 'import nox\n\n@nox.session\ndef lint(session):\n    session.run("pylint", "pkg")\n'
    assert names({"noxfile.py": nox, **PY}) == ["pylint", "pytest"]
    make = "lint:\n\tblack --check .\n\truff format --check .\n\ntypecheck:\n\tmypy src\n\ntest:\n\tpytest\n"
    assert names({"Makefile": make, **PY}) == ["ruff-format", "black", "mypy", "pytest"]
    assert proposal({"Makefile": make, **PY}, "pytest").why == "run in make test"


def test_makefile_targets_are_the_checks_of_a_project_nothing_else_was_found_for() -> None:
    make = "CC := gcc\n.PHONY: lint test\n\nlint:\n\tshellcheck *.sh\n\ntest: build\n\t./run-tests\n"
    assert make_recipes(make)["test"] == "./run-tests\n"
    found = detect(Project({"Makefile": make}, False))
    assert [(p.name, p.argv) for p in found] == [("make-lint", ("make", "lint")), ("make-test", ("make", "test"))]


def test_package_json_scripts_go_and_cargo() -> None:
    package = '{"scripts": {"lint": "eslint .", "test": "jest", "build": "tsc"}}'
    found = detect(Project({"package.json": package, "package-lock.json": "{}"}, False))
    assert [p.name for p in found] == ["npm-lint", "npm-test"]
    assert found[0].argv == ("npm", "run", "lint") and found[0].setup == (("npm", "ci"),)
    yarn = detect(Project({"package.json": package, "yarn.lock": ""}, False))
    assert yarn[0].argv == ("yarn", "run", "lint") and yarn[0].setup == (("yarn", "install"),)
    assert names({"go.mod": "module x\n"}, python=False) == ["go-vet", "go-build", "go-test"]
    assert names({"Cargo.toml": "[package]\n"}, python=False) == ["cargo-check", "clippy", "cargo-test"]
    assert names({"package.json": "not json"}, python=False) == []


def test_a_python_project_with_nothing_configured_gets_pytest_only() -> None:
    assert names(PY) == ["pytest"]
    pytest_check = proposal(PY, "pytest")
    assert pytest_check.argv == ("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml={junit}")
    assert pytest_check.junit and pytest_check.why == "a Python project"
    # Where only python3 is on PATH, that is what runs the tests.
    assert proposal(PY, "pytest", frozenset({"python3"})).argv[0] == "python3"
    assert names({}, python=False) == []


def test_a_dev_dependency_counts_only_when_the_tool_is_installed() -> None:
    files = {"requirements-dev.txt": "pytest>=8\nflake8==7.0\nblackjack\n", **PY}
    assert names(files) == ["pytest"]
    assert names(files, frozenset({"python", "flake8", "black"})) == ["flake8", "pytest"]
    extras = {"pyproject.toml": "[project]\nname = 'x'\n[project.optional-dependencies]\ndev = ['isort>=5']\n"}
    assert names(extras, frozenset({"isort"})) == ["isort", "pytest"]
    # A configured tool is proposed whether or not it is installed: the run on the target decides.
    assert names({"setup.cfg": "[flake8]\n"}, frozenset()) == ["flake8", "pytest"]


def test_broken_config_files_do_not_stop_detection() -> None:
    files = {"pyproject.toml": "[tool.black\nnot toml", "setup.cfg": "no header\n[flake8]\nx", **PY}
    assert names(files) == ["flake8", "pytest"]


def result(status: str, excerpt: str = "", findings: tuple[Finding, ...] | None = None) -> CheckResult:
    return CheckResult("x", status, 0.5, excerpt=excerpt, findings=findings)


def test_what_gate_init_does_with_a_check_from_its_result_on_the_target() -> None:
    lint = Proposal("flake8", ("flake8",), "")
    tests = Proposal("pytest", ("python", "-m", "pytest", "-q"), "")
    finding = Finding("flake8", "'os' imported but unused", "a.py", 1, "F401")
    assert action_for(lint, result("pass")).action == KEPT
    baseline = action_for(lint, result("fail", "a.py:1:1: F401 ...", (finding,)))
    assert baseline.action == BASELINE and baseline.preexisting == 1 and baseline.kept
    missing = action_for(lint, result("error", "command not found: flake8: install it, or fix the check's argv\n"))
    assert missing.action == MISSING and not missing.kept
    assert missing.reason.startswith("tool missing here (not installed) (command not found: flake8: install it")
    no_module = action_for(tests, result("error", "/usr/bin/python: No module named pytest\nno readable junit XML"))
    assert no_module.action == MISSING
    assert action_for(lint, result("fail", "something went wrong")).action == CANNOT
    assert action_for(lint, result("timeout", "timed out after 600 s")).action == CANNOT
    assert action_for(tests, result("error", "no readable junit XML at /x.xml")).action == CANNOT


def test_dropped_checks_are_written_commented_out_with_the_reason() -> None:
    kept = Proposal("flake8", ("flake8",), "[flake8] in setup.cfg", 600, ("**/*.py",), True)
    gone = Proposal("mypy", ("mypy", "--no-pretty", "."), "[mypy] in setup.cfg", 900)
    odd = Proposal("odd", ("odd",), "found\x1b[31m here")
    dropped = [(gone, "tool missing on the target"), (odd, "cannot pass (\x00\x7f\r\nboom)")]
    text = "[tracker]\nprefix = 't'\n" + render("master", [kept], dropped)
    config = parse(text, "test")
    assert [c.name for c in config.checks] == ["flake8"] and config.target == "master"
    assert config.checks[0].paths == ("**/*.py",) and config.checks[0].fast
    assert "# dropped by `shopfloor gate init`: tool missing on the target\n" in text
    assert '# name = "mypy"\n' in text and "# found: [mypy] in setup.cfg" in text
    assert "# dropped by `shopfloor gate init`: cannot pass ( boom)\n" in text  # tool output, made one line
    assert tomllib.loads(without_gate(text)) == {"tracker": {"prefix": "t"}}


def test_negations_re_include_the_directory_before_its_files() -> None:
    assert negations([".shopfloor/config.toml", ".gitattributes"]) == [
        "!/.shopfloor/",
        "!/.shopfloor/config.toml",
        "!/.gitattributes",
    ]
    assert negations([".gitattributes"]) == ["!/.gitattributes"]
    assert negations([".agents/README.md", ".shopfloor/issues.jsonl"]) == [
        "!/.shopfloor/",
        "!/.agents/",
        "!/.agents/README.md",
        "!/.shopfloor/issues.jsonl",
    ]


PRE_COMMIT = """\
repos:
  - repo: https://github.com/pycqa/flake8
    rev: 7.0.0
    hooks:
      - id: flake8
        args: ["--max-line-length=88", "--extend-ignore=E203"]
  - repo: https://github.com/psf/black
    rev: 24.1.0
    hooks:
      - id: black
        args: ['--line-length=100']
  - repo: https://github.com/pycqa/isort
    rev: 5.13.2
    hooks:
      - id: isort
        args: ["--profile", "black", "src/*.py; rm -rf /"]
"""


def test_a_hooks_args_are_passed_to_the_check_but_only_plain_options() -> None:
    files = {".pre-commit-config.yaml": PRE_COMMIT, "app.py": "x = 1\n"}
    assert proposal(files, "flake8").argv == ("flake8", "--max-line-length=88", "--extend-ignore=E203")
    assert proposal(files, "black").argv == ("black", "--check", "--line-length=100", ".")
    # A value that is not a plain option (a path, a shell fragment) makes the whole list untrusted.
    assert proposal(files, "isort").argv == ("isort", "--check-only", "--diff", ".")


def test_hook_args_in_block_and_unquoted_flow_lists() -> None:
    text = (
        'repos:\n  - repo: x\n    hooks:\n      - id: flake8\n        args:\n          - "--max-line-length=88"\n'
        "      - id: mypy\n        args: [--ignore-missing-imports, --no-strict-optional]\n"
        "      - id: black\n"
    )
    files = {".pre-commit-config.yaml": text, "app.py": "x = 1\n"}
    assert proposal(files, "flake8").argv == ("flake8", "--max-line-length=88")
    assert proposal(files, "mypy").argv == (
        "mypy",
        "--no-pretty",
        "--ignore-missing-imports",
        "--no-strict-optional",
        ".",
    )
    assert proposal(files, "black").argv == ("black", "--check", ".")
