"""The pass that writes every ComputeIdentifier's status through the one writer (the rule is in `budget`).

It wakes when some identifier's status may have changed (`IdentifierSet.dirtied`), waits
`coalesce_s` to merge the burst behind that change, reads the status of those identifiers again,
and hands the writer what `budget.plan` says is due: changes of conditions at once, changes of counts
as the shared budget allows, oldest first, and unchanged statuses once per refresh interval. A write
that fails is tried again on the next pass; a 404 means the identifier is being deleted.

Transitions a user cares about (Ready, Reachable, their reasons) also become events.

One task for all identifiers rather than one per identifier: at 1,000 identifiers, per-identifier
daemons held each identifier's whole object (about 24 MB), and each wrote on its own clock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from computenet.api.common import Condition
from computenet.api.conditions import find
from computenet.api.constants import IDENTIFIER, ConditionType
from computenet.api.identifier import ComputeIdentifierStatus
from computenet.events import EventRecorder
from computenet.members.identifiers import IdentifierSet, TrackedIdentifier
from computenet.statuses.budget import (
    DEFAULT_REFRESH_S,
    DEFAULT_WRITES_PER_S,
    Due,
    Essence,
    TokenBucket,
    classify,
    plan,
)
from computenet.statuses.writer import StatusWrites

logger = logging.getLogger(__name__)

RETRY_S = 5.0
"""After a failed write, the next pass comes at the latest this much later."""

CONCURRENCY = 8
"""Writes in flight at once (a pass after the hub was away may hold every identifier)."""


Writer = StatusWrites
"""The one status writer, as the passes use it."""


def essence(status: ComputeIdentifierStatus) -> Essence:
    """A status without its times, split into what is urgent and what is counts (`budget.Essence`)."""
    conditions = tuple(c.model_dump(exclude={"last_transition_time"}).items() for c in status.conditions or ())
    counts = status.model_dump(exclude={"conditions", "observed_generation", "last_heartbeat_time"})
    return Essence(repr((conditions, status.observed_generation)), repr(counts))


@dataclass
class _Written:
    """What this process last wrote for one identifier, and what its status says now."""

    item: TrackedIdentifier
    """The identifier this is about (one deleted and created again under its name is another)."""
    essence: Essence | None = None
    conditions: list[Condition] | None = None
    at_s: float | None = None
    current: Essence | None = None
    """What the status said when last read (None: not read yet)."""
    since_s: float = 0.0
    """When the oldest change not yet written was seen."""


class IdentifierStatusWriter:
    """Writes the status of all tracked identifiers; `run` until cancelled."""

    def __init__(
        self,
        identifiers: IdentifierSet,
        writer: Writer,
        events: EventRecorder,
        *,
        coalesce_s: float,
        writes_per_s: float = DEFAULT_WRITES_PER_S,
        refresh_s: float = DEFAULT_REFRESH_S,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.identifiers = identifiers
        self._writer = writer
        self._events = events
        self._coalesce_s = coalesce_s
        self._refresh_s = refresh_s
        self._bucket = TokenBucket(writes_per_s, burst=max(1.0, writes_per_s))
        self._clock = clock or (lambda: asyncio.get_running_loop().time())
        self._written: dict[str, _Written] = {}
        self.writes = 0
        """Writes made since start (for tests and the curious)."""

    async def run(self) -> None:
        seen = -1
        wake_in: float | None = None
        while True:
            seen = await self.identifiers.dirtied.wait_past(seen, patience=wake_in)
            await asyncio.sleep(self._coalesce_s)
            seen = self.identifiers.dirtied.version
            try:
                wake_in = await self.write_pass()
            except Exception:  # one bad pass must not stop the writer for good
                logger.exception("identifier status pass failed")
                wake_in = RETRY_S

    async def write_pass(self) -> float:
        """Read what changed, write what is due; return seconds until the next pass is needed."""
        now_s = self._clock()
        wall = dt.datetime.now(dt.UTC)
        items = self.identifiers.items
        for name in [n for n in self._written if n not in items]:
            del self._written[name]
        due: list[Due] = []
        for name, item in list(items.items()):
            state = self._written.get(name)
            if state is None or state.item is not item:
                state = self._written[name] = _Written(item)
            if item.dirty.is_set() or state.current is None:
                item.dirty.clear()
                self._read(item, state, wall, now_s)
            assert state.current is not None
            kind = classify(
                written=state.essence,
                current=state.current,
                last_write_s=state.at_s,
                now_s=now_s,
                refresh_s=self._refresh_s,
            )
            if kind is not None:
                due.append(Due(name, kind, state.since_s))
        chosen = plan(due, self._bucket, now_s)
        failed = await self._write_all(chosen.write, now_s)
        waits = [self._refresh_s]
        if chosen.held_until_s is not None:
            waits.append(chosen.held_until_s - now_s)
        if failed:
            waits.append(RETRY_S)
        next_refresh = min(
            (s.at_s + self._refresh_s for s in self._written.values() if s.at_s is not None), default=None
        )
        if next_refresh is not None:
            waits.append(next_refresh - now_s)
        return max(0.05, min(waits))

    def _read(self, item: TrackedIdentifier, state: _Written, wall: dt.datetime, now_s: float) -> None:
        current = essence(item.status(wall))
        if state.current is None or state.current == state.essence:  # nothing was pending: a new change
            state.since_s = now_s
        state.current = current

    async def _write_all(self, names: tuple[str, ...], now_s: float) -> int:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(name: str) -> bool:
            async with gate:
                return await self._write_one(name, now_s)

        results = await asyncio.gather(*(one(n) for n in names))
        if any(results):
            self.identifiers.changed.fire()
        return sum(1 for ok in results if not ok)

    async def _write_one(self, name: str, now_s: float) -> bool:
        """Write one identifier's status; True when written (or gone), False to try again."""
        state = self._written.get(name)
        item = self.identifiers.items.get(name)
        if state is None or item is None:
            return True
        status = item.status(dt.datetime.now(dt.UTC))  # read again: the newest, and a fresh heartbeat
        self._writer.write(IDENTIFIER, None, name, status)
        if not await self._writer.flush(IDENTIFIER, None, name):
            return True  # gone (being deleted: its delete handler forgets it) or refused (logged by the writer)
        self.writes += 1
        after = status.conditions or []
        if item.ref is not None:
            _announce(self._events, item, state.conditions, after)
        state.essence = state.current = essence(status)
        state.conditions, state.at_s = after, now_s
        return True


def _announce(
    events: EventRecorder,
    item: TrackedIdentifier,
    before: Sequence[Condition] | None,
    after: Sequence[Condition],
) -> None:
    """Events for transitions of Ready and Reachable (and their reasons)."""
    assert item.ref is not None
    for type_ in (ConditionType.READY, ConditionType.REACHABLE):
        new = find(after, type_)
        old = find(before, type_) if before else None
        if new is None or (old is not None and (old.status, old.reason) == (new.status, new.reason)):
            continue
        if new.status == "True":
            again = "" if old is None else " again"
            events.record(item.ref, str(new.reason), f"{type_}{again}: {new.message}")
        else:
            events.record(item.ref, str(new.reason), f"{type_} false: {new.message}", warning=True)
