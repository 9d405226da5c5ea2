"""``shopfloor scripted-model serve``: run the scripted model server in the foreground."""

from __future__ import annotations

import argparse
import sys

from shopfloor.cli.common import print_json
from shopfloor.cli.parsing import Subcommands, actions
from shopfloor.errors import ShopfloorError, UsageError


def cmd_serve(args: argparse.Namespace) -> int:
    import signal
    from pathlib import Path

    from shopfloor.inputs import PLAN_LIMIT, read_file
    from shopfloor.models.scenario import parse_scenario
    from shopfloor.models.server import ScriptedModelServer

    path = Path(args.scenario)
    try:
        data = read_file(str(path), PLAN_LIMIT, "give a smaller scenario")
    except OSError as exc:
        raise UsageError(f"cannot read the scenario {path} ({exc.strerror}): give an existing JSON file") from None
    scripts = parse_scenario(data, str(path))
    try:
        server = ScriptedModelServer(scripts, args.host, args.port)
    except OSError as exc:
        raise ShopfloorError(
            f"cannot listen on {args.host}:{args.port} ({exc.strerror}): pick another --port (0 picks a free one)"
        ) from None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.json:
        print_json({"url": server.url, "scripts": len(scripts)})
    else:
        print(f"scripted model listening on {server.url} ({len(scripts)} scripts); Ctrl-C stops it")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def register(sub: Subcommands, only: str | None) -> None:
    model = actions(sub, "scripted-model", "a local stand-in for a model API, for tests and demos", only)
    p = model.add("serve", cmd_serve, "serve the Anthropic Messages API from a scenario file")
    p.add_argument("--scenario", required=True, help="the scenario JSON file (see shopfloor.models.scenario)")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default 0: a free one, printed)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
