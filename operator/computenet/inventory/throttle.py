"""How often one ClusterProfile may be written: at most one update per interval (30 s by default).

KEP-4322 (ClusterProfile API) asks a cluster manager not to update a ClusterProfile's status more
often than every 30 seconds, so that many consumers watching many profiles are not flooded by
capacity that moves all the time. A create (the profile is new) and a delete (the identifier is gone)
are never held back: they change what exists, not how it looks.

Pure: time comes in as seconds on any monotonic clock.
"""

from __future__ import annotations

KEP_MIN_UPDATE_INTERVAL_S = 30.0
"""KEP-4322's bound: one status update per ClusterProfile per 30 seconds."""


def next_write_at(*, changed: bool, last_write_s: float | None, now_s: float, interval_s: float) -> float | None:
    """When the profile may be written next, or None when there is nothing to write.

    ``changed``: whether what the profile should say differs from what it says.
    ``last_write_s``: when this process last wrote it (None: never, so the write is a create or the
    first since start). Returns ``now_s`` when the write may go now, else ``last_write_s +
    interval_s``: the earliest moment the bound allows.
    """
    if not changed:
        return None
    if last_write_s is None:
        return now_s
    return max(now_s, last_write_s + interval_s)
