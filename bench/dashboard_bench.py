"""Benchmark the dashboard (`shopfloor dashboard`) against the speed targets of issue 16.

Run it as ``.venv/bin/python bench/dashboard_bench.py [--quick]``. It builds a temporary
repository whose tracker holds 10,000 generated issues (``tracker_bench.generate``) and 8 live
workers, starts ``shopfloor dashboard`` on it as a real process, and prints one table of medians
with PASS/FAIL against each target (also written to ``bench/results/dashboard.json``). A missed
target is reported, never raised.

Measures:
- the floor page's first load: a GET of ``/`` on a new connection, whole response read
  (< 300 ms); baseline: a GET of a static file from the same server, interleaved. With
  Playwright and chromium present, also in a real browser: from navigation start to the load
  event, the page's own script and style included;
- an update's latency: a worker row changed (its context reading, committed by another
  process's connection, as a shim does) to the ``floor`` event that shows it arriving on an open
  ``/events/floor`` stream (< 1 s);
- the idle server's CPU over a window (10 s; 3 s with ``--quick``), from ``/proc/PID/stat``,
  with no client and with one open event stream (< 1% of a core).

The 8 workers are rows whose shim pid is a live ``sleep`` process of this bench, so the
dashboard sees them running; nothing else writes while the idle CPU is read.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import CLI, bench_env, publish
from shopfloor.tracker import db
from shopfloor.tracker.clock import iso
from shopfloor.workers import procs, records
from shopfloor.workers.records import Worker
from tracker_bench import db_file_of, generate, make_repo, populate

TICKS = os.sysconf("SC_CLK_TCK")
ISSUES = 10_000
WORKERS = 8
TOKEN = "bench-token-0123456789abcdef"  # given through the environment (SHOPFLOOR_DASHBOARD_TOKEN)


# ---------------------------------------------------------------- the tracker


def add_workers(repo: Path, count: int) -> tuple[list[str], list[subprocess.Popen[bytes]]]:
    """``count`` running worker rows on in-progress issues, each with a live stand-in shim."""
    conn = db.connect(db_file_of(repo), create=False)
    shims: list[subprocess.Popen[bytes]] = []
    names: list[str] = []
    try:
        issues = [r[0] for r in conn.execute("SELECT id FROM issues WHERE status = 'in_progress' LIMIT ?", (count,))]
        with db.transaction(conn):
            for n, issue in enumerate(issues):
                shim = subprocess.Popen(["sleep", "3600"])
                shims.append(shim)
                worker = Worker(
                    name=issue,
                    issue=issue,
                    actor=f"worker/{issue}",
                    branch=f"floor/{issue}",
                    worktree=str(repo.parent / "ws" / issue),
                    agent="scripted",
                    state="running",
                    terminal="detached",
                    log_dir=str(repo.parent / "logs" / issue),
                    started_at=iso(time.time() - 60 * (n + 1)),
                    session_id=f"session-{n}",
                    context_tokens=10_000 * (n + 1),
                    context_window=200_000,
                    context_used=0.05 * (n + 1),
                    tokens=20_000 * (n + 1),
                    cost_usd=0.12 * (n + 1),
                    pid=shim.pid,
                    pid_start=procs.start_time(shim.pid),
                    last_event="tool Bash pytest -q tests/test_parser.py",
                    last_event_at=iso(time.time()),
                )
                records.insert(conn, worker)
                names.append(issue)
    finally:
        conn.close()
    return names, shims


def change_worker(repo: Path, name: str, n: int) -> str:
    """What a shim does when its agent reports a tool call: one committed update of the worker's
    row (its last event and context reading); the event's text, which its card shows."""
    text = f"tool Bash echo change-{n}"
    conn = sqlite3.connect(db_file_of(repo), timeout=10)
    try:
        with conn:
            conn.execute(
                "UPDATE workers SET last_event = ?, last_event_at = ?, context_tokens = ?, context_used = ? "
                "WHERE name = ?",
                (text, iso(time.time()), 20_000 + n, (20_000 + n) / 200_000, name),
            )
        return text.removeprefix("tool ")
    finally:
        conn.close()


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_dashboard(repo: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    server = subprocess.Popen(
        [CLI, "dashboard", "--port", str(port)],
        cwd=repo,
        env=env | {"SHOPFLOOR_DASHBOARD_TOKEN": TOKEN},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            said = server.stderr.read().decode() if server.stderr else ""
            raise SystemExit(f"shopfloor dashboard exited {server.returncode}: {said}")
        try:
            get(port, "/")
            return server, port
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("shopfloor dashboard did not answer within 60 s")


def get(port: int, path: str) -> bytes:
    """One GET on a new connection, the whole body read."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"GET {path}: {response.status} {body[:300]!r}")
        return body
    finally:
        conn.close()


def interleaved(port: int, paths: list[str], runs: int) -> list[list[float]]:
    """Seconds of each GET, the paths taking turns, after one warm-up round."""
    for path in paths:
        get(port, path)
    times: list[list[float]] = [[] for _ in paths]
    for _ in range(runs):
        for i, path in enumerate(paths):
            start = time.perf_counter()
            get(port, path)
            times[i].append(time.perf_counter() - start)
    return times


class Stream:
    """An open ``/events/floor`` stream read on a thread: each ``floor`` event's data and arrival."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request("GET", "/events/floor", headers={"Accept": "text/event-stream"})
        self.response = self.conn.getresponse()
        self.events: list[tuple[float, str]] = []
        self.lock = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        data: list[str] = []
        name = ""
        try:
            for raw in self.response:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
                elif not line:
                    if name == "floor":
                        with self.lock:
                            self.events.append((time.perf_counter(), "\n".join(data)))
                            self.lock.notify_all()
                    data, name = [], ""
        except (OSError, ValueError, AttributeError):  # closed under the reader (http.client drops its fp)
            return

    def wait_for(self, after: int, text: str, timeout: float = 10.0) -> float | None:
        """The arrival time of the first event past index ``after`` holding ``text``."""
        deadline = time.perf_counter() + timeout
        with self.lock:
            while True:
                for at, body in self.events[after:]:
                    if text in body:
                        return at
                left = deadline - time.perf_counter()
                if left <= 0:
                    return None
                self.lock.wait(left)

    def close(self) -> None:
        self.conn.close()


def sse_latency(repo: Path, port: int, worker: str, runs: int) -> list[float]:
    stream = Stream(port)
    try:
        if stream.wait_for(0, worker) is None:
            raise SystemExit("the event stream sent no floor event naming the worker")
        latencies = []
        for n in range(runs):
            seen = len(stream.events)
            time.sleep(0.3)  # changes apart, as a shim's are
            start = time.perf_counter()
            shown = change_worker(repo, worker, n)
            arrived = stream.wait_for(seen, f"change-{n}<") or stream.wait_for(seen, f"change-{n}", timeout=0.01)
            if arrived is None:
                raise SystemExit(f"no floor event showed {shown!r} within 10 s")
            latencies.append(arrived - start)
        return latencies
    finally:
        stream.close()


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as stat:
        fields = stat.read().rsplit(b")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def idle_share(pid: int, window: float) -> float:
    """The share of one core the process used over ``window`` seconds."""
    before = cpu_ticks(pid)
    start = time.perf_counter()
    time.sleep(window)
    wall = time.perf_counter() - start
    return (cpu_ticks(pid) - before) / TICKS / wall


def browser_load(port: int, runs: int) -> list[float] | None:
    """Navigation start to the load event of the floor page in chromium, or None without Playwright."""
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if chromium is None:
        return None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            times = []
            for n in range(runs + 1):
                context = browser.new_context()  # a first load: nothing cached
                page = context.new_page()
                page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
                took = page.evaluate(
                    "() => { const n = performance.getEntriesByType('navigation')[0];"
                    " return n.loadEventEnd - n.startTime; }"
                )
                context.close()
                if n:
                    times.append(float(took) / 1000)
            return times
        finally:
            browser.close()


# ---------------------------------------------------------------- the table


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and a 3 s idle window")
    args = parser.parse_args()
    runs, window = (10, 3.0) if args.quick else (30, 10.0)
    work = Path(tempfile.mkdtemp(prefix="sf-dashboard-bench-"))
    shims: list[subprocess.Popen[bytes]] = []
    server: subprocess.Popen[bytes] | None = None
    try:
        repo = make_repo(work / "repo")
        issues, events, _ = generate(ISSUES, 2 * ISSUES, seed=1)
        populate(db_file_of(repo), issues, events)
        names, shims = add_workers(repo, WORKERS)
        env = bench_env(work / "home")
        server, port = start_dashboard(repo, env)
        page = get(port, "/").decode()
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
        if not assets:
            raise SystemExit("the floor page names no /static/ asset to use as the baseline")
        shown = sum(f'data-worker="{name}"' in page for name in names)
        if f'data-testid="count-total" data-count="{ISSUES}"' not in page or shown != WORKERS:
            raise SystemExit(f"the floor page does not show {ISSUES} issues and {WORKERS} workers")
        print(f"  {ISSUES} issues, {len(names)} workers ({shown} on the page); baseline {assets[0]}", flush=True)
        floor_t, static_t = interleaved(port, ["/", assets[0]], runs)
        floor_ms, static_ms = statistics.median(floor_t), statistics.median(static_t)
        in_browser = browser_load(port, max(5, runs // 3))
        latencies = sse_latency(repo, port, names[0], max(5, runs // 3))
        time.sleep(1.0)
        idle_alone = idle_share(server.pid, window)
        stream = Stream(port)
        time.sleep(1.0)
        idle_watched = idle_share(server.pid, window)
        stream.close()
        rows: list[tuple[str, ...]] = [
            (
                "floor page GET /, 10k issues, 8 workers",
                ms(floor_ms),
                f"{ms(static_ms)} (static file)",
                f"{floor_ms / static_ms:.1f}x",
                "< 300 ms",
                verdict(floor_ms < 0.3),
            ),
        ]
        if in_browser:
            load = statistics.median(in_browser)
            rows.append(
                ("floor page in chromium, to the load event", ms(load), "-", "-", "< 300 ms", verdict(load < 0.3))
            )
        latency = statistics.median(latencies)
        rows.append(
            (
                "SSE: worker row change -> floor event",
                ms(latency),
                f"{ms(live_step())} (poll step)",
                f"{latency / live_step():.1f}x",
                "< 1 s",
                verdict(latency < 1.0),
            )
        )
        for label, share in (("idle CPU, no client", idle_alone), ("idle CPU, one open stream", idle_watched)):
            rows.append((f"{label} ({window:g} s)", f"{share:.2%} of a core", "-", "-", "< 1%", verdict(share < 0.01)))
        publish(
            "dashboard",
            ("measure", "median", "baseline", "ratio", "target", "verdict"),
            rows,
            runs=runs,
            floor_s=floor_t,
            static_s=static_t,
            browser_s=in_browser,
            sse_s=latencies,
            idle={"alone": idle_alone, "one_stream": idle_watched, "window_s": window},
            cpus=os.cpu_count(),
        )
        return 0
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(timeout=10)
        for shim in shims:
            shim.kill()
            shim.wait()
        shutil.rmtree(work, ignore_errors=True)


def live_step() -> float:
    from shopfloor.dashboard.live import STEP_S

    return STEP_S


if __name__ == "__main__":
    sys.exit(main())
