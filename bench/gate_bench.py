"""Benchmark the gate: harness overhead, a cached re-gate, and the parallel speedup.

Run it as ``.venv/bin/python bench/gate_bench.py [--quick]``. It builds a temporary Python
project (modules, tests, a gate with ruff, mypy and pytest), then measures, with medians:
- overhead: ``shopfloor gate run --no-cache`` against running the same three checks directly
  (in parallel, in a checkout of the same commit) in the same process: target <= 10% + 0.5 s;
- a cached re-gate of the unchanged tree, whole process: target <= 300 ms;
- the parallel speedup: the gate with one job against one job per core (printed);
- the differential gate on a project with lint debt (an unused import in every module) and a
  test that already fails on main, for a candidate that adds one new finding: cold (the
  base's results are not cached, so the failing checks run on the base too) and warm (a
  second candidate forked from the same base reuses them), each against the same checks run
  directly once: targets twice the plain budget (base + candidate) and the plain budget;
- the findings parser on real ruff output (5,000 findings) and real pytest output (500
  failing tests), and the differential split of 5,000 against 5,000 findings, in-process,
  per call: target <= 200 ms each.
Results go to ``bench/results/gate.json``. A missed target is reported, never raised.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from _common import CLI, bench_env, median_ms, publish, run, sample_repo
from shopfloor.gate.differential import split
from shopfloor.gate.findings import Finding, parse

CHECKS = [
    ["ruff", "check", "."],
    ["mypy"],
    ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml={junit}"],
]
Row = tuple[str, str, str, str, str]  # measure, median, target, ratio/notes, PASS/FAIL


def build(work: Path, env: dict[str, str], modules: int, debt: bool = False) -> Path:
    """The project on ``main`` and a candidate branch ``cand``. With ``debt``: every module has an
    unused import (one ruff finding each), one test fails on main, and ``cand`` and ``cand2``,
    both forked from main, each add one new finding (another unused import)."""
    files = {"pkg/__init__.py": ""}
    for n in range(modules):
        unused = "import os\n\n\n" if debt else ""  # lint debt: one ruff finding in every module
        files[f"pkg/m{n}.py"] = (
            f"{unused}def f{n}(x: int) -> int:\n    return x + {n}\n\n\n"
            f"def g{n}(xs: list[int]) -> int:\n    return sum(xs) * {n}\n"
        )
        expected = n + 2 if debt and n == 0 else n + 1  # wrong for the test that already fails on main
        files[f"tests/test_m{n}.py"] = (
            f"from pkg.m{n} import f{n}, g{n}\n\n\ndef test_f() -> None:\n    assert f{n}(1) == {expected}\n\n\n"
            f"def test_g() -> None:\n    assert g{n}([1, 2]) == {3 * n}\n"
        )
    files["pyproject.toml"] = (
        '[tool.pytest.ini_options]\npythonpath = ["."]\n\n[tool.ruff.lint]\nselect = ["E", "F"]\n\n'
        '[tool.mypy]\nfiles = ["pkg"]\ncache_dir = "/dev/null"\n'
    )
    gate = "\n[gate]\n"
    for n, argv in enumerate(CHECKS):
        gate += f'\n[[gate.check]]\nname = "c{n}"\nargv = {json.dumps(argv)}\ntimeout = 600\n'
        gate += "junit = true\n" if "{junit}" in " ".join(argv) else ""
    repo = sample_repo(work, "gb", env=env, name="debt" if debt else "proj", files=files, gate=gate).repo
    if not debt:
        run(["git", "checkout", "-qb", "cand"], repo, env)
        m0 = repo / "pkg" / "m0.py"
        m0.write_text(m0.read_text() + "\n\ndef h() -> int:\n    return 1\n")
        run(["git", "commit", "-qam", "candidate"], repo, env)
    for branch, module, name in (("cand", 0, "sys"), ("cand2", 1, "json")) if debt else ():
        run(["git", "checkout", "-qb", branch, "main"], repo, env)
        path = repo / "pkg" / f"m{module}.py"
        path.write_text(f"import {name}\n" + path.read_text())
        run(["git", "commit", "-qam", f"candidate: an unused import of {name}"], repo, env)
    run(["git", "checkout", "-q", "main"], repo, env)
    return repo


def direct(repo: Path, env: dict[str, str], work: Path, ok: tuple[int, ...] = (0,)) -> float:
    """The same checks, run by hand in a fresh checkout of the candidate, in parallel."""
    checkout = work / "direct"
    run(["git", "worktree", "add", "-q", "--detach", str(checkout), "cand"], repo, env)
    try:
        started = time.perf_counter()
        argvs = [[a.replace("{junit}", str(work / "direct.xml")) for a in argv] for argv in CHECKS]
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(pool.map(lambda argv: run(argv, checkout, env, ok), argvs))
        return time.perf_counter() - started
    finally:
        run(["git", "worktree", "remove", "--force", str(checkout)], repo, env)


def gate_report(repo: Path, env: dict[str, str], rev: str, *args: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    done = run([CLI, "gate", "run", rev, "--json", *args], repo, env, ok=(0, 1))
    took = time.perf_counter() - started
    report = json.loads(done.stdout or "null")
    if not report:
        raise SystemExit(f"gate run {rev} printed no report: {done.stderr[-1500:]}")
    return took, report


def gate(repo: Path, env: dict[str, str], *args: str) -> float:
    took, report = gate_report(repo, env, "cand", *args)
    if report["verdict"] != "pass":
        raise SystemExit(f"the benchmark's candidate should pass the gate: {json.dumps(report)[-3000:]}")
    return took


def gate_blamed(repo: Path, env: dict[str, str], rev: str) -> float:
    """``gate run REV --no-cache`` on the debt project: it must fail on exactly the one new finding."""
    took, report = gate_report(repo, env, rev, "--no-cache")
    checks = {c["name"]: c for c in report["checks"]}
    ruff, tests = checks["c0"], checks["c2"]
    new = [f for f in ruff["findings"] or () if f["new"]]
    if report["verdict"] != "fail" or ruff["status"] != "fail" or len(new) != 1 or tests["status"] != "pass":
        raise SystemExit(f"{rev} should fail on one new ruff finding only: {json.dumps(report)[-3000:]}")
    return took


def forget_baseline(repo: Path, env: dict[str, str]) -> None:
    """Drop the cached base results (facts about one tree), so the next gate runs the base again."""
    common = run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"], repo, env).stdout.strip()
    conn = sqlite3.connect(Path(common) / "shopfloor" / "tracker.db", timeout=30)
    try:
        with conn:
            conn.execute("DELETE FROM gate_cache WHERE base_tree = 'baseline'")
    finally:
        conn.close()


def ruff_output(work: Path, env: dict[str, str], modules: int, imports: int) -> tuple[Path, str]:
    """Real ``ruff check --output-format=concise`` output: ``imports`` unused imports in each module."""
    names = ["os", "sys", "json", "re", "math", "time", "glob", "shutil", "random", "string", "array", "heapq"]
    root = work / "lint"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.ruff.lint]\nselect = ["E", "F"]\n')
    for n in range(modules):
        lines = [f"import {name}" for name in names[:imports]]
        (root / "pkg" / f"m{n}.py").write_text("\n".join(lines) + f"\n\n\ndef f{n}() -> int:\n    return {n}\n")
    done = run(["ruff", "check", "--no-cache", "--output-format=concise", "."], root, env, ok=(1,))
    return root, done.stdout


def pytest_output(work: Path, env: dict[str, str], files: int, per_file: int) -> tuple[Path, str]:
    """Real pytest output with ``files * per_file`` failing tests: half functions, half
    parametrized methods of a class (pytest heads their sections ``TestX.test_y[param]``)."""
    root = work / "failing"
    (root / "tests").mkdir(parents=True)
    half = per_file // 2
    for n in range(files):
        body = [f"import pytest\n\n\ndef value(x: int) -> int:\n    return x * {n + 2}\n"]
        body += [
            f"\ndef test_f{n}_{k}() -> None:\n    got = value({k})\n    assert got == {k * (n + 2) + 1}\n"
            for k in range(half)
        ]
        body.append(
            f"\nclass TestC{n}:\n    @pytest.mark.parametrize('k', range({per_file - half}))\n"
            "    def test_p(self, k: int) -> None:\n        assert {'k': value(k)} == {'k': -k - 1}\n"
        )
        (root / "tests" / f"test_fail{n}.py").write_text("".join(body))
    done = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], root, env, ok=(1,))
    return root, done.stdout


def differential(
    work: Path, env: dict[str, str], modules: int, runs: int, plain: tuple[float, float], rows: list[Row]
) -> dict[str, float]:
    """A candidate adding one finding to a project with debt, the base's results cold and warm,
    against the same checks run directly once; ``plain`` is (direct, gate) of the plain rows."""
    plain_direct, plain_gate = plain
    repo = build(work, env, modules, debt=True)
    gate_blamed(repo, env, "cand")  # warm-up: page cache, bytecode
    direct(repo, env, work, ok=(0, 1))
    colds, warms, directs = [], [], []
    for _ in range(runs):
        forget_baseline(repo, env)
        colds.append(gate_blamed(repo, env, "cand"))  # runs ruff and pytest on the base too
        warms.append(gate_blamed(repo, env, "cand2"))  # same base: its results are cached now
        directs.append(direct(repo, env, work, ok=(0, 1)))
    cold, warm, d = (statistics.median(x) for x in (colds, warms, directs))
    budget = d * 1.10 + 0.5
    rows.append(
        (
            f"differential, base cached ({modules} debt)",
            f"{warm:.2f} s",
            f"<= {budget:.2f} s (direct x1.1 + 0.5 s)",
            f"x{warm / d:.2f} direct ({d:.2f} s; plain gate x{plain_gate / plain_direct:.2f}), n={runs}",
            "PASS" if warm <= budget else "FAIL",
        )
    )
    rows.append(
        (
            f"differential, base not cached ({modules} debt)",
            f"{cold:.2f} s",
            f"<= {2 * budget:.2f} s (2 x that)",
            f"x{cold / d:.2f} direct; the base's run +{cold - warm:.2f} s over cached, n={runs}",
            "PASS" if cold <= 2 * budget else "FAIL",
        )
    )
    return {"debt_direct_s": d, "debt_warm_s": warm, "debt_cold_s": cold, "warm_x": warm / d, "cold_x": cold / d}


def parsing(work: Path, env: dict[str, str], runs: int, rows: list[Row]) -> dict[str, float]:
    """``findings.parse`` on real tool output and ``differential.split``, in-process, per call."""
    out: dict[str, float] = {}
    lint_root, lint = ruff_output(work, env, 500, 10)
    tests_root, tests = pytest_output(work, env, 10, 50)
    cases = [
        ("findings.parse: ruff concise", "ruff", lint, lint_root),
        ("findings.parse: pytest failures", "pytest", tests, tests_root),
    ]
    found: dict[str, list[Finding]] = {}
    for label, name, text, root in cases:
        parsed = parse(name, text, (str(root),)) or []
        found[name] = parsed
        ms = median_ms(partial(parse, name, text, (str(root),)), runs)
        unit = "failing tests" if name == "pytest" else "findings"
        rows.append(
            (
                f"{label} ({len(parsed):,} {unit})",
                f"{ms:.1f} ms",
                "<= 200 ms",
                f"{len(text) // 1024} KB of output, {len(text.splitlines()):,} lines, n={runs}",
                "PASS" if ms <= 200 else "FAIL",
            )
        )
        out[f"parse_{name}_ms"] = ms
    # The base: the 5,000 ruff findings. The candidate: the same with the first half moved down
    # a line (code added above them) and 10 replaced by new ones on lines the change added.
    base = found["ruff"]
    moved = [replace(f, line=(f.line or 0) + 1) for f in base[: len(base) // 2]]
    fresh = [replace(f, message=f"`new{k}` imported but unused") for k, f in enumerate(base[-10:])]
    candidate = moved + base[len(base) // 2 : -10] + fresh
    added: dict[str, set[int]] = {}
    for f in fresh:
        added.setdefault(f.path or "", set()).add(f.line or 0)
    parts = split(candidate, base, added)
    if (len(parts.new), len(parts.fixed)) != (10, 10):
        raise SystemExit(f"split should find 10 new and 10 fixed, not {len(parts.new)} and {len(parts.fixed)}")
    ms = median_ms(lambda: split(candidate, base, added), runs)
    rows.append(
        (
            f"differential.split ({len(candidate):,} vs {len(base):,})",
            f"{ms:.1f} ms",
            "<= 200 ms",
            f"{len(parts.new)} new, {len(parts.preexisting):,} pre-existing, {len(parts.fixed)} fixed, n={runs}",
            "PASS" if ms <= 200 else "FAIL",
        )
    )
    out["split_ms"] = ms
    return out


def large_file(repo: Path, env: dict[str, str], runs: int, plain: float, rows: list[Row]) -> dict[str, float]:
    """A candidate that adds a 70 MB text file: gated (not read; diff-size asks a person), against
    the plain candidate's gate in the same process."""
    run(["git", "checkout", "-q", "-b", "huge", "cand"], repo, env)
    line = b"a line of generated data that nobody should read through, " * 2 + b"\n"
    with (repo / "huge.txt").open("wb") as handle:
        for _ in range(70 * 1024 * 1024 // len(line)):
            handle.write(line)
    run(["git", "add", "huge.txt"], repo, env)
    run(["git", "commit", "-qm", "a 70 MB file"], repo, env)
    run(["git", "checkout", "-q", "main"], repo, env)
    timings = []
    for _ in range(runs):
        took, report = gate_report(repo, env, "huge", "--no-cache")
        size = next(c for c in report["checks"] if c["name"] == "diff-size")
        if "huge.txt" not in size["excerpt"] or report["verdict"] != "needs-approval":
            raise SystemExit(f"the 70 MB file should be flagged, unread: {json.dumps(size)[:2000]}")
        timings.append(took)
    big = statistics.median(timings)
    rows.append(
        (
            "gate run, candidate adds a 70 MB file",
            f"{big:.2f} s",
            "<= 10 s (was 4.5 min)",
            f"x{big / plain:.2f} the plain candidate's gate ({plain:.2f} s), n={runs}",
            "PASS" if big <= 10 else "FAIL",
        )
    )
    return {"large_file_s": big}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke run)")
    args = parser.parse_args()
    runs = 2 if args.quick else 5
    work = Path(tempfile.mkdtemp(prefix="sfgb"))
    env = bench_env(work / "home")
    rows: list[Row] = []
    out: dict[str, object] = {"machine": f"{os.cpu_count()} cores, python {sys.version.split()[0]}"}
    try:
        modules = 40 if args.quick else 80
        repo = build(work, env, modules)
        gate(repo, env)  # warm: page cache, bytecode, the base's junit baseline
        direct(repo, env, work)
        pairs = [(direct(repo, env, work), gate(repo, env, "--no-cache")) for _ in range(runs)]
        d = statistics.median(p[0] for p in pairs)
        g = statistics.median(p[1] for p in pairs)
        limit = d * 1.10 + 0.5
        rows.append(
            (
                "gate run --no-cache (3 checks)",
                f"{g:.2f} s",
                f"<= {limit:.2f} s (direct x1.1 + 0.5 s)",
                f"direct {d:.2f} s, overhead {g - d:+.2f} s ({(g / d - 1):+.0%}), n={runs}",
                "PASS" if g <= limit else "FAIL",
            )
        )
        cached = statistics.median(gate(repo, env) for _ in range(runs * 2))
        rows.append(
            (
                "cached re-gate, whole process",
                f"{cached * 1000:.0f} ms",
                "<= 300 ms",
                f"{cached / g:.1%} of a full run",
                "PASS" if cached <= 0.3 else "FAIL",
            )
        )
        serial_env = {**env, "SHOPFLOOR_GATE_JOBS": "1"}
        serial = statistics.median(gate(repo, serial_env, "--no-cache") for _ in range(runs))
        rows.append(
            (
                f"parallel speedup ({os.cpu_count()} jobs vs 1)",
                f"{serial / g:.2f}x",
                "printed",
                f"1 job {serial:.2f} s, {os.cpu_count()} jobs {g:.2f} s",
                "info",
            )
        )
        out.update(direct_s=d, gate_s=g, cached_s=cached, serial_s=serial)
        out.update(differential(work, env, modules, runs, plain=(d, g), rows=rows))
        out.update(parsing(work, env, runs * 2 + 1, rows))
        out.update(large_file(repo, env, max(3, runs // 2), g, rows))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    publish("gate", ("measure", "median", "target", "ratio/notes", "PASS/FAIL"), rows, **out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
