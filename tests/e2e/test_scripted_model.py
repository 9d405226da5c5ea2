"""The scripted model server over real HTTP: the Messages API events an agent CLI reads."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import SHOPFLOOR
from shopfloor.errors import ValidationError
from shopfloor.models.scenario import parse_scenario
from shopfloor.models.server import ScriptedModelServer

SCENARIO = {
    "scripts": [
        {
            "match": "sf-a3f8",
            "turns": [
                {
                    "tool": {"name": "Write", "input": {"file_path": "/tmp/x/hello.txt", "content": "hi\n"}},
                    "usage": {"input_tokens": 1200, "output_tokens": 40},
                },
                {
                    "text": "Done.",
                    "usage": {"input_tokens": 1500, "output_tokens": 10, "cache_read_input_tokens": 30000},
                },
            ],
        }
    ]
}


@pytest.fixture
def server() -> Iterator[ScriptedModelServer]:
    running = ScriptedModelServer(parse_scenario(json.dumps(SCENARIO).encode(), "scenario.json")).start()
    yield running
    running.stop()


def post(url: str, body: dict[str, Any]) -> tuple[str, bytes]:
    request = urllib.request.Request(
        url + "/v1/messages?beta=true", data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["content-type"], response.read()


def events(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for chunk in raw.decode().strip().split("\n\n"):
        kind_line, data_line = chunk.split("\n")
        assert kind_line.startswith("event: ") and data_line.startswith("data: ")
        out.append((kind_line[7:], json.loads(data_line[6:])))
    return out


def conversation(*assistant_turns: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": "Work on sf-a3f8 please"}]}]
    for _ in assistant_turns:
        messages.append({"role": "assistant", "content": [{"type": "text", "text": "..."}]})
        messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]})
    return messages


def test_first_turn_streams_a_tool_call_with_the_scenario_usage(server: ScriptedModelServer) -> None:
    content_type, raw = post(server.url, {"model": "m", "stream": True, "messages": conversation()})
    assert content_type == "text/event-stream"
    stream = events(raw)
    assert [k for k, _ in stream] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert stream[0][1]["message"]["usage"]["input_tokens"] == 1200
    block = stream[1][1]["content_block"]
    assert (block["type"], block["name"]) == ("tool_use", "Write")
    tool_input = json.loads(stream[2][1]["delta"]["partial_json"])
    assert tool_input == {"file_path": "/tmp/x/hello.txt", "content": "hi\n"}
    assert stream[4][1]["delta"]["stop_reason"] == "tool_use"
    assert stream[4][1]["usage"]["output_tokens"] == 40


def test_the_next_request_gets_the_next_turn(server: ScriptedModelServer) -> None:
    _, raw = post(server.url, {"model": "m", "stream": True, "messages": conversation(1)})
    stream = events(raw)
    assert stream[0][1]["message"]["usage"]["cache_read_input_tokens"] == 30000
    assert stream[2][1]["delta"] == {"type": "text_delta", "text": "Done."}
    assert stream[4][1]["delta"]["stop_reason"] == "end_turn"
    _, raw = post(server.url, {"model": "m", "stream": True, "messages": conversation(1, 2)})
    assert "no more turns" in events(raw)[2][1]["delta"]["text"]
    assert len(server.requests) == 2


def test_unmatched_prompt_and_non_streaming(server: ScriptedModelServer) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "something else"}]}
    content_type, raw = post(server.url, body)
    message = json.loads(raw)
    assert content_type == "application/json" and message["stop_reason"] == "end_turn"
    assert "no script matches" in message["content"][0]["text"]


def test_bad_requests_get_api_errors(server: ScriptedModelServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        post(server.url, {"model": "m"})
    assert caught.value.code == 400
    assert json.loads(caught.value.read())["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        (b"{", "invalid JSON"),
        (b'{"scripts": []}', "at least one script"),
        (b'{"scripts": [{"match": "x", "turns": [{}]}]}', "script 1, turn 1: a turn needs text or a tool call"),
        (b'{"scripts": [{"match": "x", "turns": [{"text": "t", "usage": {"input_tokens": -1}}]}]}', "usage"),
        (b'{"scripts": [{"match": "x", "turns": [{"tool": {"name": "Write"}}]}]}', "tool must be"),
    ],
)
def test_bad_scenarios_are_refused_with_the_place(scenario: bytes, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_scenario(scenario, "s.json")


def test_cli_serves_until_stopped(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(SCENARIO))
    proc = subprocess.Popen(
        [str(SHOPFLOOR), "scripted-model", "serve", "--scenario", str(scenario), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["scripts"] == 1 and info["url"].startswith("http://127.0.0.1:")
        _, raw = post(info["url"], {"model": "m", "stream": True, "messages": conversation()})
        assert events(raw)[1][1]["content_block"]["name"] == "Write"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_cli_refuses_a_bad_scenario_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"scripts": [{"match": "", "turns": []}]}')
    done = subprocess.run(
        [str(SHOPFLOOR), "scripted-model", "serve", "--scenario", str(bad)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2 and "script 1: needs a non-empty match" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
