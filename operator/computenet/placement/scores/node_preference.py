"""NodeAffinity: identifiers whose nodes match the pod's preferred node affinity score higher.

kube-scheduler scores a node by the sum of the weights (1-100) of the pod's
`preferredDuringSchedulingIgnoredDuringExecution` terms it matches (`PreferredSchedulingTerms.Score`
in k8s.io/component-helpers@v0.36.3 `scheduling/corev1/nodeaffinity/nodeaffinity.go`, ported in
`affinity`). An identifier is scored by its best node that could hold a replica: a node of the
model the gang would run on, admitted by the nodeSelector and required affinity, with room for
at least one replica after assumptions. That is where the member's own scheduler, which
prefers the same terms, will put the pods.

Normalization: 100 x best node's sum / the sum of all terms' weights, so matching every
preferred term scores 100 and matching none 0. Absolute, like Locality, rather than upstream's
`DefaultNormalizeScore` (relative to the best node on offer): "how much of what the pod prefers
this identifier has" then weighs the same against price or locality whatever else is on offer.
Applies only when the pod has preferred terms that parse; if any does not, kube-scheduler
refuses them all, and so does this score (the decision names them as not evaluated).

Speed: when no term names a node, an entry whose summary shows that every node, or no node, has
room for a replica is answered from its nodes' label sets, the others are read until a node of
their best weight has room, and without assumptions each entry's best is remembered on the
snapshot per (needs, node constraints, preferences), so the tasks of one template read it once.
Otherwise the rows of the entries with an admitted node are read, and those the fit already read
in the decision are not read again.
"""

from __future__ import annotations

import numpy as np

from computenet.placement import fit
from computenet.placement.affinity_columns import weighted
from computenet.placement.arrays import BoolArray, FloatArray, IntArray, group_max, ranges, spans
from computenet.placement.context import Context
from computenet.placement.node_admission import admitted, largest_per_entry


class NodePreference:
    name = "NodeAffinity"
    weight = "affinity"

    def applies(self, ctx: Context) -> bool:
        return ctx.preferred.total_weight > 0

    def score(self, ctx: Context, ids: IntArray) -> FloatArray:
        fit.ensure(ctx, ids)
        entries, pos, column = fit.usable_entries(ctx, ids)
        on_model = ctx.columns[column] == ctx.fit_model[ids[pos]]
        entries, pos = entries[on_model], pos[on_model]
        per_set = _per_label_set(ctx)
        memo = _remembered(ctx, per_set)
        if memo is None:
            per_entry = _best(ctx, entries, per_set)
        else:
            known, remembered = memo
            missing = entries[~known[entries]]
            if len(missing):
                remembered[missing] = _best(ctx, missing, per_set)
                known[missing] = True
            per_entry = remembered[entries]
        best = group_max(pos, per_entry, len(ids))
        return np.asarray(100.0 * best / ctx.preferred.total_weight, dtype=np.float64)


def _best(ctx: Context, entries: IntArray, per_set: IntArray | None) -> IntArray:
    """Per entry: the largest sum of preferred weights over its admitted nodes with room for a replica (0: none).

    With `per_set`, an entry whose summary shows that every node or no node has room is answered
    from the label sets of its nodes; the others are read row by row until their best is found (`_by_level`).
    Without, the rows of the entries with an admitted node are read.
    """
    if per_set is None:
        out = np.zeros(len(entries), dtype=np.int64)
        admission = admitted(ctx, entries)
        hit = np.arange(len(entries)) if admission is None else np.flatnonzero(admission[1])
        rows, seg, slots = fit.scanned(ctx, entries[hit])  # the fit's rows are not read again
        room = slots > 0
        weights = weighted(ctx.snapshot, ctx.preferred_columns, rows[room])
        out[hit] = group_max(seg[room], weights, len(hit))
        return out
    out = np.zeros(len(entries), dtype=np.int64)
    summaries = ctx.overlay.summary_columns(ctx.snapshot.entries.columns, entries)
    some, every = fit.node_room(ctx, summaries)
    table = per_set if ctx.label_ok is None else np.where(ctx.label_ok, per_set, 0)  # refused label sets weigh 0
    best = largest_per_entry(ctx.snapshot, table)[entries]
    out[every] = best[every]
    read = np.flatnonzero(some & ~every)
    found = _by_heads(ctx, entries[read], table, best[read])
    out[read[found]] = best[read[found]]
    rest = read[~found]
    out[rest] = _by_level(ctx, entries[rest], table, best[rest])
    return out


def _by_heads(ctx: Context, entries: IntArray, table: IntArray, target: IntArray) -> BoolArray:
    """Per entry: whether the roomiest node of one of its label sets weighing `target` has room for a replica.

    `target` is the most each entry can score (see `_by_level`). Where such a node has room, the
    entry scores `target`; the others are read row by row. One row per (entry, label set of the
    best weight), the label set's node with the most devices free (`EntryTable.label_heads`),
    instead of the entry's first rows, whose label sets are mostly of lesser weight.
    """
    e = ctx.snapshot.entries
    at, k = ranges(e.label_indptr, entries)
    best = np.flatnonzero((table[e.label_sets[at]] == target[k]) & (target[k] > 0))
    slots = fit.replica_slots(ctx, *fit.head_free(ctx, at[best]), cap=1)
    found = np.zeros(len(entries), dtype=bool)
    found[k[best[slots > 0]]] = True
    return found


FIRST_WINDOW = 8
"""Rows of each entry `_by_level` reads first; each further round reads `WINDOW_GROWTH` times as many."""
WINDOW_GROWTH = 2


def _by_level(ctx: Context, entries: IntArray, table: IntArray, target: IntArray) -> IntArray:
    """Per entry: the largest weight (`table`, by label set) of its rows with room, reading rows until it is known.

    `table` weighs the label sets the pod's node constraints refuse 0, and decides every node
    (the label sets do, when a score per label set is given at all); `target` is the most each
    entry can score, the largest weight of its nodes' label sets. An entry's rows are read in
    windows (`FIRST_WINDOW` rows first, growing) until one of weight `target` has room, or every
    row is read, so most entries never read their lesser rows. Only rows weighing more than the
    entry's best so far are checked for room; rows of weight 0 never count (0 is the default).
    A replica asking for devices reads only the rows with its devices free, roomiest first
    (`EntryTable.reading_order`): the others have no room.
    """
    out = np.zeros(len(entries), dtype=np.int64)
    todo = np.flatnonzero(target > 0)
    order, begin, stop = ctx.snapshot.entries.reading_order(entries[todo], ctx.need.accelerators)
    size = FIRST_WINDOW
    while len(todo):
        end = np.minimum(stop, begin + size)
        at, k = spans(begin, end)
        rows = order[at]
        weight = table[labels_of(ctx, rows)]
        pick = np.flatnonzero(weight > out[todo[k]])
        slots = fit.replica_slots(ctx, *fit.free_rows(ctx, rows[pick]))
        room = pick[slots > 0]
        np.maximum.at(out, todo[k[room]], weight[room])
        more = (end < stop) & (out[todo] < target[todo])
        todo, begin, stop = todo[more], end[more], stop[more]
        size *= WINDOW_GROWTH
    return out


def labels_of(ctx: Context, rows: IntArray) -> IntArray:
    """The label set of each node row."""
    labels: IntArray = ctx.snapshot.nodes.labels[rows]
    return labels


def _per_label_set(ctx: Context) -> IntArray | None:
    """Per label set: the weights of the preferred terms a node with it matches, when that decides every node.

    None when some preferred or required term names nodes, the nodeSelector or nodeName does, or
    the task claims DRA devices (which summaries do not count): then rows are read.
    """
    if ctx.claims or not ctx.by_label_set or any(t.per_row is not None for _, t in ctx.preferred_columns):
        return None
    size = len(ctx.snapshot.vocabulary.label_sets)
    total = np.zeros(size, dtype=np.int64)
    for weight, t in ctx.preferred_columns:
        total += weight * t.per_label_set
    return total


BEST_KEPT = 32
"""(needs, node constraints, preferences) whose best weights per entry a snapshot remembers."""


def _remembered(ctx: Context, per_set: IntArray | None) -> tuple[BoolArray, IntArray] | None:
    """(per entry of the snapshot: whether known, its `_best`), remembered on the snapshot; None when not kept.

    Without assumptions, an entry's best depends only on the snapshot, one replica's needs (room
    for one replica does not depend on the gang size), the verdict per label set of the
    nodeSelector and required affinity, and the preferred weights per label set: tasks of one
    template share it, and each entry is read once per snapshot (a snapshot after a change of free
    amounts only starts from the previous one's, but for the entries holding a changed node:
    `Snapshot.carry_memos`). Not kept under assumptions or when rows decide (`per_set` None).
    """
    if per_set is None or not ctx.overlay.empty:
        return None
    label_ok = ctx.label_ok
    key = (fit.needs(ctx), None if label_ok is None else label_ok.tobytes(), per_set.tobytes())
    memo: dict[object, tuple[BoolArray, IntArray]] = ctx.snapshot.__dict__.setdefault("_preferred_best", {})
    found = memo.get(key)
    if found is None:
        count = len(ctx.snapshot.entries.kind)
        found = (np.zeros(count, dtype=bool), np.zeros(count, dtype=np.int64))
        carried = ctx.snapshot.carried("_preferred_best", key)  # the last snapshot's, where no free amount changed
        if carried is not None:
            (known_before, best_before), stale = carried
            found = (known_before & ~stale, best_before.copy())
        if len(memo) >= BEST_KEPT:
            del memo[next(iter(memo))]
        memo[key] = found
    return found
