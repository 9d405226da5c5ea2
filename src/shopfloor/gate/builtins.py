"""The built-in checks: they need no project configuration, only the diff and the files.

Each takes plain data (the parsed diff, file contents by path) and returns a
``CheckResult``; reading git is the caller's job.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from shopfloor.gate import testcode, tricks
from shopfloor.gate.config import GateConfig
from shopfloor.gate.diffs import FileDiff, Weakening, changed_lines, weakening
from shopfloor.gate.junit import Counts, fewer
from shopfloor.gate.results import CheckResult
from shopfloor.gate.signature import signature

Reader = Callable[[str], str | None]  # path -> the file's text at that revision (None if absent)
MAX_ANALYSED_BYTES = 2 * 1024 * 1024


def _result(name: str, problems: list[str], bad: str = "fail") -> CheckResult:
    if not problems:
        return CheckResult(name, "pass", builtin=True)
    text = "\n".join(problems)
    return CheckResult(name, bad, excerpt=text[:4000], signature=signature(name, text, "fail"), builtin=True)


def protected_files(files: dict[str, FileDiff], config: GateConfig) -> CheckResult:
    """Protected files touched in any directory, and symlinks added or changed → approval."""
    return _result("protected-files", tricks.protected(files, config.protected), bad="needs-approval")


def suppressions(files: dict[str, FileDiff], exempt: bool) -> CheckResult:
    """Lint, type and coverage suppressions the change adds (``# noqa``, ``# type: ignore``, ...)."""
    found = tricks.suppressions(files)
    if exempt:
        excerpt = "exempt: the issue is labelled allow-suppressions" + "".join(f"\n{p}" for p in found)
        return CheckResult("suppressions", "pass", excerpt=excerpt[:4000], builtin=True)
    return _result("suppressions", found)


def diff_size(files: dict[str, FileDiff], config: GateConfig, too_large: dict[str, int] | None = None) -> CheckResult:
    """Too many changed lines or files, or files too large to read (``too_large``: path -> bytes)."""
    lines, count = changed_lines(files), len(files)
    problems = [
        f"{path}: {size:,} bytes, over max_file_bytes ({config.max_file_bytes:,}): not read by the gate"
        for path, size in sorted((too_large or {}).items())
    ]
    if lines > config.max_changed_lines:
        problems.append(f"{lines} changed lines, over the limit of {config.max_changed_lines}")
    if count > config.max_changed_files:
        problems.append(f"{count} changed files, over the limit of {config.max_changed_files}")
    return _result("diff-size", problems, bad="needs-approval")


def tests_not_weakened(
    files: dict[str, FileDiff],
    config: GateConfig,
    base: Counts | None,
    candidate: Counts | None,
    exempt: bool,
    new: Reader | None = None,
    old: Reader | None = None,
) -> CheckResult:
    """What the diff removes (``diffs.weakening``), what the test code now does (assertions that
    cannot fail, patches of pytest's reporting, fewer parametrized cases: ``testcode``, when the
    texts can be read), and the junit counts."""
    if exempt:
        return CheckResult(
            "tests-not-weakened", "pass", excerpt="exempt: the issue is labelled allow-test-changes", builtin=True
        )
    found: Weakening = weakening(files, config.test_paths)
    problems = found.evidence()
    if new is not None and old is not None:
        problems += testcode.evidence(files, config.test_paths, new, old)
    if base is not None and candidate is not None:
        problems += fewer(base, candidate)
    return _result("tests-not-weakened", problems)


def complexity(files: dict[str, FileDiff], config: GateConfig, new: Reader, old: Reader) -> CheckResult:
    """lizard's cyclomatic complexity of every function the diff touches, and a per-file ratchet."""
    import lizard  # lazy: 25 ms to import, and only this check needs it

    problems = []
    for path, diff in sorted(files.items()):
        if diff.status == "D" or not diff.added:
            continue
        source = new(path)
        if source is None or len(source) > MAX_ANALYSED_BYTES:
            continue
        info = lizard.analyze_file.analyze_source_code(path, source)
        if not info.function_list:
            continue
        touched = {n for n, _ in diff.added}
        before_text = old(diff.old_path or path)
        was: dict[str, int] = {}  # each function's complexity on the base, by name
        if before_text is not None and len(before_text) <= MAX_ANALYSED_BYTES:
            for fn in lizard.analyze_file.analyze_source_code(path, before_text).function_list:
                was[fn.name] = max(was.get(fn.name, 0), fn.cyclomatic_complexity)
        for fn in info.function_list:
            # Blamed only for what the change did: a function over the limit that it added, or
            # made more complex; touching a function that was already over it is not a defect.
            grew = fn.cyclomatic_complexity > was.get(fn.name, 0)
            if (
                fn.cyclomatic_complexity > config.complexity_max
                and grew
                and touched & set(range(fn.start_line, fn.end_line + 1))
            ):
                before_fn = f", was {was[fn.name]}" if fn.name in was else ""
                problems.append(
                    f"{path}:{fn.start_line}: {fn.name} has cyclomatic complexity {fn.cyclomatic_complexity} "
                    f"(limit {config.complexity_max}{before_fn})"
                )
        worst = max(fn.cyclomatic_complexity for fn in info.function_list)
        before = max(was.values(), default=0)
        if worst > config.complexity_ratchet and worst > before:
            problems.append(
                f"{path}: worst complexity grew from {before} to {worst} (ratchet {config.complexity_ratchet})"
            )
    return _result("complexity", problems)


def secrets(files: dict[str, FileDiff]) -> CheckResult:
    """detect-secrets over the added lines only (secrets already on the base are not this change's).

    The added lines of each file are written to a scratch file of the same name, so the
    scanner applies its per-language rules (quoted strings, keywords) as it would to the file.
    """
    # lazy: detect-secrets takes about 90 ms to import, and only this check needs it
    from detect_secrets.core.secrets_collection import SecretsCollection  # (lazy: as above)
    from detect_secrets.settings import default_settings  # (lazy: as above)

    problems = []
    with tempfile.TemporaryDirectory(prefix="sf-secrets-") as scratch, default_settings():
        for n, (path, diff) in enumerate(sorted(files.items())):
            lines = [(number, text) for number, text in diff.added if len(text) <= 4000]
            if not lines:
                continue
            target = Path(scratch) / str(n) / Path(path).name
            target.parent.mkdir()
            target.write_text("\n".join(text for _, text in lines) + "\n", encoding="utf-8", errors="replace")
            found = SecretsCollection()
            found.scan_file(str(target))
            for secret_set in found.data.values():
                for secret in secret_set:
                    value = secret.secret_value or ""
                    if secret.type == "Hex High Entropy String" and len(value) in (40, 64):
                        continue  # a git sha or a sha256 checksum, not a secret
                    number = lines[secret.line_number - 1][0] if 0 < secret.line_number <= len(lines) else 0
                    problems.append(f"{path}:{number}: possible secret ({secret.type})")
            problems += [
                f"{path}:{number}: adds a secret-scanner allowlist pragma: a person must approve it"
                for number, text in lines
                if "allowlist secret" in text
            ]
    return _result("secrets", sorted(set(problems)))
