"""The worker channel's client: one request, one reply, over the worker's Unix socket."""

from __future__ import annotations

import socket

from shopfloor.channel.protocol import MAX_REPLY, ProtocolError, Reply, Request, decode_reply
from shopfloor.errors import ShopfloorError

TIMEOUT_S = 120.0  # a write may wait up to 60 s for the database lock on the other side


class ChannelError(ShopfloorError):
    """The channel could not be reached, or answered with something that is not a reply."""


def _not_answering(path: str, detail: str) -> ChannelError:
    return ChannelError(f"the floor's channel at {path} is not answering ({detail}): is the worker's shim running?")


def call(path: str, request: Request, timeout: float = TIMEOUT_S) -> Reply:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(request.encode())
            sock.shutdown(socket.SHUT_WR)
            chunks: list[bytes] = []
            size = 0
            while size <= MAX_REPLY:
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
    except TimeoutError:
        raise _not_answering(path, f"no reply within {timeout:.0f} s") from None
    except OSError as exc:
        raise _not_answering(path, exc.strerror or type(exc).__name__) from None
    data = b"".join(chunks)
    if not data:
        raise _not_answering(path, "it closed the connection without a reply")
    try:
        return decode_reply(data)
    except ProtocolError as exc:
        raise ChannelError(f"the floor's channel at {path} sent a bad reply: {exc}") from None
