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
from computenet.placement.arrays import BoolArray, IntArray, gather, group_max, group_sum
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
    index: dict[str, int] = ctx.__dict__.setdefault("_device_subject_index", {})
    at = index.get(subject)
    if at is None:
        subjects = _subjects(ctx)
        at = index[subject] = len(subjects)
        subjects.append(subject)
    return kind + _KINDS * at


def _rows(ctx: Context, ids: IntArray) -> tuple[IntArray, IntArray]:
    """The schedulable nodes of `ids` that publish devices and that the pod's node constraints admit.

    (rows, position in `ids` of the identifier each row belongs to).
    """
    e = ctx.snapshot.entries
    entries, pos = ctx.entries_of(ids)
    rows, seg = gather(e.indptr, e.rows, entries)
    _, hit = ctx.device_table.locate(rows)
    rows, owner = rows[hit], pos[seg[hit]]
    selected = ctx.rows_selected(rows)
    if selected is not None:
        rows, owner = rows[selected], owner[selected]
    return rows, owner


def _rooms(ctx: Context, ids: IntArray) -> tuple[IntArray, IntArray]:
    """Per identifier of `ids`: (most replicas on one node, replicas over all its nodes), after assumptions."""
    rows, owner = _rows(ctx, ids)
    slots = ctx.device_slots(rows, ids[owner])
    return group_max(owner, slots, len(ids)), group_sum(owner, slots, len(ids))


def _room(ctx: Context, ident: int, needs: Needs) -> tuple[int, int, int, int]:
    """(most replicas on one node, replicas over all nodes, nodes with devices, free devices claimed) on `ident`."""
    rows, _ = _rows(ctx, np.array([ident]))
    slots = ctx.device_slots(rows, np.full(len(rows), ident))
    free = 0
    for row in rows.tolist():
        held = sum(n for key, n in ctx.overlay.devices.get(row, {}).items() if _claimed(needs, key))
        free += max(sum(d.free for d in ctx.snapshot.nodes.devices[row] if _claimed(needs, d.driver)) - held, 0)
    return int(slots.max(initial=0)), int(slots.sum()), len(rows), free


def _holding(ctx: Context) -> BoolArray:
    """Per identifier of the snapshot: whether one of its schedulable nodes publishes DRA devices."""
    entries = ctx.snapshot.entries
    holding = np.zeros(len(ctx.snapshot), dtype=bool)
    holding[entries.ident[ctx.device_entries]] = True
    return holding


def _claimed(needs: Needs, driver: str) -> bool:
    return ANY_DRIVER in needs or driver in needs


class Devices:
    name = "Devices"

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        if not ctx.claims:
            return None
        codes = np.full(len(ids), PASS, dtype=np.int64)
        holding = _holding(ctx)[ids]
        answers = ctx.device_answers
        of = answers.of[ids]
        resolved = np.zeros(len(ids), dtype=bool)
        for answer in np.unique(of).tolist():  # a few distinct answers, however many identifiers
            needs, mine = answers.answers[answer], of == answer
            if isinstance(needs, str):
                codes[mine] = _code(ctx, NOT_EVALUATED, needs)
                continue
            codes[mine & ~holding] = _code(ctx, NONE_ON_A_NODE, describe(needs))  # no node publishes devices
            resolved |= mine & holding
        candidates = np.flatnonzero(resolved)
        largest, total = _rooms(ctx, ids[candidates])
        for k, most, room in zip(candidates.tolist(), largest.tolist(), total.tolist(), strict=True):
            if most == 0:
                codes[k] = _code(ctx, NONE_ON_A_NODE, describe(self._needs(ctx, int(ids[k]))))
            elif room < ctx.replicas:
                codes[k] = _code(ctx, TOO_FEW, describe(self._needs(ctx, int(ids[k]))))
        return codes

    @staticmethod
    def _needs(ctx: Context, ident: int) -> Needs:
        needs = ctx.device_needs(ident)
        assert not isinstance(needs, str)  # resolved before the rows were read
        return needs

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
