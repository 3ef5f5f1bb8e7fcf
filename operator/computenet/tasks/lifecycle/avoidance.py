"""Which identifiers a requeued task avoids, and for how long (pure).

An attempt that ends because its pods never started there (``PodsNotStarted``: a quota, a
LimitRange, an image that cannot be pulled) or found no node there (``Unschedulable``) says
something about that member, not about the task: placing the next attempt on the same identifier
would most likely fail the same way; so does a serving workload whose replicas stayed unavailable
there past their bound (``Unavailable``), an input copy that failed there (``StagingFailed``) and
outputs that did not get from there to their store (``OutputsUploadFailed``). Such an identifier is
avoided for a while, doubling with each such failure: Kueue's requeuing backoff for
``waitForPodsReady`` (``backoffBaseSeconds`` 60, ``backoffMaxSeconds`` 3600,
``pkg/controller/core/workload_controller.go``, kueue ff69552e79), applied per identifier. Once the
time passes the identifier is a candidate again; if it is the only one, the task simply waits for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from computenet.api.constants import Reason
from computenet.api.task import AvoidedIdentifier

AVOID_AFTER = frozenset(
    {
        Reason.PODS_NOT_STARTED,
        Reason.UNSCHEDULABLE,
        Reason.UNAVAILABLE,
        Reason.STAGING_FAILED,
        Reason.OUTPUTS_UPLOAD_FAILED,
    }
)
"""Reasons an attempt ends that make its identifier avoided by the next ones."""
BASE_S = 60.0
MAX_S = 3600.0
KEPT = 32
"""At most this many identifiers are remembered (the most recent failures)."""


def backoff_s(failures: int) -> float:
    """Seconds an identifier is avoided after its `failures`-th such failure (1, 2, ...): 60, 120, 240 ... 3600."""
    return min(BASE_S * float(2 ** max(failures - 1, 0)), MAX_S)


def avoid(
    avoided: Sequence[AvoidedIdentifier] | None, identifier: str, reason: str, now: dt.datetime
) -> list[AvoidedIdentifier]:
    """`avoided` with `identifier` (newly) avoided from `now` for its next backoff."""
    previous = next((a for a in avoided or () if a.identifier == identifier), None)
    failures = previous.failures + 1 if previous is not None else 1
    entry = AvoidedIdentifier(
        identifier=identifier,
        reason=reason,
        failures=failures,
        until=now + dt.timedelta(seconds=backoff_s(failures)),
    )
    kept = [a for a in avoided or () if a.identifier != identifier]
    return sorted([*kept, entry], key=lambda a: a.until)[-KEPT:]


def avoided_now(avoided: Sequence[AvoidedIdentifier] | None, now: dt.datetime) -> dict[str, str]:
    """Identifier -> why it is passed over now (its reason and until when); expired entries are left out."""
    return {
        a.identifier: f"{a.reason} there {a.failures}x, avoided until {a.until.astimezone(dt.UTC):%H:%M:%SZ}"
        for a in avoided or ()
        if a.until > now
    }
