"""The worker channel's messages: one JSON object a line, versioned, never pickled.

A client sends one ``Request`` line and reads one ``Reply`` line. Decoding never raises
anything but ``ProtocolError``, whose message the server sends back as an error reply: a
malformed, oversized or unknown message costs the sender an error, never the server a crash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

VERSION = 1
MAX_REQUEST = 1 << 20  # bytes in one request line (a comment or a description fits easily)
MAX_REPLY = 64 << 20  # bytes in one reply line (a `list --all` of a large tracker)

# Exit codes carried by replies (the CLI's: see shopfloor.errors).
CODE_ERROR = 1
CODE_USAGE = 2
CODE_REFUSED = 4


class ProtocolError(Exception):
    """A message that is not a valid request or reply of this version."""


@dataclass(frozen=True)
class Request:
    op: str
    args: dict[str, Any]
    token: str
    v: int = VERSION

    def encode(self) -> bytes:
        return _line({"v": self.v, "op": self.op, "args": self.args, "token": self.token})


@dataclass(frozen=True)
class Reply:
    """``ok`` with ``result`` (what ``--json`` prints) and ``text`` (the human output), or an
    ``error`` line with the exit code the CLI returns for it."""

    ok: bool
    result: Any = None
    text: str = ""
    error: str | None = None
    code: int = 0
    notices: list[str] = field(default_factory=list)
    v: int = VERSION

    def encode(self) -> bytes:
        body: dict[str, Any] = {"v": self.v, "ok": self.ok}
        if self.ok:
            body.update(result=self.result, text=self.text)
        else:
            body.update(error=self.error or "error", code=self.code or CODE_ERROR)
        if self.notices:
            body["notices"] = self.notices
        return _line(body)


def failure(message: str, code: int = CODE_ERROR) -> Reply:
    return Reply(ok=False, error=message, code=code)


def _line(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _object(data: bytes, limit: int, what: str) -> dict[str, Any]:
    if len(data) > limit:
        raise ProtocolError(f"the {what} is over {limit} bytes")
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"the {what} is not one JSON object ({exc})") from None
    if not isinstance(body, dict):
        raise ProtocolError(f"the {what} is not a JSON object")
    version = body.get("v")
    if version != VERSION or isinstance(version, bool):
        raise ProtocolError(f"the {what} has protocol version {version!r}; this floor speaks version {VERSION}")
    return body


def decode_request(data: bytes) -> Request:
    body = _object(data, MAX_REQUEST, "request")
    op, args, token = body.get("op"), body.get("args", {}), body.get("token")
    if not isinstance(op, str) or not op:
        raise ProtocolError("the request has no op")
    if not isinstance(args, dict):
        raise ProtocolError("the request's args are not a JSON object")
    if not isinstance(token, str):
        raise ProtocolError("the request has no token")
    unknown = set(body) - {"v", "op", "args", "token"}
    if unknown:
        raise ProtocolError(f"the request has unknown fields: {', '.join(sorted(unknown))}")
    return Request(op=op, args=args, token=token)


def decode_reply(data: bytes) -> Reply:
    body = _object(data, MAX_REPLY, "reply")
    ok = body.get("ok")
    if not isinstance(ok, bool):
        raise ProtocolError("the reply has no ok field")
    notices = body.get("notices") or []
    if not isinstance(notices, list) or not all(isinstance(n, str) for n in notices):
        raise ProtocolError("the reply's notices are not a list of lines")
    if ok:
        text = body.get("text", "")
        if not isinstance(text, str):
            raise ProtocolError("the reply's text is not a string")
        return Reply(ok=True, result=body.get("result"), text=text, notices=notices)
    error, code = body.get("error"), body.get("code", CODE_ERROR)
    if not isinstance(error, str) or not isinstance(code, int) or isinstance(code, bool) or not 1 <= code <= 125:
        raise ProtocolError("the reply has no valid error and code")
    return Reply(ok=False, error=error, code=code, notices=notices)
