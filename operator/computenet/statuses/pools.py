"""The pass that writes every ComputePool's status through the one writer, as its table says.

A pool's status is the sum of its Ready member identifiers and its task counts (``computenet.pools``),
computed afresh on each pass; what to do with it (write it at once, hold counts for the pool's
interval, refresh it, announce a change of Ready) is decided by the pure table
``statuses.pool_transitions``. This shell builds each pool's record, calls the table and carries
out its effects through the one writer and the event recorder.

One pass for all pools, woken when an identifier or a pool changed, instead of a kopf daemon per pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from computenet.api.common import Condition
from computenet.api.conditions import condition, set_conditions
from computenet.api.constants import POOL, ConditionType, Reason
from computenet.api.pool import ComputePoolSpec, ComputePoolStatus, TaskCounts
from computenet.events import EventRecorder, ObjectRef
from computenet.members.identifiers import IdentifierSet
from computenet.pools import aggregate, peak_tflops, pool_selector, pool_status
from computenet.signal import Signal
from computenet.statuses.pool_transitions import COUNTS_INTERVAL_S, PoolRecord, transition
from computenet.statuses.vocabulary import Emit, HoldUntil, Observed, Write, Written
from computenet.statuses.writer import StatusWrites as Writer

logger = logging.getLogger(__name__)

__all__ = ["COUNTS_INTERVAL_S", "PoolStatusWriter", "TrackedPool"]

RETRY_S = 5.0


@dataclass
class TrackedPool:
    """One pool as the pass knows it: what its object says, and its table's record."""

    name: str
    ref: ObjectRef
    generation: int | None
    spec: ComputePoolSpec | None
    """None when the spec is invalid (`problem` says why)."""
    record: PoolRecord
    problem: str = ""


def _wall() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PoolStatusWriter:
    """Writes the status of every tracked pool; `run` until cancelled."""

    def __init__(
        self,
        identifiers: IdentifierSet,
        counts_of: Callable[[str], TaskCounts],
        writer: Writer,
        events: EventRecorder,
        *,
        coalesce_s: float,
        refresh_s: float,
        recheck_s: float,
        clock: Callable[[], dt.datetime] = _wall,
    ) -> None:
        """Seconds: `refresh_s` rewrites an unchanged status; `recheck_s` recomputes at least this often.

        Task counts change without a signal, hence the recheck.
        """
        self.identifiers = identifiers
        self.counts_of = counts_of
        self.pools: dict[str, TrackedPool] = {}
        self.changed = Signal()
        """Fired when a pool was tracked, changed or forgotten."""
        self._writer = writer
        self._events = events
        self._coalesce_s = coalesce_s
        self._refresh = dt.timedelta(seconds=refresh_s)
        self._recheck_s = recheck_s
        self._clock = clock
        self.writes = 0

    def track(
        self,
        name: str,
        ref: ObjectRef,
        generation: int | None,
        spec: ComputePoolSpec | None,
        problem: str = "",
        conditions: list[Condition] | None = None,
    ) -> None:
        """A pool created or changed; `conditions` are those its status holds (kept on first sight only)."""
        pool = self.pools.get(name)
        if pool is None or pool.ref.uid != ref.uid:
            record = PoolRecord(name, self._refresh, tuple(conditions or ()))
            pool = self.pools[name] = TrackedPool(name, ref, generation, spec, record, problem)
        else:
            pool.generation, pool.spec, pool.problem = generation, spec, problem
        self.changed.fire()

    def forget(self, name: str) -> None:
        self.pools.pop(name, None)
        self.changed.fire()

    async def run(self) -> None:
        seen_identifiers = seen_pools = -1
        patience: float | None = None
        while True:
            waits = {
                asyncio.ensure_future(self.identifiers.changed.wait_past(seen_identifiers, patience)),
                asyncio.ensure_future(self.changed.wait_past(seen_pools, patience)),
            }
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await w
            await asyncio.sleep(self._coalesce_s)
            seen_identifiers, seen_pools = self.identifiers.changed.version, self.changed.version
            try:
                patience = await self.write_pass()
            except Exception:  # one bad pass must not stop the writer for good
                logger.exception("pool status pass failed")
                patience = RETRY_S

    def status_of(self, pool: TrackedPool, now: dt.datetime) -> ComputePoolStatus:
        """The pool's status now, its Ready condition merged into what it said before."""
        if pool.spec is None:
            status = ComputePoolStatus()
            ready = condition(ConditionType.READY, False, Reason.INVALID_SPEC, pool.problem)
        else:
            totals = aggregate(
                pool_selector(pool.spec), list(self.identifiers.items.values()), lambda i: i.capacity(), peak_tflops
            )
            status, said = pool_status(totals, self.counts_of(pool.name))
            ready = said.as_condition()
        conditions = set_conditions(pool.record.conditions, [ready], now, pool.generation)
        return status.model_copy(update={"conditions": conditions, "observed_generation": pool.generation})

    async def write_pass(self) -> float:
        """Write the pools whose status is due; return seconds until the next pass is needed."""
        now = self._clock()
        waits = [self._recheck_s]
        for pool in list(self.pools.values()):
            outcome = transition(pool.record, Observed(self.status_of(pool, now)), now)
            for effect in outcome.effects:
                if isinstance(effect, HoldUntil):
                    waits.append((effect.at - now).total_seconds())
                elif isinstance(effect, Write):
                    waits.append(self._refresh.total_seconds() if await self._write(pool, outcome.status) else RETRY_S)
            if not outcome.effects and pool.record.written_at is not None:
                waits.append((pool.record.written_at + self._refresh - now).total_seconds())
        return max(0.05, min(waits))

    async def _write(self, pool: TrackedPool, status: ComputePoolStatus) -> bool:
        self._writer.write(POOL, None, pool.name, status)
        if not await self._writer.flush(POOL, None, pool.name):
            return pool.name not in self.pools  # gone meanwhile: nothing to retry
        self.writes += 1
        now = self._clock()
        outcome = transition(pool.record, Written(status), now)
        pool.record = pool.record.wrote(status, now)
        for effect in outcome.effects:
            if isinstance(effect, Emit):
                self._events.record(pool.ref, effect.reason, effect.message, warning=effect.warning)
        return True
