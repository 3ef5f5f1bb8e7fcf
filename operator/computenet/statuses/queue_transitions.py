"""A ComputeQueue's status as one pure function: ``transition(record, event, now) -> Outcome``.

Settlement computes a queue's status on every tick (usage against quota, tasks admitted and
waiting, spend, the Active condition; ``tasks/settlement.py``). This table decides what to do with it:

- a change of Active (its status, reason or message) or of the observed generation is urgent:
  ``Write(URGENT)``;
- a change of anything else but the time of the last settlement (usage, tasks, spend) is
  ``Write(CHANGED)``; queues are few and their ticks are :data:`tasks.settlement.SETTLE_INTERVAL_S`
  apart, so every write goes at once;
- an unchanged status is ``Write(REFRESH)`` once per :data:`STATUS_REFRESH_S`, so that
  ``status.spend.lastSettled`` (where a restarted operator resumes metering) stays recent;
- once the hub took a status, a transition of Active (its status or reason) becomes an Event, a
  warning when the queue stopped admitting (over its budget, an invalid spec); a queue first
  written by this process announces only that it does not admit.

Each (state, event) pair has one outcome, checked in ``tests/unit/statuses/test_queue_transitions.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from computenet.api.common import Condition
from computenet.api.conditions import find
from computenet.api.constants import ConditionStatus, ConditionType
from computenet.api.queue import ComputeQueueStatus
from computenet.statuses.budget import Essence
from computenet.statuses.vocabulary import Emit, Observed, Outcome, Write, Written, due

STATUS_REFRESH_S = 60.0
"""A queue's status is written when it changed, and at least this often (``lastSettled``)."""

QueueEvent = Observed[ComputeQueueStatus] | Written[ComputeQueueStatus]
QueueOutcome = Outcome[ComputeQueueStatus]


def essence(status: ComputeQueueStatus) -> Essence:
    """A queue status without the times that move on every tick, split into urgent and counts."""
    conditions = tuple(c.model_dump(exclude={"last_transition_time"}).items() for c in status.conditions or ())
    counts = status.model_dump(exclude={"conditions": True, "observed_generation": True, "spend": {"last_settled"}})
    return Essence(repr((conditions, status.observed_generation)), repr(counts))


@dataclass(frozen=True)
class QueueRecord:
    """What the operator knows of one queue's status: what it last wrote and when."""

    name: str
    uid: str
    """Which queue of that name: one deleted and created again starts with a new record."""
    refresh: dt.timedelta = dt.timedelta(seconds=STATUS_REFRESH_S)
    conditions: tuple[Condition, ...] = ()
    """The conditions last written (their transition times carry on)."""
    written: Essence | None = None
    """What the last write by this process said (None: nothing written yet)."""
    written_at: dt.datetime | None = None

    def wrote(self, status: ComputeQueueStatus, at: dt.datetime) -> QueueRecord:
        """The record after the hub took ``status``."""
        return dataclasses.replace(
            self, conditions=tuple(status.conditions or ()), written=essence(status), written_at=at
        )


def transition(record: QueueRecord, event: QueueEvent, now: dt.datetime) -> QueueOutcome:
    """What to do with a queue's status at ``now`` after ``event``; never raises."""
    if isinstance(event, Written):
        emits = _announce(record.conditions if record.written is not None else None, event.status)
        return Outcome(event.status, emits, note="" if emits else "Active did not change")
    kind = due(record.written, record.written_at, essence(event.status), now, record.refresh)
    if kind is None:
        return Outcome(event.status, note="unchanged since the last write, and its refresh is not due")
    return Outcome(event.status, (Write(kind),))


def _announce(before: tuple[Condition, ...] | None, after: ComputeQueueStatus) -> tuple[Emit, ...]:
    new = find(after.conditions, ConditionType.ACTIVE)
    if new is None:
        return ()
    active = new.status == ConditionStatus.TRUE
    if before is None:  # first written by this process: only a queue that does not admit is news
        return () if active else (Emit(str(new.reason), str(new.message), warning=True),)
    old = find(before, ConditionType.ACTIVE)
    if old is not None and (old.status, old.reason) == (new.status, new.reason):
        return ()
    return (Emit(str(new.reason), str(new.message), warning=not active),)
