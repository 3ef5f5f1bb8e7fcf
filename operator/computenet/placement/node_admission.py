"""Which of an entry's nodes the pod's nodeSelector, nodeName and required node affinity admit.

An entry's summary (see `summary`) bounds what its nodes hold only when the pod may use all of
them; an entry whose nodes the pod may use none of holds nothing. Only an entry with some nodes
admitted and some not has to be read row by row. Most constraints (rack, architecture,
product, partition) are decided per label set (`Context.label_ok`), and an entry's nodes carry
only a few distinct label sets, so each entry is answered from those few instead of its nodes.
Constraints on names (a nodeSelector hostname, nodeName, hostname or `metadata.name`
requirements) are decided per node row; those entries are read row by row here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from computenet.placement.arrays import BoolArray, IntArray, distinct, gather
from computenet.placement.context import Context
from computenet.placement.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class EntryLabelSets:
    """Per entry of one snapshot, the distinct label sets of its nodes, in CSR form.

    `indptr` has one more element than there are entries; `label_sets[indptr[e]:indptr[e + 1]]`
    are the label set ids of entry e's nodes, each once.
    """

    indptr: IntArray
    label_sets: IntArray


_KEPT = 2
_CACHE: list[tuple[tuple[object, ...], EntryLabelSets]] = []
"""The label sets of the entries of the last few snapshots. Snapshots share their entry and label
columns until nodes come, go or are relabelled, so one answer serves every decision in between;
the columns are matched by identity (and kept referenced, so their identity is not reused)."""


def entry_label_sets(snapshot: Snapshot) -> EntryLabelSets:
    """The distinct label sets of each entry's nodes: one pass over all node rows per snapshot."""
    e, labels = snapshot.entries, snapshot.nodes.labels
    key = (e.indptr, e.rows, labels)
    for known, found in _CACHE:
        if all(a is b for a, b in zip(known, key, strict=True)):
            return found
    count = len(e.indptr) - 1
    width = max(len(snapshot.vocabulary.label_sets), 1)
    entry = np.repeat(np.arange(count, dtype=np.int64), np.diff(e.indptr))
    pairs = distinct(entry * width + labels[e.rows])
    indptr = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(pairs // width, minlength=count), out=indptr[1:])
    found = EntryLabelSets(indptr, pairs % width)
    _CACHE.insert(0, (key, found))
    del _CACHE[_KEPT:]
    return found


def by_label_set(ctx: Context) -> bool:
    """Whether `ctx.label_ok` decides every node exactly: the pod constrains no node by name."""
    return ctx.by_label_set


def admitted(ctx: Context, entries: IntArray) -> tuple[BoolArray, BoolArray] | None:
    """Per entry in `entries`: (all its nodes admitted, some node admitted). None: no constraint.

    Exact: a node is admitted when `Context.rows_selected` says so.
    """
    label_ok = ctx.label_ok
    if label_ok is None:
        return None
    if by_label_set(ctx):
        sets = entry_label_sets(ctx.snapshot)
        values, seg = gather(sets.indptr, sets.label_sets, entries)
        ok = label_ok[values]
        rejected = np.bincount(seg[~ok], minlength=len(entries))
        accepted = np.bincount(seg[ok], minlength=len(entries))
        every: BoolArray = rejected == 0
        some: BoolArray = accepted > 0
        return every, some
    e = ctx.snapshot.entries
    rows, seg = gather(e.indptr, e.rows, entries)
    selected = ctx.rows_selected(rows)
    assert selected is not None  # label_ok is None exactly when rows_selected is
    chosen = np.bincount(seg[selected], minlength=len(entries))
    size = e.indptr[entries + 1] - e.indptr[entries]
    return chosen == size, chosen > 0
