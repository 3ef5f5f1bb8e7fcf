"""Devices: the pod template's DRA claims resolve on this identifier, and its nodes' free devices hold them.

A claim placement cannot evaluate (an existing ResourceClaim, a template or class the member does
not have, a CEL selector that does not compile, firstAvailable, constraints) rejects the identifier
with the claim named: the member's allocator would decide what placement cannot see, so nothing is
placed blind. Otherwise the identifier needs a schedulable node whose free devices passing the
claims' selectors (after assumptions) satisfy one replica's claims, and enough such room over its
nodes for the whole gang (see `devices`); `Resources` then fits cpu, memory and pod slots on those
same nodes. The details say how many devices the selectors admit, and on how many of them a
selector fails.
"""

from __future__ import annotations

import numpy as np

from computenet.placement import reasons
from computenet.placement.arrays import BoolArray, IntArray, distinct, gather, group_max, group_sum
from computenet.placement.context import Context
from computenet.placement.devices import Needs, describe
from computenet.placement.fit import UNCAPPED
from computenet.placement.framework import PASS, Reason

NOT_EVALUATED, NONE_ON_A_NODE, TOO_FEW, SELECTOR_FAILS = 0, 1, 2, 3
_KINDS = 4
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


_NO_ROWS = np.zeros(0, dtype=np.int64)


def _rooms(ctx: Context, ids: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Per identifier of `ids`: most replicas on one node, replicas over all, failing devices.

    The replicas are counted after assumptions, each count at most the gang size; failing devices
    are those of its nodes on which a filter of its needs fails (see `_failing`). Without node
    constraints, the answer without assumptions depends only on the published devices, the
    snapshot's entries and the claims: it is remembered with the device table for every identifier
    at no gang-size cap (a count at cap c is min(the uncapped count, c): a node reaching c brings
    both the most and the sum to c), and the tasks that follow, of any gang size, read it. Under
    assumptions, only the identifiers owning a node with assumed devices are counted again (the
    others' devices are as published); a burst's decision counts a few, not every identifier.
    """
    cap = ctx.replicas
    if ctx.rows_selected(_NO_ROWS) is not None:
        most, total, failing = _rooms_of(ctx, ids, cap)
        return most, np.minimum(total, cap), failing
    e, table, answers = ctx.snapshot.entries, ctx.device_table, ctx.device_answers
    every = None
    for rows, indptr, known, found in table._rooms:
        if rows is e.rows and indptr is e.indptr and known is answers:
            every = found
            break
    if every is None:
        every = _rooms_of(_bare(ctx), np.arange(len(ctx.snapshot), dtype=np.int64), UNCAPPED)
        table._rooms.insert(0, (e.rows, e.indptr, answers, every))
        del table._rooms[_ROOMS_KEPT:]
    most, total, failing = every[0][ids], every[1][ids], every[2][ids]
    if ctx.overlay.devices:  # only the identifiers holding assumed devices count again
        held = np.fromiter(ctx.overlay.devices, dtype=np.int64, count=len(ctx.overlay.devices))
        owners = distinct(e.ident[ctx.snapshot.entries_of_rows(held)])
        again = np.flatnonzero(np.isin(ids, owners))
        if len(again):
            most[again], total[again], failing[again] = _rooms_of(ctx, ids[again], UNCAPPED)
    return np.minimum(most, cap), np.minimum(total, cap), failing


def _bare(ctx: Context) -> Context:
    """The decision's context without its assumptions, for what is remembered with the device table."""
    if ctx.overlay.empty:
        return ctx
    found: Context | None = ctx.__dict__.get("_bare_devices")
    if found is None:
        found = ctx.__dict__["_bare_devices"] = Context(ctx.snapshot, ctx.demand)
    return found


_ROOMS_KEPT = 16
"""Claims whose rooms a device table remembers: a pool's tasks name a few templates."""


def _rooms_of(ctx: Context, ids: IntArray, cap: int) -> tuple[IntArray, IntArray, IntArray]:
    rows, owner = _rows(ctx, ids)
    slots = ctx.device_slots(rows, ids[owner], cap=cap)
    return group_max(owner, slots, len(ids)), group_sum(owner, slots, len(ids)), _failing(ctx, rows, owner, ids)


def _failing(ctx: Context, rows: IntArray, owner: IntArray, ids: IntArray) -> IntArray:
    """Per identifier of `ids`: devices on `rows` (owned by `owner`) on which a filter of its needs fails."""
    out = np.zeros(len(ids), dtype=np.int64)
    if not len(rows):
        return out
    table, answers = ctx.device_table, ctx.device_answers
    for group in distinct(answers.of[ids]).tolist():  # few answers: most have no failing device at all
        needs = answers.answers[group]
        if isinstance(needs, str) or not table.fails(tuple(sorted(needs))):
            continue
        failing = table.counts(tuple(sorted(needs)))[2]
        at, _ = table.locate(rows)
        mine = answers.of[ids[owner]] == group
        out += np.bincount(owner[mine], weights=failing[at[mine]], minlength=len(ids)).astype(np.int64)
    return out


def _room(ctx: Context, ident: int, needs: Needs) -> tuple[int, int, int, int, int, int]:
    """What `ident` offers the needs.

    (most replicas on one node, replicas over all nodes, nodes with devices, devices the needs' filters
    admit, of which free after assumptions, devices on which a filter fails).
    """
    rows, _ = _rows(ctx, np.array([ident]))
    slots = ctx.device_slots(rows, np.full(len(rows), ident))
    table, keys = ctx.device_table, tuple(sorted(needs))
    at, _ = table.locate(rows)
    total, free, failing = table.counts(keys)
    held = 0
    for row in rows.tolist():
        held += sum(n for key, n in ctx.overlay.devices.get(row, {}).items() if table.overlaps(key, keys))
    claimable = max(int(free[at].sum()) - held, 0)
    return (
        int(slots.max(initial=0)),
        int(slots.sum()),
        len(rows),
        int(total[at].sum()),
        claimable,
        int(failing[at].sum()),
    )


def _holding(ctx: Context) -> BoolArray:
    """Per identifier of the snapshot: whether one of its schedulable nodes publishes DRA devices."""
    entries = ctx.snapshot.entries
    holding = np.zeros(len(ctx.snapshot), dtype=bool)
    holding[entries.ident[ctx.device_entries]] = True
    return holding


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
        subject = np.zeros(len(answers.answers), dtype=np.int64)  # per resolved answer: its needs' words
        for answer in distinct(of).tolist():  # a few distinct answers, however many identifiers
            needs, mine = answers.answers[answer], of == answer
            if isinstance(needs, str):
                codes[mine] = _code(ctx, NOT_EVALUATED, needs)
                continue
            none = _code(ctx, NONE_ON_A_NODE, describe(needs))
            subject[answer] = none - NONE_ON_A_NODE
            codes[mine & ~holding] = none  # no node publishes devices
            resolved |= mine & holding
        candidates = np.flatnonzero(resolved)
        largest, total, failing = _rooms(ctx, ids[candidates])
        words = subject[of[candidates]]  # the same words `describe` gives the identifier's needs
        codes[candidates] = np.where(
            largest == 0, NONE_ON_A_NODE + words, np.where(total < ctx.replicas, TOO_FEW + words, PASS)
        )
        for k, bad in zip(candidates[failing > 0].tolist(), failing[failing > 0].tolist(), strict=True):
            codes[k] = _code(ctx, SELECTOR_FAILS, _failure(ctx, int(ids[k]), bad))
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
        if kind == SELECTOR_FAILS:
            return Reason(reasons.DEVICE_SELECTOR_FAILS, subject)
        where = "on any single node" if kind == NONE_ON_A_NODE else "in total"
        return Reason(reasons.INSUFFICIENT_DEVICES, f"insufficient DRA devices ({subject} per replica) {where}")

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        out = []
        for ident, code in zip(ids.tolist(), codes.tolist(), strict=True):
            needs = ctx.device_needs(ident)
            if isinstance(needs, str) or code % _KINDS == SELECTOR_FAILS:
                out.append(needs if isinstance(needs, str) else _subjects(ctx)[code // _KINDS])
            else:
                out.append(_detail(ctx, ident, needs))
        return out


def _failure(ctx: Context, ident: int, failing: int) -> str:
    """Why the member's scheduler cannot place the claims on `ident`: a selector fails on its devices.

    Upstream's allocator returns a selector's runtime error as an error (``selectorsMatch``, allocator
    v0.36.3), and the scheduler's DynamicResources Filter then aborts the pod's scheduling attempt
    (``Filter``, ``statusError``), whichever node it was on: the pod would stay pending.
    """
    needs = Devices._needs(ctx, ident)
    error = ctx.device_table.error(sorted(needs))
    return (
        f"the claims' selectors ({describe(needs)}) fail on {_plural(failing, 'DRA device')} of the identifier's "
        f"schedulable nodes with a CEL runtime error ({error}); the member's scheduler aborts the pod's "
        "scheduling when it meets one, so the pod would stay pending"
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _detail(ctx: Context, ident: int, needs: Needs) -> str:
    largest, total, nodes, admitted, free, failing = _room(ctx, ident, needs)
    held = " after reservations assumed for pending tasks" if ctx.overlay.devices else ""
    failed = (
        f"; the selectors fail on {_plural(failing, 'device')} (a CEL runtime error, on which the member's "
        "scheduler aborts), so their nodes are not counted"
        if failing
        else ""
    )
    return (
        f"{_plural(admitted, 'DRA device')} on {_plural(nodes, 'schedulable node')} publishing devices "
        f"match the claims' selectors, {free} free{held}{failed}; a replica claims {describe(needs)}, "
        f"{total} of {ctx.replicas} replicas fit (at most {largest} on one node)"
    )
