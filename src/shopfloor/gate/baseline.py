"""The base side of a gate: each check's results on the base tree, and judging a candidate's
result against them (the differential rule, ``differential.split``).

A check is run on the base only when it is needed: its candidate failed (to tell new findings
from old), or it writes junit XML (tests-not-weakened compares the counts). Base results are
facts about one tree, cached by (base tree, the check's own definition): every candidate
forked from the same commit reuses them, and ``gate init`` seeds them on the target.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

from shopfloor.gate import runlog
from shopfloor.gate.config import Check
from shopfloor.gate.confine import mode
from shopfloor.gate.differential import split
from shopfloor.gate.environment import fingerprint
from shopfloor.gate.execute import run_on
from shopfloor.gate.results import CheckResult
from shopfloor.progress import Progress
from shopfloor.tracker.service import Tracker


def results_on(
    tracker: Tracker,
    repo: Path,
    commit: str,
    tree: str,
    checks: list[Check],
    run_dir: Path,
    progress: Progress,
    remember: bool = True,
) -> dict[str, CheckResult]:
    """``checks`` run on ``commit`` by itself (from the cache where it has them)."""
    if not checks:
        return {}
    salt = env_salt(checks)
    cache = runlog.cached_baseline(tracker.conn, tree, checks, salt)
    missing = [c for c in checks if c.name not in cache]
    if missing:
        names = ", ".join(c.name for c in missing)
        progress(f"running {names} on {commit[:10]} by itself (kept as that tree's baseline) ...")
        run_dir.mkdir(parents=True, exist_ok=True)
        fresh = run_on(repo, commit, missing, run_dir, progress, False)
        if remember:  # never from an advisory run
            runlog.remember_baseline(tracker.conn, tree, missing, fresh, tracker.now(), salt)
        cache |= {r.name: r for r in fresh}
    return cache


def env_salt(checks: list[Check]) -> str:
    """The fingerprint of the environment ``checks`` run in (part of every cache key)."""

    named = tuple(sorted({n for c in checks for n in c.env}))
    return f"{fingerprint(dict(os.environ), named)}-{mode()}"


def finding_signature(name: str, keys: list[str]) -> str:
    material = "\n".join([name, "fail", *sorted(keys)])
    return f"{name}:{hashlib.blake2b(material.encode('utf-8', 'replace'), digest_size=8).hexdigest()}"


def judge(result: CheckResult, base: CheckResult | None, added: dict[str, set[int]]) -> CheckResult:
    """The candidate's result, judged against the base's: only new findings fail a check."""
    if result.status not in ("pass", "fail") or result.builtin:
        return result
    if base is None or base.status not in ("pass", "fail"):
        if result.status == "pass":
            return result
        why = "it could not be run on the base" if base is not None else "it was not run on the base"
        return replace(result, note=f"not differential: {why}, so it fails if it fails")
    # A base that fails with findings is signed by them (like a differential check), never by its
    # raw output: an opaque candidate that prints the base's failing test ids must not pass for
    # "failing the same way as the base" (the queue would call the target red and stop for it).
    base_signature = base.signature
    if base.status == "fail" and base.findings is not None:
        base_signature = finding_signature(base.name, [f.key for f in base.findings])
    with_base = replace(result, base_status=base.status, base_signature=base_signature)
    if result.status == "pass":
        fixed = None if base.findings is None else len(base.findings)
        return replace(
            with_base, fixed=fixed, note=f"this change fixed {fixed} finding(s) the base has" if fixed else ""
        )
    if result.findings is None or (base.status == "fail" and base.findings is None):
        same = base.status == "fail" and base_signature == result.signature
        why = "its output holds no findings this gate can parse"
        if result.findings is not None:
            why = "its output on the base holds no findings this gate can parse"
        tail = "; it fails the same way on the base" if same else ""
        return replace(with_base, note=f"not differential: {why}, so it fails if it fails{tail}")
    parts = split(list(result.findings), list(base.findings or ()), added)
    counts = f"{len(parts.new)} new, {len(parts.preexisting)} pre-existing (not blamed), {len(parts.fixed)} fixed"
    uncollected = sum(1 for f in base.findings or () if f.test and "::" not in f.test)
    if uncollected:  # a module that cannot be imported hides every test in it
        counts += f"; {uncollected} test module(s) cannot be collected on the base, so their tests do not run"
    return replace(
        with_base,
        status="fail" if parts.new else "pass",
        findings=tuple(parts.new + parts.preexisting),
        differential=True,
        preexisting=len(parts.preexisting),
        fixed=len(parts.fixed),
        signature=finding_signature(result.name, [f.key for f in parts.new]) if parts.new else None,
        note=f"findings: {counts}",
    )
