"""Batches with bisection, as a pure rule: who lands, who is rejected, how many gate runs."""

from __future__ import annotations

import math
from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st

from shopfloor.queue.bisect import land_batch


def run(entries: list[int], bad: set[int]) -> tuple[list[int], list[int], int, list[list[int]]]:
    landed_batches: list[list[int]] = []

    def test(batch: Sequence[int]) -> bool:
        return not (set(batch) & bad)

    outcome = land_batch(entries, test, lambda batch: landed_batches.append(list(batch)))
    return outcome.landed, outcome.rejected, outcome.runs, landed_batches


def test_one_bad_entry_in_eight_lands_the_other_seven_within_the_bound() -> None:
    for culprit in range(8):
        landed, rejected, runs, _ = run(list(range(8)), {culprit})
        assert rejected == [culprit] and sorted(landed) == [n for n in range(8) if n != culprit]
        assert runs <= 1 + 2 * math.ceil(math.log2(8))


def test_a_clean_batch_lands_in_one_run_and_keeps_its_order() -> None:
    landed, rejected, runs, batches = run(list(range(4)), set())
    assert (landed, rejected, runs, batches) == ([0, 1, 2, 3], [], 1, [[0, 1, 2, 3]])


@given(st.integers(1, 16), st.sets(st.integers(0, 15), max_size=4))
def test_every_entry_is_landed_or_rejected_once_and_only_bad_ones_are_rejected(n: int, bad: set[int]) -> None:
    bad = {b for b in bad if b < n}
    landed, rejected, runs, batches = run(list(range(n)), bad)
    assert sorted(landed + rejected) == list(range(n))
    assert set(rejected) == bad
    assert [e for batch in batches for e in batch] == landed  # landed in the order they were queued
    if len(bad) == 1:
        assert runs <= 1 + 2 * math.ceil(math.log2(n)) if n > 1 else runs == 1
