"""What a check sees: a clean, explicit environment the candidate cannot add to (issue 11, part 3)."""

from __future__ import annotations

import json
import py_compile
import subprocess
import sys
from pathlib import Path

from conftest import Runner
from gatekit import CALC, GATE, candidate, check, gate, make_project, status

BROKEN = CALC.replace("a + b", "a - b")


def test_a_candidates_sitecustomize_is_never_run_by_a_check(sf: Runner) -> None:
    make_project(sf)
    # At the top of the tree, which is on the import path: it would deselect the failing test.
    customize = "import os\nos.environ['PYTEST_ADDOPTS'] = '-k test_add_zero'\n"
    rev = candidate(sf, "custom", {"calc.py": BROKEN, "sitecustomize.py": customize})
    report = gate(sf, rev)
    assert status(report)["tests"] == "fail" and report["verdict"] == "fail"
    assert "tests/test_calc.py::test_add" in {f["test"] for f in check(report, "tests")["findings"]}


def test_committed_bytecode_cannot_stand_in_for_its_source(sf: Runner, tmp_path: Path) -> None:
    make_project(sf)
    # Bytecode of the good add, which Python would load without looking at the broken source.
    good = tmp_path / "calc.py"
    good.write_text(CALC)
    pyc = tmp_path / "calc.pyc"
    py_compile.compile(str(good), cfile=str(pyc), invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    tag = sys.implementation.cache_tag
    sf.git("checkout", "-q", "-b", "bytecode", "main")
    (sf.cwd / "calc.py").write_text(BROKEN)
    (sf.cwd / "__pycache__").mkdir()
    (sf.cwd / "__pycache__" / f"calc.{tag}.pyc").write_bytes(pyc.read_bytes())
    sf.git("add", "-f", "calc.py", f"__pycache__/calc.{tag}.pyc")
    sf.git("commit", "-qm", "broken source, good bytecode")
    sf.git("checkout", "-q", "main")
    # (Without the scrub, python -m pytest here would pass on the good bytecode.)
    assert status(gate(sf, "bytecode"))["tests"] == "fail"


def test_only_named_variables_reach_a_check_and_the_environment_is_part_of_the_cache_key(sf: Runner) -> None:
    script = 'test "$GATE_ALLOWED" = yes && test -z "$GATE_OTHER" && test -z "$PYTEST_ADDOPTS"'
    probe = '[gate]\nenv = ["GATE_ALLOWED"]\n\n[[gate.check]]\nname = "probe"\n'
    probe += f'argv = ["sh", "-c", {json.dumps(script)}]\n'

    make_project(sf, gate=probe)
    rev = candidate(sf, "probe", {"calc.py": CALC + "# touched\n"})
    env = {"GATE_ALLOWED": "yes", "GATE_OTHER": "leaks", "PYTEST_ADDOPTS": "-x"}
    first = gate(sf, rev, env=env)
    assert status(first)["probe"] == "pass" and not first["cached"]
    assert gate(sf, rev, env=env)["cached"]
    # Another value of a variable the checks see is another environment: nothing is replayed.
    again = gate(sf, rev, env={**env, "GATE_ALLOWED": "no"})
    assert not again["cached"] and status(again)["probe"] == "fail" and again["env"] != first["env"]


def test_a_gate_env_entry_must_name_a_variable(sf: Runner) -> None:
    make_project(sf, gate='[gate]\nenv = ["BAD NAME"]\n' + GATE.split("[gate]", 1)[1].split("\n", 2)[2])
    done = sf("gate", "run", "main", check=False)
    assert done.returncode == 2 and "gate.env names environment variables" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_guard_leaves_a_plain_python_working_in_the_tree(sf: Runner) -> None:
    make_project(
        sf, gate='[[gate.check]]\nname = "imports"\nargv = ["python", "-c", "import calc; print(calc.add(1, 2))"]\n'
    )
    rev = candidate(sf, "imports", {"calc.py": CALC + "# touched\n"})
    assert status(gate(sf, rev))["imports"] == "pass"
    done = subprocess.run(["git", "log", "-1", "--format=%s", rev], cwd=sf.cwd, capture_output=True, text=True)
    assert done.stdout.strip() == f"candidate {rev}"
