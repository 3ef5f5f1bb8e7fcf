"""The vocabulary of the status tables of identifiers, pools and queues: events, effects, outcome.

Each kind's table (``identifier_transitions``, ``pool_transitions``, ``queue_transitions``) is one pure
function ``transition(record, event, now) -> Outcome(<Kind>Status, effects)`` in the manner of the
task lifecycle (``tasks/lifecycle/transitions.py``). The record is what the operator knows of one
object (the status it computed last, what it last wrote and when); the events are what can happen
to it: its facts were read again (:class:`Observed`), time passed (:class:`Tick`), the hub took a
status (:class:`Written`). The shells (``statuses.identifiers``, ``statuses.pools``,
``tasks.settlement``) build the records, call the tables and carry the effects out through the one
writer (``statuses.writer``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

from computenet.statuses.budget import Essence, Kind, classify

S = TypeVar("S", bound=BaseModel)


# ---- events ----


@dataclass(frozen=True)
class Observed(Generic[S]):
    """The object's facts were read again: this is what its status says now."""

    status: S


@dataclass(frozen=True)
class Tick:
    """Time passed and nothing new was read: a held change or a refresh may have come due."""


@dataclass(frozen=True)
class Written(Generic[S]):
    """The hub took this status (the writer's ``flush`` said so)."""

    status: S


Event = Observed[S] | Tick | Written[S]


# ---- effects ----


@dataclass(frozen=True)
class Write:
    """Hand the outcome's status to the one writer; ``kind`` says how pressing it is (``budget.Kind``)."""

    kind: Kind


@dataclass(frozen=True)
class HoldUntil:
    """A change that is due, but not before ``at`` (a per-object interval): look again then."""

    at: dt.datetime


@dataclass(frozen=True)
class Emit:
    """An Event on the object."""

    reason: str
    message: str
    warning: bool = False


Effect = Write | HoldUntil | Emit


@dataclass(frozen=True)
class Outcome(Generic[S]):
    """The object's status after the event, and what to do; ``note`` says why nothing is to be done."""

    status: S
    effects: tuple[Effect, ...] = ()
    note: str = ""


def due(
    written: Essence | None, written_at: dt.datetime | None, current: Essence, now: dt.datetime, refresh: dt.timedelta
) -> Kind | None:
    """Whether and why a status is due (``budget.classify``, on wall times); None when nothing is."""
    return classify(
        written=written,
        current=current,
        last_write_s=written_at.timestamp() if written_at is not None else None,
        now_s=now.timestamp(),
        refresh_s=refresh.total_seconds(),
    )
