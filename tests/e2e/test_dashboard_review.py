"""A review sent from the dashboard's issue page, through the real server: the change is shown
line by line, the comments go to the same agent session as its next prompt (as `shopfloor
review` sends them), and without the token the same request is refused and changes nothing."""

from __future__ import annotations

import http.client
import re
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from conftest import SHOPFLOOR, Runner, dashboard_port
from test_review_floor import session_prompts, waiting_change
from workerkit import wait_for


class Server:
    def __init__(self, runner: Runner) -> None:
        self.process = subprocess.Popen(
            [str(SHOPFLOOR), "dashboard", "--port", "0"],
            cwd=runner.cwd, env=runner.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = ""
        while "token=" not in line:
            line = self.process.stdout.readline()
            assert line, "the dashboard printed no URL"
        found = re.search(r"token=([A-Za-z0-9_\-]+)", line)
        port = dashboard_port(line)
        assert found and port, line
        self.token = found.group(1)
        self.port = port
        self.origin = f"http://127.0.0.1:{self.port}"

    def request(
        self, method: str, path: str, body: str | None = None, cookie: str | None = None, origin: bool = True
    ) -> tuple[int, dict[str, str], str]:
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
                if cookie:
                    headers["Cookie"] = cookie
                if origin and body is not None:
                    headers["Origin"] = self.origin
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                return response.status, dict(response.getheaders()), response.read().decode()
            except ConnectionRefusedError:
                time.sleep(0.1)
        raise AssertionError("the dashboard does not answer")


@pytest.fixture
def server(floor: Runner) -> Iterator[Server]:
    served = Server(floor)
    try:
        yield served
    finally:
        served.process.kill()
        served.process.wait()


def reviews(floor: Runner) -> int:
    with sqlite3.connect(floor.cwd / ".git" / "shopfloor" / "tracker.db") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM reviews").fetchone()[0])


def test_a_review_from_the_issue_page_reaches_the_same_session(floor: Runner, server: Server) -> None:
    sid, _ = waiting_change(floor)
    session = floor.json("worker", "list")[0]["session_id"]
    status, headers, _ = server.request("GET", f"/?token={server.token}")
    assert status == 303
    cookie = headers["set-cookie"].split(";", 1)[0]
    _, _, page = server.request("GET", f"/issue/{sid}", cookie=cookie)
    assert 'data-testid="diff-file" data-path="greet.py" data-status="A"' in page
    assert 'data-testid="comment-line" data-at="greet.py:1"' in page
    assert re.search(r'data-line="2" data-kind="add">.*?<code>.*return.*</code>', page, re.S)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    form = [
        ("csrf", csrf.group(1)), ("next", f"/issue/{sid}"), ("issue", sid),
        ("at", "greet.py:1"), ("text", "add type hints"), ("at", "greet.py:2"), ("text", ""),
        ("note", "otherwise <fine>"), ("comment", ""),
    ]  # fmt: skip

    # Without the token: refused, nothing recorded, the session not resumed.
    status, _, said = server.request("POST", "/action/review", urlencode(form))
    assert status == 403 and said.startswith("refused: ")
    assert reviews(floor) == 0 and len(session_prompts(floor, session)) == 1

    status, headers, _ = server.request("POST", "/action/review", urlencode(form), cookie=cookie)
    assert status == 303, headers
    assert "sent+to" in headers["location"] and headers["location"].startswith(f"/issue/{sid}?msg=")
    worker = wait_for(floor, sid)
    assert worker["session_id"] == session
    told = session_prompts(floor, session)
    assert len(told) == 2 and "1. greet.py:1\n   code: def greet(name):\n   > add type hints" in told[1]
    assert "greet.py:2" not in told[1] and "otherwise <fine>" in told[1]  # an empty box is no comment
    _, _, page = server.request("GET", f"/issue/{sid}", cookie=cookie)
    assert 'data-testid="review" data-review="1" data-sent="true"' in page
    assert "otherwise &lt;fine&gt;" in page
