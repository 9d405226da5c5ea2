"""`shopfloor dashboard` as a real process (uvicorn) on a free port: the floor's event stream
brings a row change within a second, an idle server stays under 1% of a core, and it stops on
SIGTERM even with a stream open."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import SHOPFLOOR, Runner, dashboard_port
from test_cli import create


@dataclass
class Served:
    process: subprocess.Popen[str]
    port: int
    printed: str


@pytest.fixture
def served(sf: Runner) -> Iterator[Served]:
    process = subprocess.Popen(
        [str(SHOPFLOOR), "dashboard", "--port", "0"],
        cwd=sf.cwd, env=sf.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    printed = ""
    deadline = time.monotonic() + 30
    while "Ctrl-C" not in printed and time.monotonic() < deadline:
        printed += process.stdout.readline()
    port = dashboard_port(printed)
    assert port, printed
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield Served(process, port, printed)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


@dataclass
class Stream:
    events: list[tuple[float, str]] = field(default_factory=list)  # (when it arrived, its data)
    thread: threading.Thread | None = None


def listen(port: int) -> Stream:
    """Read the floor's server-sent events in a thread, each with when it arrived."""
    stream = Stream()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/events/floor", headers={"Accept": "text/event-stream"})
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("content-type", "").startswith("text/event-stream")

    def read() -> None:
        data: list[str] = []
        try:
            for raw in response:
                line = raw.decode().rstrip("\n")
                if line.startswith("data: "):
                    data.append(line[6:])
                elif not line and data:
                    stream.events.append((time.monotonic(), "\n".join(data)))
                    data = []
        except (OSError, ValueError, http.client.HTTPException):
            return

    stream.thread = threading.Thread(target=read, daemon=True)
    stream.thread.start()
    return stream


def wait_for(stream: Stream, pattern: str, timeout: float = 10.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for at, data in stream.events:
            if re.search(pattern, data):
                return at
        time.sleep(0.01)
    raise AssertionError(f"no event matched {pattern!r} in {timeout:g}s: {len(stream.events)} event(s)")


def test_it_prints_a_url_with_a_token_and_binds_loopback(served: Served) -> None:
    found = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_\-]{20,})", served.printed)
    assert found and int(found.group(1)) == served.port, served.printed


def test_a_row_change_reaches_the_stream_within_a_second(sf: Runner, served: Served) -> None:
    stream = listen(served.port)
    wait_for(stream, r'data-testid="count-total" data-count="0"')
    changed = time.monotonic()
    create(sf, "a new issue")  # the CLI's commit: another process's write
    arrived = wait_for(stream, r'data-testid="count-open" data-status="open" data-count="1"')
    assert arrived - changed < 1.0 + 0.5  # within a second of the commit (the CLI's own start-up aside)


def test_an_idle_server_uses_under_one_percent_of_a_core(served: Served) -> None:
    stream = listen(served.port)
    wait_for(stream, r'data-testid="counts"')
    ticks = os.sysconf("SC_CLK_TCK")

    def cpu() -> float:
        stat = Path(f"/proc/{served.process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    before, started = cpu(), time.monotonic()
    time.sleep(6)
    used = (cpu() - before) / (time.monotonic() - started)
    assert used < 0.01, f"{used:.1%} of a core while idle with a stream open"


def test_sigterm_stops_it_with_a_stream_open(served: Served) -> None:
    listen(served.port)
    time.sleep(0.3)
    stopping = time.monotonic()
    served.process.send_signal(signal.SIGTERM)
    # uvicorn shuts down (closing the stream after at most a second), then ends by the signal it caught
    assert served.process.wait(timeout=10) in (0, -signal.SIGTERM)
    assert time.monotonic() - stopping < 5


def test_a_port_in_use_is_one_clear_line_and_no_url_is_printed(sf: Runner, served: Served) -> None:
    # It listens before it prints: a URL (and its token) is never printed for a port another
    # process answers on, so nobody is sent to someone else's server.
    taken = subprocess.run(
        [str(SHOPFLOOR), "dashboard", "--port", str(served.port)],
        cwd=sf.cwd, env=sf.env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert taken.returncode == 1 and "token=" not in taken.stdout + taken.stderr
    assert taken.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{served.port} (Address already in use): pick another with --port "
        "(0: any free port)"
    ]
    assert served.process.poll() is None  # the first one serves on


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        (["--port", "70000"], {}, "error: --port must be from 0 (any free port) to 65535, not 70000"),
        ([], {"SHOPFLOOR_DASHBOARD_TOKEN": "short"}, "error: $SHOPFLOOR_DASHBOARD_TOKEN must be at least 16"),
        (["--host", "0.0.0.0"], {}, "error: --host 0.0.0.0 is reachable from other machines"),
    ],
)
def test_bad_options_are_one_line_and_nothing_is_served(
    sf: Runner, args: list[str], env: dict[str, str], said: str
) -> None:
    done = subprocess.run(
        [str(SHOPFLOOR), "dashboard", *args],
        cwd=sf.cwd,
        env={**sf.env, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == "", done.stdout
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith(said), done.stderr
