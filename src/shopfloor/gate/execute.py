"""Running the configured checks on one commit, in a fresh worktree of it, in parallel.

Setup commands run first, once each and one at a time (two checks sharing ``npm ci`` must not
run it at the same time in the same tree); then the checks run in parallel. A failing check
is run once more to tell a flaky check from a failing one. An interrupted gate kills every
check it started before it removes the worktree.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from shopfloor import git
from shopfloor.gate import runner
from shopfloor.gate.config import Check
from shopfloor.gate.confine import prefix as sandbox_prefix
from shopfloor.gate.environment import check_env, guard_dir, scrub_bytecode
from shopfloor.gate.results import CheckResult
from shopfloor.gate.verdict import after_retry
from shopfloor.progress import Progress

JOBS_ENV = "SHOPFLOOR_GATE_JOBS"


def jobs() -> int:
    """How many checks run at once: the number of cores, or $SHOPFLOOR_GATE_JOBS."""
    wanted = os.environ.get(JOBS_ENV, "")
    return int(wanted) if wanted.isdigit() and int(wanted) > 0 else max(1, os.cpu_count() or 1)


def _setups(
    checks: list[Check],
    worktree: Path,
    env: dict[str, str],
    confined: list[str],
    progress: Progress,
    group: runner.Group | None = None,
) -> dict[str, CheckResult]:
    """Run each distinct setup once, in order; returns an error result for each check whose setup failed."""
    failed: dict[str, CheckResult] = {}
    done: dict[tuple[tuple[str, ...], ...], tuple[runner.Outcome, str]] = {}
    for check in checks:
        if not check.setup:
            continue
        if check.setup not in done:
            progress(f"setting up for {check.name} ...")
            started = time.monotonic()
            outcome, out = runner.run_setup(check, worktree, env, confined, group)
            done[check.setup] = (outcome, out.text())
            if outcome.status != "pass":
                failed[check.name] = runner.finish(check.name, outcome.status, outcome.code, out.text(), started)
        else:
            outcome, text = done[check.setup]
            if outcome.status != "pass":
                failed[check.name] = runner.finish(check.name, outcome.status, outcome.code, text, time.monotonic())
    return failed


def run_on(
    repo: Path, commit: str, checks: list[Check], run_dir: Path, progress: Progress, retry: bool
) -> list[CheckResult]:
    """Check out ``commit`` in a fresh worktree and run ``checks`` there."""
    if not checks:
        return []
    worktree = run_dir / "wt"
    git.add_worktree(repo, worktree, commit)
    scrub_bytecode(worktree)
    named = tuple(sorted({name for check in checks for name in check.env}))
    env = check_env(worktree, guard_dir(run_dir), named)
    try:
        writable = tuple(sorted({path for check in checks for path in check.writable}))
        confined = sandbox_prefix(repo, worktree, run_dir, env, writable)
        group = runner.Group()  # this gate's checks: killed together, and only they
        failed_setup = _setups(checks, worktree, env, confined, progress, group)

        def one(check: Check) -> CheckResult:
            if check.name in failed_setup:
                return failed_setup[check.name]
            progress(f"running {check.name} ...")
            result = runner.run_check(check, worktree, run_dir, env, confined=confined, group=group)
            if retry and result.status == "fail":
                progress(f"{check.name} failed; running it once more to tell a flaky check from a failing one")
                again = runner.run_check(check, worktree, run_dir, env, attempt=2, confined=confined, group=group)
                if after_retry(result.status, again.status) == "flaky":
                    # The first failure is the evidence; the counts are those of the passing run.
                    result = replace(again, status="flaky", excerpt=result.excerpt, signature=result.signature)
            progress(f"{check.name}: {result.status} ({result.duration_s:.1f} s)")
            return result

        pool = ThreadPoolExecutor(max_workers=jobs())
        try:
            results = list(pool.map(one, checks))
            if group.cancelled():  # killed from another thread (the floor was interrupted): no verdict
                raise runner.Interrupted("the gate was interrupted: its checks were killed, so it has no verdict")
            return results
        except BaseException:
            # An interrupt or an error: nothing this gate's checks started may outlive it. Only this
            # gate's: the gates running beside it in the floor's pool are not the failing one.
            group.kill()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        git.remove_worktree(repo, worktree)
