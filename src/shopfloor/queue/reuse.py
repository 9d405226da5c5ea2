"""May the queue land a lone entry on a gate run already recorded, instead of gating it again? (pure)

The floor gates every attempt (``gate run --attempt``); the queue then gated the landing
again, so each landed issue cost two gate runs. When a batch holds one entry whose branch is
already based on the target's tip, the tree that lands is the branch's own tree on the same
base, judged by the same rules: the attempt's run already is the proof the queue wants. It is
reused only when every fact the verdict rests on is still the same:

- the run is trusted (not an agent's own advisory run) and passed, and it gated a change (not
  the target by itself);
- the same commit (an agent that committed after its gate changed what lands) and the tree
  that lands (the landed commit may be a squash of the branch: the tree is what matters);
- the same base: the run's base and merge base are the target's current tip, and the branch
  is based on it (a target that moved means a different landed tree and different rules);
- the same rules and environment: the config hash read from that tip, and the environment's
  fingerprint (a person's ``queue run`` from another shell may see other variables);
- the same issue and the same trust in it: its vibe (which decides the plan: fast checks only,
  approval), an approval the run counted on is still given, and every exemption label the run
  relied on (``allow-test-changes``, ``allow-suppressions``) is still set;
- an agent's work (a ``floor/`` branch) was judged as one: the ``floor-files`` check ran and
  passed.

Everything else gates again, as before. ``PriorRun.from_report`` reads a recorded report;
``refusal`` says why one run cannot stand in (or None); ``choose`` picks the newest that can.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FLOOR_FILES = "floor-files"  # gate.floorfiles.NAME
APPROVED_LABEL = "approved"  # gate.gating.APPROVED_LABEL
# Built-ins that pass on an issue's label whatever the change does, and the label each needs.
EXEMPTIONS = {"tests-not-weakened": "allow-test-changes", "suppressions": "allow-suppressions"}
EXEMPT_PREFIX = "exempt:"  # how those built-ins say they passed on the label (gate.builtins)


@dataclass(frozen=True)
class PriorRun:
    """What a recorded gate run proves, as the queue needs it."""

    id: int
    commit: str
    tree: str
    base_commit: str
    merge_base: str
    config_hash: str
    env: str | None
    verdict: str
    advisory: bool
    itself: bool
    issue: str | None
    vibe: int | None
    approved: bool
    floor_files: bool  # the agent-only floor-files check ran and passed
    exemptions: frozenset[str]  # labels whose exemption the verdict relied on

    @staticmethod
    def from_report(run_id: int, report: Mapping[str, Any]) -> PriorRun:
        """A run's facts from its recorded report (``gate.runlog``); a missing fact never matches."""
        checks = [c for c in report.get("checks") or [] if isinstance(c, dict)]
        floor_files = any(c.get("name") == FLOOR_FILES and c.get("status") == "pass" for c in checks)
        exemptions = frozenset(
            EXEMPTIONS[str(c["name"])]
            for c in checks
            if c.get("name") in EXEMPTIONS and str(c.get("excerpt") or "").startswith(EXEMPT_PREFIX)
        )
        vibe = report.get("vibe")
        return PriorRun(
            id=run_id,
            commit=str(report.get("commit") or ""),
            tree=str(report.get("tree") or ""),
            base_commit=str(report.get("base_commit") or ""),
            merge_base=str(report.get("merge_base") or ""),
            config_hash=str(report.get("config_hash") or ""),
            env=str(report["env"]) if report.get("env") else None,
            verdict=str(report.get("verdict") or ""),
            advisory=bool(report.get("advisory")),
            itself=bool(report.get("itself")),
            issue=str(report["issue"]) if report.get("issue") else None,
            vibe=int(vibe) if isinstance(vibe, int) else None,
            approved=bool(report.get("approved")),
            floor_files=floor_files,
            exemptions=exemptions,
        )


@dataclass(frozen=True)
class Landing:
    """What the queue is about to gate: one entry stacked on the target's tip."""

    head: str  # the branch's tip
    tree: str  # the tree that would land (the stacked commit's, squashed or not)
    base: str  # the target's tip the entry is stacked on
    based: bool  # ``base`` is an ancestor of ``head`` (or is it): the branch is based on the tip
    config_hash: str  # the gate's rules read from ``base``
    env: str  # the fingerprint of the environment the gate would run the checks in
    issue: str | None
    vibe: int | None  # the issue's trusted vibe now (None without an issue)
    labels: frozenset[str]  # the issue's labels a person set, now
    agent: bool  # an agent's work: the queue would gate it with floor-files


def refusal(run: PriorRun, now: Landing) -> str | None:
    """Why ``run`` cannot stand in for gating ``now``, or None when it can."""
    if run.advisory:
        return "it is an agent's own advisory run"
    if run.verdict != "pass":
        return f"its verdict was {run.verdict or 'not recorded'}"
    if run.itself:
        return "it gated the target by itself"
    if not now.based:
        return f"the branch is not based on the target's tip {now.base[:10]}"
    if run.commit != now.head:
        return f"the branch moved since (gated {run.commit[:10]}, now {now.head[:10]})"
    if run.tree != now.tree:
        return "the tree that would land is not the tree it gated"
    if run.base_commit != now.base or run.merge_base != now.base:
        return f"the target moved since (gated on {run.base_commit[:10]}, now {now.base[:10]})"
    if run.config_hash != now.config_hash:
        return "the target's gate rules are not the ones it used"
    if run.env is None or run.env != now.env:
        return "the checks' environment is not the one it ran in"
    if run.issue != now.issue:
        return f"it gated issue {run.issue or '(none)'}, not {now.issue or '(none)'}"
    if run.vibe != now.vibe:
        return f"the issue's vibe is {now.vibe} now, not {run.vibe}"
    if run.approved and APPROVED_LABEL not in now.labels:
        return "it counted on an approval the issue no longer has"
    lost = sorted(run.exemptions - now.labels)
    if lost:
        return f"it counted on the label {lost[0]}, which the issue no longer has"
    if now.agent and not run.floor_files:
        return f"it did not judge the branch as an agent's work ({FLOOR_FILES})"
    return None


def choose(runs: Sequence[PriorRun], now: Landing) -> tuple[PriorRun | None, str | None]:
    """The newest run that can stand in, or None with why the newest candidate cannot (None
    when there was no candidate at all)."""
    why = None
    for run in sorted(runs, key=lambda r: r.id, reverse=True):
        reason = refusal(run, now)
        if reason is None:
            return run, None
        why = why or f"gate run {run.id} not reused: {reason}"
    return None, why
