"""Which of an entry's nodes the pod's nodeSelector, nodeName and required node affinity admit.

An entry's summary (see `summary`) bounds what its nodes hold only when the pod may use all of
them; an entry whose nodes the pod may use none of holds nothing. Only an entry with some nodes
admitted and some not has to be read row by row. Most constraints (rack, architecture,
product, partition) are decided per label set (`Context.label_ok`), and an entry's nodes carry
only a few distinct label sets, so each entry is answered from those few instead of its nodes.
Constraints on names (a nodeSelector hostname, nodeName, hostname or `metadata.name`
requirements) are decided per node row, but a name condition sets apart only a few rows (the
named ones, or all but them): every other row reads as its label set says with the condition
taken at its usual verdict, and only the entries holding one of those few rows are read row by
row (`odd_rows`). Where a condition sets apart many rows, every entry is read row by row.

One decision asks about the same entries several times (the NodeAffinity filter, the fit, the
NodeAffinity score), and the tasks of one template ask with the same verdicts: the answer for
every entry is kept for the decision, and per label verdict on the snapshot.
"""

from __future__ import annotations

import numpy as np

from computenet.placement.arrays import BoolArray, IntArray, distinct, gather, ranges
from computenet.placement.context import Context
from computenet.placement.snapshot import Snapshot


def largest_per_entry(snapshot: Snapshot, table: IntArray) -> IntArray:
    """Per entry of the snapshot: the largest `table[label set]` over its nodes (`table` per label set).

    Read from each entry's distinct label sets (`EntryTable.label_sets`), not from its rows.
    """
    e = snapshot.entries
    indptr, values = e.label_indptr, e.label_sets
    size = np.diff(indptr)
    if not len(values):
        return np.zeros(len(size), dtype=np.int64)
    found: IntArray = np.maximum.reduceat(table[values], np.minimum(indptr[:-1], len(values) - 1))
    found[size == 0] = 0  # reduceat reads one value for an empty segment
    return found


def by_label_set(ctx: Context) -> bool:
    """Whether `ctx.label_ok` decides every node exactly: the pod constrains no node by name."""
    return ctx.by_label_set


def admitted(ctx: Context, entries: IntArray) -> tuple[BoolArray, BoolArray] | None:
    """Per entry in `entries`: (all its nodes admitted, some node admitted). None: no constraint.

    Exact: a node is admitted when `Context.rows_selected` says so. Answered for every entry of
    the snapshot once per decision (see `every_entry`), unless only a few entries are asked about
    and no answer is kept yet: then for those alone.
    """
    if ctx.label_ok is None:
        return None
    found = _kept(ctx)
    if found is None and FEW_ENTRIES * len(entries) < len(ctx.snapshot.entries.kind):
        return _of_entries(ctx, entries)
    if found is None:
        found = every_entry(ctx)
        assert found is not None  # label_ok is not None
    return found[0][entries], found[1][entries]


FEW_ENTRIES = 4
"""Asked about fewer than 1/FEW_ENTRIES of the entries (say, those of one model), `admitted` reads just those."""


def _kept(ctx: Context) -> tuple[BoolArray, BoolArray] | None:
    """The answer for every entry, if the decision or (per label verdict) the snapshot keeps one."""
    found: tuple[BoolArray, BoolArray] | None = ctx.__dict__.get("_admitted")
    if found is None and by_label_set(ctx) and ctx.label_ok is not None:
        memo: dict[bytes, tuple[BoolArray, BoolArray]] = ctx.snapshot.__dict__.get("_admitted", {})
        found = memo.get(ctx.label_ok.tobytes())
        if found is not None:
            ctx.__dict__["_admitted"] = found
    return found


def _of_entries(ctx: Context, entries: IntArray) -> tuple[BoolArray, BoolArray]:
    """(every, some) for `entries` alone: from their label sets when those decide, else from their rows."""
    snapshot, label_ok = ctx.snapshot, ctx.label_ok
    if not by_label_set(ctx) or label_ok is None:
        return _by_rows(ctx, entries)
    e = snapshot.entries
    values, _ = gather(e.label_indptr, e.label_sets, entries)
    offsets = np.zeros(len(entries) + 1, dtype=np.int64)
    np.cumsum(e.label_indptr[entries + 1] - e.label_indptr[entries], out=offsets[1:])
    return by_label_sets(offsets, values, label_ok)


ADMITTED_KEPT = 32
"""Label verdicts whose answer per entry a snapshot remembers (see `every_entry`)."""
FEW_ODD_ROWS = 4096
"""Up to this many rows set apart by name conditions, only the entries holding them are read."""


def every_entry(ctx: Context) -> tuple[BoolArray, BoolArray] | None:
    """Per entry of the snapshot: (all its nodes admitted, some node admitted). None: no constraint.

    Kept on the decision's context (its filters, fit and scores ask in turn) and, when the label
    sets decide (`by_label_set`), on the snapshot per label verdict (read-only arrays), answered
    from each entry's few distinct label sets (`EntryTable.label_sets`).
    """
    if ctx.label_ok is None:
        return None
    found = _kept(ctx)
    if found is not None:
        return found
    snapshot = ctx.snapshot
    if by_label_set(ctx):
        label_ok = ctx.label_ok
        memo: dict[bytes, tuple[BoolArray, BoolArray]] = snapshot.__dict__.setdefault("_admitted", {})
        e = snapshot.entries
        found = by_label_sets(e.label_indptr, e.label_sets, label_ok)
        for array in found:
            array.flags.writeable = False
        if len(memo) >= ADMITTED_KEPT:
            del memo[next(iter(memo))]
        memo[label_ok.tobytes()] = found
    else:
        found = _by_odd_rows(ctx)
        if found is None:
            e = snapshot.entries
            found = _by_rows(ctx, np.arange(len(e.kind), dtype=np.int64))
    ctx.__dict__["_admitted"] = found
    return found


def by_label_sets(indptr: IntArray, label_sets: IntArray, label_ok: BoolArray) -> tuple[BoolArray, BoolArray]:
    """Per segment of a CSR of label set ids: (every label set in it is ok, some is), from `label_ok`.

    The segments are entries: with their distinct label sets (`EntryTable.label_sets`), or with the
    label set of each of their rows; the answer is the same.
    """
    size = np.diff(indptr)
    if not len(label_sets):
        return size == 0, size < 0
    ok = label_ok[label_sets]
    starts = np.minimum(indptr[:-1], len(ok) - 1)
    accepted = np.add.reduceat(ok, starts, dtype=np.int64)
    accepted[size == 0] = 0  # reduceat reads one value for an empty segment
    every: BoolArray = accepted == size
    some: BoolArray = accepted > 0
    return every, some


def _by_rows(ctx: Context, entries: IntArray) -> tuple[BoolArray, BoolArray]:
    """(every, some) per entry of `entries`, reading their rows."""
    e = ctx.snapshot.entries
    rows, seg = gather(e.indptr, e.rows, entries)
    selected = ctx.rows_selected(rows)
    assert selected is not None  # label_ok is None exactly when rows_selected is
    chosen = np.bincount(seg[selected], minlength=len(entries))
    size = e.indptr[entries + 1] - e.indptr[entries]
    return chosen == size, chosen > 0


def odd_rows(masks: list[BoolArray]) -> tuple[list[bool], IntArray]:
    """Each mask's usual value (that of most rows), and the sorted rows where some mask is not usual."""
    usual = [2 * int(np.count_nonzero(m)) > len(m) for m in masks]
    odd = [np.flatnonzero(~m if u else m) for m, u in zip(masks, usual, strict=True)]
    return usual, distinct(np.concatenate(odd)) if odd else np.zeros(0, dtype=np.int64)


def entries_holding(snapshot: Snapshot, rows: IntArray) -> IntArray:
    """Sorted entries holding any of the node `rows`: found among the entries of the rows' clusters."""
    if not len(rows):
        return np.zeros(0, dtype=np.int64)
    e = snapshot.entries
    ids = np.flatnonzero(np.isin(snapshot.table.cluster, distinct(snapshot.nodes.cluster[rows])))
    entries, _ = ranges(e.ident_indptr, ids)
    members, seg = gather(e.indptr, e.rows, entries)
    return distinct(entries[seg[np.isin(members, rows)]])


def _by_odd_rows(ctx: Context) -> tuple[BoolArray, BoolArray] | None:
    """(every, some) per entry when name conditions set apart few rows (see the module); None: too many.

    A row no name condition sets apart is admitted exactly when its label set passes the
    nodeSelector and some required term, each name condition read at its usual value; only the
    entries holding a row set apart are read row by row.
    """
    named = ctx.named_rows
    terms = ctx.required_columns
    masks = [m for m in (named, *(t.per_row for t in terms)) if m is not None]
    usual, odd = odd_rows(masks)
    if len(odd) > FEW_ODD_ROWS:
        return None
    snapshot = ctx.snapshot
    size = len(snapshot.vocabulary.label_sets)
    flags = iter(usual)
    selector = ctx.selector_label_ok
    ok = np.ones(size, dtype=bool) if selector is None else selector.copy()
    if named is not None and not next(flags):
        ok[:] = False
    if ctx.required is not None:
        affine = np.zeros(size, dtype=bool)
        for t in terms:
            if t.per_row is None or next(flags):
                affine |= t.per_label_set
        ok &= affine
    e = snapshot.entries
    every, some = by_label_sets(e.label_indptr, e.label_sets, ok)
    touched = entries_holding(snapshot, odd)
    if len(touched):
        every, some = every.copy(), some.copy()
        every[touched], some[touched] = _by_rows(ctx, touched)
    return every, some
