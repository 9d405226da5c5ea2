"""The archive of removed workers' logs: nothing an agent did is lost from view.

A worker's log directory holds every run (generation) of its agent one after another, in
append-only files. Each prompt sent to the agent is recorded in ``prompts.jsonl`` with the
size of each log file at that moment, so the runs can be told apart. When the worker is
removed, each run's slice of the logs moves to
``<git common dir>/shopfloor/archive/<issue>/<NNN>-gen<generation>/`` (written to a temporary
directory, then renamed: a reader never sees half an archive). The launch spec (it holds the
channel token and the agent's environment, API keys included) and the agent's private
``home/`` and ``tmp/`` are never archived. Archives of an issue closed for longer than
``[floor] keep_logs_days`` are pruned (see ``prune``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPLIT = ("events.jsonl", "pane.log", "stderr.log", "refused.jsonl", "shim.err")  # one slice per run
WHOLE = ("setup.log",)  # the worker's setup, before its first run
PROMPTS = "prompts.jsonl"
META = "meta.json"
Range = tuple[int, int | None]  # [start, end) in bytes; None: to the end


@dataclass
class Run:
    """One generation's part of a log directory (live) or an archived run."""

    path: Path
    generation: int
    ranges: dict[str, Range] = field(default_factory=dict)
    prompts: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    live: bool = False


def root_of(db_file: str) -> Path:
    return Path(os.path.dirname(os.path.abspath(db_file))) / "archive"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def record_prompt(log_dir: Path, generation: int, prompt: str, at: str, how: str) -> None:
    """Append the prompt sent to the agent's run ``generation``, with where that run's logs begin."""
    offsets = {name: _size(log_dir / name) for name in SPLIT}
    line = json.dumps({"generation": generation, "at": at, "how": how, "prompt": prompt, "offsets": offsets})
    with (log_dir / PROMPTS).open("a", encoding="utf-8") as out:
        out.write(line + "\n")


def read_prompts(path: Path) -> list[dict[str, Any]]:
    records = []
    try:
        with path.open(encoding="utf-8", errors="replace") as source:
            for line in source:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a crash
                if isinstance(record, dict) and isinstance(record.get("generation"), int):
                    records.append(record)
    except OSError:
        pass
    return records


def split(records: list[dict[str, Any]], generation: int) -> list[tuple[int, dict[str, Range], list[dict[str, Any]]]]:
    """The runs of a log directory from its prompt records (pure): (generation, byte ranges of
    each split file, its prompts). Without records, everything is one run of ``generation``."""
    if not records:
        return [(generation, {name: (0, None) for name in SPLIT}, [])]
    runs: list[tuple[int, dict[str, Range], list[dict[str, Any]]]] = []
    for record in records:
        if runs and runs[-1][0] == record["generation"]:
            runs[-1][2].append(record)
            continue
        offsets = record.get("offsets") or {}
        start = {name: int(offsets.get(name, 0)) for name in SPLIT}
        if runs:
            previous = runs[-1][1]
            for name in SPLIT:
                previous[name] = (previous[name][0], max(previous[name][0], start[name]))
        elif any(start.values()):  # logs written before the first recorded prompt
            runs.append((max(0, record["generation"] - 1), {name: (0, start[name]) for name in SPLIT}, []))
        runs.append((record["generation"], {name: (start[name], None) for name in SPLIT}, [record]))
    return runs


def live_runs(log_dir: Path, generation: int, meta: dict[str, Any]) -> list[Run]:
    """A live worker's runs, read in place."""
    runs = []
    for gen, ranges, prompts in split(read_prompts(log_dir / PROMPTS), generation):
        runs.append(Run(log_dir, gen, ranges, prompts, meta, live=True))
    return runs


def _copy_range(source: Path, target: Path, span: Range) -> None:
    try:
        with source.open("rb") as src:
            src.seek(span[0])
            left = None if span[1] is None else span[1] - span[0]
            with target.open("wb") as out:
                while left is None or left > 0:
                    chunk = src.read(1 << 20 if left is None else min(1 << 20, left))
                    if not chunk:
                        break
                    out.write(chunk)
                    if left is not None:
                        left -= len(chunk)
    except FileNotFoundError:
        return
    if target.exists() and target.stat().st_size == 0:
        target.unlink()


def _next_seq(issue_dir: Path) -> int:
    numbers = [int(p.name.split("-", 1)[0]) for p in issue_dir.iterdir() if p.name[:3].isdigit()]
    return max(numbers, default=0) + 1


def archive(log_dir: Path, root: Path, name: str, generation: int, meta: dict[str, Any]) -> list[Path]:
    """Move copies of each run's logs under ``root/name``; returns the archived run directories.
    Only the named log files are copied: never the spec, the token, home/ or tmp/."""
    issue_dir = root / name
    issue_dir.mkdir(parents=True, exist_ok=True)
    made = []
    runs = split(read_prompts(log_dir / PROMPTS), generation)
    for index, (gen, ranges, prompts) in enumerate(runs):
        temp = issue_dir / f".tmp-{os.getpid()}-{time.monotonic_ns()}"
        temp.mkdir()
        try:
            for file_name in SPLIT:
                _copy_range(log_dir / file_name, temp / file_name, ranges[file_name])
            if index == 0:
                for file_name in WHOLE:
                    if _size(log_dir / file_name):
                        shutil.copyfile(log_dir / file_name, temp / file_name)
            if prompts:
                text = "".join(json.dumps({k: v for k, v in p.items() if k != "offsets"}) + "\n" for p in prompts)
                (temp / PROMPTS).write_text(text, encoding="utf-8")
            (temp / META).write_text(json.dumps({**meta, "generation": gen}), encoding="utf-8")
            made.append(_place(temp, issue_dir, gen))
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
    return made


def _place(temp: Path, issue_dir: Path, generation: int) -> Path:
    for _ in range(100):
        final = issue_dir / f"{_next_seq(issue_dir):03d}-gen{generation}"
        try:
            os.rename(temp, final)  # atomic; fails when another archive took the name meanwhile
            return final
        except OSError:
            if not final.exists():
                raise
    raise OSError(f"cannot name an archive in {issue_dir}")


def archived_runs(root: Path, name: str) -> list[Run]:
    issue_dir = root / name
    try:
        dirs = sorted(p for p in issue_dir.iterdir() if p.is_dir() and p.name[:3].isdigit())
    except OSError:
        return []
    runs = []
    for path in dirs:
        try:
            meta = json.loads((path / META).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {}
        generation = meta.get("generation") if isinstance(meta.get("generation"), int) else 0
        ranges: dict[str, Range] = {file_name: (0, None) for file_name in SPLIT}
        runs.append(Run(path, generation, ranges, read_prompts(path / PROMPTS), meta))
    return runs


def expired(closed_at_s: float | None, known: bool, newest_s: float, now_s: float, keep_days: float) -> bool:
    """Whether an issue's archive goes (pure): its issue closed longer ago than ``keep_days``, or
    it is no longer in the tracker and its newest file is that old. Open issues keep theirs."""
    keep_s = keep_days * 86400
    if closed_at_s is not None:
        return now_s - closed_at_s > keep_s
    return not known and now_s - newest_s > keep_s


def _newest(path: Path) -> float:
    newest = 0.0
    for item in path.rglob("*"):
        try:
            newest = max(newest, item.stat().st_mtime)
        except OSError:
            continue
    return newest


def _issue_of(issue_dir: Path) -> str | None:
    """The issue an archive directory is of, from the first of its runs that says."""
    for meta in sorted(issue_dir.glob(f"[0-9]*/{META}")):
        try:
            issue = json.loads(meta.read_text(encoding="utf-8")).get("issue")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(issue, str) and issue:
            return issue
    return None


def prune(root: Path, closed: Callable[[str], tuple[bool, float | None]], keep_days: float, now_s: float) -> list[str]:
    """Remove the archives of issues closed for longer than ``keep_days``; returns their issue ids.
    ``closed(issue_id)`` is (the issue exists, when it closed or None). Cheap: one directory
    listing and one lookup per archived issue."""
    removed = []
    try:
        issue_dirs: Iterable[Path] = [p for p in root.iterdir() if p.is_dir()]
    except OSError:
        return []
    for issue_dir in issue_dirs:
        issue = _issue_of(issue_dir)
        known, closed_at = closed(issue) if issue else (False, None)
        if closed_at is None and known:
            continue  # an open issue keeps its logs
        newest = _newest(issue_dir) if closed_at is None else 0.0
        if expired(closed_at, known, newest, now_s, keep_days):
            shutil.rmtree(issue_dir, ignore_errors=True)
            removed.append(issue or issue_dir.name)
    return removed
