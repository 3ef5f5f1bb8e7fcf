"""ComputeClass: a task that asks for a class (general, ai, hpc, edge) only goes to that class."""

from __future__ import annotations

import numpy as np

from computenet.placement import reasons
from computenet.placement.arrays import IntArray
from computenet.placement.context import Context
from computenet.placement.framework import PASS, Reason


class ComputeClassFilter:
    name = "ComputeClass"
    task_level = True
    """Reads only the task's own constraints, never a pod set's (see `pod_sets`)."""

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        wanted = ctx.demand.constraints.compute_class
        if not wanted:
            return None
        klass = ctx.snapshot.vocabulary.classes.get(wanted, -1)
        return np.where(ctx.snapshot.table.compute_class[ids] == klass, PASS, 0)

    def reason(self, ctx: Context, code: int) -> Reason:
        return Reason(reasons.COMPUTE_CLASS_MISMATCH, f"not compute class {ctx.demand.constraints.compute_class}")

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        wanted = ctx.demand.constraints.compute_class
        have = [ctx.snapshot.identifiers[i].compute_class for i in ids.tolist()]
        return [f"compute class is {h}, the task asks for {wanted}" for h in have]
