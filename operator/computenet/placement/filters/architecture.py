"""Architecture: some schedulable node runs one of the task's CPU architectures (empty: any)."""

from __future__ import annotations

import numpy as np

from computenet.placement import reasons
from computenet.placement.arrays import IntArray
from computenet.placement.context import Context
from computenet.placement.framework import PASS, Reason


def node_archs(ctx: Context, ident: int) -> str:
    entries, _ = ctx.entries_of(np.array([ident]))
    arch = ctx.snapshot.vocabulary.kind_columns[0][ctx.snapshot.entries.kind[entries]]
    return ", ".join(sorted({ctx.snapshot.vocabulary.archs[a] or "unlabelled" for a in arch})) or "none"


class Architecture:
    name = "Architecture"
    task_level = True
    """Reads only the task's own constraints, never a pod set's (see `pod_sets`)."""

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        if not ctx.demand.constraints.architectures:
            return None
        return np.where(ctx.any_entry(ids, ctx.kind_arch_ok), PASS, 0)

    def reason(self, ctx: Context, code: int) -> Reason:
        wanted = "|".join(ctx.demand.constraints.architectures)
        return Reason(reasons.ARCHITECTURE_MISMATCH, f"no {wanted} nodes")

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        wanted = "|".join(ctx.demand.constraints.architectures)
        return [f"its schedulable nodes are {node_archs(ctx, i)}, the task needs {wanted}" for i in ids.tolist()]
