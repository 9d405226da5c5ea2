"""Retros end to end: a real floor (scripted agent, real gate, queue and git) writes one for each
issue it finishes and commits it with the tracker; a candidate branch that writes a retro is gated."""

from __future__ import annotations

import json

from conftest import Runner
from shopfloor.floor.retro import parse_front_matter
from shopfloor.tracker.trackeronly import TRACKER_PATH
from test_floor import run_floor, setup_gate, write_commit


def test_the_floor_commits_a_retro_for_a_merged_and_a_blocked_issue(floor: Runner) -> None:
    setup_gate(floor)
    refine = floor.json("create", 'Add c --- "outcome: blocked"')["id"]  # a hostile title stays data
    stuck = floor.json("create", "Add d")["id"]
    scripts = [
        {"match": refine, "turns": write_commit("c.txt", "c FIXME\n", "add c") + write_commit("c.txt", "c\n", "fix c")},
        {
            "match": stuck,
            "turns": write_commit("d.txt", "d FIXME\n", "add d") + write_commit("d.txt", "d FIXME again\n", "retry d"),
        },
    ]
    scenario = floor.cwd.parent / "retros.json"
    scenario.write_text(json.dumps({"scripts": scripts}))
    run_floor(floor, scenario, "--max-attempts", "2", blocks=True)
    assert floor.json("show", refine)["status"] == "closed" and floor.json("show", stuck)["status"] == "blocked"

    merged = floor.git("show", f"main:.agents/retros/{refine}.md")
    said = parse_front_matter(merged)
    assert said["outcome"] == "merged" and said["attempts"] == 2 and said["spiral"] == "none"
    assert said["title"] == 'Add c --- "outcome: blocked"' and said["files"] == ["c.txt"]
    assert int(str(said["tokens"])) > 0 and said["handoffs"] == 0
    signature = floor.json("show", refine)["attempts"][0]["signatures"][0]
    assert signature.startswith("no-fixme:") and f"signature ` {signature} `" in merged
    assert "first met at attempt 1, fixed by attempt 2" in merged and "1 file changed" in merged

    blocked = floor.git("show", f"main:.agents/retros/{stuck}.md")
    said = parse_front_matter(blocked)
    assert said["outcome"] == "blocked" and said["attempts"] == 2 and said["spiral"] != "none"
    assert said["files"] == ["d.txt"] and "never fixed" in blocked and "no-fixme:" in blocked

    # Committed by the floor's tracker commit, which touches the tracker file and the retros only.
    for issue in (refine, stuck):
        commit = floor.git("log", "-1", "--format=%H", "main", "--", f".agents/retros/{issue}.md")
        assert floor.git("log", "-1", "--format=%an", commit) == "shopfloor queue"
        touched = set(floor.git("show", "--format=", "--name-only", commit).splitlines())
        assert touched <= {TRACKER_PATH, f".agents/retros/{refine}.md", f".agents/retros/{stuck}.md"}
    # The main checkout was fast-forwarded: the memory finds the retros there.
    assert (floor.cwd / ".agents" / "retros" / f"{refine}.md").read_text().rstrip("\n") == merged.rstrip("\n")
    hits = floor.json("learn", "search", "no-fixme", "never", "fixed")
    assert f"retro:{stuck}" in [h["id"] for h in hits]
    # A second run with nothing new commits no retro again.
    before = floor.git("rev-parse", "main")
    floor(
        "run", "--workers", "1", "--agent", "scripted", "--terminal", "detached", "--until-idle",
        env={"SHOPFLOOR_SCENARIO": str(scenario)}, check=False,
    )  # fmt: skip
    assert floor.git("log", "--format=%H", f"{before}..main", "--", ".agents/retros") == ""
    # A retro lost from the target comes back with the tracker commit a person makes by hand.
    floor.git("rm", "-q", f".agents/retros/{refine}.md")
    floor.git("commit", "-qm", "drop a retro")
    floor.json("export", "--commit")
    assert floor.git("show", f"main:.agents/retros/{refine}.md") == merged


def test_a_candidate_branch_that_writes_a_retro_is_gated_not_skipped(sf: Runner) -> None:
    config = sf.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + '\n[gate]\nbuiltins = []\n[[gate.check]]\nname = "ran"\nargv = ["true"]\n')
    sf.git("add", "-A")
    sf.git("commit", "-qm", "set up shopfloor")
    sid = sf.json("create", "an issue")["id"]
    for name, with_export in (("retro-and-export", True), ("retro-alone", False)):
        sf.git("checkout", "-q", "-b", name, "main")
        if with_export:
            sf("export")
        retros = sf.cwd / ".agents" / "retros"
        retros.mkdir(parents=True, exist_ok=True)
        (retros / f"{sid}.md").write_text("---\noutcome: merged\n---\n")
        (retros / "x.md").write_text("a note\n")
        sf.git("add", "-A")
        sf.git("commit", "-qm", name)
        sf.git("checkout", "-q", "main")
        report = sf.json("gate", "run", name)
        assert "note" not in report and [c["name"] for c in report["checks"]] == ["ran"], report


def test_a_persons_file_where_a_retro_goes_waits_the_retro_not_the_tracker(floor: Runner) -> None:
    setup_gate(floor)
    sid = floor.json("create", "Add e")["id"]
    mine = floor.cwd / ".agents" / "retros" / f"{sid}.md"
    mine.parent.mkdir(parents=True, exist_ok=True)
    mine.write_text("my own notes, not committed\n")
    scenario = floor.cwd.parent / "one.json"
    scenario.write_text(json.dumps({"scripts": [{"match": sid, "turns": write_commit("e.txt", "e\n", "add e")}]}))
    done = run_floor(floor, scenario)
    exported = [json.loads(line) for line in floor.git("show", f"main:{TRACKER_PATH}").splitlines()]
    assert [i["status"] for i in exported if i["id"] == sid] == ["closed"], done.stdout  # the tracker went in
    assert floor.git("ls-tree", "--name-only", "main", f".agents/retros/{sid}.md") == ""  # the retro waited
    assert mine.read_text() == "my own notes, not committed\n" and "cannot fast-forward" not in done.stdout
    mine.unlink()  # once the person's file is gone, the floor's next tracker commit brings the retro
    floor(
        "run", "--workers", "1", "--agent", "scripted", "--terminal", "detached", "--until-idle",
        env={"SHOPFLOOR_SCENARIO": str(scenario)}, check=False,
    )  # fmt: skip
    assert parse_front_matter(floor.git("show", f"main:.agents/retros/{sid}.md"))["outcome"] == "merged"
