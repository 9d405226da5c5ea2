"""The worker channel's server: a threaded Unix-socket server that answers one worker.

The worker's shim hosts it for as long as the agent runs. Each connection carries one request
line and gets one reply line. The token is checked first (``hmac.compare_digest``); it fixes
the actor as ``worker/<name>`` whatever the request says. Every request then passes the policy
and runs on a database connection of its own (SQLite connections belong to one thread).
"""

from __future__ import annotations

import contextlib
import hmac
import os
import socketserver
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopfloor.actors import of_worker
from shopfloor.channel import ops, paths, policy
from shopfloor.channel.protocol import (
    CODE_ERROR,
    CODE_REFUSED,
    CODE_USAGE,
    MAX_REQUEST,
    ProtocolError,
    Reply,
    decode_request,
    failure,
)
from shopfloor.configfile import read_toml
from shopfloor.errors import ShopfloorError, UsageError
from shopfloor.tracker import db, store
from shopfloor.tracker.locate import Location
from shopfloor.tracker.planfile import parse_deps
from shopfloor.tracker.service import Tracker

READ_TIMEOUT_S = 30.0  # a client that connects and says nothing is dropped after this long
DRAIN_LIMIT = 64 << 20  # an oversized request is read (and dropped) up to this much, so its reply arrives


@dataclass(frozen=True)
class Grant:
    """What a token stands for: one worker, acting on one issue."""

    worker: str
    issue: str
    trust_labels: frozenset[str] = field(default=policy.TRUST_LABELS)

    @property
    def actor(self) -> str:
        return of_worker(self.worker)


def configured_trust_labels(db_file: str) -> frozenset[str]:
    """The trust labels: the built-in ones plus ``[gate] trust_labels`` of the main tree's config."""

    common = Path(db_file).resolve().parent.parent
    tree = common.parent if common.name == ".git" else common
    try:
        gate = read_toml(tree / ".shopfloor" / "config.toml").get("gate", {})
    except (ShopfloorError, OSError, ValueError):
        gate = {}
    extra = gate.get("trust_labels", []) if isinstance(gate, dict) else []
    if not isinstance(extra, list):
        return policy.TRUST_LABELS
    return policy.trust_labels(x for x in extra if isinstance(x, str))


class Channel:
    """The service behind the socket: answers request lines for one grant."""

    def __init__(self, token: str, grant: Grant, db_file: str, on_refusal: Callable[[str], None] | None = None) -> None:
        if not token:
            raise ShopfloorError("the worker channel needs a token")
        self.token = token.encode("utf-8")
        self.grant = grant
        self.db_file = db_file
        self.on_refusal = on_refusal  # told each refusal line, so the attempt can record what was refused

    def answer(self, data: bytes) -> Reply:
        reply = self._answer(data)
        if reply.code == CODE_REFUSED and reply.error and self.on_refusal is not None:
            with contextlib.suppress(Exception):  # recording is best effort: the refusal itself holds
                self.on_refusal(reply.error)
        return reply

    def _answer(self, data: bytes) -> Reply:
        try:
            request = decode_request(data)
        except ProtocolError as exc:
            return failure(f"bad request: {exc}", CODE_USAGE)
        if not hmac.compare_digest(request.token.encode("utf-8", "replace"), self.token):
            return failure("refused: the channel token is not this worker's", CODE_REFUSED)
        try:
            return self.perform(request.op, dict(request.args))
        except ShopfloorError as exc:
            return failure(str(exc), exc.exit_code)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                return failure("the tracker database stayed locked for 60 s: another process holds it; retry")
            return failure(f"internal error: OperationalError: {exc}")
        except Exception as exc:  # the server keeps serving whatever one request does
            return failure(f"internal error: {type(exc).__name__}: {exc}", CODE_ERROR)

    def perform(self, op: str, args: dict[str, Any]) -> Reply:
        static = policy.static_refusal(op, args, self.grant.trust_labels) if op not in ops.OPS else None
        if static is not None or op not in ops.OPS:
            return failure(static or f"refused: {op!r} is not an operation of the worker channel", CODE_REFUSED)
        tracker = self._open()
        try:
            tracker.reclaim_expired()
            self._prepare(tracker, op, args)
            refused = policy.refusal(op, args, self.grant.issue, self.grant.worker, self.grant.trust_labels)
            if refused is not None:
                return failure(refused, CODE_REFUSED)
            result, text = ops.OPS[op](tracker, args)
            return Reply(ok=True, result=result, text=text, notices=list(tracker.notices))
        finally:
            tracker.close()

    def _open(self) -> Any:
        conn = db.connect(self.db_file, create=False)
        try:
            prefix = store.get_meta(conn, "prefix") or ""
        except BaseException:
            conn.close()
            raise
        common = os.path.dirname(os.path.dirname(self.db_file))
        tree = os.path.dirname(common) if os.path.basename(common) == ".git" else common
        return Tracker(Location(tree, common, self.db_file), conn, self.grant.actor, prefix)

    def _prepare(self, tracker: Any, op: str, args: dict[str, Any]) -> None:
        """Resolve the ids the policy judges: the issue an own-issue op acts on, a new issue's links."""
        if op in policy.OWN_ISSUE_OPS:
            target = args.get("id") or (self.grant.issue if op == "done" else None)
            if not isinstance(target, str) or not target:
                raise UsageError(f"{op} needs an issue id (yours is {self.grant.issue})")
            args["id"] = tracker.resolve(target)
        elif op == "create":
            raw = args.get("deps")
            if raw is not None and not isinstance(raw, str):
                raise UsageError("deps must be a string: TYPE:ID,...")
            deps = [(kind, tracker.resolve(target)) for kind, target in parse_deps(raw or "")]
            mine = ("discovered-from", self.grant.issue)
            args["deps"] = [*deps, *([] if mine in deps else [mine])]


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.request.settimeout(READ_TIMEOUT_S)
        try:
            data = self.rfile.readline(MAX_REQUEST + 1)
            if len(data) > MAX_REQUEST and not data.endswith(b"\n"):
                self._drain()
                reply = failure(f"bad request: the request is over {MAX_REQUEST} bytes", CODE_USAGE)
            else:
                reply = self.server.channel.answer(data)
            self.wfile.write(reply.encode())
            self.wfile.flush()
        except OSError:  # the client went away or stalled: nothing to answer
            return

    def _drain(self) -> None:
        left = DRAIN_LIMIT
        while left > 0:
            chunk = self.rfile.readline(min(left, 1 << 16))
            if not chunk or chunk.endswith(b"\n"):
                return
            left -= len(chunk)


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    channel: Channel


class ChannelServer:
    """The channel on its socket, served from a daemon thread until ``close``."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        token: str,
        grant: Grant,
        db_file: str,
        on_refusal: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.channel = Channel(token, grant, db_file, on_refusal)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._inode: int | None = None

    def start(self) -> ChannelServer:
        paths.prepare(self.path)
        server = _Server(str(self.path), _Handler, bind_and_activate=False)
        server.channel = self.channel
        try:
            server.server_bind()
            os.chmod(self.path, 0o600)
            self._inode = os.lstat(self.path).st_ino
            server.server_activate()
        except OSError as exc:
            server.server_close()
            raise ShopfloorError(f"cannot open the worker channel at {self.path} ({exc.strerror or exc})") from None
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="shopfloor-channel", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            paths.discard(self.path, self._inode)

    def __enter__(self) -> ChannelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
