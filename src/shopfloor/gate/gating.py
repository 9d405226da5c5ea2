"""``gate run``: gate one revision against its base, with rules read from the base.

Configured checks run in a throw-away worktree of the candidate (in parallel, up to the
number of cores); built-in checks read the diff. Results are cached by (tree, base tree,
config hash, check), so re-gating an unchanged tree replays its verdict. Every run is a row.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

from shopfloor import git
from shopfloor.errors import NotFoundError
from shopfloor.gate import builtins, floorfiles, runlog
from shopfloor.gate.baseline import env_salt, judge, results_on
from shopfloor.gate.config import CONFIG_PATH, Check, GateConfig, parse
from shopfloor.gate.confine import mode as sandbox_mode
from shopfloor.gate.diffs import FileDiff, matches
from shopfloor.gate.diffs import combine as combine_diff
from shopfloor.gate.execute import run_on
from shopfloor.gate.junit import Counts
from shopfloor.gate.results import CheckResult, GateReport
from shopfloor.gate.trust import trusted_facts
from shopfloor.gate.verdict import after_retry, combine, own_tests, plan_for
from shopfloor.paths import gate_dir
from shopfloor.progress import Progress, quiet
from shopfloor.tracker.service import Tracker
from shopfloor.workers import procs

EXEMPT_LABEL = "allow-test-changes"
SUPPRESSIONS_LABEL = "allow-suppressions"  # exempt from the suppressions built-in
APPROVED_LABEL = "approved"


@dataclass(frozen=True)
class GateRequest:
    rev: str = "HEAD"
    base: str | None = None
    issue: str | None = None
    attempt: str | None = None
    use_cache: bool = True
    every_check: bool = False  # run checks whatever their paths (gating a target by itself)
    require_change: bool = False  # an agent's attempt: a branch with no change is a failure, not the base
    # Started from inside a worker (an agent's own run): recorded, shown, never cached, and never
    # read by the floor or the queue, which run their own gates.
    advisory: bool = False
    # The candidate is an agent's work (the queue says so for a worker branch's entry): it may not
    # change the tracker's file nor the gate's rules (gate.floorfiles).
    agent: bool = False


def repo_of(tracker: Tracker) -> Path:
    return Path(tracker.location.worktree_dir)


def load_config(repo: Path, base_commit: str, base: str) -> GateConfig:
    text = git.show(repo, base_commit, CONFIG_PATH) or ""
    return parse(text, f"{base}:{CONFIG_PATH}")


def selected(
    config: GateConfig, files: dict[str, FileDiff], fast_only: bool, every: bool = False
) -> tuple[list[Check], list[CheckResult]]:
    """The configured checks to run, and the ones skipped (by the vibe plan or their paths)."""
    run, skipped = [], []
    for check in config.checks:
        if fast_only and not check.fast:
            skipped.append(CheckResult(check.name, "skipped", excerpt="not in the fast subset (vibe 4-5)"))
        elif check.paths and not every and not any(matches(path, check.paths) for path in files):
            skipped.append(CheckResult(check.name, "skipped", excerpt="no changed file matches its paths"))
        else:
            run.append(check)
    return run, skipped


def _issue_facts(tracker: Tracker, issue: str | None) -> tuple[str | None, int | None, bool, bool, bool]:
    """(issue id, vibe, exempt from tests-not-weakened, approved, exempt from suppressions),
    trusting only what people set."""
    if issue is None:
        return None, None, False, False, False

    issue_id = tracker.resolve(issue)
    vibe, labels = trusted_facts(tracker.conn, issue_id)
    return issue_id, vibe, EXEMPT_LABEL in labels, APPROVED_LABEL in labels, SUPPRESSIONS_LABEL in labels


def resolve_base(repo: Path, wanted: str | None) -> tuple[str, str, GateConfig]:
    """The base's name, commit and rules: --base, else the configured target (read from the
    repository's main branch, or its default branch when there is no main)."""
    # Branches are named in full (refs/heads/<name>): a tag or remote-tracking ref named like
    # the target never stands in for it. A --base that is not a branch (a sha, a tag) is
    # taken as the person gave it.
    if wanted:
        commit, _ = git.resolve_named(repo, wanted, "base")
        return wanted, commit, load_config(repo, commit, wanted)
    first = "main"
    try:
        commit, _ = git.resolve_branch(repo, first, "base")
    except NotFoundError:
        first = git.default_branch(repo)
        commit, _ = git.resolve_branch(repo, first, "base")
    config = load_config(repo, commit, first)
    if config.target and config.target != first:
        commit, _ = git.resolve_branch(repo, config.target, "base (gate.target)")
        config = load_config(repo, commit, config.target)
        first = config.target if config.target else first
    return first, commit, config


def _sweep(tracker: Tracker, repo: Path) -> None:
    """Remove run directories of gates that died (their pid is gone) and forget their worktrees."""
    root = gate_dir(tracker)
    if not root.is_dir():
        return
    stale = False
    for entry in root.iterdir():
        parts = entry.name.split("-")
        if len(parts) == 3 and parts[0] == "run" and parts[1].isdigit() and not procs.is_alive(int(parts[1]), None):
            shutil.rmtree(entry, ignore_errors=True)
            stale = True
    if stale:
        git.run(repo, "worktree", "prune", check=False)


def run(
    tracker: Tracker, request: GateRequest, progress: Progress = quiet, and_then: runlog.FollowUp | None = None
) -> GateReport:
    """Gate ``request.rev`` and record the run; what ``and_then(report)`` returns is written in the
    transaction that records it (the floor records the attempt's verdict and queues a pass there)."""
    started = time.monotonic()
    repo = repo_of(tracker)
    commit, tree = git.resolve_named(repo, request.rev, "revision")  # a branch before a tag of its name
    base_name, base_commit, config = resolve_base(repo, request.base)
    issue_id, vibe, exempt, approved, allow_suppressions = _issue_facts(tracker, request.issue)
    plan = plan_for(vibe)
    _sweep(tracker, repo)
    fork = git.merge_base(repo, base_commit, commit)

    agent = floorfiles.from_agent(request.rev, agent=request.agent, attempt=request.attempt, advisory=request.advisory)
    # --- tracker-only changes (gate.trackerskip): a diff of issues.jsonl alone that adds only the
    # database's current lines is recorded as a pass, with a note, without running checks.
    from shopfloor.gate.trackerskip import skip_report

    skipped_report = skip_report(
        tracker, repo, request, commit=commit, tree=tree, base=base_name, base_commit=base_commit, fork=fork,
        config_hash=config.hash, issue=issue_id, vibe=vibe, approval_required=plan.approval, approved=approved,
        agent=agent, and_then=and_then,
    )  # fmt: skip
    if skipped_report is not None:
        return skipped_report
    # --- end of tracker-only changes
    _, fork_tree = git.resolve(repo, fork, "merge base")
    # Gating the base by itself: there is no change to blame, so every check runs (whatever its
    # paths) and each is reported as it is on the base, without the differential.
    itself = commit == base_commit
    too_large = _too_large(repo, fork, commit, config.max_file_bytes)
    name_status, patch, truncated = git.diff(repo, fork, commit, tuple(too_large))
    files = combine_diff(name_status, patch)
    empty = request.require_change and tree == fork_tree
    if empty:
        # Nothing to check: judging the base's own state would blame the agent for it, and
        # landing it would make an empty commit.
        itself = False
        to_run: list[Check] = []
        skipped = [CheckResult(c.name, "skipped", excerpt="the branch holds no change") for c in config.checks]
    else:
        to_run, skipped = selected(config, files, plan.fast_only, request.every_check or itself)
    # Results depend on the rules and on the environment the checks see (gate.environment).
    cache_key = f"{config.hash}.{env_salt(list(config.checks))}"
    trusted = not request.advisory
    cache = runlog.cached(tracker.conn, tree, fork_tree, cache_key) if request.use_cache and trusted else {}
    fresh = [c for c in to_run if c.name not in cache]
    # Beside the repository, never inside it: tools that search upward for their config (ruff,
    # pytest, mypy) must find the candidate's files, not the main tree's.
    run_dir = gate_dir(tracker) / f"run-{os.getpid()}-{time.time_ns()}"
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        computed = {r.name: r for r in run_on(repo, commit, fresh, run_dir, progress, False)}
        if itself:
            if trusted:
                salt = env_salt(fresh)
                runlog.remember_baseline(tracker.conn, tree, fresh, list(computed.values()), tracker.now(), salt)
            computed = {n: _as_target(r) for n, r in computed.items()}
            on_base: dict[str, CheckResult] = {}
        else:
            on_base = _on_base(tracker, repo, fork, fork_tree, config, to_run, computed, run_dir, progress, trusted)
            added = {path: {n for n, _ in diff.added} for path, diff in files.items()}
            computed = {n: judge(r, on_base.get(n), added) for n, r in computed.items()}
            computed |= _retry(repo, commit, fresh, computed, on_base, added, run_dir, progress, config.test_paths)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    configured = [computed.get(c.name) or cache[c.name] for c in to_run]
    junit_checks = [c.name for c in to_run if c.junit]
    baseline = None if itself else _counts([on_base[n] for n in junit_checks if n in on_base])
    counts = _counts(configured)
    built = _builtins(
        repo, commit, fork, files, config, baseline, counts, exempt, cache, progress, allow_suppressions, too_large
    )
    if empty:
        built.append(no_change(base_name, fork))
    # Always on for an agent's work, whatever the target's [gate] says; never cached (it depends
    # on whose the candidate is, not only on its tree).
    floor_files = [floorfiles.check(files)] if agent else []
    if truncated:
        built.append(
            CheckResult(
                "diff-size", "needs-approval", excerpt="the diff is over 64 MB: too large to check", builtin=True
            )
        )
    everything = configured + skipped + built + floor_files
    if trusted:
        runlog.remember(
            tracker.conn,
            tree,
            fork_tree,
            cache_key,
            [*computed.values(), *(b for b in built if b.name not in cache)],
            tracker.now(),
        )
    verdict = combine([r.status for r in everything], plan.approval and not approved)
    if verdict == "needs-approval" and approved:
        verdict = "pass"  # a person has approved what needed approval
    report: GateReport = {
        "verdict": verdict,
        "rev": request.rev,
        "commit": commit,
        "tree": tree,
        "base": base_name,
        "base_commit": base_commit,
        "merge_base": fork,
        "config_hash": config.hash,
        "env": cache_key.rsplit(".", 1)[-1],
        "issue": issue_id,
        "attempt": request.attempt,
        "vibe": vibe,
        "approval_required": plan.approval,
        "approved": approved,
        "cached": request.use_cache and bool(cache) and not fresh,
        "advisory": request.advisory,
        "sandbox": sandbox_mode(),
        "itself": itself,
        "duration_s": round(time.monotonic() - started, 3),
        "checks": [r.as_json() for r in everything],
    }
    runlog.record(tracker, report, and_then)
    return report


def _too_large(repo: Path, fork: str, commit: str, limit: int) -> dict[str, int]:
    """Files the candidate changed whose new content is over ``limit`` bytes: their diff is never
    read (a 70 MB file made the secrets scan alone take minutes); diff-size asks a person."""
    return {path: size for path, size in git.changed_sizes(repo, fork, commit).items() if size > limit}


def no_change(base: str, fork: str) -> CheckResult:
    why = (
        f"the branch holds no change beyond {base} (merge base {fork[:10]}): commit your work on the branch; "
        "if the issue needs no change, say why with `shopfloor comment`"
    )
    return CheckResult("change", "fail", excerpt=why, signature="change:empty", builtin=True)


def _as_target(result: CheckResult) -> CheckResult:
    """A check's result on the base by itself: nothing is blamed, everything found is pre-existing."""
    if result.status != "fail":
        return result
    found = result.findings
    if found is None:
        return replace(result, note="fails on the target by itself; its output holds no findings this gate can parse")
    return replace(
        result,
        findings=tuple(replace(f, new=False) for f in found),
        preexisting=len(found),
        note=f"fails on the target by itself with {len(found)} finding(s): changes are judged only on new ones",
    )


def _on_base(
    tracker: Tracker,
    repo: Path,
    fork: str,
    fork_tree: str,
    config: GateConfig,
    to_run: list[Check],
    computed: dict[str, CheckResult],
    run_dir: Path,
    progress: Progress,
    trusted: bool = True,
) -> dict[str, CheckResult]:
    """The base's results of the checks that need them: those the candidate failed (to split
    findings into new and old), and the junit checks (tests-not-weakened compares counts)."""
    weakening = "tests-not-weakened" in config.builtins
    need = [c for c in to_run if (c.name in computed and computed[c.name].status == "fail") or (c.junit and weakening)]
    # Base results already known (the target gated by itself, an earlier candidate) also show
    # what a passing change fixed.
    known = runlog.cached_baseline(tracker.conn, fork_tree, to_run, env_salt(to_run))
    return known | results_on(tracker, repo, fork, fork_tree, need, run_dir / "base", progress, remember=trusted)


def _retry(
    repo: Path,
    commit: str,
    fresh: list[Check],
    computed: dict[str, CheckResult],
    on_base: dict[str, CheckResult],
    added: dict[str, set[int]],
    run_dir: Path,
    progress: Progress,
    test_paths: tuple[str, ...] = (),
) -> dict[str, CheckResult]:
    """A check that still fails after the differential runs once more: passing then makes it
    flaky, unless what failed is the change's own test code (``_own_failure``)."""
    again = [c for c in fresh if computed[c.name].status == "fail"]
    if not again:
        return {}
    progress(f"{', '.join(c.name for c in again)} failed; running once more to tell a flaky check from a failing one")
    second = {
        r.name: judge(r, on_base.get(r.name), added)
        for r in run_on(repo, commit, again, run_dir / "again", progress, False)
    }
    out = {}
    for check in again:
        first, then = computed[check.name], second.get(check.name)
        own = _own_failure(first, set(added), test_paths) if then is not None and then.status == "pass" else None
        if own:
            note = f"{first.note}; " if first.note else ""
            out[check.name] = replace(first, note=f"{note}passed when run again, but not forgiven as flaky: {own}")
        elif then is not None and after_retry(first.status, then.status) == "flaky":
            # The first failure is the evidence; the counts are those of the passing run.
            out[check.name] = replace(
                then, status="flaky", excerpt=first.excerpt, signature=first.signature, findings=first.findings
            )
    return out


def _own_failure(first: CheckResult, changed: set[str], test_paths: tuple[str, ...]) -> str | None:
    """Why a check's first failure is the change's own test code, or None.

    A failing test (a finding with a test id) new in the change, in a file the change added or
    modified; or, when the output holds no findings to tell, a change to test code at all."""
    if first.findings is None:
        touched = sorted(p for p in changed if matches(p, test_paths) or p.rsplit("/", 1)[-1] == "conftest.py")
        if touched:
            return f"its output names no tests and the change touches test code ({', '.join(touched[:3])})"
        return None
    tests = [f.test for f in first.findings if f.test and f.new is not False]
    own = own_tests(tests, changed)
    if own:
        return f"the failing test(s) are the change's own: {', '.join(own[:5])}"
    return None


def _counts(results: list[CheckResult]) -> Counts | None:
    with_junit = [r.junit for r in results if r.junit]
    if not with_junit:
        return None
    return Counts(*(sum(values) for values in zip(*with_junit, strict=True)))


def _builtins(
    repo: Path,
    commit: str,
    fork: str,
    files: dict[str, FileDiff],
    config: GateConfig,
    base: Counts | None,
    candidate: Counts | None,
    exempt: bool,
    cache: dict[str, CheckResult],
    progress: Progress,
    allow_suppressions: bool = False,
    too_large: dict[str, int] | None = None,
) -> list[CheckResult]:
    out = []
    for name in config.builtins:
        # The exemptions come from the issue's labels, which change: those two are never replayed.
        if name in cache and name not in ("tests-not-weakened", "suppressions"):
            out.append(cache[name])
            continue
        if name == "protected-files":
            out.append(builtins.protected_files(files, config))
        elif name == "diff-size":
            out.append(builtins.diff_size(files, config, too_large))
        elif name == "secrets":
            out.append(builtins.secrets(files))
        elif name == "suppressions":
            out.append(builtins.suppressions(files, allow_suppressions))
        elif name == "complexity":
            out.append(
                builtins.complexity(
                    files, config, lambda p: git.show(repo, commit, p), lambda p: git.show(repo, fork, p)
                )
            )
        elif name == "tests-not-weakened":
            out.append(
                builtins.tests_not_weakened(
                    files,
                    config,
                    base,
                    candidate,
                    exempt,
                    lambda p: git.show(repo, commit, p),
                    lambda p: git.show(repo, fork, p),
                )
            )
    for result in out:
        progress(f"{result.name}: {result.status}")
    return out
