"""The tracker through its real command line: every test runs the installed `shopfloor` script."""

from __future__ import annotations

import json
import time
from pathlib import Path

from conftest import Runner

CONTRACT_KEYS = [
    "id",
    "title",
    "description",
    "design",
    "acceptance",
    "notes",
    "status",
    "priority",
    "type",
    "vibe",
    "assignee",
    "labels",
    "dependencies",
    "created_at",
    "created_by",
    "updated_at",
    "closed_at",
    "close_reason",
    "lease_until",
]


def create(sf: Runner, title: str, *args: str, **kw: object) -> str:
    return str(sf.json("create", title, *args, **kw)["id"])


def db_dump(sf: Runner) -> str:
    """Everything the tracker holds, as JSONL, without touching the committed file."""
    out = sf.cwd.parent / "dump.jsonl"
    sf("export", "-o", str(out))
    return out.read_text()


def test_init_sets_up_files_and_is_idempotent(sf: Runner) -> None:
    repo = sf.cwd
    assert (repo / ".shopfloor" / "config.toml").read_text().count('prefix = "t"') == 1
    assert (repo / ".shopfloor" / "issues.jsonl").read_text() == ""
    assert ".shopfloor/issues.jsonl merge=shopfloor" in (repo / ".gitattributes").read_text()
    assert "merge-driver %O %A %B" in sf.git("config", "--get", "merge.shopfloor.driver")
    assert "shopfloor prime" in (repo / "AGENTS.md").read_text()
    assert (repo / ".git" / "shopfloor" / "tracker.db").exists()
    again = sf("init")
    assert "nothing changed" in again.stdout
    assert (repo / ".gitattributes").read_text().count("merge=shopfloor") == 1


def test_init_keeps_existing_agents_md(bare_runner: Runner) -> None:
    agents = bare_runner.cwd / "AGENTS.md"
    agents.write_text("# House rules\n\nNever push on Fridays.\n")
    bare_runner("init")
    text = agents.read_text()
    assert text.startswith("# House rules\n\nNever push on Fridays.\n")
    assert "shopfloor prime" in text


def test_default_prefix_comes_from_repository_name(bare_runner: Runner) -> None:
    bare_runner("init")
    issue = bare_runner.json("create", "hello")
    assert issue["id"].startswith("repo-")


def test_commands_outside_setup_say_run_init(bare_runner: Runner) -> None:
    done = bare_runner("list", check=False)
    assert done.returncode == 1
    assert "shopfloor init" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_create_json_has_the_contract_keys(sf: Runner) -> None:
    issue = sf.json(
        "create",
        "Fix the login bug",
        "-d",
        "Users cannot log in",
        "-t",
        "bug",
        "-p",
        "1",
        "-l",
        "auth",
        "-l",
        "web",
        "--acceptance",
        "login works",
        "--vibe",
        "2",
    )
    assert list(issue)[: len(CONTRACT_KEYS)] == CONTRACT_KEYS
    assert issue["title"] == "Fix the login bug"
    assert issue["description"] == "Users cannot log in"
    assert (issue["type"], issue["priority"], issue["vibe"]) == ("bug", 1, 2)
    assert issue["labels"] == ["auth", "web"]
    assert issue["acceptance"] == "login works"
    assert issue["status"] == "open"
    assert issue["created_by"] == "tester"
    assert issue["id"].startswith("t-") and len(issue["id"]) == len("t-") + 4


def test_defaults(sf: Runner) -> None:
    issue = sf.json("create", "plain")
    assert (issue["priority"], issue["type"], issue["vibe"], issue["status"]) == (2, "task", 3, "open")


def test_bad_input_is_one_line_exit_2_and_changes_nothing(sf: Runner) -> None:
    keep = create(sf, "keep me")
    before = db_dump(sf)
    cases = [
        ("create", ""),
        ("create", "x" * 501),
        ("create", "ok", "-p", "7"),
        ("create", "ok", "-t", "story"),
        ("create", "ok", "--vibe", "0"),
        ("update", keep, "--status", "finished"),
        ("update", keep, "-p", "high"),
        ("create", "two\nlines"),
        ("dep", "add", keep, keep),
    ]
    for args in cases:
        done = sf(*args, check=False)
        assert done.returncode == 2, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, (args, done.stderr)
        assert done.stderr.startswith("error: ")
    assert db_dump(sf) == before


def test_error_messages_name_the_problem(sf: Runner) -> None:
    assert "1 to 500" in sf("create", "", check=False).stderr
    assert "at most 500" in sf("create", "y" * 600, check=False).stderr
    assert "use one of 0, 1, 2, 3, 4" in sf("create", "x", "-p", "9", check=False).stderr
    assert "bug, feature, task, epic, chore" in sf("create", "x", "-t", "nope", check=False).stderr


def test_over_long_title_at_the_limit_is_fine(sf: Runner) -> None:
    assert len(sf.json("create", "x" * 500)["title"]) == 500


def test_non_utf8_input_is_refused(sf: Runner) -> None:
    done = sf("create", b"caf\xe9", check=False)
    assert done.returncode == 2
    assert "UTF-8" in done.stderr
    done = sf("create", "ok", "-d", "-", input=b"\xff\xfe bad", check=False)
    assert done.returncode == 2 and "UTF-8" in done.stderr
    assert sf.json("list") == []


def test_unknown_id_suggests_nearest(sf: Runner) -> None:
    issue_id = create(sf, "real")
    wrong = issue_id[:-1] + ("x" if issue_id[-1] != "x" else "y")
    done = sf("show", wrong, check=False)
    assert done.returncode == 3
    assert issue_id in done.stderr and "did you mean" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_ids_resolve_without_prefix(sf: Runner) -> None:
    issue_id = create(sf, "short")
    assert sf.json("show", issue_id.split("-", 1)[1])["id"] == issue_id


def test_show_has_comments_and_history(sf: Runner) -> None:
    issue_id = create(sf, "history")
    sf("comment", issue_id, "first thought")
    sf("update", issue_id, "-p", "0")
    shown = sf.json("show", issue_id)
    assert [c["text"] for c in shown["comments"]] == ["first thought"]
    kinds = [(e["kind"], e["field"], e["old"], e["new"]) for e in shown["events"]]
    assert kinds[0][0] == "created"
    assert ("updated", "priority", "2", "0") in kinds
    assert any(k[0] == "commented" for k in kinds)
    human = sf("show", issue_id).stdout
    assert "first thought" in human and "priority: 2 -> 0" in human


def test_ready_orders_by_priority_then_age_and_skips_blocked(sf: Runner) -> None:
    low = create(sf, "low", "-p", "3")
    urgent = create(sf, "urgent", "-p", "0")
    mid_old = create(sf, "mid old", "-p", "2")
    mid_new = create(sf, "mid new", "-p", "2")
    blocked = create(sf, "blocked", "-p", "0", "--deps", f"blocks:{low}")
    ready = [i["id"] for i in sf.json("ready")]
    assert ready == [urgent, mid_old, mid_new, low]
    assert blocked not in ready
    sf("close", low)
    assert sf.json("ready")[0]["id"] in (urgent, blocked)
    assert blocked in [i["id"] for i in sf.json("ready")]


def test_related_dependencies_do_not_block(sf: Runner) -> None:
    other = create(sf, "other")
    mine = create(sf, "mine", "--deps", f"related:{other},discovered-from:{other}")
    assert mine in [i["id"] for i in sf.json("ready")]


def test_deferred_issues_wait(sf: Runner) -> None:
    later = create(sf, "later", "--defer-until", "+3d")
    past = create(sf, "past", "--defer-until", "2020-01-01")
    ids = [i["id"] for i in sf.json("ready")]
    assert later not in ids and past in ids


def test_parent_child_ids_and_blocked_parent(sf: Runner) -> None:
    epic = create(sf, "epic", "-t", "epic")
    child1 = create(sf, "child one", "--parent", epic)
    child2 = create(sf, "child two", "--parent", epic)
    grandchild = create(sf, "grandchild", "--parent", child1)
    assert (child1, child2, grandchild) == (f"{epic}.1", f"{epic}.2", f"{epic}.1.1")
    assert {"id": epic, "type": "parent-child"} in sf.json("show", child1)["dependencies"]
    assert grandchild in [i["id"] for i in sf.json("ready")]
    sf("update", epic, "--status", "blocked")
    ready = [i["id"] for i in sf.json("ready")]
    assert child1 not in ready and grandchild not in ready
    blocked = {i["id"]: i["blocked_by"] for i in sf.json("blocked")}
    assert blocked[grandchild] == [{"id": epic, "status": "blocked", "via": "parent"}]


def test_dependency_cycle_is_refused_with_the_cycle(sf: Runner) -> None:
    a = create(sf, "a")
    b = create(sf, "b", "--deps", a)
    c = create(sf, "c", "--deps", b)
    before = db_dump(sf)
    done = sf("dep", "add", a, c, check=False)
    assert done.returncode == 4
    assert f"{a} -> {c} -> {b} -> {a}" in done.stderr
    assert db_dump(sf) == before
    assert sf.json("dep", "cycles") == []


def test_dep_tree_and_remove(sf: Runner) -> None:
    a = create(sf, "a")
    b = create(sf, "b", "--deps", a)
    tree = sf.json("dep", "tree", b)
    assert tree["id"] == b and [c["id"] for c in tree["children"]] == [a]
    assert [c["id"] for c in sf.json("dep", "tree", a, "--up")["children"]] == [b]
    sf("dep", "remove", b, a)
    assert sf.json("show", b)["dependencies"] == []
    assert sf("dep", "remove", b, a, check=False).returncode == 3


def test_claim_is_exclusive_and_idempotent(sf: Runner) -> None:
    issue_id = create(sf, "contested")
    first = sf.json("update", issue_id, "--claim", actor="alice")
    assert (first["status"], first["assignee"]) == ("in_progress", "alice")
    again = sf.json("update", issue_id, "--claim", actor="alice")
    assert again["assignee"] == "alice"
    done = sf("update", issue_id, "--claim", actor="bob", check=False)
    assert done.returncode == 4
    assert "alice" in done.stderr
    assert sf.json("show", issue_id)["assignee"] == "alice"


def test_claim_refuses_blocked_and_closed(sf: Runner) -> None:
    first = create(sf, "first")
    second = create(sf, "second", "--deps", first)
    assert sf("update", second, "--claim", check=False).returncode == 4
    sf("close", first)
    assert sf("update", first, "--claim", check=False).returncode == 4


def test_ready_claim_takes_the_top_issue_or_prints_null(sf: Runner) -> None:
    assert sf("ready", "--claim", "--json").stdout.strip() == "null"
    low = create(sf, "low", "-p", "4")
    top = create(sf, "top", "-p", "0")
    claimed = sf.json("ready", "--claim", actor="w1")
    assert claimed["id"] == top and claimed["assignee"] == "w1"
    assert sf.json("ready", "--claim", actor="w2")["id"] == low
    assert sf("ready", "--claim", "--json").stdout.strip() == "null"


def test_expired_lease_returns_issue_to_ready_with_an_event(sf: Runner) -> None:
    issue_id = create(sf, "lease me")
    claimed = sf.json("ready", "--claim", "--lease", "1s", actor="ghost")
    assert claimed["id"] == issue_id
    assert sf.json("ready") == []
    time.sleep(1.3)
    assert [i["id"] for i in sf.json("ready")] == [issue_id]
    shown = sf.json("show", issue_id)
    assert (shown["status"], shown["assignee"], shown["lease_until"]) == ("open", None, None)
    assert any(e["kind"] == "lease_expired" and e["old"] == "ghost" for e in shown["events"])
    assert sf.json("ready", "--claim", actor="alive")["id"] == issue_id


def test_heartbeat_renews_only_for_the_holder(sf: Runner) -> None:
    issue_id = create(sf, "long work")
    first = sf.json("update", issue_id, "--claim", "--lease", "1m", actor="alice")
    renewed = sf.json("heartbeat", issue_id, "--lease", "2h", actor="alice")
    assert renewed["lease_until"] > first["lease_until"]
    done = sf("heartbeat", issue_id, actor="bob", check=False)
    assert done.returncode == 4 and "alice" in done.stderr


def test_close_and_reopen(sf: Runner) -> None:
    issue_id = create(sf, "finish me")
    closed = sf.json("close", issue_id, "--reason", "shipped in abc123")[0]
    assert (closed["status"], closed["close_reason"]) == ("closed", "shipped in abc123")
    assert closed["closed_at"] is not None
    assert sf.json("list") == []
    assert [i["id"] for i in sf.json("list", "--all")] == [issue_id]
    reopened = sf.json("reopen", issue_id)[0]
    assert (reopened["status"], reopened["closed_at"], reopened["close_reason"]) == ("open", None, None)


def test_update_fields_and_metadata(sf: Runner) -> None:
    issue_id = create(sf, "edit me")
    updated = sf.json(
        "update", issue_id, "--title", "edited", "--notes", "n1", "--metadata", '{"k": [1, 2]}', "--assignee", "zoe"
    )
    assert (updated["title"], updated["notes"], updated["assignee"]) == ("edited", "n1", "zoe")
    assert sf.json("show", issue_id)["metadata"] == {"k": [1, 2]}
    assert sf("update", issue_id, "--metadata", "[1]", check=False).returncode == 2
    assert sf("update", issue_id, check=False).returncode == 2


def test_labels_add_remove_and_filter(sf: Runner) -> None:
    a = create(sf, "a", "-l", "x")
    b = create(sf, "b")
    sf("label", "add", b, "x", "y")
    sf("label", "remove", a, "x")
    assert sf.json("show", b)["labels"] == ["x", "y"]
    assert [i["id"] for i in sf.json("list", "-l", "x")] == [b]
    assert sf("label", "add", a, "has space", check=False).returncode == 2


def test_list_filters(sf: Runner) -> None:
    bug = create(sf, "bug", "-t", "bug", "-p", "1")
    create(sf, "task", "-t", "task", "-p", "3")
    assert [i["id"] for i in sf.json("list", "-t", "bug")] == [bug]
    assert [i["id"] for i in sf.json("list", "-p", "1")] == [bug]
    assert len(sf.json("list", "-n", "1")) == 1
    assert sf("list", "-s", "weird", check=False).returncode == 2


def test_search_is_full_text_and_treats_query_as_data(sf: Runner) -> None:
    hit = create(sf, "Database migration fails", "-d", "the sqlite schema upgrade crashes")
    create(sf, "Unrelated", "-d", "nothing here")
    assert [i["id"] for i in sf.json("search", "sqlite", "upgrade")] == [hit]
    assert [i["id"] for i in sf.json("search", "migration")] == [hit]
    assert sf.json("search", 'NEAR(" OR *') == []
    sf("update", hit, "--title", "Renamed entirely")
    assert sf.json("search", "migration") == []


def test_stats_counts(sf: Runner) -> None:
    a = create(sf, "a", "-t", "bug")
    create(sf, "b", "--deps", a)
    sf("close", create(sf, "c"))
    stats = sf.json("stats")
    assert stats["total"] == 3 and stats["ready"] == 1 and stats["blocked"] == 1
    assert stats["by_status"]["closed"] == 1 and stats["by_type"]["bug"] == 1


def test_prime_is_short_and_mentions_the_protocol(sf: Runner) -> None:
    text = sf("prime").stdout
    assert len(text) / 4 < 1500
    for needle in ("ready --claim", "heartbeat", "close", "export", "comment"):
        assert needle in text


def test_every_command_speaks_json(sf: Runner) -> None:
    a = create(sf, "a")
    b = create(sf, "b")
    commands = [
        ["show", a],
        ["list"],
        ["ready"],
        ["blocked"],
        ["stats"],
        ["search", "a"],
        ["dep", "add", b, a],
        ["dep", "tree", b],
        ["dep", "cycles"],
        ["dep", "remove", b, a],
        ["comment", a, "hi"],
        ["label", "add", a, "l1"],
        ["label", "remove", a, "l1"],
        ["update", a, "-p", "1"],
        ["update", a, "--claim"],
        ["heartbeat", a],
        ["close", a],
        ["reopen", a],
        ["export"],
        ["import"],
        ["doctor"],
        ["prime"],
        ["init"],
    ]
    for args in commands:
        done = sf(*args, "--json")
        json.loads(done.stdout)
    assert isinstance(json.loads(sf("--json", "list").stdout), list)


def test_usage_errors_exit_2_in_one_line(sf: Runner) -> None:
    for args in (["frobnicate"], ["list", "--bogus"], ["dep"], ["update"]):
        done = sf(*args, check=False)
        assert done.returncode == 2, args
        assert len(done.stderr.strip().splitlines()) == 1, (args, done.stderr)


def test_help_lists_commands(sf: Runner) -> None:
    out = sf("--help").stdout
    for name in ("init", "create", "ready", "merge-driver", "doctor", "search"):
        assert name in out


def test_comment_from_stdin(sf: Runner) -> None:
    issue_id = create(sf, "c")
    sf("comment", issue_id, "-", input="line one\nline two\n")
    assert sf.json("show", issue_id)["comments"][0]["text"] == "line one\nline two"


def test_create_from_markdown_plan(sf: Runner, tmp_path: Path) -> None:
    plan = tmp_path / "plan.md"
    plan.write_text(
        "# Sprint\n\n"
        "## Set up the database\n"
        "priority: 1\n"
        "type: feature\n"
        "labels: db, infra\n\n"
        "Create the schema.\n\n"
        "### Acceptance\n"
        "Migrations run.\n\n"
        "## Write the API\n"
        "deps: blocks:#1\n"
        "vibe: 2\n\n"
        "REST endpoints.\n"
    )
    created = sf.json("create", "-f", str(plan))
    assert [i["title"] for i in created] == ["Set up the database", "Write the API"]
    first, second = created
    assert (first["priority"], first["type"], first["labels"]) == (1, "feature", ["db", "infra"])
    assert first["description"] == "Create the schema." and first["acceptance"] == "Migrations run."
    assert second["dependencies"] == [{"id": first["id"], "type": "blocks"}]
    assert second["vibe"] == 2
    assert [i["id"] for i in sf.json("ready")] == [first["id"]]


def test_create_from_jsonl_plan_is_all_or_nothing(sf: Runner, tmp_path: Path) -> None:
    plan = tmp_path / "plan.jsonl"
    plan.write_text('{"title": "one", "priority": 0}\n{"title": "two", "deps": "blocks:#1"}\n')
    created = sf.json("create", "-f", str(plan))
    assert created[1]["dependencies"] == [{"id": created[0]["id"], "type": "blocks"}]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "fine"}\n{"title": "broken", "priority": 9}\n')
    done = sf("create", "-f", str(bad), check=False)
    assert done.returncode == 2 and "bad.jsonl:2" in done.stderr
    assert len(sf.json("list")) == 2


def test_issues_created_together_get_distinct_identities(sf: Runner, tmp_path: Path) -> None:
    plan = tmp_path / "plan.md"
    plan.write_text("## one\n\n## two\n\n## three\n")
    created = sf.json("create", "-f", str(plan))
    identities = {(i["created_at"], i["created_by"]) for i in created}
    assert len(identities) == 3


def test_files_init_writes_are_readable_like_any_other_file(sf: Runner) -> None:
    for name in (".gitattributes", "AGENTS.md", ".shopfloor/config.toml", ".shopfloor/issues.jsonl"):
        assert (sf.cwd / name).stat().st_mode & 0o044 == 0o044, name  # group and others may read


def test_create_links_issues_to_a_plan_kept_in_agents_plans(sf: Runner, tmp_path: Path) -> None:
    plan = sf.cwd / ".agents" / "plans" / "sprint.md"
    plan.write_text("## one\n\n## two\ndeps: #1\n")
    created = sf.json("create", "-f", str(plan))
    assert [i["metadata"] for i in created] == [{"plan": ".agents/plans/sprint.md"}] * 2
    assert "  plan .agents/plans/sprint.md" in sf("show", created[1]["id"]).stdout
    for extra in ((), ("--dry-run",)):  # a plan makes its issues once
        again = sf("create", "-f", str(plan), *extra, check=False)
        assert again.returncode == 4 and "2 issue(s) were already created from .agents/plans/sprint.md" in again.stderr
    assert len(sf.json("list")) == 2
    elsewhere = tmp_path / "sprint.md"  # a plan outside .agents/plans/ links nothing
    elsewhere.write_text("## three\n")
    assert not sf.json("create", "-f", str(elsewhere))[0]["metadata"]
    (sf.cwd / ".agents" / "plans" / "link.md").symlink_to(elsewhere)  # nor does a symlink to one
    assert not sf.json("create", "-f", ".agents/plans/link.md")[0]["metadata"]


def test_create_dry_run_checks_everything_and_creates_nothing(sf: Runner, tmp_path: Path) -> None:
    plan = tmp_path / "plan.md"
    plan.write_text("## Set up\npriority: 1\n\n## Use it\ndeps: blocks:#1, related:#1\n")
    shown = sf("create", "-f", str(plan), "--dry-run").stdout
    assert shown.splitlines() == [
        f"would create 2 issues from {plan} (dry run: nothing created):",
        "#1  P1 task    Set up",
        "#2  P2 task    Use it  after #1, #1 (related)",
    ]
    assert sf.json("list") == []
    plan.write_text("## fine\n\n## not fine\ndeps: #3\n")  # found only when the issues are made
    refused = sf("create", "-f", str(plan), "--dry-run", check=False)
    assert refused.returncode == 2 and f"{plan}:3: #3 does not name" in refused.stderr
    assert sf.json("list") == []
