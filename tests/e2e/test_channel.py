"""The worker channel: real sockets, the real `shopfloor` CLI in subprocesses, real SQLite.

The agent's side runs outside any repository, with only SHOPFLOOR_CHANNEL and SHOPFLOOR_TOKEN:
everything it reads or writes goes through the channel, and acts as worker/<name>.
"""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Runner
from shopfloor.channel import paths, policy
from shopfloor.channel.protocol import (
    MAX_REQUEST,
    ProtocolError,
    Reply,
    Request,
    decode_reply,
    decode_request,
)
from shopfloor.channel.server import ChannelServer, Grant
from workerkit import issue, scenario, start, wait_for

TOKEN = "t0ken-for-the-test"


class Agent:
    """`shopfloor` as an agent inside a worker runs it: its env names only the channel."""

    def __init__(self, sf: Runner, channel: Path, home: Path, token: str = TOKEN) -> None:
        env = {k: v for k, v in sf.env.items() if k != "SHOPFLOOR_DB"}
        env.update(SHOPFLOOR_CHANNEL=str(channel), SHOPFLOOR_TOKEN=token, SHOPFLOOR_ACTOR="alice", USER="alice")
        home.mkdir(exist_ok=True)
        self.runner = Runner(home, env)  # cwd outside the repository: no database to find

    def __call__(self, *args: str, **kw: Any) -> Any:
        return self.runner(*args, check=False, **kw)

    def json(self, *args: str, **kw: Any) -> Any:
        done = self(*args, "--json", **kw)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def world(sf: Runner, tmp_path: Path) -> Iterator[tuple[Runner, Agent, str, str, ChannelServer]]:
    own = issue(sf, "The worker's issue")
    other = issue(sf, "Someone else's issue")
    db_file = str(sf.cwd / ".git" / "shopfloor" / "tracker.db")
    path = paths.socket_path(tmp_path / "logs" / "w1")
    server = ChannelServer(path, TOKEN, Grant("w1", own), db_file).start()
    try:
        yield sf, Agent(sf, path, tmp_path / "agent"), own, other, server
    finally:
        server.close()


def snapshot(sf: Runner) -> Any:
    """Everything a refusal must leave alone: every issue with its comments, labels and events."""
    return [sf.json("show", i["id"]) for i in sf.json("list", "--all")]


def events_by(sf: Runner, issue_id: str) -> list[tuple[str, str]]:
    return [(e["actor"], e["kind"]) for e in sf.json("show", issue_id)["events"]]


def test_reads_print_what_the_cli_prints_without_a_channel(world: Any) -> None:
    sf, agent, own, other, _ = world
    sf("dep", "add", other, own)
    for args in (
        ("show", own),
        ("show", other[-4:]),
        ("list",),
        ("list", "--all", "-n", "1"),
        ("ready",),
        ("blocked",),
        ("search", "issue"),
        ("dep", "tree", other),
        ("dep", "cycles"),
    ):
        for fmt in ((), ("--json",)):
            direct, through = sf(*args, *fmt), agent(*args, *fmt)
            assert through.returncode == 0, through.stderr
            assert through.stdout == direct.stdout, args
    assert agent("show", "t-nope").returncode == 3  # not found, as without a channel


def test_writes_act_as_the_worker_whatever_the_agent_says(world: Any) -> None:
    sf, agent, own, _, _ = world
    done = agent("--actor", "alice", "comment", own, "tried the obvious fix")
    assert done.returncode == 0 and done.stdout.startswith(f"commented on {own} (")
    assert "--actor is ignored" in done.stderr
    note = agent.json("comment", own, "-", input="handoff: next, the parser\n", actor="bob")
    assert note["author"] == "worker/w1" and note["issue"] == own
    assert agent.json("done", "--summary", "all green") == {"id": own, "done": True, "by": "worker/w1"}
    blocked = agent.json("update", own, "--status", "blocked", "--actor", "alice")
    assert blocked["status"] == "blocked"
    shown = sf.json("show", own)
    assert [c["author"] for c in shown["comments"]] == ["worker/w1"] * 3
    assert [c["text"] for c in shown["comments"]][1:] == ["handoff: next, the parser", "done: all green"]
    assert {actor for actor, kind in events_by(sf, own) if kind != "created"} == {"worker/w1"}
    assert ("worker/w1", "agent_done") in events_by(sf, own)


def test_create_is_linked_discovered_from_the_workers_issue(world: Any) -> None:
    sf, agent, own, _, _ = world
    made = agent.json("create", "Found a flaky test", "-d", "in test_x", "--actor", "alice")
    assert made["created_by"] == "worker/w1"
    assert made["dependencies"] == [{"id": own, "type": "discovered-from"}]
    stored = sf.json("show", made["id"])
    assert stored["dependencies"] == made["dependencies"] and stored["events"][0]["actor"] == "worker/w1"
    again = agent.json("create", "Another", "--deps", f"discovered-from:{own[-4:]}")
    assert again["dependencies"] == [{"id": own, "type": "discovered-from"}]
    human = agent("create", "A third")
    assert human.returncode == 0 and human.stdout.startswith("created t-")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--actor", "alice", "approve", "{own}"), "refused: a worker may not approve issues; a person does that"),
        (("label", "add", "{own}", "allow-test-changes"), "refused: a worker may not add or remove the trust label"),
        (("label", "remove", "{own}", "approved"), "refused: a worker may not add or remove the trust label"),
        (("label", "add", "{own}", "harmless"), "refused: a worker may not add or remove labels"),
        (("update", "{own}", "--vibe", "5"), "refused: a worker may not change an issue's vibe level"),
        (("update", "{own}", "--title", "better"), "refused: a worker may only set its own issue to blocked"),
        (("update", "{own}", "--status", "open"), "refused: a worker may only set its own issue to blocked"),
        (("update", "{other}", "--status", "blocked"), "refused: worker/w1 works on {own} and may not change {other}"),
        (("update", "{other}", "--claim"), "refused: worker/w1 works on {own} and may not change {other}"),
        (("comment", "{other}", "hi"), "refused: worker/w1 works on {own} and may not change {other}"),
        (("done", "{other}"), "refused: worker/w1 works on {own} and may not change {other}"),
        (("close", "{other}"), "refused: a worker may not close issues"),
        (("close", "{own}"), "refused: a worker may not close issues"),
        (("reopen", "{own}"), "refused: a worker may not reopen issues"),
        (("ready", "--claim"), "refused: a worker may not claim issues"),
        (("dep", "add", "{own}", "{other}"), "refused: a worker may not change dependencies"),
        (("create", "x", "--vibe", "5"), "refused: a worker may not set a new issue's vibe level"),
        (("create", "x", "-l", "allow-test-changes"), "refused: a worker may not set the trust label"),
        (("create", "x", "--parent", "{other}"), "refused: a worker's new issue is linked discovered-from"),
        (("create", "x", "--deps", "blocks:{other}"), "refused: a worker's new issue is linked discovered-from"),
        (("queue", "list"), "refused: a worker may not touch the merge queue"),
        (("queue", "add", "{own}"), "refused: a worker may not touch the merge queue"),
        (("gate", "run", "HEAD"), "refused: a worker may not run the gate"),
        (("worker", "list"), "refused: a worker may not start, stop or remove workers"),
        (("export",), "refused: a worker may not export the tracker"),
        (("init",), "refused: a worker may not set the tracker up"),
        (("run",), "refused: a worker may not run the floor"),
    ],
)
def test_a_refusal_is_one_line_and_changes_nothing(world: Any, args: tuple[str, ...], says: str) -> None:
    sf, agent, own, other, _ = world
    before = snapshot(sf)
    done = agent(*(a.format(own=own, other=other) for a in args))
    assert done.returncode == 4, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(says.format(own=own, other=other)), done.stderr
    assert done.stdout == ""
    assert snapshot(sf) == before


def test_prime_needs_no_channel(world: Any) -> None:
    sf, agent, *_ = world
    assert agent("prime").stdout == sf("prime", "--worker").stdout  # the worker's form, by itself


def _raw(path: Path, data: bytes) -> Reply:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(str(path))
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        return decode_reply(b"".join(iter(lambda: sock.recv(65536), b"")))


def test_bad_messages_get_error_replies_and_the_server_keeps_serving(world: Any) -> None:
    sf, _, own, _, server = world
    path = server.path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    good = Request("show", {"id": own}, TOKEN).encode()
    cases = {
        b"{not json\n": "bad request: the request is not one JSON object",
        b"[1, 2]\n": "bad request: the request is not a JSON object",
        b'{"v": 2, "op": "show", "args": {}, "token": "x"}\n': "bad request: the request has protocol version 2",
        b"\xff\xfe\n": "bad request: the request is not one JSON object",
        b"": "bad request",
        b'{"v": 1, "op": "show", "args": [], "token": "x"}\n': "bad request: the request's args are not",
        b"x" * (MAX_REQUEST + 10) + b"\n": f"bad request: the request is over {MAX_REQUEST} bytes",
        Request("show", {"id": own}, "wrong").encode(): "refused: the channel token is not this worker's",
        Request("approve", {"id": own}, TOKEN).encode(): "refused: a worker may not approve issues",
        Request("sql", {"q": "DROP TABLE issues"}, TOKEN).encode(): "refused: 'sql' is not an operation",
        Request("comment", {"id": own, "text": 5}, TOKEN).encode(): "text must be a string",
        Request("comment", {"id": own, "text": "x", "actor": "alice"}, TOKEN).encode(): "",
    }
    for data, says in cases.items():
        reply = _raw(path, data)
        if says:
            assert not reply.ok and (reply.error or "").startswith(says), (data[:80], reply)
        assert _raw(path, good).ok  # still serving
    comments = sf.json("show", own)["comments"]
    assert [(c["author"], c["text"]) for c in comments] == [("worker/w1", "x")]


def test_a_wrong_token_is_refused(world: Any, tmp_path: Path) -> None:
    sf, _, own, _, server = world
    thief = Agent(sf, server.path, tmp_path / "thief", token="guessed")
    done = thief("comment", own, "hello")
    assert done.returncode == 4 and done.stderr.strip() == "refused: the channel token is not this worker's"
    assert sf.json("show", own)["comments"] == []


def test_a_channel_that_is_gone_says_so(world: Any, tmp_path: Path) -> None:
    sf, agent, own, _, server = world
    server.close()
    assert not server.path.exists() and not server.path.parent.exists()
    done = agent("show", own)
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: the floor's channel at {server.path} is not answering")
    assert "is the worker's shim running?" in done.stderr
    no_token = Agent(sf, server.path, tmp_path / "nt", token="")
    assert no_token("show", own).returncode == 2


def test_a_started_worker_reaches_the_tracker_only_as_itself(floor: Runner) -> None:
    sid = issue(floor)
    script = (
        f"shopfloor --actor alice approve {sid}; echo approve=$?; "
        f"SHOPFLOOR_ACTOR=alice shopfloor comment {sid} 'from the agent'; "
        f"shopfloor label add {sid} allow-test-changes; echo label=$?"
    )
    turns = [{"tool": {"name": "Bash", "input": {"command": script}}}, {"text": "done"}]
    plan = scenario(floor, [{"match": sid, "turns": turns}])
    start(floor, sid, plan, "--terminal", "detached")
    worker = wait_for(floor, sid)
    assert worker["state"] == "done", worker
    name = worker["name"]
    shown = floor.json("show", sid)
    assert [(c["author"], c["text"]) for c in shown["comments"]] == [(f"worker/{name}", "from the agent")]
    assert "approved" not in shown["labels"] and "allow-test-changes" not in shown["labels"]
    events = (Path(worker["log_dir"]) / "events.jsonl").read_text()
    assert "refused: a worker may not approve issues" in events and "approve=4" in events
    assert "refused: a worker may not add or remove the trust label allow-test-changes" in events
    spec = json.loads((Path(worker["log_dir"]) / "spec.json").read_text())
    assert spec["channel"] == str(paths.socket_path(worker["log_dir"])) and len(spec["token"]) >= 40
    assert spec["env"]["SHOPFLOOR_CHANNEL"] == spec["channel"] and spec["env"]["SHOPFLOOR_TOKEN"] == spec["token"]
    assert not Path(spec["channel"]).exists()  # closed with the agent
    floor("worker", "rm", name)
    assert not paths.channel_dir(worker["log_dir"]).exists()


# Pure parts.


def test_protocol_round_trips_and_rejects() -> None:
    request = Request("comment", {"id": "t-1", "text": "é"}, "tok")
    assert decode_request(request.encode()) == request
    ok = Reply(ok=True, result={"a": [1]}, text="line")
    assert decode_reply(ok.encode()) == ok
    bad = Reply(ok=False, error="refused: no", code=4)
    assert decode_reply(bad.encode()) == bad
    for data in (
        b"",
        b"null",
        b'{"v": true, "op": "x", "token": "t"}',
        b'{"v": 1, "op": "", "token": "t"}',
        b'{"v": 1, "op": "x"}',
        b'{"v": 1, "op": "x", "token": "t", "pickle": "gASV"}',
        b"x" * (MAX_REQUEST + 1),
    ):
        with pytest.raises(ProtocolError):
            decode_request(data)
    for data in (b'{"v": 1}', b'{"v": 1, "ok": false, "error": "x", "code": 0}', b'{"v": 1, "ok": true, "text": 3}'):
        with pytest.raises(ProtocolError):
            decode_reply(data)


def test_policy() -> None:
    def refusal(op: str, **args: Any) -> str | None:
        return policy.refusal(op, args, "t-own", "w", policy.trust_labels(["security-reviewed"]))

    for op in ("show", "list", "ready", "blocked", "search", "dep tree", "dep cycles"):
        assert refusal(op, id="t-other") is None
    assert refusal("comment", id="t-own", text="x") is None
    assert refusal("done", id="t-own") is None
    assert refusal("heartbeat", id="t-own") is None
    assert refusal("update", id="t-own", status="blocked", claim=False, lease="30m") is None
    assert refusal("create", title="x", deps=[("discovered-from", "t-own")], label=["bug"]) is None
    refused = {
        "approve": {"id": "t-own"},
        "close": {"ids": ["t-own"]},
        "reopen": {"ids": ["t-own"]},
        "label add": {"id": "t-own", "labels": ["security-reviewed"]},
        "label remove": {"id": "t-own", "labels": ["x"]},
        "queue run": {},
        "gate run": {},
        "gate show": {},
        "worker start": {},
        "import": {},
        "anything": {},
    }
    for op, args in refused.items():
        line = refusal(op, **args)
        assert line is not None and line.startswith("refused: ") and "\n" not in line
    assert "security-reviewed" in (refusal("label add", id="t-own", labels=["security-reviewed"]) or "")
    assert refusal("ready", claim=True)
    assert refusal("comment", id="t-other", text="x")
    assert refusal("update", id="t-own", status="blocked", vibe="5")
    assert refusal("update", id="t-own", status="blocked", notes="x")
    assert refusal("update", id="t-own", status="closed")
    assert refusal("create", title="x", label=["security-reviewed"])
    assert refusal("create", title="x", deps=[("blocks", "t-other")])
    assert refusal("create", title="x", assignee="bob")
    assert refusal("create", file="plan.md")
    assert policy.static_refusal("prime") is None and policy.static_refusal("show") is None


def test_channel_paths_are_short_and_private(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 200) / "workers" / "t-abcd"
    path = paths.socket_path(deep)
    assert len(os.fsencode(path)) <= 107 and path.parent == paths.channel_dir(deep)
    assert paths.channel_dir(deep) != paths.channel_dir(tmp_path / "other")
    paths.prepare(path)
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    paths.discard(path)
    assert not path.parent.exists()
