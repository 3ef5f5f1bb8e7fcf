"""The tasks the operator knows, and the small shared toolkit of the lifecycle modules.

Every lifecycle module (scheduler, dispatcher, follower, failover, cleanup) works on the same
records and talks to the hub through the same writer and event helper; `TaskBook` holds them so
each module stays a small set of functions over it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from computenet.api.constants import API_VERSION, TASK
from computenet.api.task import ComputeTaskStatus
from computenet.events import EventRecorder, ObjectRef
from computenet.signal import Signal
from computenet.statuses.writer import StatusWriter
from computenet.tasks.record import WAITING_PHASES, TaskRecord

logger = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class TaskBook:
    writer: StatusWriter
    events: EventRecorder
    records: dict[str, TaskRecord] = field(default_factory=dict)
    _waiting: dict[str, TaskRecord] = field(default_factory=dict, repr=False)
    """The records in a waiting phase (Pending, Offered): a scheduling pass reads these, not every task."""
    wake: Signal = field(default_factory=Signal)
    """Fired when something may let a waiting task be placed: a new task, freed capacity, a member back."""

    def __iter__(self) -> Iterator[TaskRecord]:
        return iter(list(self.records.values()))

    def get(self, uid: str) -> TaskRecord | None:
        return self.records.get(uid)

    def put(self, record: TaskRecord) -> None:
        self.records[record.uid] = record
        self._index(record)
        self.wake.fire()

    def drop(self, uid: str) -> TaskRecord | None:
        self._waiting.pop(uid, None)
        return self.records.pop(uid, None)

    def restatus(self, record: TaskRecord, status: ComputeTaskStatus) -> None:
        """Give a record its new status: the one way a known record's status changes (the executor's)."""
        record.status = status
        if self.records.get(record.uid) is record:
            self._index(record)

    def waiting(self) -> list[TaskRecord]:
        """The records that want a placement now (``TaskRecord.wants_placement``), in no order.

        Costs the number of waiting tasks, not of all tasks: a pass in a pool of 10,000 running
        tasks reads only the few that wait.
        """
        return [r for r in self._waiting.values() if r.wants_placement]

    def _index(self, record: TaskRecord) -> None:
        if record.phase in WAITING_PHASES:
            self._waiting[record.uid] = record
        else:
            self._waiting.pop(record.uid, None)

    def write(self, record: TaskRecord, after: float = 0.0) -> None:
        """Queue the record's status for the hub (coalesced: the latest status per task wins).

        With `after`, the write waits that many seconds for a later change to ride along with it.
        """
        self.writer.write(TASK, record.namespace, record.name, record.status, delay=after)

    def event(self, record: TaskRecord, reason: str, message: str, warning: bool = False) -> None:
        ref = ObjectRef(API_VERSION, TASK.kind, record.name, record.uid, record.namespace)
        self.events.record(ref, reason, message, warning)
