"""Gang order: a gang spread over several nodes waits while another placement on them is unconfirmed.

A gang's pods share one template, so they are pinned to the chosen nodes as a set and the member's
scheduler places them one by one wherever they fit among those nodes (kube-scheduler v1.36.3 has
no per-replica node in a Job). It knows nothing of a task placed on one of those nodes whose pods
have not reached it yet (an assumption the operator holds): if the gang's pods arrive first, it may
put more of them on that node than placement counted and take the room promised to that task,
which the member then refuses. This happens under bursts, when the intents of tasks decided a
second apart reach their members in another order.

So a multi-node assignment is safe only if every node of it either holds no other unconfirmed
placement or has room, after the assumptions, for the whole gang. An identifier whose assignment
is not safe is passed over for the next best; when none is, the task waits (seconds, until the
members show the other placements' pods bound) and its line says so.
"""

from __future__ import annotations

import numpy as np

from computenet.placement import fit, reasons
from computenet.placement.arrays import IntArray
from computenet.placement.context import Context
from computenet.placement.framework import Reason

UNCONFIRMED = 0


def risky_nodes(ctx: Context, assignment: tuple[tuple[int, int, int], ...]) -> IntArray:
    """Rows of `assignment` (node row, replicas, most) where the gang could take promised room.

    Empty for a gang on one node: its pods can only go where they were counted.
    """
    if len(assignment) < 2:
        return np.empty(0, dtype=np.int64)
    rows = np.array([r for r, _, _ in assignment], dtype=np.int64)
    before = ctx.snapshot.nodes.free_amounts(rows)
    after = before.copy()
    ctx.overlay.subtract(rows, after)  # what `fit.free_rows` gives, without reading the rows twice
    pending = (after != before).any(axis=1)  # another placement holds room here, not yet bound
    whole = fit.replica_slots(ctx, after[:, 0], after[:, 1], after[:, 2], after[:, 3]) >= ctx.replicas
    risky: IntArray = rows[pending & ~whole]
    return risky


class GangOrder:
    """Explains identifiers passed over because their gang assignment was not safe (see module)."""

    name = "GangOrder"

    def reason(self, ctx: Context, code: int) -> Reason:
        return Reason(
            reasons.GANG_ORDER,
            "a gang over several nodes would share them with placements not yet bound; waiting for them",
        )

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        return [
            f"{ctx.replicas} replicas would be spread over nodes where other tasks' pods are placed but not yet "
            "bound; the member's scheduler could give the gang their room"
            for _ in ids.tolist()
        ]

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        """Not run as a filter: the pipeline asks `risky_nodes` of the best candidates only."""
        return None
