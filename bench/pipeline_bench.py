"""Benchmark the floor as a pipeline (issue 13): throughput, gate pool, latency, 50 workers, gate runs.

Run it as ``.venv/bin/python bench/pipeline_bench.py [--runs 3] [--quick] [--only ROW]``. Each
*case* builds a fresh sample repository (N independent issues, a scripted agent that sleeps A
seconds then writes and commits one file, one configured gate check taking G seconds) and runs
the coordinator (``floor.coordinator.run``, the scripted agent, detached terminal, until idle)
in a subprocess of this script (``--one CASE --json``), so no environment or cwd leaks from one
run into the next. Every figure is the median over ``--runs`` runs of its case. A case fails
loudly (exit status 1) when not every issue merged.

Rows (``--only`` takes 1, 1a, 1b, 2, 3, 4 or 5):
1. throughput against the pipelined bound ``ceil(N/W)*(A+G) + G`` with a sleep-bound gate
   (``sleep G``; ``true`` for G=0): (a) N=16 W=8 A=4 G=4, (b) N=50 W=50 A=20 G=0; target <= 1.3x.
2. a CPU-bound gate (a check that burns G=3 s of one core's CPU time), N=8 W=4 A=1: wall time
   with ``gate_jobs=1`` against ``gate_jobs=None`` (the floor's default).
3. latency while gates run (N=16 W=8, agents ending 0.5 s apart, G=4 sleep, gate_jobs=8):
   agent end -> its gate start, and slot free -> next claim, median and p95.
4. 50 scripted workers (N=50 W=50 A=4 G=0): coordinator CPU per issue, RSS of shims and agents per
   worker, coordinator RSS, database commits per second.
5. gate runs (non-advisory ``gate_runs`` rows) per landed issue: case 1a, and W=1 (every branch is
   based on the target's tip when it is queued).
Results go to ``bench/results/pipeline.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import re
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from _common import bench_env, commit_turns, enter_floor, percentile, publish, sample_repo

HERE = Path(__file__).resolve()
BATCH = 4  # the queue's default batch (FloorConfig.batch)
# A check that burns ``G`` seconds of CPU time on one core: under contention it takes longer in
# wall time, as a real test suite would.
BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {g}:\n    pass\n"


@dataclass(frozen=True)
class Case:
    n: int  # issues
    w: int  # workers
    agent_s: float  # A: the scripted agent sleeps this long before writing and committing its file
    gate_s: float  # G
    gate: str = "sleep"  # sleep (sleep-bound), cpu (burns one core), true (G = 0)
    gate_jobs: int | None = None
    stagger_s: float = 0.0  # issue i's agent sleeps agent_s + (i % w) * stagger_s
    sample: bool = False  # sample /proc for the RSS of shims and agents
    batch: int = BATCH  # the queue's batch; W: one queue gate per wave, the bound's own model
    chain: bool = False  # each issue depends on the one before: each branch starts on the tip


CASES = {
    "1a": Case(16, 8, 4, 4, "sleep", gate_jobs=8),
    "1aw": Case(16, 8, 4, 4, "sleep", gate_jobs=8, batch=8),
    "1b": Case(50, 50, 20, 0, "true", gate_jobs=50),
    "2j1": Case(8, 4, 1, 3, "cpu", gate_jobs=1),
    "2jd": Case(8, 4, 1, 3, "cpu", gate_jobs=None),
    "3": Case(16, 8, 2, 4, "sleep", gate_jobs=8, stagger_s=0.5),
    "4": Case(50, 50, 4, 0, "true", gate_jobs=50, sample=True),
    "5tip": Case(6, 1, 1, 1, "sleep", gate_jobs=1, chain=True),
}
QUICK = {
    "1a": Case(8, 4, 2, 2, "sleep", gate_jobs=4),
    "1aw": Case(8, 4, 2, 2, "sleep", gate_jobs=4, batch=4),
    "1b": Case(16, 16, 5, 0, "true", gate_jobs=16),
    "2j1": Case(4, 2, 1, 2, "cpu", gate_jobs=1),
    "2jd": Case(4, 2, 1, 2, "cpu", gate_jobs=None),
    "3": Case(10, 6, 1, 3, "sleep", gate_jobs=6, stagger_s=0.5),
    "4": Case(16, 16, 2, 0, "true", gate_jobs=16, sample=True),
    "5tip": Case(3, 1, 0.5, 0.5, "sleep", gate_jobs=1, chain=True),
}
ROWS = {"1a": ["1a", "1aw"], "1b": ["1b"], "2": ["2j1", "2jd"], "3": ["3"], "4": ["4"], "5": ["1a", "5tip"]}


def bound(case: Case) -> float:
    return math.ceil(case.n / case.w) * (case.agent_s + case.gate_s) + case.gate_s


# ---------------------------------------------------------------- one case, in a child process


def stamp(text: str) -> float:
    """``shopfloor.tracker.clock.epoch``, which ``--rev`` cannot import from commits before it."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def gate_toml(case: Case) -> str:
    if case.gate == "true" or case.gate_s <= 0:
        argv = ["true"]
    elif case.gate == "sleep":
        argv = ["sleep", f"{case.gate_s:g}"]
    else:
        argv = [sys.executable, "-c", BURN.format(g=case.gate_s)]
    return (
        '\n[gate]\nbuiltins = ["diff-size"]\n\n[[gate.check]]\nname = "work"\n'
        f"argv = {json.dumps(argv)}\ntimeout = 600\n"
    )


def setup(work: Path, case: Case) -> Path:
    env = bench_env(work / "home", actor="planner")
    sample = sample_repo(work, "pb", env=env, gate=gate_toml(case), issues=case.n)
    if case.chain:
        for before, after in itertools.pairwise(sample.issues):
            sample.cli("dep", "add", after, before)
    scripts = [
        {"match": issue, "turns": commit_turns(issue, case.agent_s + (i % case.w) * case.stagger_s)}
        for i, issue in enumerate(sample.issues)
    ]
    (work / "scenario.json").write_text(json.dumps({"scripts": scripts}))
    return sample.repo


READ_SHM = (
    "import struct, sys\n"
    "head = open(sys.argv[1], 'rb').read(12)\n"
    "print(struct.unpack('=III', head)[2] if len(head) == 12 else '')\n"
)


def commits(db_file: str) -> int | None:
    """SQLite's WAL-index change counter (``iChange`` in the ``-shm`` header): it goes up by one
    for every write transaction any connection commits, and a checkpoint does not reset it.

    Read in a child process: closing any descriptor of the ``-shm`` file drops *every* POSIX lock
    this process holds on it, SQLite's own included; another process then takes the database
    for unused, truncates the ``-shm``, and the floor's connections die of SIGBUS on its map."""
    try:
        out = subprocess.run(
            [sys.executable, "-c", READ_SHM, db_file + "-shm"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return int(out) if out.isdigit() else None


def descendants(root: int) -> list[int]:
    kids: dict[int, list[int]] = defaultdict(list)
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        kids[int(stat[stat.rfind(")") + 2 :].split()[1])].append(int(name))
    out, todo = [], [root]
    while todo:
        for child in kids.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def memory_of(pid: int) -> tuple[str, int, int] | None:
    """(kind, RSS kB, PSS kB) of one process: shim, agent, bwrap, or other (git, sh, sleep, checks)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmd = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
        with open(f"/proc/{pid}/comm") as handle:
            comm = handle.read().strip()
        rss = pss = 0
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        return None
    if comm == "bwrap":
        kind = "bwrap"
    elif "shopfloor.workers.shim" in cmd:
        kind = "shim"
    elif "scripted_agent" in cmd:
        kind = "agent"
    else:
        kind = "other"
    return kind, rss, pss


def one(name: str, case: Case) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="sfpb"))
    (work / "home").mkdir()
    try:
        repo = setup(work, case)
        return floor_run(work, repo, case, name)
    finally:
        os.chdir("/")
        for pid in descendants(os.getpid()):  # a failed run leaves no shim or agent behind
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


def floor_run(work: Path, repo: Path, case: Case, name: str) -> dict[str, Any]:
    from shopfloor.floor.coordinator import FloorConfig, run
    from shopfloor.tracker.service import Tracker

    enter_floor(work, repo)
    tracker = Tracker.open("floor", str(repo))
    db_file = tracker.location.db_file
    lines: list[tuple[float, str]] = []
    generations: dict[tuple[str, int], dict[str, Any]] = {}  # (issue, generation) -> started/ended
    samples: list[dict[str, Any]] = []
    bench_cpu: list[float] = []  # CPU time of the bench's own threads, taken out of the coordinator's
    stop = threading.Event()

    def watch() -> None:  # worker rows are deleted when their issue lands: keep what they said
        conn = sqlite3.connect(db_file, timeout=30)
        while not stop.is_set():
            rows = conn.execute("SELECT issue, generation, state, started_at, ended_at FROM workers").fetchall()
            for issue, generation, state, started, ended in rows:
                seen = generations.setdefault((issue, generation), {"started_at": started})
                if ended and state != "running" and "ended_at" not in seen:
                    seen.update(ended_at=ended, state=state, seen_at=time.time())
            time.sleep(0.02)
        conn.close()
        bench_cpu.append(time.thread_time())

    def sample() -> None:  # RSS of this process's descendants: shims, bwrap, agents, checks
        me = os.getpid()
        while not stop.wait(0.5):
            sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
            for pid in descendants(me):
                got = memory_of(pid)
                if got is not None:
                    kind, rss, pss = got
                    sums[kind][0] += 1
                    sums[kind][1] += rss
                    sums[kind][2] += pss
            samples.append({"t": time.time(), **{k: v for k, v in sums.items()}})
        bench_cpu.append(time.thread_time())

    threads = [threading.Thread(target=watch, daemon=True)]
    if case.sample:
        threads.append(threading.Thread(target=sample, daemon=True))
    for thread in threads:
        thread.start()
    hold = sqlite3.connect(db_file)  # keeps the -shm (and its counter) alive for the whole run
    commits0 = commits(db_file)
    events0 = tracker.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
    cpu0, t0 = time.process_time(), time.time()
    cfg = FloorConfig(
        workers=case.w,
        agent="scripted",
        terminal="detached",
        until_idle=True,
        batch=case.batch,
        gate_jobs=case.gate_jobs,
    )
    error = None
    try:
        run(tracker, cfg, lambda line: lines.append((time.time(), line)))
    except BaseException as exc:  # reported below, with what the floor said
        error = f"{type(exc).__name__}: {exc}"
    t1 = time.time()
    cpu = time.process_time() - cpu0
    commits1 = commits(db_file)
    stop.set()
    for thread in threads:
        thread.join()
    cpu -= sum(bench_cpu)
    hold.close()
    conn = tracker.conn
    merged = conn.execute("SELECT COUNT(*) FROM queue_entries WHERE state = 'merged'").fetchone()[0]
    statuses = dict(conn.execute("SELECT status, COUNT(*) FROM issues GROUP BY status").fetchall())
    if error or merged != case.n:
        tail = "\n".join(f"  {t - t0:7.2f} {line}" for t, line in lines[-15:])
        raise SystemExit(
            f"case {name}: {merged} of {case.n} issues merged (issues by status: {statuses})"
            + (f"; the floor raised {error}" if error else "")
            + f"\nthe floor's last lines:\n{tail}"
        )
    gates = [
        {
            "issue": issue,
            "attempt": attempt,
            "end": stamp(created),
            "start": stamp(created) - float(duration),
            "cached": bool(cached),
        }
        for issue, attempt, created, duration, cached in conn.execute(
            "SELECT issue, attempt, created_at, duration_s, cached FROM gate_runs WHERE advisory = 0 ORDER BY id"
        )
    ]
    claims = sorted(stamp(at) for (at,) in conn.execute("SELECT at FROM events WHERE kind = 'claimed'"))
    # A slot frees when its issue leaves in_progress (blocked, or landed), or, sooner, when its pass
    # is recorded: a change in the merge queue runs no agent and takes no slot.
    freed: dict[str, float] = {}
    for issue, at in conn.execute(
        "SELECT issue, at FROM events WHERE field = 'status' AND old = 'in_progress' AND new != 'in_progress'"
    ):
        freed[issue] = min(freed.get(issue, math.inf), stamp(at))
    for issue, created in conn.execute(
        "SELECT issue, created_at FROM gate_runs WHERE advisory = 0 AND attempt IS NOT NULL AND verdict = 'pass'"
    ):
        freed[issue] = min(freed.get(issue, math.inf), stamp(created))
    frees = sorted(freed.values())
    events = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0] - events0
    tracker.close()
    return measures(case, t0, t1, cpu, merged, lines, generations, gates, claims, frees, samples) | {
        "commits": (commits1 - commits0) if commits0 is not None and commits1 is not None else None,
        "events": events,
        "coordinator_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "code": str(Path(sys.modules["shopfloor"].__file__ or "").parent),  # which shopfloor ran
    }


def in_flight(gates: list[dict[str, Any]], at: float) -> int:
    return sum(1 for g in gates if g["start"] <= at < g["end"])


def measures(
    case: Case,
    t0: float,
    t1: float,
    cpu: float,
    merged: int,
    lines: list[tuple[float, str]],
    generations: dict[tuple[str, int], dict[str, Any]],
    gates: list[dict[str, Any]],
    claims: list[float],
    frees: list[float],
    samples: list[dict[str, Any]],
) -> dict[str, Any]:
    wall = t1 - t0
    attempt_gates = [g for g in gates if g["attempt"]]
    queue_gates = [g for g in gates if not g["attempt"]]
    # agent end -> its gate start: the shim's own stamp of the agent's end (the worker row's
    # ended_at, written with state 'done') to the start of the attempt's gate run (gate_runs:
    # created_at - duration_s, the gate service's own clock). Cross-check: the floor's progress
    # line "<id>: the agent finished; gating" as this callback received it.
    announced: dict[str, list[float]] = defaultdict(list)
    for t, line in lines:
        found = re.match(r"(\S+): .*\bgating\b", line)
        if found:
            announced[found.group(1)].append(t)
    ends: dict[str, list[float]] = defaultdict(list)
    agent_s = []
    for (issue, _gen), row in sorted(generations.items()):
        if row.get("state") == "done" and row.get("ended_at"):
            ends[issue].append(stamp(row["ended_at"]))
            agent_s.append(stamp(row["ended_at"]) - stamp(row["started_at"]))
    to_gate, to_line, busy_at_end = [], [], []
    for issue, times in ends.items():
        starts = sorted(g["start"] for g in attempt_gates if g["issue"] == issue)
        for end in times:
            later = [s for s in starts if s >= end - 0.001]
            if later:
                to_gate.append(later[0] - end)
                busy_at_end.append(in_flight(gates, end))
            heard = [t for t in announced.get(issue, []) if t >= end - 0.001]
            if heard:
                to_line.append(heard[0] - end)
    # slot free -> next claim: the k-th claim after the first W fills the k-th slot freed.
    to_claim = [c - f for f, c in zip(frees, claims[case.w :], strict=False)]
    busy_at_free = [in_flight(gates, f) for f, _ in zip(frees, claims[case.w :], strict=False)]
    peak: dict[str, Any] = {}
    if samples:
        best = max(samples, key=lambda s: s.get("shim", [0, 0, 0])[1] + s.get("agent", [0, 0, 0])[1])
        peak = {k: v for k, v in best.items() if k != "t"}
    first_wave = claims[: min(case.w, case.n)]
    return {
        "case": asdict(case),
        "wall_s": wall,
        "bound_s": bound(case),
        "ratio": wall / bound(case),
        "cpu_s": cpu,
        "merged": merged,
        "cpu_per_issue_ms": cpu / merged * 1000,
        "agent_median_s": statistics.median(agent_s) if agent_s else None,
        "first_claim_s": claims[0] - t0 if claims else None,
        "first_wave_spread_s": first_wave[-1] - first_wave[0] if first_wave else None,
        "last_claim_s": claims[-1] - t0 if claims else None,
        "last_agent_end_s": max((max(t) for t in ends.values()), default=t0) - t0,
        "last_gate_end_s": max((g["end"] for g in gates), default=t0) - t0,
        "gate_runs": len(gates),
        "attempt_gate_runs": len(attempt_gates),
        "queue_gate_runs": len(queue_gates),
        "cached_gate_runs": sum(1 for g in gates if g["cached"]),
        "gate_runs_per_issue": len(gates) / merged,
        "executed_gate_runs_per_issue": sum(1 for g in gates if not g["cached"]) / merged,
        "attempt_gate_s": sum(g["end"] - g["start"] for g in attempt_gates),
        "queue_gate_s": sum(g["end"] - g["start"] for g in queue_gates),
        "max_gates_at_once": max((in_flight(gates, g["start"] + 1e-6) for g in gates), default=0),
        "end_to_gate_median_s": statistics.median(to_gate) if to_gate else None,
        "end_to_gate_p95_s": percentile(to_gate, 0.95) if to_gate else None,
        "end_to_gate_samples": len(to_gate),
        "end_to_line_median_s": statistics.median(to_line) if to_line else None,
        "gates_at_agent_end_median": statistics.median(busy_at_end) if busy_at_end else None,
        "free_to_claim_median_s": statistics.median(to_claim) if to_claim else None,
        "free_to_claim_p95_s": percentile(to_claim, 0.95) if to_claim else None,
        "free_to_claim_samples": len(to_claim),
        "gates_at_free_median": statistics.median(busy_at_free) if busy_at_free else None,
        "peak_memory": peak,  # kind -> [processes, RSS kB, PSS kB] at the sample with most shim+agent RSS
        "progress_lines": len(lines),
    }


# ---------------------------------------------------------------- the parent: runs, medians, table


def run_case(name: str, quick: bool, src: str | None) -> dict[str, Any]:
    case = (QUICK if quick else CASES)[name]
    argv = [sys.executable, str(HERE), "--one", name, "--json"] + (["--quick"] if quick else [])
    env = {**os.environ, "PYTHONPATH": src} if src else None  # the floor, shims and agents all import it
    limit = 20 * bound(case) + 300
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, env=env
    )
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise SystemExit(f"case {name}: no result after {limit:.0f} s; stderr:\n{err[-3000:]}") from None
    found = [line for line in out.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not found:
        raise SystemExit(f"case {name} failed (exit status {proc.returncode}):\n{err[-4000:]}")
    result: dict[str, Any] = json.loads(found[-1][len("RESULT ") :])
    return result


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            values = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
            out[key] = statistics.median(values)
    return out


def ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 1000:.0f} ms"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def table_rows(got: dict[str, dict[str, Any]], quick: bool) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for key in ("1a", "1aw", "1b"):
        if key in got:
            r, c = got[key], Case(**got[key]["case"])
            jobs = f"gate_jobs={c.gate_jobs}" if c.gate_jobs else "gate_jobs default"
            what = f"sleep {c.gate_s:g}" if c.gate == "sleep" else c.gate
            rows.append(
                (
                    f"{key}. throughput N={c.n} W={c.w} A={c.agent_s:g} G={c.gate_s:g} batch={c.batch}",
                    f"{r['wall_s']:.1f} s = {r['ratio']:.2f}x",
                    "<= 1.3x bound",
                    f"bound ceil(N/W)(A+G)+G = {r['bound_s']:.0f} s; gate `{what}` (no cores used), {jobs}, "
                    f"batch {c.batch}; agent took {r['agent_median_s']:.1f} s median",
                    verdict(r["ratio"] <= 1.3),
                )
            )
    if "2j1" in got and "2jd" in got:
        one_job, default = got["2j1"], got["2jd"]
        c = Case(**one_job["case"])
        ratio = default["wall_s"] / one_job["wall_s"]
        rows.append(
            (
                f"2. CPU-bound gate N={c.n} W={c.w} A={c.agent_s:g} G={c.gate_s:g}",
                f"{one_job['wall_s']:.1f} s (1 job) / {default['wall_s']:.1f} s (default) = {ratio:.2f}",
                "default <= 1.05x of 1 job",
                f"check burns {c.gate_s:g} s CPU of one core; {os.cpu_count()} cores; "
                f"most gates at once: {one_job['max_gates_at_once']} / {default['max_gates_at_once']}",
                verdict(ratio <= 1.05),
            )
        )
    if "3" in got:
        r, c = got["3"], Case(**got["3"]["case"])
        setting = f"N={c.n} W={c.w} G={c.gate_s:g} sleep, agents end {c.stagger_s:g} s apart"
        rows.append(
            (
                "3. agent end -> gate start (median / p95)",
                f"{ms(r['end_to_gate_median_s'])} / {ms(r['end_to_gate_p95_s'])}",
                "p95 < 500 ms",
                f"{setting}; worker row ended_at (shim) -> gate_runs start (created_at - duration_s); "
                f"{r['end_to_gate_samples']} samples, {r['gates_at_agent_end_median']} gate(s) running at "
                f"the agent's end (median); to the floor's 'gating' line: {ms(r['end_to_line_median_s'])}",
                verdict(r["end_to_gate_p95_s"] is not None and r["end_to_gate_p95_s"] < 0.5),
            )
        )
        rows.append(
            (
                "3. slot free -> next claim (median / p95)",
                f"{ms(r['free_to_claim_median_s'])} / {ms(r['free_to_claim_p95_s'])}",
                "p95 < 500 ms",
                f"a pass recorded (its change queued) or the issue leaving in_progress -> the k-th claim after "
                "the first W (events 'claimed'); "
                f"{r['free_to_claim_samples']} samples, {r['gates_at_free_median']} gate(s) running (median)",
                verdict(r["free_to_claim_p95_s"] is not None and r["free_to_claim_p95_s"] < 0.5),
            )
        )
    if "4" in got:
        r, c = got["4"], Case(**got["4"]["case"])
        peak = r["peak_memory"]
        shim, agent, wrap = (peak.get(k, [0, 0, 0]) for k in ("shim", "agent", "bwrap"))
        per_worker = (shim[1] + agent[1]) / 1024 / c.w
        rows += [
            (
                f"4. coordinator CPU per issue (N={c.n} W={c.w} A={c.agent_s:g})",
                f"{r['cpu_per_issue_ms']:.0f} ms",
                "printed",
                f"{r['cpu_s']:.1f} s CPU of this process (loop, gate and queue threads; bench threads taken out) "
                f"over {r['merged']} merged, {r['wall_s']:.1f} s wall",
                "info",
            ),
            (
                "4. RSS of shims + agents per worker",
                f"{per_worker:.0f} MB",
                "printed",
                f"peak sample (/proc every 0.5 s): {shim[0]} shims {shim[1] / 1024:.0f} MB + {agent[0]} agents "
                f"{agent[1] / 1024:.0f} MB RSS (PSS {(shim[2] + agent[2]) / 1024 / c.w:.0f} MB/worker); "
                f"{wrap[0]} bwrap {wrap[1] / 1024:.0f} MB not counted",
                "info",
            ),
            (
                "4. coordinator peak RSS",
                f"{r['coordinator_maxrss_mb']:.0f} MB",
                "printed",
                "ru_maxrss of the process running the floor (includes the bench's own threads)",
                "info",
            ),
            (
                "4. database writes per second",
                "n/a" if r["commits"] is None else f"{r['commits'] / r['wall_s']:.0f} commits/s",
                "printed",
                f"{r['commits']} write transactions by every process (WAL-index iChange counter) and "
                f"{r['events']} event rows over {r['wall_s']:.1f} s",
                "info",
            ),
        ]
    if "5tip" in got:
        for key in ("1a", "5tip"):
            if key not in got:
                continue
            r, c = got[key], Case(**got[key]["case"])
            tip = key == "5tip"
            rows.append(
                (
                    f"5. gate runs per landed issue ({'W=1: based on the tip' if tip else 'case 1a'}, N={c.n})",
                    f"{r['gate_runs_per_issue']:.2f} ({r['executed_gate_runs_per_issue']:.2f} executed)",
                    "<= 1.1" if tip else "printed",
                    f"{r['attempt_gate_runs']} attempt + {r['queue_gate_runs']} queue runs over {r['merged']} "
                    f"merged; {r['cached_gate_runs']} replayed from the cache",
                    verdict(r["gate_runs_per_issue"] <= 1.1) if tip else "info",
                )
            )
    if quick:
        rows = [(m + " [quick]", v, t, n, p) for m, v, t, n, p in rows]
    return rows


def where_time_goes(name: str, r: dict[str, Any]) -> str:
    return (
        f"  {name}: wall {r['wall_s']:.1f} s (bound {r['bound_s']:.0f} s); "
        f"first claim after {r['first_claim_s']:.2f} s, "
        f"first wave claimed over {r['first_wave_spread_s']:.2f} s, last claim at {r['last_claim_s']:.1f} s; "
        f"agent {r['agent_median_s']:.1f} s median, the last one ended at {r['last_agent_end_s']:.1f} s; "
        f"last gate ended at {r['last_gate_end_s']:.1f} s; "
        f"gates: {r['attempt_gate_runs']} attempt ({r['attempt_gate_s']:.1f} s), {r['queue_gate_runs']} queue "
        f"({r['queue_gate_s']:.1f} s), at most {r['max_gates_at_once']} at once; "
        f"CPU {r['cpu_per_issue_ms']:.0f} ms/issue"
    )


def export(rev: str) -> Path:
    """``src/`` of ``rev`` in a temporary directory (a commit's code, whatever the work tree holds)."""
    exported = Path(tempfile.mkdtemp(prefix="sfpb-src"))
    archive = subprocess.run(["git", "archive", rev, "src"], cwd=HERE.parent.parent, capture_output=True)
    if archive.returncode != 0:
        shutil.rmtree(exported, ignore_errors=True)
        raise SystemExit(f"--rev {rev}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(exported)], input=archive.stdout, check=True)
    return exported


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per case; figures are medians")
    parser.add_argument("--quick", action="store_true", help="smaller cases, for a smoke run")
    parser.add_argument("--only", choices=["1", *ROWS], help="run one row")
    parser.add_argument("--rev", help="measure the shopfloor of this commit (its src/, exported), not the work tree's")
    parser.add_argument("--one", choices=list(CASES), help=argparse.SUPPRESS)  # a child: one run of one case
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        result = one(args.one, (QUICK if args.quick else CASES)[args.one])
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    wanted = ["1a", "1b"] if args.only == "1" else [args.only] if args.only else list(ROWS)
    names = list(dict.fromkeys(case for row in wanted for case in ROWS[row]))
    got: dict[str, dict[str, Any]] = {}
    started = time.monotonic()
    exported = export(args.rev) if args.rev else None
    src = str(exported / "src") if exported else None
    print(f"shopfloor: {f'src/ of {args.rev} (exported to {src})' if src else 'the work tree'}", flush=True)
    try:
        for name in names:
            runs = []
            for k in range(args.runs):
                t = time.monotonic()
                runs.append(run_case(name, args.quick, src))
                took = time.monotonic() - t
                print(f"  case {name} run {k + 1}/{args.runs}: {took:.0f} s", file=sys.stderr, flush=True)
            got[name] = median_of(runs) | {"runs": runs}
            print(where_time_goes(name, got[name]), flush=True)
    finally:
        if exported:
            shutil.rmtree(exported, ignore_errors=True)
    total = time.monotonic() - started
    publish(
        f"pipeline-{args.only}" if args.only else "pipeline",
        ("measure", "value", "target", "notes", "PASS/FAIL"),
        table_rows(got, args.quick),
        rev=args.rev,
        runs_per_case=args.runs,
        quick=args.quick,
        total_s=total,
        cases=got,
    )
    print(f"({args.runs} run(s) per case, {total:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
