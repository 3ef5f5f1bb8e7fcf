"""NodeSelector: the identifier's partition has schedulable nodes, one matching the pod's selector.

The identifier's own selector decides which of the member's nodes are its partition (see
`builder`); the pod template's nodeSelector (and nodeName, if set) must then select at least one
of them, otherwise the member's scheduler would leave the pods Pending. Required node affinity
is checked after this, by `NodeAffinity`, on the nodes that pass here.
"""

from __future__ import annotations

import numpy as np

from computenet.placement import reasons
from computenet.placement.arrays import BoolArray, IntArray, gather
from computenet.placement.context import Context
from computenet.placement.framework import PASS, Reason
from computenet.placement.snapshot import EntryTable

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
        codes[schedulable & ~_matched(ctx, ids)] = NOT_SELECTED
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


_HOLDERS: list[tuple[IntArray, tuple[IntArray, IntArray | None]]] = []
"""The entries carrying each label set, for the entry label sets (`EntryTable.label_sets`) of the last
snapshots, matched by identity: snapshots share them until nodes come, go or are relabelled. The
arrays are kept referenced (their identity is not reused), not the tables that hold them."""


def _holders(entries: EntryTable, size: int, *, listed: bool) -> tuple[IntArray, IntArray | None]:
    """(indptr, entries) in CSR form: the entries whose nodes carry each of the `size` label sets.

    The entries are listed (a sort of every (entry, label set) pair) only when `listed`: deciding
    whether to read them needs only how many each label set has (`indptr`).
    """
    for at, (known, found) in enumerate(_HOLDERS):
        if known is entries.label_sets:
            if found[1] is not None or not listed:
                return found
            del _HOLDERS[at]
            break
    indptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(entries.label_sets, minlength=size), out=indptr[1:])
    holders = None
    if listed:
        entry = np.repeat(np.arange(len(entries.label_indptr) - 1, dtype=np.int64), np.diff(entries.label_indptr))
        holders = entry[np.argsort(entries.label_sets, kind="stable")]
    _HOLDERS.insert(0, (entries.label_sets, (indptr, holders)))
    del _HOLDERS[2:]
    return indptr, holders


def _matched(ctx: Context, ids: IntArray) -> BoolArray:
    """Per identifier of `ids`: whether its nodeSelector and nodeName select one of its schedulable nodes.

    Without a name to match, the selector is decided per label set: from the entries carrying a
    selected label set when those are few (a rack of many), else from each entry's few label sets.
    """
    ok, snapshot = ctx.selector_label_ok, ctx.snapshot
    if ctx.named_rows is None and ok is not None:
        table = snapshot.entries
        chosen = np.flatnonzero(ok)
        indptr, _ = _holders(table, len(ok), listed=False)
        if (indptr[chosen + 1] - indptr[chosen]).sum() * len(snapshot) <= int(indptr[-1]) * len(ids):
            _, holders = _holders(table, len(ok), listed=True)
            assert holders is not None
            found, _ = gather(indptr, holders, chosen)
            has = np.zeros(len(snapshot), dtype=bool)
            has[snapshot.entries.ident[found]] = True
            return has[ids]
        entries, pos = ctx.entries_of(ids)
        values, seg = gather(table.label_indptr, table.label_sets, entries)
        matched: BoolArray = np.bincount(pos[seg][ok[values]], minlength=len(ids)) > 0
        return matched
    entries, pos = ctx.entries_of(ids)
    e = snapshot.entries
    rows, seg = gather(e.indptr, e.rows, entries)
    selected = ctx.rows_by_selector(rows)
    assert selected is not None
    by_rows: BoolArray = np.bincount(pos[seg][selected], minlength=len(ids)) > 0
    return by_rows
