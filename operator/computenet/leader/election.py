"""Leader election decisions: given the observed Lease, my identity and the time, what to do.

A port of client-go v0.36.3 `tools/leaderelection/leaderelection.go` (`tryAcquireOrRenew`, its
fast path, `isLeaseValid`, `release`, the `renew` deadline and `NewLeaderElector`'s validation)
and `tools/leaderelection/resourcelock/leaselock.go` (the record a Lease spec stores). The rules,
as upstream states them:

- Time comes only from the local clock. A candidate never trusts the `renewTime` in the record (it
  may come from a skewed clock); it notes *when it saw the record change* (`observedTime`) and
  treats the holder's lease as valid until `observedTime + leaseDurationSeconds`. Clock skew between
  replicas is therefore harmless; only a difference in clock *rate* matters.
- A record held by someone else whose lease is still valid is left alone (wait). An expired record,
  an empty holder or no Lease at all is taken: `leaseTransitions` goes up by one and `acquireTime`
  is now. The holder renews by rewriting the record with a new `renewTime`, keeping `acquireTime`
  and `leaseTransitions`.
- Every write is an update of the object read (optimistic concurrency on `resourceVersion`): of two
  candidates that saw the same expired record, exactly one write succeeds and the other gets a
  409 Conflict. The holder first tries the write with the object it wrote last (the fast path)
  and reads again only if that fails.
- The holder retries a failed renewal every `retryPeriod`; when a renewal round has not succeeded
  within `renewDeadline` it stops leading.

Additions, each stricter than upstream and said where it applies: `retryPeriod + renewDeadline` must
be shorter than `leaseDuration` (so a holder that cannot renew gives up before a standby may take
over), a waiting candidate also wakes exactly when the holder's lease expires in its view (so a
takeover does not wait for one more jittered retry), and a release never clears a record that
someone else holds. Times here are seconds (float) on the caller's monotonic clock; wall-clock
datetimes appear only in the record, for people reading the Lease.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

JITTER_FACTOR = 1.2
"""`leaderelection.JitterFactor`: an acquiring candidate waits retryPeriod * (1 + 1.2 * rand)."""


class ElectionConfigError(ValueError):
    """Timings or identity an elector cannot run with; the message names the setting."""


@dataclass(frozen=True)
class LeaderRecord:
    """`resourcelock.LeaderElectionRecord` as a coordination.k8s.io/v1 Lease spec stores it.

    `acquire_time` and `renew_time` are the holder's wall clock (UTC), for people; no decision
    reads them.
    """

    holder_identity: str = ""
    lease_duration_seconds: int = 0
    acquire_time: datetime | None = None
    renew_time: datetime | None = None
    leader_transitions: int = 0


@dataclass(frozen=True)
class Timing:
    """`LeaderElectionConfig` durations, in seconds. Construction validates them."""

    lease_duration_s: int
    """How long a candidate waits without seeing the record change before it takes the Lease."""
    renew_deadline_s: float
    """How long the holder keeps retrying a renewal before it stops leading."""
    retry_period_s: float
    """Time between attempts (to acquire, and to renew)."""

    def __post_init__(self) -> None:
        check_timing(self)


def check_timing(t: Timing) -> None:
    """`NewLeaderElector`'s checks in upstream's order, then ours; raises ElectionConfigError."""
    if t.lease_duration_s <= t.renew_deadline_s:
        raise ElectionConfigError("leaseDuration must be greater than renewDeadline")
    if t.renew_deadline_s <= JITTER_FACTOR * t.retry_period_s:
        raise ElectionConfigError("renewDeadline must be greater than retryPeriod*JitterFactor")
    if t.lease_duration_s <= 0:
        raise ElectionConfigError("leaseDuration must be greater than zero")
    if t.renew_deadline_s <= 0:
        raise ElectionConfigError("renewDeadline must be greater than zero")
    if t.retry_period_s <= 0:
        raise ElectionConfigError("retryPeriod must be greater than zero")
    if int(t.lease_duration_s) != t.lease_duration_s:
        raise ElectionConfigError("leaseDuration must be whole seconds (Lease spec.leaseDurationSeconds)")
    if t.retry_period_s + t.renew_deadline_s >= t.lease_duration_s:
        raise ElectionConfigError(
            "retryPeriod + renewDeadline must be less than leaseDuration, so a leader that cannot renew "
            "stops before another replica may take over"
        )


def check_identity(identity: str) -> None:
    if not identity:
        raise ElectionConfigError("Lock identity is empty")


@dataclass(frozen=True)
class Observation:
    """What an elector last saw (`observedRecord`) and when, on its own clock (`observedTime`).

    `at` is None before anything was seen (Go's zero time): no lease is valid then.
    """

    record: LeaderRecord
    at: float | None


NOTHING_SEEN = Observation(LeaderRecord(), None)


class Act(enum.Enum):
    CREATE = "create"
    """No Lease exists: create it holding it."""
    UPDATE = "update"
    """Write `record` over the Lease read (acquire or renew), guarded by its resourceVersion."""
    WAIT = "wait"
    """Someone else holds a valid lease: do nothing until the next attempt."""


@dataclass(frozen=True)
class Decision:
    act: Act
    observation: Observation
    """The elector's observation after reading the Lease (kept whatever the write's outcome)."""
    record: LeaderRecord | None = None
    """CREATE and UPDATE: the record to write."""
    expires_at: float | None = None
    """WAIT: when the holder's lease runs out in this elector's view."""

    @property
    def acquires(self) -> bool:
        """The write makes this elector the new holder (a leader transition), not a renewal."""
        return self.act is not Act.WAIT and self.observation.record.holder_identity != (
            self.record.holder_identity if self.record else ""
        )


def lease_valid(observation: Observation, now: float) -> bool:
    """`isLeaseValid`: observedTime + leaseDurationSeconds is still ahead of now."""
    ends = expiry(observation)
    return ends is not None and ends > now


def is_leader(identity: str, observation: Observation) -> bool:
    """`IsLeader`: the last observed holder is this elector."""
    return observation.record.holder_identity == identity


def _fresh(identity: str, timing: Timing, wall: datetime) -> LeaderRecord:
    return LeaderRecord(identity, int(timing.lease_duration_s), wall, wall, 0)


def fast_path(
    identity: str, timing: Timing, observation: Observation, now: float, wall: datetime
) -> LeaderRecord | None:
    """Step 1: the holder whose lease is valid renews with the object it wrote last, unread.

    Returns the record to write, or None when the slow path (read, then `decide`) is needed.
    """
    if not (is_leader(identity, observation) and lease_valid(observation, now)):
        return None
    return replace(
        _fresh(identity, timing, wall),
        acquire_time=observation.record.acquire_time,
        leader_transitions=observation.record.leader_transitions,
    )


def decide(
    identity: str,
    timing: Timing,
    observation: Observation,
    current: LeaderRecord | None,
    now: float,
    read_at: float,
    wall: datetime,
) -> Decision:
    """Steps 2-4 of `tryAcquireOrRenew` after reading the Lease (`current` None: it does not exist).

    `now` is when the attempt began (upstream's `now`), `read_at` when the read returned (upstream's
    `clock.Now()` in `setObservedRecord`): a changed record is observed at `read_at`, and its lease
    is checked against `now`.
    """
    desired = _fresh(identity, timing, wall)
    if current is None:
        return Decision(Act.CREATE, observation, desired)
    if current != observation.record:
        observation = Observation(current, read_at)  # the record changed: its lease starts over
    holder = current.holder_identity
    if holder and lease_valid(observation, now) and not is_leader(identity, observation):
        return Decision(Act.WAIT, observation, expires_at=expiry(observation))
    if is_leader(identity, observation):
        record = replace(desired, acquire_time=current.acquire_time, leader_transitions=current.leader_transitions)
    else:
        record = replace(desired, leader_transitions=current.leader_transitions + 1)
    return Decision(Act.UPDATE, observation, record)


def expiry(observation: Observation) -> float | None:
    """When the observed holder's lease runs out on this elector's clock (None: nothing seen)."""
    if observation.at is None:
        return None
    return observation.at + observation.record.lease_duration_seconds


def written(record: LeaderRecord, now: float) -> Observation:
    """`setObservedRecord` after a successful create or update: we saw our own record now."""
    return Observation(record, now)


def release_record(
    identity: str, observation: Observation, current: LeaderRecord, wall: datetime
) -> LeaderRecord | None:
    """`release`: the record that hands the Lease over at once (no holder, 1 s lease), or None.

    None when this elector is not the leader. Stricter than upstream, which checks only its own
    last observation: a record someone else now holds is never cleared.
    """
    if not is_leader(identity, observation) or current.holder_identity != identity:
        return None
    return LeaderRecord("", 1, wall, wall, current.leader_transitions)


def renew_deadline_at(round_started_at: float, timing: Timing) -> float:
    """`renew`: a renewal round started at this time fails, and leadership ends, at the result."""
    return round_started_at + timing.renew_deadline_s


def acquire_delay(timing: Timing, decision: Decision | None, now: float, draw: float) -> float:
    """Seconds until the next acquisition attempt: `wait.Jitter(retryPeriod, JitterFactor)`.

    `draw` is a uniform random number in [0, 1). While waiting on a holder, the attempt comes no
    later than the moment its lease expires in our view (not in upstream, which only retries).
    """
    delay = timing.retry_period_s * (1.0 + JITTER_FACTOR * draw)
    if decision is not None and decision.act is Act.WAIT and decision.expires_at is not None:
        delay = min(delay, max(0.0, decision.expires_at - now))
    return delay


def worst_takeover_s(timing: Timing) -> float:
    """Longest time from the leader's death to a standby's acquiring write being sent, in seconds.

    The standby sees the leader's last renewal at most one jittered retry after it was written
    (retryPeriod * (1 + JitterFactor)), counts leaseDuration from then, and tries again exactly when
    that runs out. API latency (one read, one write) comes on top.
    """
    return timing.lease_duration_s + timing.retry_period_s * (1.0 + JITTER_FACTOR)
