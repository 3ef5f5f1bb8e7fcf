"""The vocabulary of the task lifecycle: the events it reacts to, the effects it asks for, its limits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from computenet.api.common import Condition
from computenet.api.constants import ConditionType, FailoverPolicy, Phase, Reason
from computenet.api.data import TaskDataStatus
from computenet.api.task import ComputeTaskStatus, Explanation, Offer, Placement, RemoteRef, TaskSummary
from computenet.statuses.vocabulary import Emit as Emit  # one Event effect for every kind's table
from computenet.tasks.metering import Metered
from computenet.tasks.staging.transfers import Charge

MESSAGE_LIMIT = 4096
"""``status.message`` maxLength in the CRD (api/task.py)."""
CONDITION_MESSAGE_LIMIT = 32768
"""metav1.Condition message maxLength (k8s.io/apimachinery v0.36.3, types.go)."""
EVENT_MESSAGE_LIMIT = 1024
"""What computenet keeps of an Event message (events are hints; the status holds the whole)."""

RETRY_BASE_S = 2.0
RETRY_MAX_S = 30.0
"""Dispatch retries back off 2, 4, 8, 16, 30, 30, ... seconds: a fixed grant is picked up within 30 s."""

ACTIVE = frozenset({Phase.DISPATCHING, Phase.RUNNING})
WAITING = frozenset({Phase.PENDING, Phase.OFFERED})
TERMINAL = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED})


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with a marker saying how much was cut."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    while True:  # the marker's own length depends on the number it carries
        marker = f" ... [{cut} more characters cut]"
        kept = limit - len(marker)
        if len(text) - kept == cut:
            return text[:kept] + marker
        cut = len(text) - kept


def backoff(failures: int) -> float:
    """Seconds before the next dispatch try after ``failures`` consecutive retryable answers (>= 1)."""
    return float(min(RETRY_BASE_S * 2 ** max(failures - 1, 0), RETRY_MAX_S))


# ---- what the transition needs to know of the task beyond its status ----


@dataclass(frozen=True)
class TaskFacts:
    generation: int | None = None
    failover: str = FailoverPolicy.REQUEUE
    grace_period_s: float = 300.0
    unavailable_s: float = 600.0
    """``spec.failover.unavailableSeconds``: how long a serving task's replicas may stay unavailable."""
    summary: TaskSummary | None = None


# ---- events ----


@dataclass(frozen=True)
class Admitted:
    """A valid spec was read: a new task, an edited one, or every task after a restart."""

    checking: str = ""
    """Not empty: the spec passed the operator's own checks and the hub's verdict on the Job it would
    dispatch is awaited (this text says so on a ``Valid=Unknown`` condition); the task is not placed
    until ``Admitted()`` or ``SpecInvalid`` brings the verdict."""


@dataclass(frozen=True)
class SpecInvalid:
    message: str


@dataclass(frozen=True)
class PoolMissing:
    message: str


@dataclass(frozen=True)
class NoFit:
    message: str
    explanation: Explanation | None = None
    """Each identifier's verdict, written with the message (None when the wait is not placement's)."""
    reason: Reason = Reason.NO_FIT
    """``ExceedsMaxQuota`` when the task's queue could never hold it: waiting cannot help."""


@dataclass(frozen=True)
class OffersFound:
    offers: tuple[Offer, ...]
    message: str
    explanation: Explanation | None = None
    """Each identifier's verdict, written with the offers."""


@dataclass(frozen=True)
class Placed:
    placement: Placement
    message: str
    caveat: str = ""
    """What placement could not evaluate ("not evaluated by placement: ..."), shown with the placement."""


@dataclass(frozen=True)
class DispatchCreated:
    remote: RemoteRef
    adopted: bool


@dataclass(frozen=True)
class DispatchRetryable:
    """The member (or the way to it) refused for now: 401/403, 404 namespace, 429, 5xx, timeout, ..."""

    reason: Reason
    message: str
    failures: int = 1


@dataclass(frozen=True)
class DispatchRefused:
    """The member refused the Job for good (400/422 invalid, the name owned by someone else)."""

    reason: Reason
    message: str


@dataclass(frozen=True)
class RetryDue:
    """A dispatch retry timer fired."""


@dataclass(frozen=True)
class JobRunning:
    remote: RemoteRef
    attempt: int
    started: dt.datetime


@dataclass(frozen=True)
class OutputsPushed:
    """What a finished attempt's output pushes did (``tasks/staging/outputs.py``), ready to be booked.

    ``data`` is ``status.data`` with the outputs and their bytes and egress added; ``moved`` and
    ``charges`` are what to meter, once, when the transition takes ``data`` into the status.
    ``failure`` names the first output that did not arrive; ``refused``: in a store's refusal that
    running the work again would meet again.
    """

    data: TaskDataStatus
    provider: str
    moved: int = 0
    charges: tuple[Charge, ...] = ()
    failure: str | None = None
    refused: bool = False


@dataclass(frozen=True)
class JobFinished:
    remote: RemoteRef
    attempt: int
    succeeded: bool
    started: dt.datetime
    ended: dt.datetime
    message: str | None
    ran: Metered
    outputs: OutputsPushed | None = None
    """For a task with outputs, what their pushes did; the follower reads it before it delivers the event."""


@dataclass(frozen=True)
class JobGone:
    """The current attempt's Job was confirmed absent in its member (a GET answered 404)."""

    identifier: str
    attempt: int
    message: str
    ran: Metered | None = None


@dataclass(frozen=True)
class PodsUnschedulable:
    """The member's scheduler has found no node for a pod of the current attempt for too long."""

    identifier: str
    attempt: int
    message: str


@dataclass(frozen=True)
class StartFailed:
    """The current attempt's pods were never created, or cannot start, within their bound (``startup``)."""

    identifier: str
    attempt: int
    message: str


@dataclass(frozen=True)
class ReplicasUnavailable:
    """The current attempt of a Running serving task reads not available; ``message``: the member's words."""

    identifier: str
    attempt: int
    message: str


@dataclass(frozen=True)
class UnavailableTooLong:
    """A serving attempt's replicas stayed unavailable past their bound (``lifecycle/serving.py``)."""

    identifier: str
    attempt: int
    message: str
    ran: Metered | None = None


@dataclass(frozen=True)
class MemberLost:
    """The identifier of the current attempt is unusable: unreachable, Secret gone, or deleted."""

    identifier: str
    since: dt.datetime
    why: str
    ran: Metered | None = None


@dataclass(frozen=True)
class Drained:
    """The current attempt's identifier was deleted and its workload removed from the still reachable member."""

    identifier: str
    attempt: int
    message: str
    ran: Metered | None = None


@dataclass(frozen=True)
class MemberBack:
    identifier: str


@dataclass(frozen=True)
class Deleted:
    """The task is being deleted (its finalizer runs)."""


@dataclass(frozen=True)
class Preempted:
    by: str
    ran: Metered | None = None


@dataclass(frozen=True)
class SuspendRequested:
    """``spec.suspend`` is true on a dispatched task: its attempt is to end and the task to wait for offers."""

    ran: Metered | None = None
    """What the attempt ran up to now (None when it never started)."""


@dataclass(frozen=True)
class WorkloadEdited:
    """A field that decides what runs changed on a dispatched task (an edit the API server let through).

    See ``lifecycle/edits.py`` for how that can happen; ``fields`` are the spec fields, camelCase.
    """

    fields: tuple[str, ...]
    ran: Metered | None = None
    """What the attempt ran up to now (None when it never started)."""


@dataclass(frozen=True)
class Staging:
    """The attempt's inputs are being staged into the region's store (``done``: they all are there)."""

    identifier: str
    attempt: int
    data: TaskDataStatus
    message: str
    done: bool = False


@dataclass(frozen=True)
class StagingFailed:
    """A copy of the attempt's inputs failed; ``message`` names the input and the store's own words."""

    identifier: str
    attempt: int
    data: TaskDataStatus
    message: str


STAGING_POLL_S = 2.0
"""How often a staging attempt's mover Jobs are read while they run."""


Event = (
    Admitted
    | SpecInvalid
    | PoolMissing
    | NoFit
    | OffersFound
    | Placed
    | DispatchCreated
    | DispatchRetryable
    | DispatchRefused
    | RetryDue
    | JobRunning
    | JobFinished
    | JobGone
    | PodsUnschedulable
    | StartFailed
    | ReplicasUnavailable
    | UnavailableTooLong
    | MemberLost
    | Drained
    | MemberBack
    | Deleted
    | Preempted
    | SuspendRequested
    | WorkloadEdited
    | Staging
    | StagingFailed
)
EVENT_TYPES: tuple[type[Any], ...] = Event.__args__


# ---- effects ----


@dataclass(frozen=True)
class Dispatch:
    """Create (or adopt) the Job of ``attempt`` in the placed identifier."""

    attempt: int


@dataclass(frozen=True)
class RetryAt:
    """Deliver ``RetryDue`` to the task at ``at``."""

    at: dt.datetime


@dataclass(frozen=True)
class RecheckAt:
    """Check the task's member again at ``at`` (the end of a failover grace period)."""

    at: dt.datetime


@dataclass(frozen=True)
class Release:
    """The task holds no capacity any more: forget its assumption and wake the scheduler."""


@dataclass(frozen=True)
class Fence:
    """Remove every Job of the task that is no longer its current attempt (see ``is_stale``)."""


@dataclass(frozen=True)
class Wake:
    """Something may now be placeable: run a scheduling pass."""


@dataclass(frozen=True)
class CountFinished:
    phase: Phase
    identifier: str | None
    ran: Metered | None


@dataclass(frozen=True)
class CountFailover:
    identifier: str


@dataclass(frozen=True)
class CountDispatched:
    identifier: str


@dataclass(frozen=True)
class MeterData:
    """Meter the bytes a task's outputs moved (``provider``: the compute's) and book their egress, once.

    ``queue`` is the one that admitted the attempt (empty: none), taken before the status lets it go.
    """

    provider: str
    queue: str
    moved: int
    charges: tuple[Charge, ...]


Effect = (
    Dispatch
    | RetryAt
    | RecheckAt
    | Emit
    | Release
    | Fence
    | Wake
    | CountFinished
    | CountFailover
    | CountDispatched
    | MeterData
)


@dataclass(frozen=True)
class Outcome:
    status: ComputeTaskStatus
    effects: tuple[Effect, ...] = ()
    note: str = ""
    """Why nothing changed, for pairs that leave the task as it is."""
    write_after: float = 0.0
    """Seconds the hub write may wait for a change right after it to ride along (0: write now)."""


def phase_of(status: ComputeTaskStatus) -> Phase | None:
    return Phase(status.phase) if status.phase else None


def condition(status: ComputeTaskStatus, type_: ConditionType) -> Condition | None:
    return next((c for c in status.conditions or () if c.type == type_), None)


def already_waiting(status: ComputeTaskStatus, reason: Reason, message: str) -> bool:
    """Whether a Pending task already says `reason` and `message` (clipped as written).

    Such a wait changes nothing: neither a status write nor an explanation is owed.
    """
    placed = condition(status, ConditionType.PLACED)
    return (
        phase_of(status) == Phase.PENDING
        and placed is not None
        and placed.reason == str(reason)
        and placed.message == clip(message, CONDITION_MESSAGE_LIMIT)
    )
