"""Benchmark the knowledge flywheel: does a lesson reach the next agent's prompt and change what it does?

Run it as ``.venv/bin/python bench/flywheel_bench.py [--quick]``. It measures the plumbing, not
a model: a sample repository whose gate has one check per family of issues, and a backlog of
12 issues in 3 families of 4 (``--quick``: 3 families of 3), each family a chain of
dependencies, worked by the real floor (``shopfloor run``, 2 workers, the scripted agent).

- lint: "add the X command" (``app/cmd_X.py``); the mistake is a ``print()`` call, which the
  ``no-print-calls`` check fails;
- fixtures: "add a test fixture for X"; the mistake is a ``tests/fixtures/X.json`` not listed in
  ``tests/fixtures/INDEX``, which ``fixtures-indexed`` fails;
- api: "fetch X from the billing API"; the mistake is ``timeout_s=`` where the client takes
  ``timeout_ms=``, which ``api-timeout-ms`` fails.

For each issue the scripted agent makes its family's mistake, is sent the gate's report, and
fixes it on the second pass. Its scenario takes the right path first time only when its first
prompt holds the family's check name (the scenario's ``branches``): text that only the product
puts there, from the memory (a gate failure, a retro) or from an accepted rule in AGENTS.md.
The bench never writes a lesson into a prompt.

The runs:
- off: ``[flywheel] brief_tokens = 0`` on a fresh repository;
- on: retros and briefings (the default budget) on a fresh repository;
- rules: the off run's repository, where the same failure recurred in every issue of a family:
  ``shopfloor rules list`` proposes one rule per family, a person accepts each (``rules
  accept``), approves the rules issue (``approve``), the queue lands it on main (``queue run``),
  briefings are turned on, and a second backlog of the same families is worked;
- rules only: the same on a second off repository, with briefings left off: what the accepted
  rules (AGENTS.md, in every briefing) carry by themselves.

Reported per run: issues, second-pass rate (issues whose first pass failed the gate), first
passes that made their family's mistake, attempts, tokens and cost (the scripted agent's usage
at $3/$15 per million tokens; the sessions' and, in brackets, the lessons turns' that the
retros record), wall time, and attempts against the off run. The floor's admission by machine
load is off (``[floor] max_load = "none"``): on a shared machine it would time the neighbours.
Each run is made 3 times (``--repeat N``; once with ``--quick``) and the wall time is the
median; the other figures are the same each time, or the bench says they were not. Results go
to ``bench/results/flywheel.json``, with the learnings each first attempt was briefed with; each
floor's own output is kept in the temporary directory as ``flywheel-bench-*.log``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import CLI, Sample, bench_env, publish, sample_repo

PERSON = "bench-person"
USAGE = {"input": 3, "output": 15}  # USD per million tokens, as the scripted agent reports cost


@dataclass(frozen=True)
class Family:
    name: str
    check: str  # the gate check its mistake fails: the lesson's name, as the product writes it
    script: str  # the check's shell script (its output is one fixed line, so the signature recurs)
    lesson: str  # what the agent says the next agent should know, once it has fixed the mistake
    words: tuple[str, ...]  # one issue per word, in dependency order
    more: tuple[str, ...]  # the second backlog (the rules run)


FAMILIES = (
    Family(
        "lint",
        "no-print-calls",
        "if grep -rq 'print(' app; then echo 'app/ calls print(): report through app.log.say'; exit 1; fi",
        "The no-print-calls check fails any print() in app/: report through app.log.say instead.",
        ("export", "import", "sync", "prune"),
        ("merge", "split", "rename", "audit"),
    ),
    Family(
        "fixtures",
        "fixtures-indexed",
        'for f in tests/fixtures/*.json; do [ -e "$f" ] || continue; grep -qxF "${f##*/}" tests/fixtures/INDEX '
        "|| { echo 'a fixture in tests/fixtures/ is not listed in tests/fixtures/INDEX'; exit 1; }; done",
        "The fixtures-indexed check wants every tests/fixtures/*.json listed in tests/fixtures/INDEX.",
        ("orders", "refunds", "invoices", "customers"),
        ("coupons", "taxes", "carts", "vendors"),
    ),
    Family(
        "api",
        "api-timeout-ms",
        "if grep -rq 'timeout_s=' app; then echo 'the billing client takes timeout_ms=, not timeout_s='; exit 1; fi",
        "The api-timeout-ms check: the billing client takes timeout_ms= (milliseconds), never timeout_s=.",
        ("balance", "usage", "plans", "limits"),
        ("credits", "quotas", "seats", "alerts"),
    ),
)

FILES = {
    "app/__init__.py": "",
    "app/log.py": 'def say(text: str) -> None:\n    """Report to the user."""\n',
    "app/billing.py": 'def get(path: str, *, timeout_ms: int) -> dict:\n    """The billing API."""\n    return {}\n',
    "tests/fixtures/INDEX": "base.json\n",
    "tests/fixtures/base.json": "{}\n",
}


def gate(off: bool) -> str:
    checks = "".join(
        f'\n[[gate.check]]\nname = "{f.check}"\nargv = ["sh", "-c", {json.dumps(f.script)}]\n'
        "timeout = 60\nfast = true\n"
        for f in FAMILIES
    )
    flywheel = "\n[flywheel]\nbrief_tokens = 0\n" if off else ""
    # max_load off: on a shared machine the floor's admission would make wall time a measure of
    # the neighbours' load, not of the flywheel (the 2 workers are scripted agents, light).
    floor = '\n[floor]\nmax_load = "none"\n'
    return f'{floor}\n[gate]\nbuiltins = ["protected-files", "diff-size"]\n{checks}{flywheel}'


def issue_text(family: Family, word: str) -> tuple[str, str]:
    if family.name == "lint":
        return (
            f"Add the {word} command",
            f"Write app/cmd_{word}.py: the {word} command of the CLI, reporting what it did.",
        )
    if family.name == "fixtures":
        return f"Add a test fixture for {word}", f"Write tests/fixtures/{word}.json: sample {word} for the tests."
    return (
        f"Fetch {word} from the billing API",
        f"Write app/billing_{word}.py: read the account's {word} with the billing client.",
    )


def _write(path: str, text: str, tokens: int) -> dict[str, Any]:
    return {
        "tool": {"name": "Write", "input": {"file_path": path, "content": text}},
        "usage": {"input_tokens": tokens, "output_tokens": 150},
    }


def _bash(command: str, tokens: int) -> dict[str, Any]:
    return {
        "tool": {"name": "Bash", "input": {"command": command}},
        "usage": {"input_tokens": tokens, "output_tokens": 40},
    }


def _done(tokens: int) -> dict[str, Any]:
    return {"text": "Done: committed on my branch.", "usage": {"input_tokens": tokens, "output_tokens": 20}}


def paths(family: Family, word: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The agent's turns: (the mistake, the fix after the gate's report, the right path first time)."""
    commit = f"git add -A && git commit -qm '{word}'"
    if family.name == "lint":
        bad = f'def run() -> None:\n    print("{word}: done")\n'
        good = f'from app.log import say\n\n\ndef run() -> None:\n    say("{word}: done")\n'
        file = f"app/cmd_{word}.py"
        mistake = [_write(file, bad, 4000), _bash(commit, 4300), _done(4400)]
        fix = [_write(file, good, 6000), _bash(f"git commit -qam 'fix {word}'", 6300), _done(6400)]
        right = [_write(file, good, 4000), _bash(commit, 4300), _done(4400)]
    elif family.name == "fixtures":
        file = f"tests/fixtures/{word}.json"
        listed = f"echo {word}.json >> tests/fixtures/INDEX"
        mistake = [_write(file, '{"sample": true}\n', 4000), _bash(commit, 4300), _done(4400)]
        fix = [_bash(f"{listed} && git commit -qam 'list {word}'", 6000), _done(6100)]
        right = [_write(file, '{"sample": true}\n', 4000), _bash(f"{listed} && {commit}", 4300), _done(4400)]
    else:
        file = f"app/billing_{word}.py"
        call = 'from app import billing\n\n\ndef read() -> dict:\n    return billing.get("/{w}", {arg})\n'
        bad, good = call.format(w=word, arg="timeout_s=5"), call.format(w=word, arg="timeout_ms=5000")
        mistake = [_write(file, bad, 4000), _bash(commit, 4300), _done(4400)]
        fix = [_write(file, good, 6000), _bash(f"git commit -qam 'fix {word}'", 6300), _done(6400)]
        right = [_write(file, good, 4000), _bash(commit, 4300), _done(4400)]
    # Asked after its second pass what the next agent should know ([flywheel] ask_agent), it says.
    fix.append({"text": f"- {family.lesson}", "usage": {"input_tokens": 6500, "output_tokens": 60}})
    return mistake, fix, right


def scenario(issues: list[tuple[str, Family, str]]) -> dict[str, Any]:
    scripts = []
    for issue, family, word in issues:
        mistake, fix, right = paths(family, word)
        # "Work on issue ID:" opens only this issue's own prompt (a learning may name other issues).
        # Its first prompt names the family's check (a learning, a rule): it takes the right path.
        scripts.append(
            {
                "match": f"Work on issue {issue}:",
                "turns": mistake + fix,
                "branches": [{"contains": family.check, "turns": right}],
            }
        )
    return {"context_window": 200_000, "usd_per_mtok": USAGE, "scripts": scripts}


def backlog(sample: Sample, second: bool, n: int) -> list[tuple[str, Family, str]]:
    """The issues, each family a chain (each issue blocked by the one before), created in turn."""
    out: list[tuple[str, Family, str]] = []
    last: dict[str, str] = {}
    for k in range(n):
        for family in FAMILIES:
            word = (family.more if second else family.words)[k]
            title, description = issue_text(family, word)
            args = ["create", title, "-d", description, "-p", "2", "--json"]
            if family.name in last:
                args += ["--deps", f"blocks:{last[family.name]}"]
            issue = json.loads(sample.cli(*args))["id"]
            last[family.name] = issue
            out.append((issue, family, word))
    return out


def work(sample: Sample, issues: list[tuple[str, Family, str]]) -> dict[str, Any]:
    """Run the floor on ``issues`` until idle; what it took."""
    scenario_file = sample.work / f"scenario-{len(list(sample.work.glob('scenario-*')))}.json"
    scenario_file.write_text(json.dumps(scenario(issues)))
    env = sample.env | {"SHOPFLOOR_SCENARIO": str(scenario_file), "SHOPFLOOR_ACTOR": "floor", "SHOPFLOOR_DEBUG": "1"}
    before = json.loads(sample.cli("metrics", "--json"))
    start = time.perf_counter()
    done = subprocess.run(
        [CLI, "run", "--workers", "2", "--agent", "scripted", "--terminal", "detached", "--until-idle"],
        cwd=sample.repo, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - start
    log = Path(tempfile.gettempdir()) / f"flywheel-bench-{sample.work.name}-{scenario_file.stem}.log"
    log.write_text(done.stdout + done.stderr)  # the floor's own account, kept to look into a slow run
    if done.returncode != 0:
        raise SystemExit(f"shopfloor run failed ({done.returncode}): {(done.stderr or done.stdout)[-2000:]}")
    after = json.loads(sample.cli("metrics", "--json"))
    ids = [issue for issue, _, _ in issues]
    status = {i: json.loads(sample.cli("show", i, "--json"))["status"] for i in ids}
    if any(s != "closed" for s in status.values()):
        raise SystemExit(f"not every issue landed: {status}")
    conn = sqlite3.connect(sample.repo / ".git" / "shopfloor" / "tracker.db")
    rows = conn.execute(
        f"SELECT issue, verdict, failed_checks, learnings FROM attempts WHERE issue IN ({', '.join('?' * len(ids))}) "
        "ORDER BY id",
        ids,
    ).fetchall()
    conn.close()
    first: dict[str, tuple[str, list[str], list[str]]] = {}
    tries: dict[str, int] = {}
    for issue, verdict, failed, learned in rows:
        first.setdefault(issue, (verdict, json.loads(failed or "[]"), json.loads(learned or "[]")))
        tries[issue] = tries.get(issue, 0) + 1
    lesson_tokens, lesson_cost = 0, 0.0  # the lessons turns: each retro's own cost, in its front matter
    for issue in ids:
        shown = sample.run("git", "show", f"main:.agents/retros/{issue}.md", ok=(0, 128)).stdout
        front = dict(line.split(": ", 1) for line in shown.split("\n---", 1)[0].splitlines() if ": " in line)
        lesson_tokens += int(front.get("retro_tokens", 0))
        lesson_cost += float(front.get("retro_cost_usd", 0))
    family_of = {issue: family for issue, family, _ in issues}
    mistakes = [i for i in ids if family_of[i].check in first[i][1]]
    return {
        "issues": len(ids),
        "second_pass": sum(1 for i in ids if first[i][0] != "pass"),
        "mistakes": len(mistakes),
        "mistakes_by_family": {f.name: sum(1 for i in mistakes if family_of[i] is f) for f in FAMILIES},
        "attempts": sum(tries.values()),
        "tokens": after["tokens"] - before["tokens"] + lesson_tokens,
        "cost_usd": round(after["cost_usd"] - before["cost_usd"] + lesson_cost, 6),
        "lesson_tokens": lesson_tokens,
        "wall_s": wall,
        "briefed": sum(1 for i in ids if first[i][2]),  # first attempts briefed with at least one learning
        "first_briefings": {i: first[i][2] for i in ids},  # the learnings each first attempt was briefed with
    }


def accept_rules(sample: Sample) -> dict[str, Any]:
    """As a person would: accept every proposed rule, approve the rules issue, land it."""
    person = sample.env | {"SHOPFLOOR_ACTOR": PERSON}

    def cli(*args: str) -> Any:
        return json.loads(subprocess.run([CLI, *args, "--json"], cwd=sample.repo, env=person, capture_output=True,
                                         text=True, check=True).stdout)  # fmt: skip

    proposed = cli("rules", "list")
    published = [cli("rules", "accept", str(rule["id"])) for rule in proposed]
    if not published:
        raise SystemExit("no rule was proposed after the off run")
    last = published[-1]
    cli("approve", last["issue"])
    landed = cli("queue", "run", "--until-empty")
    agents_md = subprocess.run(["git", "show", "main:AGENTS.md"], cwd=sample.repo, env=sample.env,
                               capture_output=True, text=True, check=False).stdout  # fmt: skip
    accepted = cli("rules", "list", "--state", "accepted")
    if len(accepted) != len(proposed) or not all(rule["text"] in agents_md for rule in accepted):
        raise SystemExit(f"the accepted rules did not land in AGENTS.md on main: {landed}")
    return {"proposed": [r["signature"] for r in proposed], "landed": landed, "agents_md": agents_md}


def flywheel_on(sample: Sample) -> None:
    """Turn briefings on again (the off run's ``brief_tokens = 0`` removed) on main."""
    config = sample.repo / ".shopfloor" / "config.toml"
    config.write_text(config.read_text().replace("\n[flywheel]\nbrief_tokens = 0\n", "\n"))
    sample.run("git", "commit", "-qm", "flywheel on", "--", ".shopfloor/config.toml")


def fresh(name: str, off: bool) -> Sample:
    work_dir = Path(tempfile.mkdtemp(prefix=f"sffw-{name}-"))
    env = bench_env(work_dir / "home", actor=PERSON, SHOPFLOOR_SCRIPTED_HOME=str(work_dir / "sessions"))
    return sample_repo(work_dir, "fw", env=env, files=FILES, gate=gate(off=off))


def one_pass(n: int) -> dict[str, Any]:
    """Each run once: off, on, and the off run's repository with its rules accepted (with and
    without briefings: the second shows what the rules alone carry)."""
    out: dict[str, Any] = {}
    for name, briefings in (("rules", True), ("rules_only", False)):
        sample = fresh(name, off=True)
        try:
            off = work(sample, backlog(sample, False, n))
            out["off" if "off" not in out else "off_again"] = off  # the same backlog twice: it should match
            print(f"  off: {off}", flush=True)
            rules = accept_rules(sample)
            print(f"  rules proposed, accepted and landed: {rules['proposed']}", flush=True)
            if briefings:
                flywheel_on(sample)
            out[name] = work(sample, backlog(sample, True, n)) | rules
            print(f"  {name}: { {k: v for k, v in out[name].items() if k not in ('agents_md', 'landed')} }", flush=True)
        finally:
            shutil.rmtree(sample.work, ignore_errors=True)
    sample = fresh("on", off=False)
    try:
        out["on"] = work(sample, backlog(sample, False, n))
        print(f"  on: {out['on']}", flush=True)
    finally:
        shutil.rmtree(sample.work, ignore_errors=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 families of 3 issues (the rules need 3 to recur)")
    parser.add_argument("--repeat", type=int, help="runs of each (default 3, 1 with --quick); wall: the median")
    args = parser.parse_args()
    n = 3 if args.quick else 4
    passes = [one_pass(n) for _ in range(args.repeat or (1 if args.quick else 3))]
    rows = []
    keys = ("second_pass", "mistakes", "attempts", "tokens", "cost_usd")
    base = passes[0]["off"]
    labels = (
        ("off", "off (brief_tokens = 0)"),
        ("on", "retros + briefings"),
        ("rules", "briefings + accepted rules"),
        ("rules_only", "accepted rules, no briefings"),
    )
    for name, label in labels:
        runs = [p[name] for p in passes]
        if any(tuple(r[k] for k in keys) != tuple(runs[0][k] for k in keys) for r in runs):
            print(f"note: the {name} runs differed: {[{k: r[k] for k in keys} for r in runs]}")
        r = runs[0]
        rows.append((
            label,
            str(r["issues"]),
            f"{r['second_pass'] / r['issues']:.0%} ({r['second_pass']})",
            " / ".join(str(v) for v in r["mistakes_by_family"].values()),
            str(r["attempts"]),
            f"{r['tokens']:,} ({r['lesson_tokens']:,})",
            f"${r['cost_usd']:.3f}",
            f"{statistics.median(x['wall_s'] for x in runs):.0f} s",
            f"{r['attempts'] / base['attempts']:.2f}x",
        ))  # fmt: skip
    head = ("run", "issues", "second-pass rate", "mistakes lint/fixtures/api", "attempts", "tokens (lessons)", "cost",
            "wall", "attempts vs off")  # fmt: skip
    publish("flywheel", head, rows, markdown=True, right=(1, 2, 4, 5, 6, 7, 8), runs=passes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
