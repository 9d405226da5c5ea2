"""The scripted model server: a local HTTP stand-in for the Anthropic Messages API.

It answers ``POST /v1/messages`` (streaming or not) from a scenario (see ``scenario``), so
real agent CLIs can run whole sessions offline, in tests and in the demo, with token usage
chosen by the test. It binds to loopback by default and never calls out.
"""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from shopfloor.models.scenario import DEFAULT_MODEL, Script, encode_sse, message_json, next_turn, sse_events

MAX_BODY = 64 * 1024 * 1024


class ScriptedModelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, scripts: tuple[Script, ...], host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.scripts = scripts
        self.ids = itertools.count(1)
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []  # every Messages request body, for tests
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}" if isinstance(host, str) else f"http://{host.decode()}:{port}"

    def start(self) -> ScriptedModelServer:
        self._thread = threading.Thread(target=self.serve_forever, name="scripted-model", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    server: ScriptedModelServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the request list is the log

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, kind: str, message: str) -> None:
        body = {"type": "error", "error": {"type": kind, "message": message}}
        self._send(status, json.dumps(body).encode())

    def do_GET(self) -> None:
        if self.path.split("?")[0] in ("/", "/health"):
            self._send(200, json.dumps({"ok": True, "scripts": len(self.server.scripts)}).encode())
        else:
            self._error(404, "not_found_error", f"no such endpoint: GET {self.path}")

    def do_POST(self) -> None:
        path = self.path.split("?")[0]
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            self._error(413, "request_too_large", f"request body over {MAX_BODY} bytes")
            return
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError as exc:
            self._error(400, "invalid_request_error", f"body is not JSON: {exc.msg}")
            return
        if path == "/v1/messages/count_tokens":
            self._send(200, json.dumps({"input_tokens": 100}).encode())
            return
        if path != "/v1/messages":
            self._error(404, "not_found_error", f"no such endpoint: POST {path}")
            return
        messages = request.get("messages") if isinstance(request, dict) else None
        if not isinstance(messages, list):
            self._error(400, "invalid_request_error", "messages: a list is required")
            return
        with self.server.lock:
            self.server.requests.append(request)
            message_id = f"msg_scripted_{next(self.server.ids):06d}"
        turn = next_turn(self.server.scripts, messages)
        model = str(request.get("model") or DEFAULT_MODEL)
        if request.get("stream"):
            self._send(200, encode_sse(sse_events(turn, message_id, model)), "text/event-stream")
        else:
            self._send(200, json.dumps(message_json(turn, message_id, model)).encode())
