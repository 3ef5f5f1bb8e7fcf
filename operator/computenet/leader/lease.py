"""The elector's shell: reads and writes the hub Lease and runs the decisions of `election`.

`LeaseLock` ports client-go v0.36.3 `tools/leaderelection/resourcelock/leaselock.go` (Get, Create,
Update of one coordination.k8s.io/v1 Lease, remembering the object last read or written so an
update carries its resourceVersion), and `LeaseElector` the loops of
`tools/leaderelection/leaderelection.go` (`acquire`, `renew`, `tryAcquireOrRenew`, `release`).
Every API failure is a failed attempt, never an exception out of the loops: the loops retry until
the renew deadline says leadership is over.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp
from kubernetes.aio.client import CoordinationV1Api, V1Lease, V1LeaseSpec, V1ObjectMeta
from kubernetes.aio.client.exceptions import ApiException

from computenet.leader.election import (
    NOTHING_SEEN,
    Act,
    Decision,
    LeaderRecord,
    Observation,
    Timing,
    acquire_delay,
    check_identity,
    decide,
    fast_path,
    is_leader,
    release_record,
    renew_deadline_at,
    written,
)

logger = logging.getLogger(__name__)

_TRANSIENT = (aiohttp.ClientError, TimeoutError, OSError)


def wall_now() -> datetime:
    """Now in UTC with a non-zero microsecond field.

    The client serialises datetimes with isoformat(), which drops a zero microsecond field, and
    the API server parses a Lease's MicroTime only with exactly six fractional digits.
    """
    now = datetime.now(UTC)
    return now if now.microsecond else now.replace(microsecond=1)


def record_of(spec: V1LeaseSpec | None) -> LeaderRecord:
    """`LeaseSpecToLeaderElectionRecord`: absent fields read as zero values."""
    if spec is None:
        return LeaderRecord()
    return LeaderRecord(
        holder_identity=spec.holder_identity or "",
        lease_duration_seconds=spec.lease_duration_seconds or 0,
        acquire_time=spec.acquire_time,
        renew_time=spec.renew_time,
        leader_transitions=spec.lease_transitions or 0,
    )


def spec_of(record: LeaderRecord) -> V1LeaseSpec:
    """`LeaderElectionRecordToLeaseSpec`."""
    return V1LeaseSpec(
        holder_identity=record.holder_identity,
        lease_duration_seconds=record.lease_duration_seconds,
        acquire_time=record.acquire_time,
        renew_time=record.renew_time,
        lease_transitions=record.leader_transitions,
    )


class LeaseLock:
    """One Lease on the hub. Methods return False (and log why) instead of raising on API errors."""

    def __init__(self, api: CoordinationV1Api, namespace: str, name: str, request_timeout_s: float = 5.0) -> None:
        self.api = api
        self.namespace = namespace
        self.name = name
        self.request_timeout_s = request_timeout_s
        self._lease: V1Lease | None = None

    def describe(self) -> str:
        return f"{self.namespace}/{self.name}"

    async def get(self) -> LeaderRecord | None:
        """The record, or None if the Lease does not exist; raises LockUnavailable otherwise."""
        try:
            lease = await self.api.read_namespaced_lease(
                self.name, self.namespace, _request_timeout=self.request_timeout_s
            )
        except ApiException as e:
            if e.status == 404:
                return None
            raise LockUnavailable(f"reading Lease {self.describe()}: HTTP {e.status} {e.reason}") from None
        except _TRANSIENT as e:
            raise LockUnavailable(f"reading Lease {self.describe()}: {type(e).__name__}: {e}") from None
        self._lease = lease
        return record_of(lease.spec)

    async def create(self, record: LeaderRecord) -> bool:
        body = V1Lease(metadata=V1ObjectMeta(name=self.name, namespace=self.namespace), spec=spec_of(record))
        try:
            self._lease = await self.api.create_namespaced_lease(
                self.namespace, body, _request_timeout=self.request_timeout_s
            )
        except ApiException as e:
            logger.warning("creating Lease %s failed: HTTP %s %s", self.describe(), e.status, e.reason)
            return False
        except _TRANSIENT as e:
            logger.warning("creating Lease %s failed: %s: %s", self.describe(), type(e).__name__, e)
            return False
        return True

    async def update(self, record: LeaderRecord) -> bool:
        """Replace the spec of the Lease last read or written; 409 if someone wrote it since."""
        if self._lease is None:
            return False  # upstream: "lease not initialized, call get or create first"
        lease = self._lease.model_copy(update={"spec": spec_of(record)})
        try:
            self._lease = await self.api.replace_namespaced_lease(
                self.name, self.namespace, lease, _request_timeout=self.request_timeout_s
            )
        except ApiException as e:
            level = logging.INFO if e.status == 409 else logging.WARNING
            logger.log(level, "updating Lease %s failed: HTTP %s %s", self.describe(), e.status, e.reason)
            return False
        except _TRANSIENT as e:
            logger.warning("updating Lease %s failed: %s: %s", self.describe(), type(e).__name__, e)
            return False
        return True


class LockUnavailable(Exception):
    """The Lease could not be read (the hub did not answer, or refused)."""


class LeaseElector:
    """Campaigns for one Lease and keeps it; the state is the last `Observation`.

    `clock` is monotonic seconds, `draw` a uniform [0, 1) source for the acquire jitter; both are
    parameters so tests can drive time.
    """

    def __init__(
        self,
        lock: LeaseLock,
        identity: str,
        timing: Timing,
        *,
        clock: Callable[[], float] = time.monotonic,
        draw: Callable[[], float] = random.random,
        on_new_leader: Callable[[str], None] | None = None,
    ) -> None:
        check_identity(identity)
        self.lock = lock
        self.identity = identity
        self.timing = timing
        self.observation: Observation = NOTHING_SEEN
        self._clock = clock
        self._draw = draw
        self._on_new_leader = on_new_leader
        self._reported = ""
        self._last: Decision | None = None

    @property
    def is_leader(self) -> bool:
        return is_leader(self.identity, self.observation)

    @property
    def leader(self) -> str:
        """The last observed holder ("" when none)."""
        return self.observation.record.holder_identity

    async def try_acquire_or_renew(self) -> bool:
        """One attempt; True if this elector holds the Lease afterwards."""
        now, wall = self._clock(), wall_now()
        self._last = None
        record = fast_path(self.identity, self.timing, self.observation, now, wall)
        if record is not None:
            if await self.lock.update(record):
                self.observation = written(record, self._clock())
                return True
            logger.info("renewing Lease %s optimistically failed, reading it again", self.lock.describe())
        try:
            current = await self.lock.get()
        except LockUnavailable as e:
            logger.warning("%s", e)
            return False
        decision = decide(self.identity, self.timing, self.observation, current, now, self._clock(), wall)
        self.observation = decision.observation
        self._last = decision
        if decision.act is Act.WAIT or decision.record is None:
            return False
        write = self.lock.create if decision.act is Act.CREATE else self.lock.update
        if not await write(decision.record):
            return False
        self.observation = written(decision.record, self._clock())
        return True

    def _report(self) -> None:
        """`maybeReportTransition`: tell about a holder not seen before."""
        if self.leader == self._reported:
            return
        self._reported = self.leader
        logger.info("Lease %s is held by %r", self.lock.describe(), self.leader or "nobody")
        if self._on_new_leader is not None:
            self._on_new_leader(self.leader)

    async def acquire(self) -> None:
        """Try until this elector holds the Lease (cancel to give up)."""
        logger.info("%s: attempting to acquire Lease %s", self.identity, self.lock.describe())
        while True:
            acquired = await self.try_acquire_or_renew()
            self._report()
            if acquired:
                logger.info("%s: acquired Lease %s", self.identity, self.lock.describe())
                return
            decision = self._last if self._last is not None and self._last.act is Act.WAIT else None
            await asyncio.sleep(acquire_delay(self.timing, decision, self._clock(), self._draw()))

    async def renew(self) -> None:
        """Keep the Lease; returns when a renewal round missed its deadline (leadership is over)."""
        while True:
            deadline = renew_deadline_at(self._clock(), self.timing)
            while True:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    logger.error("%s: failed to renew Lease %s within the renew deadline (%.1fs)",
                                 self.identity, self.lock.describe(), self.timing.renew_deadline_s)  # fmt: skip
                    return
                try:
                    renewed = await asyncio.wait_for(self.try_acquire_or_renew(), remaining)
                except TimeoutError:
                    renewed = False
                self._report()
                if renewed:
                    break
                await asyncio.sleep(max(0.0, min(self.timing.retry_period_s, deadline - self._clock())))
            await asyncio.sleep(self.timing.retry_period_s)

    async def release(self) -> bool:
        """Hand the Lease over at once (no holder, a 1 s lease); only call once all guarded work stopped."""
        try:
            current = await self.lock.get()
        except LockUnavailable as e:
            logger.warning("releasing: %s", e)
            return False
        if current is None:
            return False
        record = release_record(self.identity, self.observation, current, wall_now())
        if record is None:
            return True
        if not await self.lock.update(record):
            return False
        self.observation = written(record, self._clock())
        logger.info("%s: released Lease %s", self.identity, self.lock.describe())
        return True
