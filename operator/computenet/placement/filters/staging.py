"""Staging: a task whose data the operator moves goes only where it can move it.

A task with ``spec.data`` inputs or outputs is staged by mover Jobs, init containers and a push
sidecar the operator runs in the chosen member (``tasks.staging``). A pull member's agent runs none
of them yet: such a member would fail the attempt at staging, so it is rejected here, and a Pending
task says why ("stages no data").
"""

from __future__ import annotations

import numpy as np

from computenet.placement import reasons
from computenet.placement.arrays import IntArray
from computenet.placement.context import Context
from computenet.placement.framework import PASS, Reason


class Staging:
    name = "Staging"
    task_level = True

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        if not ctx.demand.staged:
            return None
        identifiers = ctx.snapshot.identifiers
        ok = np.fromiter((identifiers[i].stages_data for i in ids.tolist()), dtype=bool, count=len(ids))
        return np.where(ok, PASS, 0)

    def reason(self, ctx: Context, code: int) -> Reason:
        return Reason(reasons.STAGING_NOT_SERVED, "stages no data")

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        return ["a pull member: its agent runs no data movers; the task's inputs or outputs need them"] * len(ids)
