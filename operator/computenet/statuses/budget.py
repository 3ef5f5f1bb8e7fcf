"""Which statuses to write now: urgent changes at once, counts within a budget, unchanged ones seldom.

Written first for identifiers (many, busy) and applied to pools too (``statuses.pools``).

The rule follows the kubelet's for a node's status (``pkg/kubelet/kubelet_node_status.go``,
Kubernetes v1.36.3): with a Lease as the heartbeat, the node's status is patched when it changed and
otherwise only every ``nodeStatusReportFrequency`` (5 minutes by default), so that thousands of
nodes do not load the API server with writes that say nothing new. An identifier's status has two
kinds of content, and they are treated apart:

- what a user or a controller acts on: the conditions (Reachable, Ready, their reasons and
  messages) and ``observedGeneration``. A change there is **urgent**: it is written at once and never
  held back (an identifier turning Ready or unreachable must show).
- counts that move all the time on a busy member: nodes, resources, accelerators and their free
  slots. Placement never reads them from the status (it reads the members' live state), so a change
  there is written when the **budget** shared by all identifiers has room, the oldest change first;
  at 1,000 busy identifiers and the default 4 writes/s, each identifier's counts are at most about
  four minutes old, while 10 identifiers see theirs within a second.
- nothing changed: the status is rewritten only to refresh ``lastHeartbeatTime`` once per refresh
  interval (default 300 s, the kubelet's ``nodeStatusReportFrequency``), from the same budget, after
  every changed one.

Pure: time is seconds on any monotonic clock.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

DEFAULT_WRITES_PER_S = 4.0
"""Budget of non-urgent status writes of identifiers, per second, for all of them together."""

DEFAULT_REFRESH_S = 300.0
"""An unchanged status is rewritten this often (the kubelet's default ``nodeStatusReportFrequency``)."""


class Kind(enum.IntEnum):
    """Why a status is due, most pressing first (the order in which writes are made)."""

    URGENT = 0
    """Never written by this process, or its conditions or observed generation changed."""
    CHANGED = 1
    """Only counts changed (nodes, resources, accelerators)."""
    REFRESH = 2
    """Nothing changed, but the last write is older than the refresh interval."""


@dataclass(frozen=True)
class Essence:
    """What a status says, without what changes on every write (times), split by urgency.

    ``conditions`` holds the conditions without their transition times and the observed generation;
    ``counts`` the rest (without ``lastHeartbeatTime``). Both only need to compare with ``==``.
    """

    conditions: Hashable
    counts: Hashable


def classify(
    *, written: Essence | None, current: Essence, last_write_s: float | None, now_s: float, refresh_s: float
) -> Kind | None:
    """Whether and why an identifier's status is due; None when nothing needs writing.

    ``written``: what the last successful write said (None: nothing written by this process yet);
    ``last_write_s``: when that was.
    """
    if written is None or last_write_s is None or written.conditions != current.conditions:
        return Kind.URGENT
    if written.counts != current.counts:
        return Kind.CHANGED
    if now_s - last_write_s >= refresh_s:
        return Kind.REFRESH
    return None


@dataclass
class TokenBucket:
    """A token bucket: ``rate_per_s`` tokens a second, at most ``burst`` held; starts full.

    Raises ValueError for a rate or burst that is not positive.
    """

    rate_per_s: float
    burst: float
    tokens: float = -1.0
    updated_s: float | None = None

    def __post_init__(self) -> None:
        if self.rate_per_s <= 0 or self.burst <= 0:
            raise ValueError(f"a token bucket needs a positive rate and burst, not {self.rate_per_s}/{self.burst}")
        if self.tokens < 0:
            self.tokens = self.burst

    def _fill(self, now_s: float) -> None:
        if self.updated_s is not None and now_s > self.updated_s:
            self.tokens = min(self.burst, self.tokens + (now_s - self.updated_s) * self.rate_per_s)
        if self.updated_s is None or now_s > self.updated_s:
            self.updated_s = now_s

    def take(self, now_s: float) -> bool:
        """Take one token if there is one."""
        self._fill(now_s)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def next_at(self, now_s: float) -> float:
        """When the next whole token will be there (``now_s`` if there is one now)."""
        self._fill(now_s)
        if self.tokens >= 1.0:
            return now_s
        return now_s + (1.0 - self.tokens) / self.rate_per_s


@dataclass(frozen=True)
class Due:
    """One identifier whose status is due: why, and since when (its oldest unwritten change)."""

    name: str
    kind: Kind
    since_s: float


@dataclass(frozen=True)
class Plan:
    """The writes to make now, in order, and when to look again for those held back (None: none are)."""

    write: tuple[str, ...]
    held_until_s: float | None


def plan(due: Iterable[Due], bucket: TokenBucket, now_s: float) -> Plan:
    """Urgent writes all go now; the others, most pressing kind and then oldest first, each take a token.

    The bucket is charged for the non-urgent writes chosen (the caller makes them).
    """
    ordered = sorted(due, key=lambda d: (d.kind, d.since_s, d.name))
    chosen: list[str] = []
    for d in ordered:
        if d.kind is not Kind.URGENT and not bucket.take(now_s):
            return Plan(tuple(chosen), bucket.next_at(now_s))  # the rest are not urgent either
        chosen.append(d.name)
    return Plan(tuple(chosen), None)
