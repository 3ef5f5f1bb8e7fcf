"""MaxTransfer: with spec.data.maxTransferSeconds, the task's data must reach the identifier in time.

The time is `transfer`'s: the bytes not already in the identifier's region over the bandwidth of
the link they take. An identifier that declares no bandwidth cannot say how long the move takes
and is rejected as unknown rather than guessed; one whose region holds every piece moves nothing
and passes. Without a cap the filter passes.
"""

from __future__ import annotations

import numpy as np

from computenet.placement import reasons
from computenet.placement.arrays import IntArray
from computenet.placement.context import Context
from computenet.placement.framework import PASS, Reason
from computenet.placement.resources import GIB
from computenet.placement.transfer import origins

UNKNOWN, ABOVE = 0, 1


def moved(ctx: Context, ident: int) -> str:
    """The bytes moved into the identifier and where from, e.g. "40.0 GiB from cn-east"."""
    return ", ".join(
        f"{size / GIB:.1f} GiB from {region}" for region, size in origins(ctx.snapshot, ctx.demand.data, ident)
    )


class MaxTransfer:
    name = "MaxTransfer"
    task_level = True
    """Reads only the task's own data, never a pod set's (see `pod_sets`)."""

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        data = ctx.demand.data
        if data is None or data.max_transfer_seconds is None:
            return None
        seconds = ctx.transfer_seconds[ids]
        return np.where(np.isnan(seconds), UNKNOWN, np.where(seconds > data.max_transfer_seconds, ABOVE, PASS))

    def reason(self, ctx: Context, code: int) -> Reason:
        if code == UNKNOWN:
            return Reason(reasons.TRANSFER_TIME_UNKNOWN, "data transfer time unknown")
        limit = ctx.demand.data.max_transfer_seconds if ctx.demand.data else 0
        return Reason(reasons.TRANSFER_ABOVE_MAX, f"data transfer above {limit:g} s")

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        limit = ctx.demand.data.max_transfer_seconds if ctx.demand.data else 0
        seconds = ctx.transfer_seconds
        return [
            f"data transfer time unknown: no bandwidth is known for moving {moved(ctx, i)}"
            if c == UNKNOWN
            else f"data transfer {seconds[i]:.0f} s > maxTransferSeconds {limit:g} ({moved(ctx, i)})"
            for i, c in zip(ids.tolist(), codes.tolist(), strict=True)
        ]
