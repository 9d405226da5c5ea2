"""The typed shapes agree with what defines them: the issue's TypedDict with ``schema.FIELDS``, a
check's with ``CheckResult``, and a gate report's failing/passing checks with ``gate.verdict``'s
one set of statuses, over reports the real gate produced."""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from collections.abc import Iterator

import pytest

from conftest import Runner
from shopfloor.gate import runlog
from shopfloor.gate.gating import GateRequest
from shopfloor.gate.gating import run as gate_run
from shopfloor.gate.report import for_agent
from shopfloor.gate.results import CheckJson, CheckResult, GateReport
from shopfloor.gate.verdict import STATUSES, blocking_checks, failing_checks, passing_checks, red_base
from shopfloor.tracker import schema, store
from shopfloor.tracker.issuetype import Comment, Dependency, Issue
from shopfloor.tracker.service import Tracker


def _optional(annotation: object) -> bool:
    return isinstance(annotation, types.UnionType) and type(None) in typing.get_args(annotation)


def test_the_issue_type_has_the_schemas_fields_in_order_and_optional_exactly_where_nullable() -> None:
    hints = typing.get_type_hints(Issue)
    assert tuple(hints) == schema.FIELD_NAMES
    for field in schema.FIELDS:
        assert _optional(hints[field.name]) == field.nullable, field.name
    # Only the comments may be left out (store.attach(comments=False), schema.public).
    assert Issue.__optional_keys__ == {"comments"}
    assert tuple(typing.get_type_hints(Dependency)) == schema.DEP_KEYS
    assert tuple(typing.get_type_hints(Comment)) == schema.COMMENT_KEYS


def test_an_issue_read_from_the_store_has_the_types_keys(sf: Runner) -> None:
    issue_id = sf.json("create", "Typed", "-d", "body", "--json")["id"]
    tracker = Tracker.open("tester", str(sf.cwd), auto_import=False)
    try:
        issue = store.get(tracker.conn, issue_id)
    finally:
        tracker.close()
    assert list(issue) == list(typing.get_type_hints(Issue))
    assert list(schema.public(issue)) == [k for k in schema.FIELD_NAMES if k != "comments"]


def test_a_checks_json_type_has_the_results_fields() -> None:
    fields = [f.name for f in dataclasses.fields(CheckResult)]
    assert list(typing.get_type_hints(CheckJson)) == fields
    assert list(CheckResult("x", "pass").as_json()) == fields


GATE = """
[gate]
builtins = ["protected-files"]
protected = ["LICENSE"]

[[gate.check]]
name = "holds"
argv = ["python", "-c", "pass"]
timeout = 60

[[gate.check]]
name = "breaks"
argv = ["python", "-c", "import os, sys; sys.exit(os.path.exists('broken'))"]
timeout = 60

[[gate.check]]
name = "docs"
argv = ["python", "-c", "pass"]
timeout = 60
paths = ["docs/**"]
"""


@pytest.fixture
def gated(sf: Runner, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Runner, Tracker]]:
    """A repository whose gate has a check that passes, one that fails when a file named ``broken``
    exists, one that only docs changes run, and the protected-files built-in (LICENSE)."""
    for key in list(os.environ):
        monkeypatch.delenv(key)
    for key, value in sf.env.items():
        monkeypatch.setenv(key, value)  # the gate runs in this process: the runner's git identity and HOME
    config = sf.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + GATE)
    sf.git("add", "-A")
    sf.git("commit", "-qm", "a gate")
    tracker = Tracker.open("tester", str(sf.cwd), auto_import=False)
    yield sf, tracker
    tracker.close()


def _candidate(sf: Runner, branch: str, files: dict[str, str]) -> str:
    sf.git("checkout", "-q", "-b", branch, "main")
    for name, text in files.items():
        (sf.cwd / name).write_text(text)
    sf.git("add", "-A")
    sf.git("commit", "-qm", f"candidate {branch}")
    sf.git("checkout", "-q", "main")
    return branch


def _names(checks: list[CheckJson]) -> list[str]:
    return [c["name"] for c in checks]


def test_failing_and_passing_checks_of_a_real_report(gated: tuple[Runner, Tracker]) -> None:
    sf, tracker = gated
    branch = _candidate(sf, "breaks-it", {"broken": "x\n", "LICENSE": "mine now\n"})
    report = gate_run(tracker, GateRequest(rev=branch, base="main", use_cache=False))
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert statuses == {"holds": "pass", "breaks": "fail", "docs": "skipped", "protected-files": "needs-approval"}
    assert report["verdict"] == "fail"
    assert _names(failing_checks(report)) == ["breaks"]
    assert _names(passing_checks(report)) == ["holds"]  # skipped is neither failing nor passing
    assert _names(blocking_checks(report)) == ["breaks", "protected-files"]
    assert not red_base(report)  # "breaks" passes on main: the change is blamed
    # What the agent is sent is what blocks, and nothing else.
    text = for_agent(report)
    assert "## breaks: fail" in text and "## protected-files: needs-approval" in text
    assert "## holds" not in text and "## docs" not in text
    # The same report read back from the database (JSON) says the same.
    again: GateReport = runlog.get_run(tracker.conn, report["id"])
    assert json.loads(json.dumps(again["checks"])) == json.loads(json.dumps(report["checks"]))
    assert _names(failing_checks(again)) == ["breaks"] and _names(passing_checks(again)) == ["holds"]


def test_a_passing_report_has_no_failing_check_and_every_status_is_known(gated: tuple[Runner, Tracker]) -> None:
    sf, tracker = gated
    branch = _candidate(sf, "fine", {"docs.txt": "words\n"})
    report = gate_run(tracker, GateRequest(rev=branch, base="main", use_cache=False))
    assert report["verdict"] == "pass"
    assert failing_checks(report) == [] and blocking_checks(report) == []
    assert _names(passing_checks(report)) == ["holds", "breaks", "protected-files"]
    assert {c["status"] for c in report["checks"]} <= set(STATUSES)
