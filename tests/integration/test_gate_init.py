"""`gate init` through the real CLI: it proposes the tools the project uses, tries each on the
target, and writes only what can run there; no gate, no floor; the gate's files are committed
even where .gitignore hides dotfiles."""

from __future__ import annotations

import json
import shutil
import sys
import tomllib
from pathlib import Path

from conftest import Runner

SETUP_CFG = """\
[metadata]
name = calc

[flake8]
max-line-length = 100

[mypy]
files = calc.py

[tool:pytest]
testpaths = tests
"""
CALC = "import os\n\n\ndef add(a: int, b: int) -> int:\n    return a + b\n"  # os: one flake8 finding
TESTS = "from calc import add\n\n\ndef test_add() -> None:\n    assert add(1, 2) == 3\n"


def project(runner: Runner, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = runner.cwd / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    runner.git("add", "-A")
    runner.git("commit", "-qm", "the project")


def path_without(tmp_path: Path, *missing: str) -> str:
    """A PATH holding git, sh, bwrap, python and the venv's tools, except ``missing``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    venv = Path(sys.executable).parent
    tools = {name: str(venv / name) for name in ("flake8", "mypy", "black", "isort", "ruff")}
    tools |= {"git": shutil.which("git") or "git", "sh": shutil.which("sh") or "sh"}
    tools |= {"bwrap": shutil.which("bwrap") or "bwrap"}  # checks run in the sandbox
    tools |= {"python": sys.executable, "python3": sys.executable}
    for name, target in tools.items():
        if name not in missing:
            # A wrapper, not a symlink: a venv's python finds its packages from the path it was run as.
            (bin_dir / name).write_text(f'#!/bin/sh\nexec "{target}" "$@"\n')
            (bin_dir / name).chmod(0o755)
    return str(bin_dir)


def config_checks(runner: Runner) -> list[str]:
    data = tomllib.loads((runner.cwd / ".shopfloor" / "config.toml").read_text())
    return [c["name"] for c in data.get("gate", {}).get("check", [])]


def test_gate_init_keeps_a_failing_linter_as_a_baseline_and_drops_a_missing_tool(sf: Runner, tmp_path: Path) -> None:
    project(sf, {"setup.cfg": SETUP_CFG, "calc.py": CALC, "tests/test_calc.py": TESTS})
    env = {"PATH": path_without(tmp_path, "mypy")}
    done = sf("gate", "init", env=env)
    table = {line.split()[0]: line for line in done.stdout.splitlines() if line.startswith("  ") and "|" not in line}
    assert table["flake8"].split()[1:3] == ["fail", "1"] and table["flake8"].endswith("kept as a differential baseline")
    assert table["mypy"].split()[1] == "error" and table["mypy"].endswith("dropped: tool missing")
    assert table["pytest"].split()[1:3] == ["pass", "0"] and table["pytest"].endswith("kept")
    assert "| command not found: mypy" in done.stdout
    assert "flake8 already fails on main (1 finding(s))" in done.stdout
    assert "running flake8" in done.stderr  # progress, while the checks run
    assert config_checks(sf) == ["flake8", "pytest"]  # the dropped check is not in force ...
    text = (sf.cwd / ".shopfloor" / "config.toml").read_text()
    assert "# dropped by `shopfloor gate init`: tool missing here (not installed) (command not found: mypy" in text
    assert '# name = "mypy"' in text  # ... but left in the file, commented out, with the reason
    assert "ruff" not in config_checks(sf)
    # --json, and with mypy on PATH it is kept; the target's results were cached by the first run.
    out = json.loads(sf("gate", "init", "--force", "--json", env={"PATH": path_without(tmp_path / "2")}).stdout)
    checks = {c["name"]: c for c in out["checks"]}
    assert out["target"] == "main" and out["config"].endswith(".shopfloor/config.toml")
    assert set(checks["flake8"]) >= {"name", "argv", "status", "preexisting", "duration_s", "action"}
    assert checks["flake8"]["preexisting"] == 1 and checks["flake8"]["argv"] == ["flake8"]
    assert checks["mypy"]["action"] == "kept" and checks["mypy"]["why"] == "[mypy] in setup.cfg"
    assert config_checks(sf) == ["flake8", "mypy", "pytest"]
    # The gate it wrote judges a change on its new findings: one more unused import fails flake8.
    sf.git("add", "-A")
    sf.git("commit", "-qm", "gate")
    sf.git("checkout", "-q", "-b", "change")
    (sf.cwd / "calc.py").write_text("import sys\n" + CALC)
    sf.git("commit", "-qam", "change")
    report = json.loads(sf("gate", "run", "change", "--json", check=False).stdout)
    flake8 = next(c for c in report["checks"] if c["name"] == "flake8")
    assert flake8["status"] == "fail" and flake8["preexisting"] == 1 and "sys" in json.dumps(flake8["findings"])


def test_a_check_that_fails_without_findings_is_dropped_as_cannot_pass(sf: Runner, tmp_path: Path) -> None:
    project(sf, {"pyproject.toml": "[project]\nname = 'x'\n\n[tool.black]\n", "app.py": "VALUE = 1\n"})
    out = json.loads(sf("gate", "init", "--json", env={"PATH": path_without(tmp_path)}).stdout)
    actions = {c["name"]: (c["status"], c["action"]) for c in out["checks"]}
    # No tests: pytest fails and its output holds no finding to judge changes against.
    assert actions == {"black": ("pass", "kept"), "pytest": ("fail", "dropped: cannot pass")}
    assert config_checks(sf) == ["black"]
    assert (
        "# dropped by `shopfloor gate init`: cannot pass on the target (no tests ran"
        in (sf.cwd / ".shopfloor" / "config.toml").read_text()
    )


def test_gate_init_needs_a_commit_to_try_the_checks_on_unless_told_not_to_run(sf: Runner) -> None:
    (sf.cwd / "setup.cfg").write_text("[flake8]\n")
    config = sf.cwd / ".shopfloor" / "config.toml"
    before = config.read_text()
    done = sf("gate", "init", check=False)
    assert done.returncode == 1 and "no commit yet" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert config.read_text() == before  # nothing written
    out = sf.json("gate", "init", "--no-run")
    assert [(c["name"], c["status"], c["action"]) for c in out["checks"]] == [
        ("flake8", "not run", "kept"),
        ("pytest", "not run", "kept"),
    ]
    assert out["ran"] is False and config_checks(sf) == ["flake8", "pytest"]
    table = sf("gate", "init", "--no-run", "--force").stdout
    assert "not run" in table and "not tried: `shopfloor gate run main`" in table


def test_gate_init_refuses_an_existing_gate_and_force_replaces_only_the_gate_tables(sf: Runner) -> None:
    config = sf.cwd / ".shopfloor" / "config.toml"
    config.write_text(
        config.read_text()
        + '\n[[gate.check]]\nname = "ruff"\nargv = ["ruff"]\n\n[agents.claude]\nbinary = "/opt/claude"\n'
        + '\n[workspace]\ncopy = [".env"]\n'
    )
    (sf.cwd / "go.mod").write_text("module x\n")
    again = sf("gate", "init", "--no-run", check=False)
    assert again.returncode == 4 and "already has a [gate] section" in again.stderr
    assert [c["name"] for c in sf.json("gate", "init", "--force", "--no-run")["checks"]] == [
        "go-vet",
        "go-build",
        "go-test",
    ]
    text = config.read_text()
    assert '[agents.claude]\nbinary = "/opt/claude"' in text and 'copy = [".env"]' in text
    assert 'name = "ruff"' not in text and text.count("[gate]") == 1 and 'prefix = "t"' in text
    config.write_bytes(b"\xff\xfe[gate]\n")
    bad = sf("gate", "init", "--force", check=False)
    assert bad.returncode == 2 and "not valid UTF-8" in bad.stderr


FLOOR = ["run", "--agent", "scripted", "--terminal", "detached", "--until-idle", "--workers", "1"]


def with_scenario(runner: Runner) -> None:
    """`run` checks its agent before it claims: the scripted agent needs a scenario to start."""
    path = runner.cwd.parent / "nothing.json"
    path.write_text(json.dumps({"scripts": [{"match": "nothing", "turns": [{"text": "done"}]}]}))
    runner.env["SHOPFLOOR_SCENARIO"] = str(path)


def test_the_floor_refuses_to_start_until_the_target_has_a_configured_check(sf: Runner) -> None:
    with_scenario(sf)
    project(sf, {"app.py": "VALUE = 1\n"})
    refused = sf(*FLOOR, check=False)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "configures no gate check" in refused.stderr and "shopfloor gate init" in refused.stderr
    assert "--builtins-only" in refused.stderr
    on_purpose = sf(*FLOOR, "--builtins-only", "--json")
    assert json.loads(on_purpose.stdout)["merged"] == 0
    # The committed config is what counts: an uncommitted `gate init` does not let the floor start.
    sf("gate", "init", "--no-run")
    assert sf(*FLOOR, check=False).returncode == 2
    sf.git("add", "-A")
    sf.git("commit", "-qm", "gate")
    assert sf(*FLOOR).returncode == 0


def test_gate_run_warns_when_the_working_tree_gate_config_is_not_the_one_in_force(sf: Runner) -> None:
    project(sf, {"app.py": "VALUE = 1\n"})
    assert "differs" not in sf("gate", "run", "HEAD").stderr
    sf("gate", "init", "--no-run")
    warned = sf("gate", "run", "HEAD", "--json")
    assert json.loads(warned.stdout)["verdict"] == "pass"
    assert (
        "warning: the gate config in your working tree differs from main's: commit it, the gate reads its rules "
        "from main" in warned.stderr
    )
    sf.git("add", "-A")
    sf.git("commit", "-qm", "gate")
    assert "differs" not in sf("gate", "run", "HEAD", check=False).stderr


def test_init_and_gate_init_keep_the_gate_out_of_a_gitignore_that_hides_dotfiles(bare_runner: Runner) -> None:
    runner = bare_runner
    (runner.cwd / ".gitignore").write_text(".*\n")
    (runner.cwd / "setup.cfg").write_text("[flake8]\n")
    (runner.cwd / "app.py").write_text("VALUE = 1\n")
    out = runner("init", "--prefix", "t").stdout
    hid = ".gitignore hid .shopfloor/config.toml, .shopfloor/issues.jsonl, .gitattributes, .agents/README.md: added"
    assert hid in out
    assert out.rstrip().splitlines()[-1].startswith("next: `shopfloor gate init`")
    runner.git("add", "-A")
    runner.git("commit", "-qm", "set up")
    # The memory is committed too: an agent's research note is not left behind by `git add -A`.
    assert runner.git("show", "HEAD:.agents/README.md")
    assert runner.git("check-ignore", ".agents/research/note.md", ".agents/retros/t-1.md", check=False) == ""
    runner("gate", "init")
    runner.git("add", "-A")
    runner.git("commit", "-qm", "gate")
    committed = runner.git("show", "HEAD:.shopfloor/config.toml")
    assert 'name = "flake8"' in committed and runner.git("show", "HEAD:.gitattributes")
    # A .gitignore that starts hiding the directory later is fixed by `gate init` too.
    (runner.cwd / ".gitignore").write_text(".*\n.shopfloor/\n*.toml\n")
    runner.git("rm", "-q", "--cached", ".shopfloor/config.toml")
    runner.git("commit", "-qm", "oops")
    again = runner("gate", "init", "--force", "--no-run").stdout
    assert "added !/.shopfloor/ !/.shopfloor/config.toml to .gitignore" in again
    assert runner.git("check-ignore", ".shopfloor/config.toml", check=False) == ""


def test_on_a_master_only_repository_the_target_is_master(bare_runner: Runner) -> None:
    runner = bare_runner
    with_scenario(runner)
    runner.git("checkout", "-q", "-b", "master")
    runner("init", "--prefix", "t")
    project(runner, {"setup.cfg": "[flake8]\n", "app.py": "VALUE = 1\n"})
    refused = runner(*FLOOR, check=False)
    assert refused.returncode == 2 and "master's committed .shopfloor/config.toml configures no gate check" in (
        refused.stderr
    )
    # Before any gate is committed, the gate still finds its base: the default branch.
    assert runner.json("gate", "run", "HEAD", "--no-cache")["base"] == "master"
    out = runner.json("gate", "init")
    assert out["target"] == "master" and [c["action"] for c in out["checks"]] == ["kept", "dropped: cannot pass"]
    assert 'target = "master"' in (runner.cwd / ".shopfloor" / "config.toml").read_text()
    runner.git("add", "-A")
    runner.git("commit", "-qm", "gate")
    assert runner.json("gate", "run", "HEAD")["base"] == "master"


def test_a_test_suite_that_cannot_even_be_collected_is_dropped_not_kept_as_a_baseline(sf: Runner) -> None:
    # Every test module imports a generated file the sdist does not ship: no test runs on the
    # target. Kept as a baseline, it would forgive any breakage (nothing new can ever fail).
    project(
        sf,
        {
            "calc.py": "from generated_version import VERSION\n\n\ndef add(a: int, b: int) -> int:\n    return a + b\n",
            "tests/test_calc.py": TESTS,
            "tests/test_more.py": TESTS.replace("test_add", "test_more"),
        },
    )
    out = sf.json("gate", "init")
    pytest_row = next(c for c in out["checks"] if c["name"] == "pytest")
    assert pytest_row["action"] == "dropped: cannot pass" and pytest_row["status"] == "fail"
    assert "No module named 'generated_version'" in pytest_row["reason"]
    assert "pytest" not in config_checks(sf)
