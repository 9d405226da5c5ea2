"""The dashboard's server through Starlette's TestClient, on trackers the CLI made: pages render,
the floor's event stream sends the floor, and an action without the token, the CSRF token or the
dashboard's own origin is refused and changes nothing."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from conftest import Runner
from shopfloor.cli.main import main
from shopfloor.dashboard.app import Dashboard, create_app
from shopfloor.dashboard.security import COOKIE, Guard, hosts_for
from shopfloor.tracker.service import Tracker
from test_cli import create

TOKEN = "a-test-token-that-is-long-enough"
HOST = "testserver"  # what the TestClient sends as Host


@contextmanager
def dashboard(repo: Path, token: str | None = TOKEN) -> Iterator[tuple[TestClient, Dashboard]]:
    tracker = Tracker.open("person", str(repo))
    dash = Dashboard(str(repo), tracker, Guard(token, hosts_for("127.0.0.1", 8765, [HOST])), "person")
    try:
        with TestClient(create_app(dash), base_url=f"http://{HOST}") as client:
            yield client, dash
    finally:
        dash.close()


def signed_in(client: TestClient) -> None:
    done = client.get(f"/?token={TOKEN}", follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/"
    cookie = done.headers["set-cookie"]
    assert f"{COOKIE}={TOKEN}" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    client.cookies.set(COOKIE, TOKEN)


def labels(sf: Runner, issue: str) -> list[str]:
    return list(sf.json("show", issue)["labels"])


def test_the_floor_page_shows_the_counts_and_says_it_is_read_only_without_the_token(sf: Runner) -> None:
    for n in range(3):
        create(sf, f"issue {n}")
    sf("close", create(sf, "done already"))
    with dashboard(sf.cwd) as (client, _):
        page = client.get("/")
    assert page.status_code == 200
    assert 'data-testid="count-open" data-status="open" data-count="3"' in page.text
    assert 'data-testid="count-closed" data-status="closed" data-count="1"' in page.text
    assert 'data-mode="read-only"' in page.text and "stop-floor" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_the_event_stream_sends_the_floor_fragment(sf: Runner) -> None:
    create(sf, "one")
    with dashboard(sf.cwd) as (client, _), client.stream("GET", "/events/floor") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        seen = ""
        for line in stream.iter_lines():
            seen += line + "\n"
            if 'data-testid="count-total"' in line:
                break
    assert "event: floor" in seen and 'data-count="1"' in seen


def test_an_unknown_host_is_refused(sf: Runner) -> None:
    with dashboard(sf.cwd) as (client, _):
        assert client.get("/", headers={"host": "evil.example:8765"}).status_code == 400


def test_a_wrong_token_sets_no_cookie(sf: Runner) -> None:
    with dashboard(sf.cwd) as (client, _):
        done = client.get("/?token=not-the-token", follow_redirects=False)
    assert done.status_code == 303 and "set-cookie" not in done.headers


@pytest.mark.parametrize(
    "how",
    ["no-token", "no-csrf", "wrong-csrf", "other-origin", "no-origin", "read-only"],
)
def test_an_action_without_its_credentials_is_refused_and_changes_nothing(sf: Runner, how: str) -> None:
    issue = create(sf, "needs approval", "--vibe", "1")
    before = json.dumps(sf.json("show", issue), sort_keys=True)
    with dashboard(sf.cwd, None if how == "read-only" else TOKEN) as (client, dash):
        if how not in ("no-token", "read-only"):
            signed_in(client)
        form = {"issue": issue, "csrf": dash.guard.csrf}
        headers = {"origin": f"http://{HOST}"}
        if how == "no-csrf":
            del form["csrf"]
        elif how == "wrong-csrf":
            form["csrf"] = "x" * 32
        elif how == "other-origin":
            headers = {"origin": "http://evil.example"}
        elif how == "no-origin":
            headers = {}
        done = client.post("/action/approve", data=form, headers=headers, follow_redirects=False)
    assert done.status_code == 403
    assert done.text.startswith("refused: ")
    assert json.dumps(sf.json("show", issue), sort_keys=True) == before


def test_an_approve_with_the_token_labels_the_issue_as_the_cli_does(sf: Runner) -> None:
    issue = create(sf, "needs approval", "--vibe", "1")
    with dashboard(sf.cwd) as (client, dash):
        signed_in(client)
        page = client.get("/")
        assert 'data-mode="act"' in page.text and dash.guard.csrf in page.text
        done = client.post(
            "/action/approve",
            data={"issue": issue, "csrf": dash.guard.csrf, "next": "/"},
            headers={"origin": f"http://{HOST}"},
            follow_redirects=False,
        )
    assert done.status_code == 303, done.text
    assert "approved+by+person" in done.headers["location"]
    assert "approved" in labels(sf, issue)
    comments = sf.json("show", issue)["comments"]
    assert comments[-1]["text"] == "approved for merge by person"


def test_the_command_refuses_a_reachable_host_without_read_only_or_a_token(sf: Runner) -> None:
    done = sf("dashboard", "--host", "0.0.0.0", check=False)
    assert done.returncode == 2
    assert "--read-only" in done.stderr and "SHOPFLOOR_DASHBOARD_TOKEN" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_without_the_extra_the_command_says_how_to_install_it(
    sf: Runner, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if `pip install shopfloor` had left it out
    monkeypatch.chdir(sf.cwd)
    assert main(["dashboard"]) == 1
    assert capsys.readouterr().err == "error: the dashboard needs its extra: pip install 'shopfloor[dashboard]'\n"


def act(client: TestClient, dash: Dashboard, name: str, **fields: str) -> tuple[int, dict[str, object]]:
    done = client.post(
        f"/action/{name}",
        data={"csrf": dash.guard.csrf, **fields},
        headers={"origin": f"http://{HOST}", "accept": "application/json"},
    )
    return done.status_code, done.json()


def test_each_action_answers_with_what_its_command_would_say(sf: Runner) -> None:
    issue = create(sf, "never tried")
    with dashboard(sf.cwd) as (client, dash):
        signed_in(client)
        assert act(client, dash, "stop") == (
            200, {"ok": True, "message": "nothing to stop: no coordinator runs and no worker is running"},
        )  # fmt: skip
        status, said = act(client, dash, "kill", worker="nobody")
        assert status == 409 and str(said["message"]).startswith("error: no worker 'nobody'")
        status, said = act(client, dash, "retry", issue=issue)
        assert status == 409 and str(said["message"]).startswith("error: ")
        status, said = act(client, dash, "requeue", branch="no-such-branch")
        assert status == 409 and "neither a branch nor an issue" in str(said["message"])
        status, said = act(client, dash, "review", issue=issue, at="a.py:1", text="why?")
        assert status == 409 and "has no worker" in str(said["message"])
        assert client.post("/action/frobnicate", data={"csrf": dash.guard.csrf},
                           headers={"origin": f"http://{HOST}"}).status_code == 404  # fmt: skip
    assert sf.json("show", issue)["status"] == "open"


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\\\evil.example", "https://evil.example/"])
def test_an_action_goes_back_only_to_a_page_of_the_dashboard(sf: Runner, target: str) -> None:
    with dashboard(sf.cwd) as (client, dash):
        signed_in(client)
        done = client.post(
            "/action/stop", data={"csrf": dash.guard.csrf, "next": target},
            headers={"origin": f"http://{HOST}"}, follow_redirects=False,
        )  # fmt: skip
    assert done.status_code == 303 and done.headers["location"].startswith("/?msg=")
