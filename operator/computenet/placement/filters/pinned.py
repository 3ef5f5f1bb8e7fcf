"""Pinned: a task pinned to one identifier (an accepted offer) runs there or waits.

Every other identifier of the pool is rejected first, so the pinned one alone goes through the
remaining filters and, when it does not fit, the task's one line names its own reason ("1/3 ...
insufficient nvidia.com/gpu") rather than a generic "not the pinned identifier".
"""

from __future__ import annotations

import numpy as np

from computenet.placement import reasons
from computenet.placement.arrays import IntArray
from computenet.placement.context import Context
from computenet.placement.framework import PASS, Reason

OTHER = 0


class Pinned:
    name = "Pinned"
    task_level = True
    """Reads only the task's own constraints, never a pod set's (see `pod_sets`)."""

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        pinned = ctx.demand.pinned
        if pinned is None:
            return None
        index = ctx.snapshot.index.get(pinned, -1)
        return np.where(ids == index, PASS, OTHER)

    def reason(self, ctx: Context, code: int) -> Reason:
        return Reason(reasons.NOT_PINNED, f"not the accepted identifier {ctx.demand.pinned}")

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        return [f"the task is pinned to {ctx.demand.pinned}"] * len(ids)
