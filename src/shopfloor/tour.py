"""``python -m shopfloor.tour``: a walkthrough of the tracker on a throw-away repository.

Everything shown is real: a real git repository in a temporary directory, the real
``shopfloor`` command line in subprocesses, real merges through the merge driver, and a real
worker (the built-in scripted agent, in its own worktree). No API key and no model service
are needed. ``make demo`` runs the whole floor instead (``shopfloor demo``); this is the tracker alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shopfloor.git import run as run_git
from shopfloor.tracker.clock import now

PLAN = """\
# Demo plan

## Design the storage schema
priority: 1
type: feature
labels: storage

Decide the tables and write the first migration.

### Acceptance
A fresh database opens with every table present.

## Build the import command
priority: 2
type: feature
deps: blocks:#1

Read JSONL into the database.

## Write the user guide
priority: 3
type: chore
deps: blocks:#2

## Fix the flaky clock test
priority: 0
type: bug
labels: tests
"""


class Demo:
    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "Demo",
            "GIT_AUTHOR_EMAIL": "demo@example.com",
            "GIT_COMMITTER_NAME": "Demo",
            "GIT_COMMITTER_EMAIL": "demo@example.com",
            "SHOPFLOOR_ACTOR": "planner",
        }
        self.env.pop("SHOPFLOOR_DB", None)

    def say(self, text: str) -> None:
        print(f"\n# {text}")

    def sf(self, *args: str, actor: str | None = None, show: bool = True) -> str:
        env = dict(self.env)
        if actor:
            env["SHOPFLOOR_ACTOR"] = actor
        prefix = f"SHOPFLOOR_ACTOR={actor} " if actor else ""
        if show:
            print(f"$ {prefix}shopfloor {' '.join(_quote(a) for a in args)}")
        done = subprocess.run(
            [sys.executable, "-m", "shopfloor", *args],
            cwd=self.repo,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode not in (0, 4):
            raise SystemExit(f"demo step failed: shopfloor {' '.join(args)}: {done.stderr.strip()}")
        if show:
            print((done.stdout + done.stderr).rstrip())
        return done.stdout

    def git(self, *args: str, show: bool = False) -> str:
        if show:
            print(f"$ git {' '.join(args)}")
        done = run_git(self.repo, *args, env=self.env, hooks=True, check=False)  # as a person runs it
        if done.returncode != 0:
            raise SystemExit(f"demo step failed: git {' '.join(args)}: {done.stderr.strip()}")
        if show and done.stdout.strip():
            print(done.stdout.rstrip())
        return done.stdout

    def run(self) -> None:
        self.git("init", "-q", "-b", "main")
        (self.repo / "README.md").write_text("# demo project\n")
        self.git("add", "README.md")
        self.git("commit", "-q", "-m", "start")

        self.say("Set the repository up: config, merge driver, AGENTS.md pointer, database.")
        self.sf("init", "--prefix", "demo")

        self.say("Plan work from a markdown file; #N refers to the N-th issue of the file.")
        (self.repo / "plan.md").write_text(PLAN)
        created = json.loads(self.sf("create", "-f", "plan.md", "--json", show=False))
        print("$ shopfloor create -f plan.md")
        print(f"created {len(created)} issues from plan.md")
        ids = [issue["id"] for issue in created]

        self.say("Ready work: open, no open blockers, most urgent first.")
        self.sf("ready")

        self.say("Two agents claim work atomically; a third finds the first one's issue taken.")
        self.sf("ready", "--claim", actor="agent-1")
        self.sf("ready", "--claim", actor="agent-2")
        self.sf("update", ids[0], "--claim", actor="agent-3")

        self.say("agent-2 records what it learned and finishes; its dependants become ready.")
        self.sf("comment", ids[0], "Tables: issues, deps, labels, comments, events.", actor="agent-2")
        self.sf("close", ids[0], "--reason", "schema v1 merged", actor="agent-2")
        self.sf("ready")
        self.sf("blocked")
        self.sf("dep", "tree", ids[2])

        self.say("A dependency that would close a cycle is refused (exit code 4).")
        self.sf("dep", "add", ids[0], ids[2])

        self.say("Export the tracker to .shopfloor/issues.jsonl (one issue per line, sorted) and commit it.")
        self.sf("export")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "plan the work")
        first_line = (self.repo / ".shopfloor" / "issues.jsonl").read_text().splitlines()[0]
        print(f"$ head -c 200 .shopfloor/issues.jsonl\n{first_line[:200]}...")

        self.say("Two branches edit the same issue; the merge driver merges per field, without conflict.")
        self.git("checkout", "-q", "-b", "docs-branch")
        self.sf("label", "add", ids[2], "docs", show=False)
        self.sf("update", ids[2], "--title", "Write the user guide and the FAQ", show=False)
        self.sf("export", show=False)
        self.git("commit", "-q", "-am", "docs branch edits the guide issue")
        self.git("checkout", "-q", "main")
        path = self.repo / ".shopfloor" / "issues.jsonl"
        lines = path.read_text().splitlines()
        edited = []
        for line in lines:
            record = json.loads(line)
            if record["id"] == ids[2]:
                record["priority"] = 1
                record["labels"] = sorted({*record["labels"], "urgent"})
                record["updated_at"] = now()
            edited.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        path.write_text("\n".join(edited) + "\n")
        self.git("commit", "-q", "-am", "main raises the guide's priority")
        self.git("merge", "--no-edit", "docs-branch", show=True)
        self.sf("show", ids[2])

        self.workers()

        self.say("The floor at a glance, and a health check.")
        self.sf("stats")
        self.sf("doctor")
        print("\nDone. Every step above ran the real CLI against a real git repository.")

    def workers(self) -> None:
        """A worker: the built-in scripted agent (no Node, no model) in its own clone and branch."""
        self.say("A worker runs an agent on one issue, in its own git clone on branch floor/<id>.")
        issue = json.loads(self.sf("create", "Add a changelog", "-p", "1", "--json", show=False))["id"]
        print(f'$ shopfloor create "Add a changelog" -p 1\n{issue}')
        scenario = self.repo.parent / "scenario.json"
        scenario.write_text(json.dumps(changelog_scenario(issue)))
        self.env["SHOPFLOOR_SCENARIO"] = str(scenario)
        self.env["SHOPFLOOR_SCRIPTED_HOME"] = str(self.repo.parent / "scripted-sessions")
        self.sf("worker", "start", issue, "--agent", "scripted", "--terminal", "detached")
        deadline = time.monotonic() + 60
        while json.loads(self.sf("worker", "list", "--json", show=False))[0]["state"] in ("starting", "running"):
            if time.monotonic() > deadline:
                raise SystemExit("demo step failed: the worker did not finish within 60 s")
            time.sleep(0.1)
        self.sf("worker", "list")
        self.sf("worker", "peek", issue)
        self.say("Its branch holds work that is not merged yet, so removing the worker is refused (exit 4).")
        self.sf("worker", "rm", issue)
        self.say("That check brought the branch back from the worker's clone into this repository:")
        self.git("log", "--oneline", "-2", f"floor/{issue}", show=True)


def changelog_scenario(issue: str) -> dict[str, object]:
    """What the scripted agent does for the demo: write a file, commit it, report its usage."""
    return {
        "context_window": 200_000,
        "usd_per_mtok": {"input": 3, "output": 15},
        "scripts": [
            {
                "match": issue,
                "turns": [
                    {
                        "tool": {
                            "name": "Write",
                            "input": {"file_path": "CHANGELOG.md", "content": "# Changelog\n\n- first release\n"},
                        },
                        "usage": {"input_tokens": 9000, "output_tokens": 60},
                    },
                    {
                        "tool": {
                            "name": "Bash",
                            "input": {"command": "git add CHANGELOG.md && git commit -qm 'Add a changelog'"},
                        },
                        "usage": {"input_tokens": 9400, "output_tokens": 30},
                    },
                    {
                        "text": "Added CHANGELOG.md and committed it on my branch.",
                        "usage": {"input_tokens": 800, "output_tokens": 15, "cache_read_input_tokens": 9400},
                    },
                ],
            }
        ],
    }


def _quote(arg: str) -> str:
    return arg if arg and all(c.isalnum() or c in "-_./:#=" for c in arg) else json.dumps(arg)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shopfloor.tour", description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep the demo repository and print where it is")
    args = parser.parse_args(argv)
    if shutil.which("git") is None:
        print("error: the demo needs git: install it (apt-get install git)", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="shopfloor-demo-"))
    repo = workdir / "demo-project"
    repo.mkdir()
    try:
        Demo(repo).run()
    finally:
        if args.keep:
            print(f"(kept the demo repository at {repo})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
