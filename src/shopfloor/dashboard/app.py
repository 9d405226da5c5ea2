"""The dashboard's routes (Starlette): pages, the floor's event stream, the actions.

Reads run on the event loop's thread through one tracker connection (they are short, and a
connection is never shared across threads); an action runs in a worker thread with a tracker of
its own, through the same functions the CLI's commands call (``actions``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from shopfloor.dashboard import actions, data, graphview, issueview, live, reviewview, viewmodels, yieldview
from shopfloor.dashboard.security import COOKIE, Guard
from shopfloor.errors import NotFoundError, ShopfloorError
from shopfloor.floor import highlight
from shopfloor.tracker.service import Tracker

STATIC = Path(__file__).parent / "static"
MAX_FORM = 64 * 1024  # bytes of an action's form


@dataclass
class Dashboard:
    """What every request shares: the repository, the read connection, the guard."""

    repo: str
    tracker: Tracker
    guard: Guard
    actor: str
    env: Environment = field(init=False)
    watch: Tracker = field(init=False)  # its own connection, for data_version

    def __post_init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("shopfloor.dashboard", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.watch = self.tracker.sibling()

    def close(self) -> None:
        self.watch.close()
        self.tracker.close()

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        can_act = self.guard.knows(request.cookies)
        html = self.env.get_template(name).render(
            can_act=can_act,
            read_only_mode=self.guard.token is None,
            csrf=self.guard.csrf if can_act else "",
            repo=self.repo,
            path=request.url.path,
            message=request.query_params.get("msg", ""),
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def floor_context(self) -> dict[str, Any]:
        rows = data.floor_rows(self.tracker)
        view = viewmodels.floor_view(
            rows.workers, rows.queue, rows.counts, rows.lanes, rows.now, rows.limits, rows.titles, rows.tries
        )
        return {"floor": view, "now": rows.now}


def _dash(request: Request) -> Dashboard:
    dash: Dashboard = request.app.state.dashboard
    return dash


async def floor_page(request: Request) -> Response:
    dash = _dash(request)
    return dash.page(request, "floor.html", **dash.floor_context())


async def issue_page(request: Request) -> Response:
    dash = _dash(request)
    rows = data.issue_rows(dash.tracker, request.path_params["issue"])
    view = issueview.issue_view(
        rows.issue,
        rows.attempts,
        rows.reports,
        rows.runs,
        rows.logs,
        rows.log_count,
        rows.blockers,
        rows.dependents,
        rows.reason,
        rows.queue,
    )
    found, why_not, reviews = data.review_rows(dash.tracker, rows.issue["id"])
    change = reviewview.change_view(found, why_not, reviews)
    return dash.page(request, "issue.html", issue=view, change=change)


async def log_page(request: Request) -> Response:
    dash = _dash(request)
    issue_id, runs = data.agent_log(dash.tracker, request.path_params["issue"])
    return dash.page(request, "log.html", log=issueview.log_view(issue_id, runs))


async def gate_page(request: Request) -> Response:
    dash = _dash(request)
    report = data.gate_report(dash.tracker, request.path_params["run"])
    return dash.page(request, "gate.html", report=issueview.report_view(report))


async def yield_page(request: Request) -> Response:
    dash = _dash(request)
    issues, tried = data.yield_rows(dash.tracker)
    period = request.query_params.get("period", "day")
    by = request.query_params.get("by", "agent")
    return dash.page(request, "yield.html", view=yieldview.yield_view(issues, tried, period, by))


async def graph_page(request: Request) -> Response:
    dash = _dash(request)
    rows = data.graph_rows(dash.tracker)
    view = graphview.graph_view(rows.states, rows.priority, rows.titles, rows.edges)
    return dash.page(request, "graph.html", graph=view)


async def learn_page(request: Request) -> Response:
    dash = _dash(request)
    rows = data.learn_rows(dash.tracker)
    return dash.page(request, "learnings.html", learn=viewmodels.learn_view(rows.rules, rows.effect, rows.memory))


async def highlight_css(request: Request) -> Response:
    """The review view's token colours (Pygments' stylesheet; a file, as the page's CSP wants)."""
    return Response(highlight.css(".hl"), media_type="text/css", headers={"Cache-Control": "max-age=3600"})


async def refused(request: Request, exc: Exception) -> Response:
    """An unknown or malformed id in a URL: the tracker's one line, 404 or 400."""
    dash = _dash(request)
    status = 404 if isinstance(exc, NotFoundError) else 400
    return dash.page(request, "error.html", status=status, error=str(exc))


async def floor_json(request: Request) -> Response:
    return JSONResponse(_dash(request).floor_context()["floor"])


async def floor_events(request: Request) -> Response:
    dash = _dash(request)
    can_act = dash.guard.knows(request.cookies)
    lanes_path = data.lanes_file(dash.tracker)

    def check() -> tuple[int, int, int]:
        return live.fingerprint(dash.watch.conn, lanes_path, time.time())

    def render() -> str:
        context = dash.floor_context()
        return dash.env.get_template("_floor.html").render(
            can_act=can_act, csrf=dash.guard.csrf if can_act else "", **context
        )

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        live.stream(check, render, request.is_disconnected), media_type="text/event-stream", headers=headers
    )


async def action(request: Request) -> Response:
    """POST /action/NAME: refused (403, nothing changed) without the token, the CSRF token and
    the dashboard's own origin; else the same function the CLI's command calls."""
    dash = _dash(request)
    body = await request.body()
    if len(body) > MAX_FORM:
        return PlainTextResponse("the form is too large", status_code=413)
    pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    form = dict(pairs)  # the last of a repeated field; the review reads them all from pairs
    why = dash.guard.refusal(request.cookies, request.headers, form)
    if why is not None:
        return PlainTextResponse(f"refused: {why}", status_code=403)
    name = request.path_params["name"]
    if name not in actions.ACTIONS:
        return PlainTextResponse(f"no action {name!r}", status_code=404)
    ok, message = await run_in_threadpool(actions.run, name, dash.repo, dash.actor, form, pairs)
    back = form.get("next") or "/"
    if not back.startswith("/") or back.startswith("//") or "\\" in back:  # a page of its own, never a site
        back = "/"
    back = back.split("?", 1)[0] + "?" + urlencode({"msg": message})
    if request.headers.get("accept", "").startswith("application/json"):
        return JSONResponse({"ok": ok, "message": message}, status_code=200 if ok else 409)
    return RedirectResponse(back, status_code=303)


async def host_and_token(request: Request, call_next: Any) -> Response:
    """Every request: one of the dashboard's own hosts; ``?token=`` sets the cookie, then is dropped from the URL."""
    dash: Dashboard = request.app.state.dashboard
    if not dash.guard.allows_host(request.headers.get("host")):
        return PlainTextResponse("unknown Host header: open the dashboard by the address it printed", 400)
    given = request.query_params.get("token")
    if given is not None and request.method == "GET":
        rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        url = request.url.path + ("?" + urlencode(rest) if rest else "")
        if not dash.guard.token_matches(given):
            wrong = urlencode({"msg": "that token is not this dashboard's: read-only"})
            return RedirectResponse(url + ("&" if rest else "?") + wrong, 303)
        welcome = RedirectResponse(url, status_code=303)
        welcome.set_cookie(COOKIE, given, httponly=True, samesite="strict", path="/")
        return welcome
    response: Response = await call_next(request)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"


def create_app(dash: Dashboard) -> Starlette:
    routes = [
        Route("/", floor_page),
        Route("/api/floor", floor_json),
        Route("/issue/{issue:str}", issue_page),
        Route("/issue/{issue:str}/log", log_page),
        Route("/gate/{run:int}", gate_page),
        Route("/yield", yield_page),
        Route("/graph", graph_page),
        Route("/learnings", learn_page),
        Route("/highlight.css", highlight_css),
        Route("/events/floor", floor_events),
        Route("/action/{name:str}", action, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=host_and_token)],
        exception_handlers={ShopfloorError: refused},
    )
    app.state.dashboard = dash
    return app
