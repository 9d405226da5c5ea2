"""Benchmark the gate: harness overhead, a cached re-gate, and the parallel speedup.

Run it as ``.venv/bin/python bench/gate_bench.py [--quick]``. It builds a temporary Python
project (modules, tests, a gate with ruff, mypy and pytest), then measures, with medians:
- overhead: ``shopfloor gate run --no-cache`` against running the same three checks directly
  (in parallel, in a checkout of the same commit) in the same process: target <= 10% + 0.5 s;
- a cached re-gate of the unchanged tree, whole process: target <= 300 ms;
- the parallel speedup: the gate with one job against one job per core (printed).
Results go to ``bench/results/gate.json``. A missed target is reported, never raised.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BIN = Path(sys.executable).parent
CLI = str(BIN / "shopfloor")
RESULTS = Path(__file__).resolve().parent / "results" / "gate.json"
CHECKS = [
    ["ruff", "check", "."],
    ["mypy"],
    ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml={junit}"],
]


def env_for(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPFLOOR_", "GIT_"))}
    env.update(
        HOME=str(work / "home"),
        SHOPFLOOR_ACTOR="bench",
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        GIT_AUTHOR_NAME="b",
        GIT_AUTHOR_EMAIL="b@x",
        GIT_COMMITTER_NAME="b",
        GIT_COMMITTER_EMAIL="b@x",
    )
    return env


def run(cmd: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done


def build(work: Path, env: dict[str, str], modules: int) -> Path:
    repo = work / "proj"
    (repo / "pkg").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "pkg" / "__init__.py").write_text("")
    for n in range(modules):
        (repo / "pkg" / f"m{n}.py").write_text(
            f"def f{n}(x: int) -> int:\n    return x + {n}\n\n\n"
            f"def g{n}(xs: list[int]) -> int:\n    return sum(xs) * {n}\n"
        )
        (repo / "tests" / f"test_m{n}.py").write_text(
            f"from pkg.m{n} import f{n}, g{n}\n\n\ndef test_f() -> None:\n    assert f{n}(1) == {n + 1}\n\n\n"
            f"def test_g() -> None:\n    assert g{n}([1, 2]) == {3 * n}\n"
        )
    (repo / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\npythonpath = ["."]\n\n[tool.ruff.lint]\nselect = ["E", "F"]\n\n'
        '[tool.mypy]\nfiles = ["pkg"]\ncache_dir = "/dev/null"\n'
    )
    run(["git", "init", "-q", "-b", "main"], repo, env)
    run([CLI, "init", "--prefix", "gb"], repo, env)
    config = repo / ".shopfloor" / "config.toml"
    text = config.read_text() + "\n[gate]\n"
    for n, argv in enumerate(CHECKS):
        text += f'\n[[gate.check]]\nname = "c{n}"\nargv = {json.dumps(argv)}\ntimeout = 600\n'
        text += "junit = true\n" if "{junit}" in " ".join(argv) else ""
    config.write_text(text)
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "base"], repo, env)
    run(["git", "checkout", "-qb", "cand"], repo, env)
    (repo / "pkg" / "m0.py").write_text((repo / "pkg" / "m0.py").read_text() + "\n\ndef h() -> int:\n    return 1\n")
    run(["git", "commit", "-qam", "candidate"], repo, env)
    run(["git", "checkout", "-q", "main"], repo, env)
    return repo


def direct(repo: Path, env: dict[str, str], work: Path) -> float:
    """The same checks, run by hand in a fresh checkout of the candidate, in parallel."""
    checkout = work / "direct"
    run(["git", "worktree", "add", "-q", "--detach", str(checkout), "cand"], repo, env)
    try:
        started = time.perf_counter()
        argvs = [[a.replace("{junit}", str(work / "direct.xml")) for a in argv] for argv in CHECKS]
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(pool.map(lambda argv: run(argv, checkout, env), argvs))
        return time.perf_counter() - started
    finally:
        run(["git", "worktree", "remove", "--force", str(checkout)], repo, env)


def gate(repo: Path, env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    done = run([CLI, "gate", "run", "cand", "--json", *args], repo, env, ok=(0, 1))
    took = time.perf_counter() - started
    report = json.loads(done.stdout or "null")
    if not report or report["verdict"] != "pass":
        raise SystemExit(f"the benchmark's candidate should pass the gate: {done.stdout[-1500:]} {done.stderr[-1500:]}")
    return took


def table(rows: list[tuple[str, str, str, str, str]]) -> str:
    head = ("measure", "median", "target", "ratio/notes", "PASS/FAIL")
    cells = [head, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(5)]

    def line(r: tuple[str, ...]) -> str:
        return " | ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip()

    return "\n".join([line(head), "-+-".join("-" * w for w in widths), *(line(r) for r in rows)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke run)")
    args = parser.parse_args()
    runs = 2 if args.quick else 5
    work = Path(tempfile.mkdtemp(prefix="sfgb"))
    (work / "home").mkdir()
    env = env_for(work)
    rows: list[tuple[str, str, str, str, str]] = []
    out: dict[str, object] = {"machine": f"{os.cpu_count()} cores, python {sys.version.split()[0]}"}
    try:
        repo = build(work, env, 40 if args.quick else 80)
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
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rendered = table(rows)
    print(rendered)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"table": rendered, **out}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
