"""NodeSelector: the identifier's partition has schedulable nodes, one matching the pod's selector.

The identifier's own selector decides which of the member's nodes are its partition (see
`builder`); the pod template's nodeSelector (and nodeName, if set) must then select at least one
of them, otherwise the member's scheduler would leave the pods Pending. Required node affinity
is checked after this, by `NodeAffinity`, on the nodes that pass here.
"""

from __future__ import annotations

import numpy as np

from computenet.placement import reasons
from computenet.placement.arrays import IntArray, gather
from computenet.placement.context import Context
from computenet.placement.framework import PASS, Reason

NO_NODES, NOT_SELECTED = 0, 1


def wanted(ctx: Context) -> str:
    """The pod's selection in words: "nodeSelector a=b" and/or "nodeName n1"."""
    parts = []
    if ctx.demand.node_selector:
        parts.append("nodeSelector " + ",".join(f"{k}={v}" for k, v in sorted(ctx.demand.node_selector.items())))
    if ctx.demand.node_name is not None:
        parts.append(f"nodeName {ctx.demand.node_name}")
    return " and ".join(parts)


class NodeSelector:
    name = "NodeSelector"

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        schedulable = ctx.snapshot.table.schedulable[ids] > 0
        codes = np.where(schedulable, PASS, NO_NODES)
        if ctx.selector_label_ok is None and ctx.hostname is None and ctx.demand.node_name is None:
            return codes
        entries, pos = ctx.entries_of(ids)
        e = ctx.snapshot.entries
        rows, seg = gather(e.indptr, e.rows, entries)
        selected = ctx.rows_by_selector(rows)
        assert selected is not None
        matched = np.bincount(pos[seg][selected], minlength=len(ids)) > 0
        codes[schedulable & ~matched] = NOT_SELECTED
        return codes

    def reason(self, ctx: Context, code: int) -> Reason:
        if code == NO_NODES:
            return Reason(reasons.NO_SCHEDULABLE_NODES, "no schedulable nodes")
        return Reason(reasons.NODE_SELECTOR_MISMATCH, f"no node matches {wanted(ctx)}")

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        t = ctx.snapshot.table
        what = "the pod nodeSelector" if ctx.demand.node_name is None else wanted(ctx)
        return [
            f"none of its {members} nodes is Ready and schedulable"
            if c == NO_NODES
            else f"none of its {schedulable} schedulable nodes matches {what}"
            for members, schedulable, c in zip(
                t.members[ids].tolist(), t.schedulable[ids].tolist(), codes.tolist(), strict=True
            )
        ]
