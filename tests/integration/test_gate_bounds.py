"""Resource bounds (issue 11, part 6): a changed file over [gate] max_file_bytes is never read by
the gate; diff-size names it, and a person approves it."""

from __future__ import annotations

from conftest import Runner
from gatekit import GATE, candidate, check, gate, make_project, status

KEY = 'aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n'


def test_a_file_over_max_file_bytes_is_not_read_and_needs_approval(sf: Runner) -> None:
    make_project(sf, gate=GATE.replace('target = "main"', 'target = "main"\nmax_file_bytes = 2000'))
    big = candidate(sf, "big", {"data/blob.txt": "filler line\n" * 300 + KEY})
    report = gate(sf, big)
    size = check(report, "diff-size")
    assert report["verdict"] == "needs-approval" and size["status"] == "needs-approval"
    flagged = f"data/blob.txt: {3600 + len(KEY):,} bytes, over max_file_bytes (2,000): not read by the gate"
    assert flagged in size["excerpt"]
    assert status(report)["secrets"] == "pass"  # its content was never read
    # The same secret in a file under the limit is read, and found.
    small = candidate(sf, "small", {"data/small.txt": KEY})
    assert status(gate(sf, small))["secrets"] == "fail"


def test_max_file_bytes_must_be_a_whole_number(sf: Runner) -> None:
    make_project(sf, gate=GATE.replace('target = "main"', 'target = "main"\nmax_file_bytes = "big"'))
    done = sf("gate", "run", "main", check=False)
    assert done.returncode == 2 and "max_file_bytes must be a whole number" in done.stderr


BREAKER = """
[gate]
target = "main"

[[gate.check]]
name = "noisy"
argv = ["python3", "-c", "import sys; print('calc.py:' + '9' * 5000 + ':1: E1 x'); sys.exit(1)"]
timeout = 60
"""


def test_check_output_built_to_break_the_parser_is_a_failure_not_a_broken_gate(sf: Runner) -> None:
    """A line number of 5000 digits is over Python's int() limit: the findings parser raised and
    the whole gate with it (and, in the floor, the gates running beside it were killed). The
    check fails, its output unparsed; the gate gives its verdict."""
    make_project(sf, gate=BREAKER)
    report = gate(sf, candidate(sf, "noisy", {"notes.txt": "hello\n"}))
    assert report["verdict"] == "fail" and status(report)["noisy"] == "fail", report
