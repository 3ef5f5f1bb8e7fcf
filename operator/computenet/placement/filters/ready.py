"""Ready: an identifier whose member is unreachable, stale or unhealthy gets no new work."""

from __future__ import annotations

import numpy as np

from computenet.placement import reasons
from computenet.placement.arrays import IntArray
from computenet.placement.context import Context
from computenet.placement.framework import PASS, Reason


class Ready:
    name = "Ready"
    task_level = True
    """Reads only the task's own constraints, never a pod set's (see `pod_sets`)."""

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        return np.where(ctx.snapshot.table.ready[ids] == 1, PASS, 0)

    def reason(self, ctx: Context, code: int) -> Reason:
        return Reason(reasons.NOT_READY, "not Ready")

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        reasons = [ctx.snapshot.identifiers[i].not_ready_reason for i in ids.tolist()]
        return [f"identifier is not Ready: {why}" if why else "identifier is not Ready" for why in reasons]
