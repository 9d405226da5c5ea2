"""What a person may do from the dashboard, each through the function its CLI command calls:
approve (``shopfloor approve``), retry (``shopfloor retry``), requeue a stuck entry's branch
(``shopfloor queue add``), kill a worker (``shopfloor worker kill``), stop the floor
(``shopfloor stop``), send a review (``shopfloor review``). Each runs in a worker thread with a
tracker connection of its own and returns (ok, one line saying what happened or why not)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from shopfloor.actors import is_agent
from shopfloor.errors import ConflictError, ShopfloorError
from shopfloor.floor import retry as retries
from shopfloor.floor import review
from shopfloor.floor.approval import approve as approve_issue
from shopfloor.floor.stopping import stop_floor
from shopfloor.queue.landing import add as queue_add
from shopfloor.tracker.service import Tracker
from shopfloor.workers import lifecycle

Pairs = Sequence[tuple[str, str]]  # the form's fields in order, repeated ones included
STOP_WAIT_S = 30.0  # how long stop waits for the coordinator to end (`shopfloor stop --wait`'s default)


def _field(form: Mapping[str, str], name: str) -> str:
    value = (form.get(name) or "").strip()
    if not value:
        raise ShopfloorError(f"the form names no {name}")
    return value


def approve(tracker: Tracker, form: Mapping[str, str], pairs: Pairs) -> str:
    issue_id = tracker.resolve(_field(form, "issue"))
    added = approve_issue(tracker, issue_id)
    return f"{issue_id}: approved by {tracker.actor}" + ("" if added else " (already approved)")


def retry(tracker: Tracker, form: Mapping[str, str], pairs: Pairs) -> str:
    issue_id = tracker.resolve(_field(form, "issue"))
    note = (form.get("note") or "").strip() or None
    plans = retries.plan(tracker, [issue_id], None)
    done = retries.apply(tracker, plans, form.get("fresh") == "1", None, note)
    return "; ".join(f"{d['id']}: try {d['series']} is ready for the floor" for d in done)


def requeue(tracker: Tracker, form: Mapping[str, str], pairs: Pairs) -> str:
    entry = queue_add(tracker, _field(form, "branch"))
    return f"queued {entry.branch} again as entry {entry.id}"


def kill(tracker: Tracker, form: Mapping[str, str], pairs: Pairs) -> str:
    worker = lifecycle.kill(tracker, lifecycle.find(tracker, _field(form, "worker")))
    saved = f"; uncommitted work saved as {worker.wip_commit[:12]}" if worker.wip_commit else ""
    return f"{worker.name}: {worker.state}{saved}"


def stop(tracker: Tracker, form: Mapping[str, str], pairs: Pairs) -> str:
    done = stop_floor(tracker, STOP_WAIT_S, lambda line: None)
    if done.coordinator is None and not done.workers:
        return "nothing to stop: no coordinator runs and no worker is running"
    return f"stopped {len(done.workers)} worker(s); `shopfloor run` resumes their sessions"


def send_review(tracker: Tracker, form: Mapping[str, str], pairs: Pairs) -> str:
    """The review form: each line's comment comes as an ``at`` (FILE:LINE) and its ``text``; a
    ``comment`` field is a whole FILE:LINE:TEXT (the form without script); ``note`` the note."""
    if is_agent(tracker.actor):
        raise ConflictError(f"{tracker.actor} is an agent: only a person reviews a change")
    issue_id = tracker.resolve(_field(form, "issue"))
    ats = [v for k, v in pairs if k == "at"]
    texts = [v for k, v in pairs if k == "text"]
    items = [("comment", f"{at}:{text}") for at, text in zip(ats, texts, strict=False) if text.strip()]
    items += [("comment", line) for k, v in pairs if k == "comment" for line in v.splitlines() if line.strip()]
    items += [(k, v) for k, v in pairs if k == "note"]
    sent = review.send_review(tracker, issue_id, review.comments_from_form(items))
    if sent.resumed:
        return f"{sent.issue}: review {sent.review} ({sent.summary}) sent to {sent.worker}'s session"
    return (
        f"{sent.issue}: review {sent.review} ({sent.summary}) recorded; the running floor resumes its session with it"
    )


ACTIONS: dict[str, Callable[[Tracker, Mapping[str, str], Pairs], str]] = {
    "approve": approve,
    "retry": retry,
    "requeue": requeue,
    "kill": kill,
    "stop": stop,
    "review": send_review,
}


def run(name: str, repo: str, actor: str, form: Mapping[str, str], pairs: Pairs = ()) -> tuple[bool, str]:
    """Run action ``name`` as ``actor`` on the repository at ``repo``."""
    tracker = Tracker.open(actor, repo)
    try:
        tracker.reclaim_expired()
        return True, ACTIONS[name](tracker, form, pairs)
    except ShopfloorError as exc:
        return False, f"error: {exc}"
    finally:
        tracker.close()
