"""What `shopfloor prime` prints: the person's form, and the worker's form an agent under the floor gets.

The worker's form is the only set of instructions in a worker's prompt (``floor.prompts``): it
names only what the worker channel lets a worker do (``channel.policy``), and never a command
the channel refuses, so the briefing cannot contradict the protocol.
"""

from __future__ import annotations

import os

from shopfloor.channel.paths import CHANNEL_ENV

WORKER_ENV = "SHOPFLOOR_WORKER"  # set in every worker's environment (workers.lifecycle)

PERSON = """\
# Working with the shopfloor tracker

This repository tracks its work with `shopfloor`. The tracker is the only place work state
lives: what is ready, who holds what, what was tried, what is done. Use it, not memory.
Add `--json` to any command for machine-readable output.

## When you start
- `shopfloor ready --json`: issues with no open blockers, most urgent first.
- `shopfloor ready --claim --json`: claim the top one atomically (prints `null` if none).
- `shopfloor show ID`: read the whole issue (description, acceptance, comments, history)
  before changing anything. Earlier attempts and their failures are in the comments.

## While you work
- Claimed issues carry a 30-minute lease. Renew it with `shopfloor heartbeat ID` on long
  work; an expired lease returns the issue to ready for someone else.
- Record what you learn: `shopfloor comment ID "what I tried, what happened"`.
- Found more work? `shopfloor create "title" -d "..." --deps discovered-from:ID`.
  Something must happen first? `shopfloor dep add ID OTHER` (ID depends on OTHER).
- Stuck on something outside your issue? `shopfloor update ID --status blocked` (this ends
  your claim) and comment why.

## When you finish
- Commit your work on your branch.
- Say it is ready for review with `shopfloor comment ID "..."`. Only a person
  (`shopfloor close ID --reason ...`) or the merge queue closes an issue.
- Do not edit or commit `.shopfloor/issues.jsonl`: the tracker reaches git by itself (the
  floor commits it on the target branch; a person runs `shopfloor export --commit`).

## Inside a worker
- An agent the floor runs (`$SHOPFLOOR_WORKER` is set) works by other rules: there,
  `shopfloor prime` prints the worker's instructions (`shopfloor prime --worker` shows them).

## Rules
- Claim before you work; never work on an issue someone else holds (exit code 4 says so).
- One issue at a time. An issue is done when its acceptance criteria are met and it lands.
- Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict (claimed, cycle).
"""

WORKER = """\
# Working as a shopfloor worker

The floor gave you one issue (`$SHOPFLOOR_ISSUE`, called ID below) and your own clone of the
repository, on the branch `floor/ID`. The tracker holds the issue, what earlier attempts
tried, and what is done. `shopfloor` reaches it through your worker's channel and acts as
`worker/<name>`, whatever `--actor` says. Add `--json` to any command for machine-readable
output.

## Before you change anything
- `shopfloor show ID`: the whole issue (description, acceptance, comments, history).
- `shopfloor list`, `shopfloor search WORDS`, `shopfloor dep tree ID`: the rest of the
  tracker, to read.

## While you work
- Record what you learn on your issue: `shopfloor comment ID "what I tried, what happened"`
  (`-` instead of the text reads it from stdin).
- Found something the next agent on this code should know? Write a research note in
  `.agents/research/` and commit it on your branch.
- Found more work outside your issue? `shopfloor create "title" -d "..."`: the new issue is
  linked discovered-from yours. Do not do it on your branch.
- Stuck on something outside your issue? `shopfloor update ID --status blocked`, then
  `shopfloor comment ID "why"`, and end your turn.
- Asked for a handoff note (your context window is nearly full)? Commit your work, write the
  note with `shopfloor comment ID -` (what is done, the next step, the dead ends to avoid),
  and end your turn.

## When you finish
- Run the project's tests, then commit your work on your branch with git. Do not push, and
  do not switch or create branches.
- Run `shopfloor done --summary "what was done"` and end your turn. The floor gates your
  branch and the merge queue lands it; the issue is finished when it lands.
- Leave `.shopfloor/issues.jsonl` alone: the floor keeps the tracker's file.

## Everything else
Only the commands above are yours. The channel refuses the rest (other issues, labels, vibe
levels, dependencies, approvals, the gate, the queue, workers) with exit code 4 and one line
naming who does it.
Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 refused.
"""


def for_reader(worker: bool = False) -> str:
    """The worker's form when asked for, or when run inside a worker (its environment names the
    worker, or its channel); the person's otherwise."""

    return WORKER if worker or os.environ.get(WORKER_ENV) or os.environ.get(CHANNEL_ENV) else PERSON
