"""Placement's snapshot with some tasks gone: what chosen victims would give back, node by node.

"Would the preemptor fit if these tasks left?" is answered by the same filters and fit as every other
decision, on a snapshot whose victims' nodes have their slots back. The snapshot's free amounts
are a base plus a patch of changed rows (``placement.snapshot.NodeColumns``); the victims' rows go
into a copy of that patch and only the summaries of the entries holding them are recomputed
(``placement.summary``), as the builder does for a pod event. Nothing is copied per node.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from computenet.placement.arrays import IntArray
from computenet.placement.snapshot import Snapshot
from computenet.queueing.holders import Holder

_ROWS: list[tuple[Snapshot, dict[tuple[str, str], int], IntArray]] = []


def _lookup(snapshot: Snapshot) -> tuple[dict[tuple[str, str], int], IntArray]:
    """(cluster, node) -> row, and per row its entry (-1: not schedulable); built once per snapshot."""
    for known, rows, entry_of in _ROWS:
        if known is snapshot:
            return rows, entry_of
    nodes, clusters, e = snapshot.nodes, snapshot.vocabulary.clusters, snapshot.entries
    rows = {(clusters[int(c)], name): r for r, (c, name) in enumerate(zip(nodes.cluster, nodes.names, strict=True))}
    entry_of = np.full(len(nodes.names), -1, dtype=np.int64)
    entry_of[e.rows] = np.repeat(np.arange(len(e.indptr) - 1, dtype=np.int64), np.diff(e.indptr))
    _ROWS.insert(0, (snapshot, rows, entry_of))
    del _ROWS[2:]
    return rows, entry_of


def freed(snapshot: Snapshot, victims: Sequence[Holder]) -> Snapshot:
    """``snapshot`` with every victim's slots free again on its nodes (nodes no longer there: skipped)."""
    lookup, entry_of = _lookup(snapshot)
    given: dict[int, list[int]] = {}
    for victim in victims:
        for slot in victim.slots:
            row = lookup.get((slot.cluster, slot.node))
            if row is not None:
                back = given.setdefault(row, [0, 0, 0, 0])
                back[0] += slot.devices
                back[1] += slot.cpu
                back[2] += slot.memory
                back[3] += slot.pods
    if not given:
        return snapshot
    nodes, e = snapshot.nodes, snapshot.entries
    rows = np.array(sorted(given), dtype=np.int64)
    changed = np.stack(nodes.free(rows), axis=1) + np.array([given[int(r)] for r in rows], dtype=np.int64)
    keep = ~np.isin(nodes.patch_rows, rows)
    patch_rows = np.concatenate([nodes.patch_rows[keep], rows])
    patch_free = np.concatenate([nodes.patch_free[keep].reshape(-1, 4), changed])
    by_row = np.argsort(patch_rows, kind="stable")
    columns = dataclasses.replace(nodes, patch_rows=patch_rows[by_row], patch_free=patch_free[by_row])
    dirty = np.unique(entry_of[rows])
    dirty = dirty[dirty >= 0]
    return dataclasses.replace(snapshot, nodes=columns, entries=e.refreshed(dirty, columns))
