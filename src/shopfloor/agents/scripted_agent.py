"""A coding agent in pure Python that plays a scenario file: the ``scripted`` agent's CLI.

``python -m shopfloor.agents.scripted_agent --scenario FILE -p PROMPT [--resume ID]`` does
what the real Claude Code does against the scripted model server, without Node or HTTP: it
picks the scenario's script by the first prompt, performs each turn's tool call itself in the
working directory (Write, Edit, Read, Bash), and prints Claude Code's stream-json lines, so
the same parser reads both. Sessions are kept as JSON under ``$SHOPFLOOR_SCRIPTED_HOME``
(default ``~/.shopfloor/scripted``), so ``--resume`` continues the same conversation.

Besides the model's tools it knows ``Emit``, which prints ``input.line`` to stdout verbatim:
a way for tests to feed a runner malformed event lines.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from shopfloor.errors import ShopfloorError
from shopfloor.models.scenario import Settings, Turn, content_blocks, next_turn, parse_scenario, parse_settings

HOME_ENV = "SHOPFLOOR_SCRIPTED_HOME"
BASH_TIMEOUT_S = 600.0


def sessions_dir() -> Path:
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".shopfloor" / "scripted")


def _emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _inside(cwd: Path, name: Any) -> Path:
    if not isinstance(name, str) or not name:
        raise ShopfloorError("file_path must be a non-empty string")
    path = (cwd / name).resolve()
    if not path.is_relative_to(cwd.resolve()):
        raise ShopfloorError(f"{name} is outside the working directory")
    return path


def run_tool(tool: dict[str, Any], cwd: Path) -> tuple[str, bool]:
    """Perform one tool call; returns (result text, is_error)."""
    name, args = tool["name"], tool["input"]
    try:
        if name == "Write":
            path = _inside(cwd, args.get("file_path"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(str(args.get("content", "")), encoding="utf-8")
            return f"wrote {path}", False
        if name == "Edit":
            path = _inside(cwd, args.get("file_path"))
            text = path.read_text(encoding="utf-8")
            old, new = str(args.get("old_string", "")), str(args.get("new_string", ""))
            if not old or old not in text:
                return f"old_string not found in {path}", True
            path.write_text(text.replace(old, new, -1 if args.get("replace_all") else 1), encoding="utf-8")
            return f"edited {path}", False
        if name == "Read":
            return _inside(cwd, args.get("file_path")).read_text(encoding="utf-8"), False
        if name == "Bash":
            # The command is the scenario's (it plays the model), run as a model's Bash call is.
            done = subprocess.run(
                ["/bin/sh", "-c", str(args.get("command", ""))],
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=float(args.get("timeout", BASH_TIMEOUT_S)),
                check=False,
            )
            return (done.stdout + done.stderr)[-4000:], done.returncode != 0
        if name == "Emit":
            sys.stdout.write(str(args.get("line", "")) + "\n")
            sys.stdout.flush()
            return "emitted", False
    except (OSError, ShopfloorError, subprocess.TimeoutExpired) as exc:
        return f"{name} failed: {exc}", True
    return f"unknown tool {name}", True


class Session:
    def __init__(self, session_id: str, messages: list[dict[str, Any]], settings: Settings) -> None:
        self.id = session_id
        self.messages = messages
        self.settings = settings
        self.totals = {
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        }
        self.turns = 0
        self.last_text = ""
        self.system = ""  # the --append-system-prompt text it was given, kept so tests can read it

    def save(self) -> None:
        """Kept after every turn, as Claude Code keeps its transcript: a killed session can resume."""
        store = sessions_dir()
        store.mkdir(parents=True, exist_ok=True)
        temp = store / f".{self.id}.json.tmp"
        temp.write_text(json.dumps({"messages": self.messages, "system": self.system}), encoding="utf-8")
        os.replace(temp, store / f"{self.id}.json")

    def play(self, scripts: Any, cwd: Path) -> None:
        while True:
            turn: Turn = next_turn(scripts, self.messages)
            self.turns += 1
            message_id = f"msg_{uuid.uuid4().hex[:20]}"
            blocks = content_blocks(turn, f"toolu_{message_id}")
            usage = {key: turn.usage.get(key, 0) for key in self.totals}
            for key, value in usage.items():
                self.totals[key] += value
            _emit(
                {
                    "type": "assistant",
                    "message": {
                        "id": message_id,
                        "role": "assistant",
                        "model": self.settings.model,
                        "content": blocks,
                        "usage": usage,
                    },
                    "parent_tool_use_id": None,
                    "session_id": self.id,
                }
            )
            self.messages.append({"role": "assistant", "content": blocks})
            self.save()
            self.last_text = turn.text or self.last_text
            if turn.tool is None:
                return
            text, is_error = run_tool(turn.tool, cwd)
            result = {
                "type": "tool_result",
                "tool_use_id": f"toolu_{message_id}",
                "content": text,
                "is_error": is_error,
            }
            _emit({"type": "user", "message": {"role": "user", "content": [result]}, "session_id": self.id})
            self.messages.append({"role": "user", "content": [result]})
            self.save()

    def result(self) -> dict[str, Any]:
        totals, settings = self.totals, self.settings
        cost = (
            totals["input_tokens"] + totals["cache_read_input_tokens"] + totals["cache_creation_input_tokens"]
        ) * settings.usd_per_mtok_input / 1e6 + totals["output_tokens"] * settings.usd_per_mtok_output / 1e6
        return {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "num_turns": self.turns,
            "result": self.last_text,
            "session_id": self.id,
            "total_cost_usd": cost,
            "usage": totals,
            "modelUsage": {
                settings.model: {
                    "inputTokens": totals["input_tokens"],
                    "outputTokens": totals["output_tokens"],
                    "cacheReadInputTokens": totals["cache_read_input_tokens"],
                    "cacheCreationInputTokens": totals["cache_creation_input_tokens"],
                    "contextWindow": settings.context_window,
                    "costUSD": cost,
                }
            },
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripted-agent", description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", required=True)
    parser.add_argument("-p", "--print", dest="prompt", help="the prompt (default: read from stdin)")
    parser.add_argument("--resume", metavar="SESSION_ID")
    parser.add_argument("--append-system-prompt", default="")
    args = parser.parse_args(argv)
    if args.prompt is None:  # as `claude -p` without a positional prompt: a long prompt comes this way
        args.prompt = sys.stdin.read()
    try:
        data = Path(args.scenario).read_bytes()
        scripts = parse_scenario(data, args.scenario)
        settings = parse_settings(data, args.scenario)
    except (OSError, ShopfloorError) as exc:
        print(f"scripted-agent: cannot use the scenario: {exc}", file=sys.stderr)
        return 2
    store = sessions_dir()
    messages: list[dict[str, Any]] = []
    session_id = args.resume or str(uuid.uuid4())
    if args.resume:
        if not all(ch.isalnum() or ch == "-" for ch in args.resume):
            print(f"scripted-agent: {args.resume!r} is not a session id", file=sys.stderr)
            return 2
        try:
            messages = json.loads((store / f"{args.resume}.json").read_text(encoding="utf-8"))["messages"]
        except (OSError, ValueError, KeyError):
            print(f"scripted-agent: no session {args.resume} to resume in {store}", file=sys.stderr)
            return 1
    messages.append({"role": "user", "content": args.prompt})
    cwd = Path.cwd()
    _emit(
        {
            "type": "system",
            "subtype": "init",
            "session_id": session_id,
            "cwd": str(cwd),
            "model": settings.model,
            "tools": ["Write", "Edit", "Read", "Bash"],
        }
    )
    session = Session(session_id, messages, settings)
    session.system = args.append_system_prompt
    session.play(scripts, cwd)
    _emit(session.result())
    return 0


if __name__ == "__main__":
    sys.exit(main())
