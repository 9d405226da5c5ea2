"""What the benchmarks share: the table printer, the result file, the sample repository, timing.

Every ``*_bench.py`` here is run as a script (``.venv/bin/python bench/x_bench.py``), so this
module is imported as ``_common`` from the script's own directory.

- ``render(head, rows)``: one table, columns as given, widths computed, a separator line under
  the head; ``markdown=True`` for the tables pasted into the README (``right`` names the
  columns aligned right). It returns the text, so a bench both prints it and saves it.
- ``write_result(name, table, **fields)``: ``bench/results/<name>.json`` with the table and the
  runs behind it; ``publish`` renders, prints and writes in one call. ``BENCH_RESULTS=DIR``
  sends results elsewhere (a smoke run then leaves the committed figures alone).
- ``bench_env`` and ``sample_repo``: a temporary directory with its own HOME and a git identity,
  ``git init -b main``, ``shopfloor init --prefix X``, an optional gate appended to
  ``.shopfloor/config.toml`` and committed, N issues created from a plan file.
- ``timings``, ``median_ms`` and ``percentile``.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT = BENCH_DIR.parent
BIN = Path(sys.executable).parent
CLI = str(BIN / "shopfloor")
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


# ---------------------------------------------------------------- tables and results


def render(
    head: Sequence[str], rows: Iterable[Sequence[str]], *, markdown: bool = False, right: Iterable[int] = ()
) -> str:
    """``head`` and ``rows`` as a table: ``a | b`` over a ``--+--`` rule, or, with ``markdown``,
    ``| a | b |`` over ``| --- | ---: |`` (the columns numbered in ``right`` aligned right)."""
    cells = [tuple(head), *(tuple(r) for r in rows)]
    least = 3 if markdown else 0  # a markdown rule needs three characters
    widths = [max(least, *(len(r[i]) for r in cells)) for i in range(len(head))]
    aligned = set(right)

    def line(row: Sequence[str]) -> str:
        padded = [c.rjust(widths[i]) if i in aligned else c.ljust(widths[i]) for i, c in enumerate(row)]
        return f"| {' | '.join(padded)} |" if markdown else " | ".join(padded).rstrip()

    if markdown:
        rule = "| " + " | ".join("-" * (w - 1) + ":" if i in aligned else "-" * w for i, w in enumerate(widths)) + " |"
    else:
        rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def results_dir() -> Path:
    return Path(os.environ.get("BENCH_RESULTS") or BENCH_DIR / "results")


def write_result(name: str, table: str | None, /, **fields: Any) -> Path:
    """``results/<name>.json``: ``{"table": table, **fields}`` (no table key when ``table`` is None)."""
    path = results_dir() / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = ({"table": table} if table is not None else {}) | fields
    path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    return path


def publish(
    name: str,
    head: Sequence[str],
    rows: Iterable[Sequence[str]],
    /,
    *,
    markdown: bool = False,
    right: Iterable[int] = (),
    **fields: Any,
) -> str:
    """Render the table, print it, write it with ``fields`` to ``results/<name>.json``; the table."""
    table = render(head, rows, markdown=markdown, right=right)
    print(table, flush=True)
    write_result(name, table, **fields)
    return table


# ---------------------------------------------------------------- timing


def timings(fn: Callable[[], object], runs: int, warmup: int = 0) -> list[float]:
    """Seconds of each of ``runs`` calls of ``fn``, after ``warmup`` calls not counted."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def median_ms(fn: Callable[[], object], runs: int) -> float:
    """The median wall time of ``fn()`` in milliseconds, in-process."""
    return statistics.median(timings(fn, runs)) * 1000


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` percentile (0 < q <= 1) of ``values``; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


# ---------------------------------------------------------------- processes and the sample repository


def bench_env(
    home: Path | None, actor: str = "bench", keep: Iterable[str] | None = None, **extra: str
) -> dict[str, str]:
    """An environment for the bench's CLI runs: this one without SHOPFLOOR_*/GIT_* (or, with
    ``keep``, only those variables), ``home`` as HOME, the venv's bin first on PATH, the actor,
    a git identity, then ``extra``."""
    if keep is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPFLOOR_", "GIT_"))}
    else:
        env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    if home is not None:
        home.mkdir(parents=True, exist_ok=True)
        env["HOME"] = str(home)
    env["SHOPFLOOR_ACTOR"] = actor
    return env | GIT_IDENTITY | extra


def run(
    cmd: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, ok: tuple[int, ...] = (0,)
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; an exit status not in ``ok`` stops the bench with the command's stderr."""
    done = subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode not in ok:
        said = done.stderr.strip() or done.stdout.strip()
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}) in {cwd}: {said[-2000:]}")
    return done


def plan(n: int) -> str:
    """A plan file of ``n`` independent issues, for ``shopfloor create -f``."""
    return "".join(f"## Task {i}\npriority: 2\n\nWrite file {i}.\n\n" for i in range(n))


@dataclass
class Sample:
    work: Path
    repo: Path
    env: dict[str, str]
    issues: list[str] = field(default_factory=list)  # the ids created from the plan, sorted

    def run(self, *cmd: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        return run(cmd, self.repo, self.env, ok)

    def cli(self, *args: str) -> str:
        """``shopfloor ARGS`` in the repository; its stdout."""
        return self.run(CLI, *args).stdout


def sample_repo(
    work: Path,
    prefix: str,
    *,
    env: dict[str, str] | None = None,
    name: str = "repo",
    files: Mapping[str, str] | None = None,
    gate: str | None = None,
    commit: bool = True,
    issues: int = 0,
) -> Sample:
    """``work/name``: ``files`` written, ``git init -b main``, ``shopfloor init --prefix PREFIX``,
    ``gate`` (TOML) appended to ``.shopfloor/config.toml``, all committed on main (unless not
    ``commit``), then ``issues`` issues created from a plan file. ``env`` defaults to
    ``bench_env(work / "home")``."""
    env = env if env is not None else bench_env(work / "home")
    repo = work / name
    repo.mkdir(parents=True, exist_ok=True)
    for relative, text in (files or {}).items():
        path = repo / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    sample = Sample(work, repo, env)
    sample.run("git", "init", "-q", "-b", "main")
    sample.cli("init", "--prefix", prefix)
    if gate:
        config = repo / ".shopfloor" / "config.toml"
        config.write_text(config.read_text() + gate)
    if commit:
        sample.run("git", "add", "-A")
        sample.run("git", "commit", "-qm", "base")
    if issues:
        (work / "plan.md").write_text(plan(issues))
        sample.cli("create", "-f", str(work / "plan.md"))
        listed = json.loads(sample.cli("list", "--json", "-n", str(issues + 10)))
        sample.issues = sorted(issue["id"] for issue in listed)
    return sample


def commit_turns(issue: str, sleep_s: float = 0.0) -> list[dict[str, Any]]:
    """A scripted agent's turns for ``issue``: sleep (if asked), write ``ISSUE.txt``, commit it, done."""
    turns: list[dict[str, Any]] = []
    if sleep_s > 0:
        turns.append({"tool": {"name": "Bash", "input": {"command": f"sleep {sleep_s:g}"}}})
    return [
        *turns,
        {"tool": {"name": "Write", "input": {"file_path": f"{issue}.txt", "content": "x\n"}}},
        {"tool": {"name": "Bash", "input": {"command": f"git add -A && git commit -qm {issue}"}}},
        {"text": "done", "usage": {"input_tokens": 1000, "output_tokens": 10}},
    ]


def enter_floor(work: Path, repo: Path) -> None:
    """Make this process the floor's home for an in-process coordinator run: HOME, the scripted
    agent's scenario (``work/scenario.json``) and sessions, a git identity, cwd in ``repo``."""
    os.environ.update(
        HOME=str(work / "home"),
        SHOPFLOOR_SCENARIO=str(work / "scenario.json"),
        SHOPFLOOR_SCRIPTED_HOME=str(work / "sessions"),
        **GIT_IDENTITY,
    )
    os.chdir(repo)
