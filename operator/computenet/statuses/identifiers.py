"""The pass that writes every ComputeIdentifier's status through the one writer (the rule is its table's).

It wakes when some identifier's status may have changed (`IdentifierSet.dirtied`), waits
`coalesce_s` to merge the burst behind that change, reads the status of those identifiers again,
asks the pure table (``identifier_transitions``) what is due, and hands the writer what
`budget.plan` allows: changes of conditions at once, changes of counts as the shared budget allows,
oldest first, and unchanged statuses once per refresh interval. A write that fails is tried again on
the next pass; a 404 means the identifier is being deleted. Transitions a user cares about (Ready,
Reachable, their reasons) become Events once written, as the table says.

One task for all identifiers rather than one per identifier: at 1,000 identifiers, per-identifier
daemons held each identifier's whole object (about 24 MB), and each wrote on its own clock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from computenet.api.common import Condition
from computenet.api.constants import IDENTIFIER
from computenet.events import EventRecorder
from computenet.members.identifiers import IdentifierSet, TrackedIdentifier
from computenet.statuses.budget import DEFAULT_REFRESH_S, DEFAULT_WRITES_PER_S, Due, TokenBucket, plan
from computenet.statuses.identifier_transitions import IdentifierRecord, essence, transition
from computenet.statuses.vocabulary import Emit, Observed, Tick, Write, Written
from computenet.statuses.writer import StatusWrites

logger = logging.getLogger(__name__)

RETRY_S = 5.0
"""After a failed write, the next pass comes at the latest this much later."""

CONCURRENCY = 8
"""Writes in flight at once (a pass after the hub was away may hold every identifier)."""


Writer = StatusWrites
"""The one status writer, as the passes use it."""

__all__ = ["IdentifierStatusWriter", "Writer", "essence"]


def _wall() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class _Tracked:
    """One identifier as the pass follows it: the table's record, and since when a change waits."""

    item: TrackedIdentifier
    """The identifier this is about (one deleted and created again under its name is another)."""
    record: IdentifierRecord
    since: dt.datetime
    """When the oldest change not yet written was read."""

    def previous(self) -> list[Condition]:
        """The conditions a new status carries on from (their transition times stay)."""
        observed = self.record.observed
        return list(observed.conditions or ()) if observed is not None else self.item.previous_conditions


class IdentifierStatusWriter:
    """Writes the status of all tracked identifiers; `run` until cancelled.

    The shell around ``identifier_transitions.transition``: it builds each identifier's status from
    its facts when they changed (``Observed``) or asks the table again as time passes (``Tick``), plans
    the writes the table asks for under the shared budget, and carries out the Events it asks for
    once the hub took a status (``Written``).
    """

    def __init__(
        self,
        identifiers: IdentifierSet,
        writer: Writer,
        events: EventRecorder,
        *,
        coalesce_s: float,
        writes_per_s: float = DEFAULT_WRITES_PER_S,
        refresh_s: float = DEFAULT_REFRESH_S,
        clock: Callable[[], dt.datetime] = _wall,
    ) -> None:
        self.identifiers = identifiers
        self._writer = writer
        self._events = events
        self._coalesce_s = coalesce_s
        self._refresh = dt.timedelta(seconds=refresh_s)
        self._bucket = TokenBucket(writes_per_s, burst=max(1.0, writes_per_s))
        self._clock = clock
        self._tracked: dict[str, _Tracked] = {}
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

    def record(self, name: str) -> IdentifierRecord | None:
        """The table's record of one identifier (for tests and the curious)."""
        tracked = self._tracked.get(name)
        return tracked.record if tracked is not None else None

    async def write_pass(self) -> float:
        """Read what changed, write what is due; return seconds until the next pass is needed."""
        now = self._clock()
        items = self.identifiers.items
        for name in [n for n in self._tracked if n not in items]:
            del self._tracked[name]
        due: list[Due] = []
        for name, item in list(items.items()):
            tracked = self._tracked.get(name)
            if tracked is None or tracked.item is not item:
                tracked = self._tracked[name] = _Tracked(item, IdentifierRecord(name, self._refresh), now)
            if item.dirty.is_set() or tracked.record.observed is None:
                item.dirty.clear()
                if not tracked.record.pending:  # nothing was waiting: a new change starts now
                    tracked.since = now
                status = item.status(now, tracked.previous())
                outcome = transition(tracked.record, Observed(status), now)
                tracked.record = tracked.record.observe(status)
            else:
                outcome = transition(tracked.record, Tick(), now)
            for effect in outcome.effects:
                if isinstance(effect, Write):
                    due.append(Due(name, effect.kind, tracked.since.timestamp()))
        chosen = plan(due, self._bucket, now.timestamp())
        failed = await self._write_all(chosen.write)
        waits = [self._refresh.total_seconds()]
        if chosen.held_until_s is not None:
            waits.append(chosen.held_until_s - now.timestamp())
        if failed:
            waits.append(RETRY_S)
        next_refresh = min(
            (t.record.written_at + self._refresh for t in self._tracked.values() if t.record.written_at is not None),
            default=None,
        )
        if next_refresh is not None:
            waits.append((next_refresh - now).total_seconds())
        return max(0.05, min(waits))

    async def _write_all(self, names: tuple[str, ...]) -> int:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(name: str) -> bool:
            async with gate:
                return await self._write_one(name)

        results = await asyncio.gather(*(one(n) for n in names))
        if any(results):
            self.identifiers.changed.fire()
        return sum(1 for ok in results if not ok)

    async def _write_one(self, name: str) -> bool:
        """Write one identifier's status; True when written (or gone), False to try again."""
        tracked = self._tracked.get(name)
        item = self.identifiers.items.get(name)
        if tracked is None or item is None:
            return True
        now = self._clock()
        status = item.status(now, tracked.previous())  # read again: the newest, and a fresh heartbeat
        self._writer.write(IDENTIFIER, None, name, status)
        if not await self._writer.flush(IDENTIFIER, None, name):
            return True  # gone (being deleted: its delete handler forgets it) or refused (logged by the writer)
        self.writes += 1
        outcome = transition(tracked.record, Written(status), now)
        tracked.record = tracked.record.wrote(status, now)
        if item.ref is not None:
            for effect in outcome.effects:
                if isinstance(effect, Emit):
                    self._events.record(item.ref, effect.reason, effect.message, warning=effect.warning)
        return True
