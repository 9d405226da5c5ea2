"""Batches with bisection (pure): which entries land, which are rejected, in how many gate runs.

bors-style: a batch of queued entries is stacked and gated as one tree. If it passes, every
entry lands. If it fails, it is split in halves, handled left first (so the left half lands
before the right half is stacked on top of it). When the left half passes, the right half is
known to hold the failure, so it is split again without gating it whole. An entry is rejected
only after failing on its own. With one bad entry among N, that is at most 1 + 2*ceil(log2 N)
gate runs.

The gate and the landing are injected (``test``, ``land``) so the rule is testable without git.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Outcome(Generic[T]):
    landed: list[T] = field(default_factory=list)
    rejected: list[T] = field(default_factory=list)
    runs: int = 0


def land_batch(
    entries: Sequence[T], test: Callable[[Sequence[T]], bool], land: Callable[[Sequence[T]], None]
) -> Outcome[T]:
    """``test(batch)`` gates the batch stacked on whatever has landed so far; ``land(batch)``
    lands a batch that passed."""
    outcome: Outcome[T] = Outcome()

    def handle(batch: Sequence[T], known_bad: bool = False) -> None:
        if not batch:
            return
        if not (known_bad and len(batch) > 1):
            outcome.runs += 1
            if test(batch):
                land(batch)
                outcome.landed.extend(batch)
                return
            if len(batch) == 1:
                outcome.rejected.append(batch[0])
                return
        middle = (len(batch) + 1) // 2
        before = len(outcome.landed)
        handle(batch[:middle])
        left_all_landed = len(outcome.landed) - before == middle
        handle(batch[middle:], known_bad=left_all_landed)

    handle(entries)
    return outcome
