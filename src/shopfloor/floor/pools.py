"""What runs beside the floor's loop, and how many worker slots are taken.

``Pools`` holds the gate jobs (``floor.gatepool``), the worker starts (``floor.startpool``) and the
queue lane (``queue.lane``): it pokes the lane only when what it could land has changed (a pass
that lands nothing, on a red target say, is not run again at every turn), falls back to passes in
the loop if the lane's thread has died, and stops them all together.

``taken`` counts slots. A change in the merge queue runs no agent, so its worker takes no slot,
but at most ``workers`` of them go free that way: a queue that lands nothing must not let the
floor start a workspace for every ready issue. A start in flight takes one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from shopfloor.floor import attempts, waiting
from shopfloor.floor.gatepool import GatePool, default_jobs
from shopfloor.floor.startpool import StartPool
from shopfloor.floor.startpool import default_jobs as default_starts
from shopfloor.gate import runner
from shopfloor.progress import Progress
from shopfloor.queue.entries import Entry
from shopfloor.queue.lane import QueueLane
from shopfloor.tracker.service import Tracker
from shopfloor.workers.records import Worker

REPOKE_S = 5.0  # a lane whose last pass landed nothing is poked again at most this often
STOP_S = 30.0  # how long stopping waits for all the threads together


def taken(tracker: Tracker, busy: Iterable[Worker], starting: set[str], workers: int) -> int:
    """Slots in use: busy workers whose change is not in the queue, starts in flight, and queued
    changes beyond ``workers`` of them."""
    in_queue = waiting.in_queue(tracker.conn)
    running = queued = 0
    for worker in busy:
        if worker.issue in starting:
            continue
        if worker.branch in in_queue:
            queued += 1
        else:
            running += 1
    return running + len(starting) + max(0, queued - workers)


@dataclass
class Pools:
    gates: GatePool
    starts: StartPool
    queue: QueueLane | None = None  # None: a queue pass runs in the loop's turn
    _poked: tuple[tuple[int, str], ...] = ()
    _poked_at: float = field(default=0.0)

    @classmethod
    def beside(
        cls, tracker: Tracker, gate_jobs: int | None, batch: int, progress: Progress, woken: threading.Event
    ) -> Pools:
        gates = GatePool(tracker, gate_jobs or default_jobs(), progress, woken)
        starts = StartPool(tracker, default_starts(), progress, woken)
        lane = QueueLane.beside(tracker, attempts.QUEUE_HOOKS, batch, progress)
        return cls(gates, starts, lane.start())  # its commits wake the loop

    def busy(self) -> bool:
        """A gate or a start runs, or a queue pass runs or is due."""
        return bool(self.gates.count() or self.starts.count() or (self.queue is not None and not self.queue.idle))

    def poke(self, due: list[Entry], now: float) -> None:
        """Wake the lane when the entries it could land changed, or once in a while (a red target
        fixed, a person's lock released)."""
        if self.queue is None:
            return
        key = tuple((e.id, e.state) for e in due)
        if key != self._poked or now - self._poked_at >= REPOKE_S:
            self._poked, self._poked_at = key, now
            self.queue.poke()

    def check_lane(self, progress: Progress) -> None:
        """A lane whose thread died (it could not open the tracker) lands nothing: passes run in
        the loop from now on."""
        if self.queue is not None and self.queue.started and not self.queue.alive:
            progress("the queue lane stopped; queue passes run in the loop from now on")
            self.queue = None

    def stop(self, interrupted: bool) -> None:
        """An interrupted floor kills every check its gates and its queue pass still run (nothing
        may outlive it); an idle one has none left. Then the threads end, within ``STOP_S`` in all."""
        if interrupted:
            runner.kill_all()
        deadline = time.monotonic() + STOP_S
        self.starts.stop(deadline)
        if self.queue is not None:
            self.queue.stop(timeout=max(0.0, deadline - time.monotonic()))
        self.gates.stop(deadline)
