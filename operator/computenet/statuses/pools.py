"""The pass that writes every ComputePool's status through the one writer, by the budget rule.

A pool's status is the sum of its Ready member identifiers (``computenet.pools``) and its task
counts. The rule is the identifiers' (``statuses.budget``): a change of Ready (its status, reason or
message) or of the observed generation is urgent and written at once; a change of counts alone,
which moves with every busy member, waits until `COUNTS_INTERVAL_S` after the pool's last write
(its own budget: pools are few, so they share none); an unchanged status is rewritten once per
refresh interval. Transitions of Ready become events.

One pass for all pools, woken when an identifier or a pool changed, instead of a kopf daemon per pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from computenet.api.common import Condition
from computenet.api.conditions import condition, find, set_conditions
from computenet.api.constants import POOL, ConditionType, Reason
from computenet.api.pool import ComputePoolSpec, ComputePoolStatus, TaskCounts
from computenet.events import EventRecorder, ObjectRef
from computenet.members.identifiers import IdentifierSet
from computenet.placement.accelerators import lookup
from computenet.pools import aggregate, pool_selector, pool_status
from computenet.signal import Signal
from computenet.statuses.budget import Essence, Kind, classify
from computenet.statuses.identifiers import Writer

logger = logging.getLogger(__name__)

COUNTS_INTERVAL_S = 10.0
"""A pool's counts are written at most this often: Karmada's default ``--cluster-status-update-frequency``
for a cluster's resource summary (10 s)."""

RETRY_S = 5.0


def _peak(model: str) -> Mapping[str, float] | None:
    known = lookup(model)
    return known.tflops if known else None


def essence(status: ComputePoolStatus) -> Essence:
    """A pool status without times, split into urgent (conditions, generation) and counts."""
    conditions = tuple(c.model_dump(exclude={"last_transition_time"}).items() for c in status.conditions or ())
    counts = status.model_dump(exclude={"conditions", "observed_generation"})
    return Essence(repr((conditions, status.observed_generation)), repr(counts))


@dataclass
class TrackedPool:
    """One pool as the pass knows it: what its object says, and what this process last wrote for it."""

    name: str
    ref: ObjectRef
    generation: int | None
    spec: ComputePoolSpec | None
    """None when the spec is invalid (`problem` says why)."""
    problem: str = ""
    conditions: list[Condition] = field(default_factory=list)
    written: Essence | None = None
    written_at_s: float | None = None


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
        clock: Callable[[], float] | None = None,
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
        self._refresh_s = refresh_s
        self._recheck_s = recheck_s
        self._clock = clock or (lambda: asyncio.get_running_loop().time())
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
            pool = self.pools[name] = TrackedPool(name, ref, generation, spec, problem, list(conditions or ()))
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
                pool_selector(pool.spec), list(self.identifiers.items.values()), lambda i: i.capacity(), _peak
            )
            status, said = pool_status(totals, self.counts_of(pool.name))
            ready = condition(said.type, said.status, said.reason, said.message)
        conditions = set_conditions(pool.conditions, [ready], now, pool.generation)
        return status.model_copy(update={"conditions": conditions, "observed_generation": pool.generation})

    async def write_pass(self) -> float:
        """Write the pools whose status is due; return seconds until the next pass is needed."""
        now_s = self._clock()
        wall = dt.datetime.now(dt.UTC)
        waits = [self._recheck_s]
        for pool in list(self.pools.values()):
            status = self.status_of(pool, wall)
            current = essence(status)
            kind = classify(
                written=pool.written,
                current=current,
                last_write_s=pool.written_at_s,
                now_s=now_s,
                refresh_s=self._refresh_s,
            )
            if kind is None:
                if pool.written_at_s is not None:
                    waits.append(pool.written_at_s + self._refresh_s - now_s)
                continue
            budget_at = (pool.written_at_s or now_s) + COUNTS_INTERVAL_S
            if kind is not Kind.URGENT and now_s < budget_at:
                waits.append(budget_at - now_s)  # only counts changed: they wait for the pool's interval
                continue
            if await self._write(pool, status):
                pool.written, pool.written_at_s = current, now_s
                waits.append(self._refresh_s)
            else:
                waits.append(RETRY_S)
        return max(0.05, min(waits))

    async def _write(self, pool: TrackedPool, status: ComputePoolStatus) -> bool:
        self._writer.write(POOL, None, pool.name, status)
        if not await self._writer.flush(POOL, None, pool.name):
            return pool.name not in self.pools  # gone meanwhile: nothing to retry
        self.writes += 1
        before, after = find(pool.conditions, ConditionType.READY), find(status.conditions, ConditionType.READY)
        pool.conditions = list(status.conditions or ())
        if after is not None and (before is None or before.status != after.status):
            warning = after.status != "True"
            self._events.record(pool.ref, str(after.reason), str(after.message), warning=warning)
        return True
