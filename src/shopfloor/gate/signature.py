"""Failure signatures (pure): the same failure gets the same fingerprint across attempts.

A signature is the check's name plus what failed (test ids, error codes, the first error
lines), with the noise that changes from run to run stripped: line and column numbers,
temporary paths, hex ids, durations, memory addresses. The floor compares signatures of
successive attempts to spot an agent repeating the same failure.
"""

from __future__ import annotations

import hashlib
import re

_NOISE = (
    (re.compile(r"\S*/\.gate/run-\d+-\d+/(wt/)?"), "<wt>/"),  # the gate's own worktree
    (re.compile(r"0x[0-9a-fA-F]+"), "0x?"),
    (re.compile(r"\b[0-9a-f]{7,40}\b"), "<hex>"),
    (re.compile(r"(/tmp|/var/folders|/private/var)/[^\s:'\"]*"), "<tmp>"),
    (re.compile(r"(?<=[:(])\d+(?=[:)\s,]|$)"), "N"),  # file.py:12: / (12) / :12:5
    (re.compile(r"\bline \d+\b"), "line N"),
    (re.compile(r"\b\d+(\.\d+)?\s?(s|ms|sec|seconds)\b"), "<time>"),
    (re.compile(r"\s+"), " "),
)
# What identifies a failure, in the order tried: pytest/junit test ids, error codes, the rest.
_TEST_ID = re.compile(r"^(?:FAILED|ERROR)\s+(\S+)", re.MULTILINE)
_GO_TEST = re.compile(r"^--- FAIL: (\S+)", re.MULTILINE)
_CODE = re.compile(r"(\b[A-Z]{1,4}\d{3,4}\b|\berror\[E\d{4}\]|\bTS\d{4}\b|\[[a-z][a-z-]+\](?=\s*$))", re.MULTILINE)
MAX_KEYS = 20


def normalise(text: str) -> str:
    for pattern, replacement in _NOISE:
        text = pattern.sub(replacement, text)
    return text.strip()


def failure_keys(output: str) -> list[str]:
    """The stable things that failed: test ids, else error codes, else the first error lines."""
    tests = _TEST_ID.findall(output) + _GO_TEST.findall(output)
    if tests:
        return sorted({normalise(t.split(" - ")[0]) for t in tests})[:MAX_KEYS]
    codes = _CODE.findall(output)
    if codes:
        return sorted(set(codes))[:MAX_KEYS]
    lines = [normalise(line) for line in output.splitlines() if re.search(r"error|fail|assert", line, re.IGNORECASE)]
    return sorted({line for line in lines if line})[:5]


def signature(check: str, output: str, status: str) -> str:
    """``<check>:<16 hex>``; the same failure of the same check always gives the same value."""
    keys = failure_keys(output) if status in ("fail", "error") else []
    material = "\n".join([check, status, *keys])
    return f"{check}:{hashlib.blake2b(material.encode('utf-8', 'replace'), digest_size=8).hexdigest()}"
