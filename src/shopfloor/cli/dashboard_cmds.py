"""``shopfloor dashboard``: serve the floor's web dashboard (the ``dashboard`` extra)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from shopfloor.cli.parsing import Subcommands, command
from shopfloor.errors import EXIT_ERROR, EXIT_USAGE

TOKEN_ENV_NAME = "SHOPFLOOR_DASHBOARD_TOKEN"  # dashboard.security.TOKEN_ENV (not imported: the extra may be missing)
if TYPE_CHECKING:
    import socket

MISSING_EXTRA = "error: the dashboard needs its extra: pip install 'shopfloor[dashboard]'"


def cmd_dashboard(args: argparse.Namespace) -> int:
    import os

    try:  # the extra's packages, only here: no other command pays for them
        import jinja2  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn
    except ImportError:
        print(MISSING_EXTRA, file=sys.stderr)
        return EXIT_ERROR
    from shopfloor.dashboard.security import MIN_TOKEN, TOKEN_ENV, Guard, hosts_for, is_loopback, new_token

    if not 0 <= args.port < 65536:
        print(f"error: --port must be from 0 (any free port) to 65535, not {args.port}", file=sys.stderr)
        return EXIT_USAGE
    given = os.environ.get(TOKEN_ENV) or None
    if given is not None and len(given) < MIN_TOKEN:
        print(f"error: ${TOKEN_ENV} must be at least {MIN_TOKEN} characters: choose a longer token", file=sys.stderr)
        return EXIT_USAGE
    if not is_loopback(args.host) and not args.read_only and given is None:
        print(
            f"error: --host {args.host} is reachable from other machines: add --read-only, or set "
            f"${TOKEN_ENV} to a token of your own (at least {MIN_TOKEN} characters) to allow actions",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from shopfloor.dashboard.app import Dashboard, create_app
    from shopfloor.tracker.service import Tracker, default_actor

    actor = args.actor or default_actor()
    tracker = Tracker.open(actor, args.repo)
    tracker.flush_notices()
    try:  # listening before anything is printed: a URL printed is a URL this process serves
        sock = _listen(args.host, args.port)
    except OSError as exc:
        tracker.close()
        print(
            f"error: cannot listen on {args.host}:{args.port} ({exc.strerror or exc}): pick another with --port "
            "(0: any free port)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    port = sock.getsockname()[1]
    token = None if args.read_only else (given or new_token())
    dash = Dashboard(tracker.location.worktree_dir, tracker, Guard(token, hosts_for(args.host, port)), actor)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    base = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else shown}:{port}/"
    url = base if token is None else f"{base}?token={token}" if given is None else base
    config = uvicorn.Config(
        create_app(dash), host=args.host, port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    print(f"shopfloor dashboard for {dash.repo}", flush=True)
    if token is None:
        print(f"  {url}  (read-only)", flush=True)
    elif given is None:
        print(f"  {url}  (this URL's token allows actions: keep it to yourself)", flush=True)
    else:
        print(f"  {url}?token=<${TOKEN_ENV}>  (read-only without the token)", flush=True)
    print("  Ctrl-C stops it", flush=True)
    if args.open:
        import threading
        import webbrowser

        threading.Timer(0.5, webbrowser.open, (url,)).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        dash.close()
        sock.close()
    return 0 if server.started else EXIT_ERROR


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (0: a free port the system picks), listening."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def register(sub: Subcommands, only: str | None) -> None:
    p = command(sub, "dashboard", cmd_dashboard, "serve the floor's live web dashboard (pages, charts, actions)", only)
    p.add_argument("--port", type=int, default=8765, help="the TCP port (default 8765; 0: any free port, printed)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help=f"the address to bind (default 127.0.0.1; any other needs --read-only or ${TOKEN_ENV_NAME})",
    )
    p.add_argument("--open", action="store_true", help="open it in a web browser")
    p.add_argument("--read-only", action="store_true", help="no actions at all: no token is made")
    p.add_argument("--repo", metavar="PATH", help="the repository (default: the current directory's)")
