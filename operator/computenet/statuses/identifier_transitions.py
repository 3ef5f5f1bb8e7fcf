"""A ComputeIdentifier's status as one pure function: ``transition(record, event, now) -> Outcome``.

The status itself is computed from the identifier's facts (``members.identifier_status``); this
table decides what to do with it. The rule is the budget's (``statuses.budget``, the kubelet's for
node status):

- a change of conditions or of the observed generation (Reachable, Ready, Dispatchable, their
  reasons and messages) is urgent: ``Write(URGENT)``, written at once whatever the budget;
- a change of counts alone (nodes, resources, accelerators, their free slots) is ``Write(CHANGED)``:
  written when the budget shared by all identifiers has room, oldest first (the shell's ``plan``);
- an unchanged status is ``Write(REFRESH)`` once per refresh interval (a fresh heartbeat), else
  nothing;
- once the hub took a status, each transition of Ready or Reachable (its status or its reason)
  becomes an Event: ``Ready again: ...``, a warning when it turned False or Unknown.

Each (state, event) pair has one outcome, checked in ``tests/unit/statuses/test_identifier_transitions.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from computenet.api.common import Condition
from computenet.api.conditions import find
from computenet.api.constants import ConditionStatus, ConditionType
from computenet.api.identifier import ComputeIdentifierStatus
from computenet.statuses.budget import Essence
from computenet.statuses.vocabulary import Emit, Observed, Outcome, Tick, Write, Written, due

IdentifierEvent = Observed[ComputeIdentifierStatus] | Tick | Written[ComputeIdentifierStatus]
IdentifierOutcome = Outcome[ComputeIdentifierStatus]

ANNOUNCED = (ConditionType.READY, ConditionType.REACHABLE)
"""The conditions whose transitions become Events."""


def essence(status: ComputeIdentifierStatus) -> Essence:
    """A status without its times, split into what is urgent and what is counts (``budget.Essence``)."""
    conditions = tuple(c.model_dump(exclude={"last_transition_time"}).items() for c in status.conditions or ())
    counts = status.model_dump(exclude={"conditions", "observed_generation", "last_heartbeat_time"})
    return Essence(repr((conditions, status.observed_generation)), repr(counts))


@dataclass(frozen=True)
class IdentifierRecord:
    """What the operator knows of one identifier's status: what it read last, what it wrote last, and when."""

    name: str
    refresh: dt.timedelta
    """An unchanged status is rewritten this often (``--identifier-status-refresh-s``)."""
    observed: ComputeIdentifierStatus | None = None
    """The status as computed at the last read (None: not read yet)."""
    observed_essence: Essence | None = None
    written: Essence | None = None
    """What the last write by this process said (None: nothing written yet)."""
    written_conditions: tuple[Condition, ...] | None = None
    written_at: dt.datetime | None = None

    def observe(self, status: ComputeIdentifierStatus) -> IdentifierRecord:
        """The record after a read."""
        return dataclasses.replace(self, observed=status, observed_essence=essence(status))

    def wrote(self, status: ComputeIdentifierStatus, at: dt.datetime) -> IdentifierRecord:
        """The record after the hub took ``status``."""
        said = essence(status)
        return dataclasses.replace(
            self,
            observed=status,
            observed_essence=said,
            written=said,
            written_conditions=tuple(status.conditions or ()),
            written_at=at,
        )

    @property
    def pending(self) -> bool:
        """Whether a change read is not written yet."""
        return self.observed_essence is not None and self.observed_essence != self.written


def transition(record: IdentifierRecord, event: IdentifierEvent, now: dt.datetime) -> IdentifierOutcome:
    """What to do with an identifier's status at ``now`` after ``event``; never raises."""
    if isinstance(event, Observed):
        return _due(record, event.status, essence(event.status), now)
    if isinstance(event, Tick):
        if record.observed is None or record.observed_essence is None:
            return Outcome(ComputeIdentifierStatus(), note="nothing read yet: the first read decides")
        return _due(record, record.observed, record.observed_essence, now)
    emits = _announce(record.written_conditions, event.status)
    return Outcome(event.status, emits, note="" if emits else "no transition of Ready or Reachable to announce")


def _due(
    record: IdentifierRecord, status: ComputeIdentifierStatus, said: Essence, now: dt.datetime
) -> IdentifierOutcome:
    kind = due(record.written, record.written_at, said, now, record.refresh)
    if kind is None:
        return Outcome(status, note="unchanged since the last write, and its refresh is not due")
    return Outcome(status, (Write(kind),))


def _announce(before: tuple[Condition, ...] | None, after: ComputeIdentifierStatus) -> tuple[Emit, ...]:
    """Events for transitions of Ready and Reachable (their status or reason) from what was written before."""
    emits: list[Emit] = []
    for type_ in ANNOUNCED:
        new = find(after.conditions, type_)
        old = find(before, type_) if before else None
        if new is None or (old is not None and (old.status, old.reason) == (new.status, new.reason)):
            continue
        if new.status == ConditionStatus.TRUE:
            again = "" if old is None else " again"
            emits.append(Emit(str(new.reason), f"{type_}{again}: {new.message}"))
        else:
            emits.append(Emit(str(new.reason), f"{type_} false: {new.message}", warning=True))
    return tuple(emits)
