"""A dataset's replicas as the operator keeps them: read, recorded when staged, touched, evicted.

``spec.replicas`` are the user's and never change here. ``status.replicas`` holds, per region, the
operator's view: a replica it staged (with its URI, so the next task in that region reads it) and
when any replica was last read. Eviction is a rule on time: a replica the operator staged that no
task read for ``keep`` (default seven days) is dropped from the status, so no task reads it again and
the next task in that region stages it afresh; the objects under ``datasets/<name>/`` of the region's
store are left to that store's own lifecycle rule (docs/data.md). A replica the user declared is
never evicted. Pure: replicas and times in, replicas out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from computenet.api.data import DatasetReplica, ReplicaStatus
from computenet.data.staging import NewReplica, Replica

__all__ = ["KEEP", "evict", "readable", "record", "touch"]

KEEP = dt.timedelta(days=7)
"""How long a staged replica no task read is kept."""


def readable(spec: Sequence[DatasetReplica], status: Sequence[ReplicaStatus] | None) -> tuple[Replica, ...]:
    """The replicas a task may read: the declared ones, then those the operator staged.

    A staged one counts when it is Ready, has a URI, and lies in a region no declared replica covers.
    """
    declared = tuple(Replica(r.region, r.uri, r.endpoint, r.checksum) for r in spec)
    covered = {r.region for r in spec}
    staged = tuple(
        Replica(s.region, s.uri, s.endpoint, s.checksum)
        for s in status or ()
        if s.state == "Ready" and s.uri is not None and s.region not in covered
    )
    return declared + staged


def _put(status: Sequence[ReplicaStatus] | None, item: ReplicaStatus) -> list[ReplicaStatus]:
    out = [s for s in status or () if s.region != item.region]
    out.append(item)
    return sorted(out, key=lambda s: s.region)


def record(
    status: Sequence[ReplicaStatus] | None, new: NewReplica, endpoint: str, size: int | None, now: dt.datetime
) -> list[ReplicaStatus]:
    """``status`` with the replica the operator just staged into ``new.region``: Ready, staged and used now."""
    item = ReplicaStatus(
        region=new.region,
        state="Ready",
        uri=new.uri,
        endpoint=endpoint,
        checksum=new.checksum,
        bytes=size,
        staged_time=now,
        last_used_time=now,
    )
    return _put(status, item)


def touch(status: Sequence[ReplicaStatus] | None, region: str, now: dt.datetime) -> list[ReplicaStatus]:
    """``status`` with the replica in ``region`` read now (a declared one gains an entry, Ready)."""
    old = next((s for s in status or () if s.region == region), None)
    item = (
        old.model_copy(update={"last_used_time": now})
        if old is not None
        else ReplicaStatus(region=region, state="Ready", last_used_time=now)
    )
    return _put(status, item)


def evict(
    status: Sequence[ReplicaStatus] | None, now: dt.datetime, keep: dt.timedelta = KEEP
) -> tuple[list[ReplicaStatus], list[str]]:
    """(the replicas kept, the regions evicted): a staged replica unread since ``now - keep`` goes.

    The last read is ``lastUsedTime``, else ``stagedTime``; an entry without ``stagedTime`` (a declared
    replica's) is always kept.
    """
    kept: list[ReplicaStatus] = []
    gone: list[str] = []
    for s in status or ():
        last = s.last_used_time or s.staged_time
        if s.staged_time is not None and last is not None and now - last > keep:
            gone.append(s.region)
        else:
            kept.append(s)
    return kept, gone
