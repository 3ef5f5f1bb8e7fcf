"""Taints: some node that suits the task's architecture and devices has only tolerated taints.

Only NoSchedule and NoExecute taints block (PreferNoSchedule is a preference). GPU node pools
are commonly tainted so that ordinary pods stay off; the task's pod template must tolerate them.
"""

from __future__ import annotations

import numpy as np

from computenet.placement import reasons
from computenet.placement.arrays import IntArray
from computenet.placement.context import Context
from computenet.placement.framework import PASS, Reason


class Taints:
    name = "Taints"

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        return np.where(ctx.any_entry(ids, ctx.kind_ok), PASS, 0)

    def reason(self, ctx: Context, code: int) -> Reason:
        return Reason(reasons.TAINTS_NOT_TOLERATED, "node taints not tolerated")

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        return [f"every suitable node has an untolerated taint ({_taints(ctx, i)})" for i in ids.tolist()]


def _taints(ctx: Context, ident: int) -> str:
    """The blocking taints on the identifier's nodes that suit the task's architecture and devices."""
    v = ctx.snapshot.vocabulary
    entries, _ = ctx.entries_of(np.array([ident]))
    kinds = ctx.snapshot.entries.kind[entries]
    suitable = kinds[(ctx.kind_arch_ok & ctx.kind_accelerator_ok)[kinds]]
    taints = {
        f"{k}={val}:{e}" if val else f"{k}:{e}" for kind in suitable for k, val, e in v.taint_sets[v.kinds[kind][3]]
    }
    return ", ".join(sorted(taints))
