"""``shopfloor gate init``: propose the checks the project uses, try them on the target, write them.

The table it prints is the point: for each check, how it fares on the untouched target and
what ``gate init`` did with it (kept; kept as a differential baseline; dropped because its
tool is missing or it cannot pass), so no gate is written that fails on the target without
the user being told.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
from pathlib import Path

from shopfloor import git
from shopfloor.cli.common import open_tracker, print_json
from shopfloor.errors import ShopfloorError
from shopfloor.gate.initrun import BASELINE, Tried, why_line
from shopfloor.workers.progress import printable


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _unborn_branch(repo: Path) -> str:
    done = git.run(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return done.stdout.strip() or "main"


def init(args: argparse.Namespace) -> int:
    from shopfloor.gate import initrun
    from shopfloor.gate.configwrite import current_text, render, write_config
    from shopfloor.gate.detect import TOOLS, detect, read_project
    from shopfloor.gate.gating import repo_of
    from shopfloor.tracker.gitignore import unignore

    started = time.monotonic()
    tracker = open_tracker(args)
    config_path = tracker.location.config_path
    current_text(config_path, force=args.force)  # an existing gate is refused before anything runs
    on_path = frozenset(tool for tool in TOOLS if shutil.which(tool))
    proposals = detect(read_project(tracker.location.worktree), on_path)
    repo = repo_of(tracker)
    commit: str | None = None
    if args.no_run or not proposals:
        try:
            target = initrun.target_of(repo)[0]
        except ShopfloorError:
            target = _unborn_branch(repo)
        tried = initrun.not_run(proposals)
    else:
        then = "run `shopfloor gate init` to try the checks on it (or pass --no-run to write them untried)"
        target, commit, tree = initrun.target_of(repo, then)

        def progress(line: str) -> None:
            print(f"  ... {line}", file=sys.stderr, flush=True)

        progress(f"trying {len(proposals)} check(s) on {target} ({commit[:10]}) before writing them ...")
        # SIGTERM and SIGHUP end it like Ctrl-C: its checks are killed and its worktree removed.
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _interrupt)
        tried = initrun.try_on_target(
            tracker, proposals, (target, commit, tree), initrun.run_dir_for(tracker), progress
        )
    kept = [t.proposal for t in tried if t.kept]
    dropped = [(t.proposal, t.reason) for t in tried if not t.kept]
    path = write_config(config_path, render(target, kept, dropped), force=args.force)
    notices = unignore(tracker.location.worktree)
    if args.json:
        print_json(
            {
                "config": str(path),
                "target": target,
                "commit": commit,
                "ran": commit is not None,
                "checks": [t.as_json() for t in tried],
                "notices": notices,
            }
        )
        return 0
    _table(tried, target, commit, time.monotonic() - started)
    _summary(tried, str(path), target, commit is not None)
    for notice in notices:
        print(notice)
    return 0


def _table(tried: list[Tried], target: str, commit: str | None, took: float) -> None:
    if not tried:
        return
    if commit:
        print(f"gate init: tried {len(tried)} check(s) on {target} ({commit[:10]}), {took:.1f} s")
    else:
        print(f"gate init: {len(tried)} check(s) proposed, not run (they were not tried on {target})")
    width = max([len(t.proposal.name) for t in tried] + [5])
    column = max(len(f"on {target}"), 7)
    print(f"  {'check':<{width}}  {'on ' + target:<{column}}  pre-existing     time  action")
    for t in tried:
        found = "-" if t.preexisting is None else str(t.preexisting)
        took_s = "-" if t.duration_s is None else f"{t.duration_s:.1f} s"
        print(f"  {t.proposal.name:<{width}}  {t.status:<{column}}  {found:>12}  {took_s:>7}  {t.action}")
        if not t.kept and why_line(t.excerpt):
            print(f"  {'':<{width}}  | {printable(why_line(t.excerpt))}")


def _summary(tried: list[Tried], path: str, target: str, ran: bool) -> None:
    kept = [t.proposal.name for t in tried if t.kept]
    dropped = [t.proposal.name for t in tried if not t.kept]
    line = f"wrote {len(kept)} gate check(s) to {path}: {', '.join(kept) or 'none'}"
    if dropped:
        line += f"; dropped {', '.join(dropped)} (left in the file commented out, with the reason)"
    print(line)
    for t in tried:
        if t.action == BASELINE:
            print(
                f"{t.proposal.name} already fails on {target} ({t.preexisting} finding(s)): a change fails it "
                "only with findings of its own"
            )
    if not kept:
        print(
            "no configured check: the gate has only its built-ins, and `shopfloor run` refuses to start until "
            "one is configured (add a [[gate.check]], or install what a dropped one needs and re-run with --force)"
        )
    elif not ran:
        print(f"not tried: `shopfloor gate run {target}` shows how they fare on {target}")
    print(f"next: commit .shopfloor/config.toml on {target}: the gate reads its rules from there")
