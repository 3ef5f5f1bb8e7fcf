"""A ComputePool's status as one pure function: ``transition(record, event, now) -> Outcome``.

The status is the sum of the pool's Ready member identifiers and its task counts (``computenet.pools``),
computed afresh on every pass (pools are few). This table decides what to do with it, by the
identifiers' rule (``statuses.budget``) with a budget of each pool's own:

- a change of Ready (its status, reason or message) or of the observed generation is urgent:
  ``Write(URGENT)`` at once;
- a change of counts alone (capacity, free slots, task counts), which moves with every busy member,
  is written at most once per :data:`COUNTS_INTERVAL_S` after the pool's last write: before that,
  ``HoldUntil`` the end of the interval;
- an unchanged status is ``Write(REFRESH)`` once per refresh interval, else nothing;
- once the hub took a status, a change of Ready's status (True, False, Unknown) from what the pool
  said before becomes an Event, a warning unless it turned True.

Each (state, event) pair has one outcome, checked in ``tests/unit/statuses/test_pool_transitions.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from computenet.api.common import Condition
from computenet.api.conditions import find
from computenet.api.constants import ConditionStatus, ConditionType
from computenet.api.pool import ComputePoolStatus
from computenet.statuses.budget import Essence, Kind
from computenet.statuses.vocabulary import Emit, HoldUntil, Observed, Outcome, Write, Written, due

COUNTS_INTERVAL_S = 10.0
"""A pool's counts are written at most this often: Karmada's default ``--cluster-status-update-frequency``
for a cluster's resource summary (10 s)."""

PoolEvent = Observed[ComputePoolStatus] | Written[ComputePoolStatus]
PoolOutcome = Outcome[ComputePoolStatus]


def essence(status: ComputePoolStatus) -> Essence:
    """A pool status without times, split into urgent (conditions, generation) and counts."""
    conditions = tuple(c.model_dump(exclude={"last_transition_time"}).items() for c in status.conditions or ())
    counts = status.model_dump(exclude={"conditions", "observed_generation"})
    return Essence(repr((conditions, status.observed_generation)), repr(counts))


@dataclass(frozen=True)
class PoolRecord:
    """What the operator knows of one pool's status: what it said before, what this process wrote, and when."""

    name: str
    refresh: dt.timedelta
    """An unchanged status is rewritten this often."""
    conditions: tuple[Condition, ...] = ()
    """The conditions the pool's status holds: read from the object when first seen, then as written."""
    written: Essence | None = None
    """What the last write by this process said (None: nothing written yet)."""
    written_at: dt.datetime | None = None

    def wrote(self, status: ComputePoolStatus, at: dt.datetime) -> PoolRecord:
        """The record after the hub took ``status``."""
        return dataclasses.replace(
            self, conditions=tuple(status.conditions or ()), written=essence(status), written_at=at
        )


def transition(record: PoolRecord, event: PoolEvent, now: dt.datetime) -> PoolOutcome:
    """What to do with a pool's status at ``now`` after ``event``; never raises."""
    if isinstance(event, Written):
        emits = _announce(record.conditions, event.status)
        return Outcome(event.status, emits, note="" if emits else "Ready's status did not change")
    status = event.status
    kind = due(record.written, record.written_at, essence(status), now, record.refresh)
    if kind is None:
        return Outcome(status, note="unchanged since the last write, and its refresh is not due")
    if kind is not Kind.URGENT and record.written_at is not None:
        allowed = record.written_at + dt.timedelta(seconds=COUNTS_INTERVAL_S)
        if now < allowed:
            return Outcome(status, (HoldUntil(allowed),), note="only counts changed: they wait for the pool's interval")
    return Outcome(status, (Write(kind),))


def _announce(before: tuple[Condition, ...], after: ComputePoolStatus) -> tuple[Emit, ...]:
    old, new = find(before, ConditionType.READY), find(after.conditions, ConditionType.READY)
    if new is None or (old is not None and old.status == new.status):
        return ()
    return (Emit(str(new.reason), str(new.message), warning=new.status != ConditionStatus.TRUE),)
