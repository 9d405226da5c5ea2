"""``shopfloor demo``: the floor on a sample repository, offline, with no API key.

It builds a small repository with a gate and a backlog of nine issues (with dependencies,
one that needs a second pass, one that spirals, one whose context crosses the limit), runs
the floor with three workers until it is idle, and checks every expected outcome. Then it
shows the memory at work: the retro written for the issue that needed a second pass, and the
learning from it in the briefing of a later issue that depended on it. Workers
use the real Claude Code against the scripted model server when Node and the CLI are
available, and the pure-Python scripted agent otherwise; the output says which.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from shopfloor.errors import ShopfloorError
from shopfloor.git import run as run_git
from shopfloor.models.scenario import parse_scenario
from shopfloor.models.server import ScriptedModelServer
from shopfloor.sandbox import bwrap

GATE = """
[gate]
builtins = ["protected-files", "secrets", "diff-size"]

# The memory's own files are left out: a retro quotes what failed and what the agent learnt
# ("any FIXME left in a .md file"), and the floor commits it to the target without a gate.
[[gate.check]]
name = "no-fixme"
argv = ["sh", "-c", "! grep -rq FIXME --include=*.md --exclude-dir=.agents ."]
timeout = 60
fast = true

[agents.scripted]
context_window = 100000

[agents.claude]
context_window = 100000
"""
BACKLOG = [
    ("Write the README intro", 1, [], "clean"),
    ("Document the install steps", 1, [0], "clean"),
    ("Add a changelog", 2, [], "clean"),
    ("Write the FAQ", 2, [], "second-pass"),
    ("Describe the architecture", 2, [1], "clean"),
    ("Add a contributing guide", 3, [], "clean"),
    ("Write the full manual", 3, [], "handoff"),
    ("Fix the flaky release notes", 3, [], "spiral"),
    ("Extend the FAQ", 3, [3], "clean"),  # after the FAQ: briefed with what its retro learned
]
SECOND_PASS = 3  # the index in BACKLOG of the issue that needs a second pass
LATER = 8  # the issue that depends on it
LESSON = "The no-fixme check fails any FIXME left in a .md file: finish the text before committing."


def _turns(path: str, text: str, message: str, tokens: int = 3000) -> list[dict[str, Any]]:
    return [
        {
            "tool": {"name": "Write", "input": {"file_path": path, "content": text}},
            "usage": {"input_tokens": tokens, "output_tokens": 80},
        },
        {
            "tool": {
                "name": "Bash",
                "input": {"command": f"git add -A && git commit -qm '{message}'", "description": "commit"},
            },
            "usage": {"input_tokens": tokens + 300, "output_tokens": 30},
        },
        {"text": f"{message}: committed.", "usage": {"input_tokens": tokens + 400, "output_tokens": 15}},
    ]


def scenario(issues: list[tuple[str, str]], path_of: Any) -> dict[str, Any]:
    """What the model does for each issue (``path_of(issue, name)`` gives the file path the agent writes)."""
    scripts: list[dict[str, Any]] = []
    for issue, kind in issues:
        doc = f"{issue}.md"
        if kind == "second-pass":
            turns = _turns(path_of(issue, doc), "# FAQ\n\nFIXME: answers\n", f"draft {issue}") + _turns(
                path_of(issue, doc), "# FAQ\n\nAll the answers.\n", f"finish {issue}"
            )
            # Asked once it has landed what the next agent should know ([flywheel] ask_agent).
            turns.append({"text": f"- {LESSON}", "usage": {"input_tokens": 3500, "output_tokens": 40}})
        elif kind == "spiral":
            turns = (
                _turns(path_of(issue, doc), "Notes FIXME\n", f"try {issue}")
                + _turns(path_of(issue, doc), "Notes, FIXME later\n", f"retry {issue}")
                + _turns(path_of(issue, doc), "Notes FIXME\n", f"retry {issue} again")
            )
        elif kind == "handoff":
            scripts.append(
                {
                    "match": "Handoff: the previous session on this issue",
                    "turns": _turns(
                        path_of(issue, "manual-part2.md"), "# Manual, part 2\n", f"finish {issue} after the handoff"
                    ),
                }
            )
            turns = [
                {
                    "tool": {
                        "name": "Write",
                        "input": {"file_path": path_of(issue, "manual-part1.md"), "content": "# Manual, part 1\n"},
                    },
                    "usage": {"input_tokens": 30000, "output_tokens": 200},
                },
                {
                    "tool": {
                        "name": "Bash",
                        "input": {
                            "command": "git add -A && git commit -qm 'manual part 1' && sleep 20",
                            "description": "commit",
                        },
                    },
                    "usage": {"input_tokens": 55000, "output_tokens": 100},
                },
                # Asked for its handoff note, the ending session writes it to the issue.
                {
                    "tool": {
                        "name": "Bash",
                        "input": {
                            "command": f"echo 'Part 1 of the manual is committed; part 2 is next.' | "
                            f"{shlex.quote(sys.executable)} -m shopfloor comment {issue} -",
                            "description": "handoff note",
                        },
                    }
                },
                {"text": "Handoff note written."},
            ]
        else:
            turns = _turns(path_of(issue, doc), f"# {issue}\n\nWritten by an agent.\n", f"write {issue}")
        # Its own prompt opens with this line; a briefing may name other issues.
        scripts.append({"match": f"Work on issue {issue}:", "turns": turns})
    return {"context_window": 100_000, "usd_per_mtok": {"input": 3, "output": 15}, "scripts": scripts}


AGENT_ENV = "SHOPFLOOR_DEMO_AGENT"  # "scripted" forces the pure-Python agent


def _claude() -> str | None:
    if os.environ.get(AGENT_ENV) == "scripted":
        return None
    venv = Path(sys.executable).parent.parent / "npm" / "node_modules" / ".bin" / "claude"
    found = shutil.which("claude") or (str(venv) if venv.exists() else None)
    return found if found and shutil.which("node") else None


def _sandbox_note() -> bool:
    """Whether agents run confined: the demo uses bubblewrap when it works here, and says so either way."""

    try:
        bwrap.require()
    except ShopfloorError as exc:
        print(
            f"\n# {exc}.\n# The demo runs its agents unconfined (--no-sandbox); install bubblewrap to see the sandbox."
        )
        return False
    print("\n# Each agent runs in a bubblewrap sandbox: it can write only its own workspace.")
    return True


def _first_prompt(logged: list[dict[str, Any]]) -> str:
    """The first prompt of an attempt that ``shopfloor logs ID --attempt N --json`` describes:
    the issue and its briefing, as its run's ``prompts.jsonl`` recorded them."""
    for run in logged:
        try:
            first = (Path(run["path"]) / "prompts.jsonl").read_text(encoding="utf-8").splitlines()[0]
            return str(json.loads(first).get("prompt") or "")
        except (OSError, IndexError, ValueError, KeyError):
            continue
    return ""


class Demo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = root / "sample"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPFLOOR_", "GIT_"))}
        self.env.update(
            HOME=str(root / "home"),
            SHOPFLOOR_ACTOR="planner",
            GIT_AUTHOR_NAME="Demo",
            GIT_AUTHOR_EMAIL="demo@example.com",
            GIT_COMMITTER_NAME="Demo",
            GIT_COMMITTER_EMAIL="demo@example.com",
            TMUX_TMPDIR=str(root / "tmux"),
            SHOPFLOOR_SCRIPTED_HOME=str(root / "sessions"),
        )
        (root / "home").mkdir()
        (root / "tmux").mkdir()

    def sf(self, *args: str, show: bool = False, ok: tuple[int, ...] = (0,), **env: str) -> str:
        if show:
            print(f"$ shopfloor {' '.join(args)}", flush=True)
        done = subprocess.run(
            [sys.executable, "-m", "shopfloor", *args],
            cwd=self.repo,
            env={**self.env, **env},
            capture_output=not show,
            text=True,
            check=False,
        )
        if done.returncode not in ok:
            raise SystemExit(f"demo step failed: shopfloor {' '.join(args)}: {(done.stderr or '').strip()}")
        return done.stdout or ""

    def git(self, *args: str) -> str:
        return run_git(self.repo, *args, env=self.env, hooks=True).stdout  # as a person runs it

    def build(self) -> list[tuple[str, str]]:
        self.repo.mkdir()
        self.git("init", "-q", "-b", "main")
        (self.repo / "README.md").write_text("# sample\n")
        self.sf("init", "--prefix", "demo")
        config = self.repo / ".shopfloor" / "config.toml"
        config.write_text(config.read_text() + GATE)
        self.git("add", "-A")
        self.git("commit", "-qm", "a sample project with a gate")
        ids: list[str] = []
        out = []
        for title, priority, deps, kind in BACKLOG:
            args = ["create", title, "-p", str(priority), "--json"]
            if deps:
                args += ["--deps", ",".join(f"blocks:{ids[d]}" for d in deps)]
            ids.append(json.loads(self.sf(*args))["id"])
            out.append((ids[-1], kind))
        return out

    def run(self) -> int:
        print(f"# A sample repository with a gate and a backlog of {len(BACKLOG)} issues:")
        issues = self.build()
        self.sf("list", show=True)
        claude = _claude()
        agent = "claude" if claude else "scripted"
        worktrees = self.root / "sample.floor"
        plan = scenario(issues, (lambda issue, name: str(worktrees / issue / name)) if claude else (lambda _i, n: n))
        scenario_file = self.root / "scenario.json"
        scenario_file.write_text(json.dumps(plan))
        extra: dict[str, str] = {"SHOPFLOOR_SCENARIO": str(scenario_file)}
        server = None
        if claude:
            server = ScriptedModelServer(parse_scenario(scenario_file.read_bytes(), str(scenario_file))).start()
            extra.update(
                ANTHROPIC_BASE_URL=server.url,
                ANTHROPIC_API_KEY="scripted",
                CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
                PATH=f"{Path(claude).parent}{os.pathsep}{self.env['PATH']}",
            )
            print(f"\n# Workers run the real Claude Code ({claude}) against the scripted model server.")
        else:
            print("\n# Workers run the pure-Python scripted agent (Node or the Claude Code CLI is not available).")
        confined = _sandbox_note()
        try:
            print("\n# The floor: 3 workers, until nothing is ready, running or queued.")
            self.sf(
                "run",
                "--workers",
                "3",
                "--agent",
                agent,
                "--terminal",
                "detached",
                "--until-idle",
                *(() if confined else ("--no-sandbox",)),
                show=True,
                ok=(0, 1),  # 1: it blocked an issue, as the demo's spiral means it to (verify checks which)
                SHOPFLOOR_ACTOR="floor",
                **extra,
            )
        finally:
            if server is not None:
                server.stop()
        print("\n# The floor at a glance:")
        self.sf("status", show=True)
        print()
        self.sf("metrics", show=True)
        print("\n# What landed on main:")
        print(self.git("log", "--oneline", "main").rstrip())
        learned = self.memory(issues[SECOND_PASS][0], issues[LATER][0])
        return self.verify(issues, learned)

    def memory(self, first: str, later: str) -> list[str]:
        """Show the retro of ``first`` and the lines of ``later``'s briefing that name a learning
        from it; those lines (none: the memory did not reach the later issue)."""
        path = f".agents/retros/{first}.md"
        retro = self.git("show", f"main:{path}")
        print(f"\n# The memory: every finished issue leaves a retro. {first} needed a second pass; {path} on main:")
        shown = [line for line in retro.splitlines() if line.strip()]
        print("\n".join(f"    {line}" for line in shown[:40]))
        if len(shown) > 40:
            print(f"    ... ({len(shown) - 40} more lines: shopfloor learn show retro:{first})")
        attempt = json.loads(self.sf("logs", later, "--attempt", "1", "--json"))
        prompt = _first_prompt(attempt)
        named = [line for line in prompt.splitlines() if line.startswith("- ") and first in line]
        print(f"\n# {later} depended on it; its first attempt was briefed with these learnings from {first}:")
        print("\n".join(f"    {line}" for line in named) or "    (none)")
        return named

    def verify(self, issues: list[tuple[str, str]], learned: list[str]) -> int:
        metrics = json.loads(self.sf("metrics", "--json"))
        status = {i: json.loads(self.sf("show", i, "--json"))["status"] for i, _ in issues}
        problems = []
        for issue, kind in issues:
            want = "blocked" if kind == "spiral" else "closed"
            if status[issue] != want:
                problems.append(f"{issue} ({kind}) is {status[issue]}, expected {want}")
        if metrics["handoffs"] < 1:
            problems.append("no handoff happened")
        if metrics["spirals"] != 1:
            problems.append(f"{metrics['spirals']} spirals, expected 1")
        if not metrics["second_pass_rate"]:
            problems.append("no issue needed a second pass")
        if not learned:
            problems.append(f"no learning from {issues[SECOND_PASS][0]} reached the briefing of {issues[LATER][0]}")
        # The floor's own commits (the tracker, the retros) are not gated: main must still pass.
        tip = json.loads(self.sf("gate", "run", "main", "--json", ok=(0, 1, 2)))
        if tip["verdict"] == "fail":
            failed = ", ".join(c["name"] for c in tip["checks"] if c["status"] == "fail")
            problems.append(f"main fails its own gate at the end ({failed})")
        if problems:
            print("\nFAILED: " + "; ".join(problems))
            return 1
        print(
            "\nAll expected outcomes happened: 8 issues merged through the gate and the queue (one after a second "
            "pass, one after a handoff), one spiral blocked, a retro's learning briefed a later issue, and main "
            "passes its gate. "
            "Next: `shopfloor demo --keep` keeps the sample "
            "repository to look around in; `shopfloor --help`, and the README."
        )
        return 0


def main(keep: bool = False) -> int:
    if shutil.which("git") is None:
        print("error: the demo needs git: install it (apt-get install git)", file=sys.stderr)
        return 1
    root = Path(tempfile.mkdtemp(prefix="shopfloor-floor-demo-"))
    try:
        return Demo(root).run()
    finally:
        subprocess.run(
            ["tmux", "kill-server"],
            env={"TMUX_TMPDIR": str(root / "tmux"), "PATH": os.environ.get("PATH", "")},
            capture_output=True,
            check=False,
        ) if shutil.which("tmux") else None
        if keep:
            print(f"(kept the demo repository at {root / 'sample'})")
            cli = sys.argv[0] if os.path.basename(sys.argv[0]) == "shopfloor" else "shopfloor"
            print(f"see it in the dashboard: {cli} dashboard --repo {root / 'sample'} (then open the URL it prints)")
        else:
            print("to see a demo floor in the dashboard: shopfloor demo --keep, then the command it prints")
            shutil.rmtree(root, ignore_errors=True)
