"""Avoided: an identifier where an earlier attempt of the task could not start is passed over for a while.

The task's lead (``tasks.lifecycle.avoidance``) says which identifiers and why; this filter only
applies it, so that `why` names the reason like any other rejection.
"""

from __future__ import annotations

import numpy as np

from computenet.placement import reasons
from computenet.placement.arrays import IntArray
from computenet.placement.context import Context
from computenet.placement.framework import PASS, Reason

AVOIDED = 0


class Avoided:
    name = "Avoided"
    task_level = True
    """Reads only the task's own constraints, never a pod set's (see `pod_sets`)."""

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        avoided = ctx.demand.avoided
        if not avoided:
            return None
        codes = np.full(len(ids), PASS)
        codes[np.isin(ids, ctx.snapshot.indices(frozenset(avoided)))] = AVOIDED
        return codes

    def reason(self, ctx: Context, code: int) -> Reason:
        return Reason(reasons.RECENTLY_FAILED, "an earlier attempt could not start there")

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        names = [ctx.snapshot.identifiers[i].name for i in ids.tolist()]
        return [ctx.demand.avoided.get(n, "avoided") for n in names]
