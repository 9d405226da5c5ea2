"""Every package's tables, registered at once, for a process that opens the database first.

``tracker.migrate`` explains why the tracker cannot find the packages above it: they register
their own migrations. A process that uses a package's rows has registered its tables, but the
CLI opens (and may create or upgrade) the database before it knows which packages a command
will use, so it imports this module first. It lives in the floor, the highest library layer:
the one allowed to know every package with tables. ``ALL`` is the layer order they apply in.
"""

from __future__ import annotations

from shopfloor.floor.migrations import migrations as floor
from shopfloor.gate.migrations import migrations as gate
from shopfloor.learn.migrations import migrations as learn
from shopfloor.queue.migrations import migrations as queue
from shopfloor.tracker import migrate
from shopfloor.tracker.migrations import migrations as tracker
from shopfloor.workers.migrations import migrations as workers

ALL = (tracker, workers, gate, queue, learn, floor)
migrate.declare_complete()
