"""Who may act through the dashboard: the start-up token, its cookie, CSRF and Host checks (pure).

``shopfloor dashboard`` prints a URL with a random token; visiting it sets an HttpOnly,
SameSite=Strict cookie holding that token, and only a request carrying it may act. Each form also
carries the process's CSRF token, and a state-changing request must come from the dashboard's own
origin (Origin, else Referer). Every request must name one of the dashboard's own hosts in its
Host header, so a page on another site cannot reach it through DNS rebinding.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

COOKIE = "shopfloor_dashboard"
TOKEN_ENV = "SHOPFLOOR_DASHBOARD_TOKEN"
MIN_TOKEN = 16  # characters of a token given through the environment
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def new_token() -> str:
    return secrets.token_urlsafe(24)


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


@dataclass(frozen=True)
class Guard:
    """The dashboard's secrets and its own hosts. ``token`` None: read-only, nobody acts."""

    token: str | None
    hosts: frozenset[str]  # host:port values the Host header may take; empty: any (a wildcard bind)
    csrf: str = field(default_factory=new_token)

    def allows_host(self, host_header: str | None) -> bool:
        if host_header is None:
            return False
        return not self.hosts or host_header.lower() in self.hosts

    def knows(self, cookies: Mapping[str, str]) -> bool:
        """Whether the request carries the token (in its cookie)."""
        return self.token_matches(cookies.get(COOKIE))

    def token_matches(self, given: str | None) -> bool:
        return self.token is not None and given is not None and hmac.compare_digest(given, self.token)

    def refusal(self, cookies: Mapping[str, str], headers: Mapping[str, str], form: Mapping[str, str]) -> str | None:
        """Why a state-changing request is refused, or None when it may act."""
        if self.token is None:
            return "this dashboard is read-only (--read-only)"
        if not self.knows(cookies):
            return "read-only: open the URL with the token that `shopfloor dashboard` printed to act"
        given = form.get("csrf")
        if not given or not hmac.compare_digest(given, self.csrf):
            return "the form's CSRF token is missing or stale: reload the page"
        source = headers.get("origin") or headers.get("referer")
        if not source:
            return "the request names no Origin or Referer: send it from the dashboard's page"
        if urlsplit(source).netloc.lower() != (headers.get("host") or "").lower():
            return "the request comes from another site"
        return None


def hosts_for(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The Host header values a dashboard bound to ``host``:``port`` answers to (none listed for a
    wildcard bind, 0.0.0.0 or ::, which answers to whatever name reaches the machine)."""
    if host in ("0.0.0.0", "::"):
        return frozenset()
    names = {host}
    if is_loopback(host):
        names.update(("127.0.0.1", "localhost", "[::1]"))
    bare = {n if not (":" in n and not n.startswith("[")) else f"[{n}]" for n in names}
    return frozenset({f"{n}:{port}".lower() for n in bare} | {n.lower() for n in extra})
