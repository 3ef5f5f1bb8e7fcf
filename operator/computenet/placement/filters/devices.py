"""Devices: the pod template's DRA claims resolve on this identifier, and its nodes' free devices hold them.

A claim placement cannot evaluate (an existing ResourceClaim, a template or class the member does
not have, a selector beyond ``device.driver == "..."``) rejects the identifier with the claim
named: the member's allocator would decide what placement cannot see, so nothing is placed blind.
Otherwise the identifier needs a schedulable node whose free devices (after assumptions) satisfy
one replica's claims, and enough such room over its nodes for the whole gang (see `devices`);
`Resources` then fits cpu, memory and pod slots on those same nodes.
"""

from __future__ import annotations

import numpy as np

from computenet.placement import reasons
from computenet.placement.arrays import IntArray
from computenet.placement.context import Context
from computenet.placement.devices import ANY_DRIVER, Needs, describe
from computenet.placement.framework import PASS, Reason

NOT_EVALUATED, NONE_ON_A_NODE, TOO_FEW = 0, 1, 2
_KINDS = 3
"""Codes are kind + _KINDS * (index of the phrase's subject in the context's list): claims resolve per
identifier, so the words differ between identifiers and are kept with the decision's context."""


def _subjects(ctx: Context) -> list[str]:
    found: list[str] = ctx.__dict__.setdefault("_device_subjects", [])
    return found


def _code(ctx: Context, kind: int, subject: str) -> int:
    subjects = _subjects(ctx)
    if subject not in subjects:
        subjects.append(subject)
    return kind + _KINDS * subjects.index(subject)


def _room(ctx: Context, ident: int, needs: Needs) -> tuple[int, int, int, int]:
    """(most replicas on one node, replicas over all nodes, nodes with devices, free devices claimed) on `ident`."""
    rows = ctx.snapshot.node_rows(ctx.snapshot.identifiers[ident].name)
    rows = rows[np.isin(rows, ctx.device_rows)]
    selected = ctx.rows_selected(rows)
    if selected is not None:
        rows = rows[selected]
    slots = ctx.device_slots(rows, np.full(len(rows), ident))
    free = 0
    for row in rows.tolist():
        held = sum(n for key, n in ctx.overlay.devices.get(row, {}).items() if _claimed(needs, key))
        free += max(sum(d.free for d in ctx.snapshot.nodes.devices[row] if _claimed(needs, d.driver)) - held, 0)
    return int(slots.max(initial=0)), int(slots.sum()), len(rows), free


def _claimed(needs: Needs, driver: str) -> bool:
    return ANY_DRIVER in needs or driver in needs


class Devices:
    name = "Devices"

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        if not ctx.claims:
            return None
        codes = np.full(len(ids), PASS, dtype=np.int64)
        for k, ident in enumerate(ids.tolist()):
            needs = ctx.device_needs(ident)
            if isinstance(needs, str):
                codes[k] = _code(ctx, NOT_EVALUATED, needs)
                continue
            largest, total, _, _ = _room(ctx, ident, needs)
            if largest == 0:
                codes[k] = _code(ctx, NONE_ON_A_NODE, describe(needs))
            elif total < ctx.replicas:
                codes[k] = _code(ctx, TOO_FEW, describe(needs))
        return codes

    def reason(self, ctx: Context, code: int) -> Reason:
        kind, subject = code % _KINDS, _subjects(ctx)[code // _KINDS]
        if kind == NOT_EVALUATED:
            return Reason(reasons.DEVICE_CLAIM_NOT_EVALUATED, subject)
        where = "on any single node" if kind == NONE_ON_A_NODE else "in total"
        return Reason(reasons.INSUFFICIENT_DEVICES, f"insufficient DRA devices ({subject} per replica) {where}")

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        out = []
        for ident in ids.tolist():
            needs = ctx.device_needs(ident)
            out.append(needs if isinstance(needs, str) else _detail(ctx, ident, needs))
        return out


def _detail(ctx: Context, ident: int, needs: Needs) -> str:
    largest, total, nodes, free = _room(ctx, ident, needs)
    held = " after reservations assumed for pending tasks" if ctx.overlay.devices else ""
    return (
        f"{free} claimable DRA device{'' if free == 1 else 's'} free on {nodes} schedulable "
        f"node{'' if nodes == 1 else 's'} publishing devices{held}; a replica claims {describe(needs)}, "
        f"{total} of {ctx.replicas} replicas fit (at most {largest} on one node)"
    )
