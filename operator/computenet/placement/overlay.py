"""Amounts to take off a snapshot's free columns before deciding: the assumed reservations.

An overlay is built from the live assumptions (see `assume`) for one snapshot and applied to the
few node rows a decision reads, never to whole columns, so a burst of decisions costs no copies.
It also carries the entry summaries (see `summary`) of the entries holding assumed nodes,
recomputed with the assumptions taken off, which a decision reads instead of the snapshot's: an
identifier under assumptions is decided from its summaries like any other. Each change
recomputes only the entries holding the nodes it touched, and copies only the recent changes
(see `levels`): an overlay is never changed, since a decision explains itself later from its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from computenet.placement import summary as sm
from computenet.placement.arrays import BoolArray, IntArray
from computenet.placement.levels import Levels, empty_levels

if TYPE_CHECKING:
    from computenet.placement.snapshot import Snapshot

USAGE_WIDTH = sm.DIMS
"""Devices, cpu millicores, memory bytes and pod slots assumed on a node row (the order of `summary.DIMS`)."""


@dataclass(frozen=True, slots=True)
class Overlay:
    usage: Levels
    """Per node row with assumed usage: devices, cpu millicores, memory bytes and pod slots."""
    ident_usage: IntArray
    """(identifiers x 3) in snapshot order: devices, cpu and memory assumed on each (for rejections)."""
    summaries_after: Levels
    """Per entry holding assumed nodes: its summary (summary.WIDTH) with the assumptions taken off."""
    recomputed: BoolArray
    """Per entry of the snapshot, whether `summaries_after` holds it (empty before any does): a
    decision reads the summaries of a thousand entries, a few hundred of them recomputed."""
    devices: Mapping[int, Mapping[str, int]] = field(default_factory=dict)
    """Per node row, DRA devices assumed by driver key (see `devices`): few rows, kept as a mapping."""

    @property
    def empty(self) -> bool:
        """Whether nothing is assumed: no usage, no recomputed summary, no devices."""
        u = self.usage
        return not (len(u.base_keys) or len(u.recent_keys) or len(self.recomputed) or self.devices)

    # `rows`, `held` and `entries` merge the levels on every read: for inspection, not for decisions.

    @property
    def rows(self) -> IntArray:
        """Sorted node rows with assumed usage."""
        return self.usage.flat()[0]

    @property
    def held(self) -> IntArray:
        """(len(rows) x 4): what is assumed on each of `rows` (devices, cpu, memory, pod slots)."""
        return self.usage.flat()[1]

    @property
    def entries(self) -> IntArray:
        """Sorted entries whose summaries were recomputed under assumptions."""
        return self.summaries_after.flat()[0]

    def plus(self, rows: IntArray, usage: IntArray, idents: IntArray) -> Overlay:
        """A new overlay with `usage` (k x 4, in `summary.DIMS` order) added on `rows` and `idents` (-1: none).

        Costs a copy of the recent changes (see `levels`), not of everything assumed; cheapest
        with `rows` sorted and unique.
        """
        if len(rows) > 1 and not (rows[1:] > rows[:-1]).all():
            new, inverse = np.unique(rows, return_inverse=True)
            totals = np.zeros((len(new), USAGE_WIDTH), dtype=np.int64)
            np.add.at(totals, inverse, usage)
        else:
            new, totals = rows, usage.copy()
        where, held = self.usage.find(new)
        totals[where] += held
        per_ident = self.ident_usage.copy()
        known = idents >= 0
        np.add.at(per_ident, idents[known], usage[known, :3])
        return replace(self, usage=self.usage.replaced(new, totals), ident_usage=per_ident)

    def summarized(self, snapshot: Snapshot, rows: IntArray) -> Overlay:
        """A copy with the summaries of the entries holding `rows` recomputed on `snapshot`.

        Entries left with no assumed node keep their place (their recomputed summary then
        equals the snapshot's): harmless, and it saves a search per change.
        """
        touched = snapshot.entries_of_rows(rows)
        if len(touched) == 0:
            return self
        e = snapshot.entries
        fresh = sm.summarize(e.indptr, e.rows, touched, snapshot.nodes, self)
        recomputed = self.recomputed.copy() if len(self.recomputed) else np.zeros(len(e.kind), dtype=bool)
        recomputed[touched] = True
        return replace(self, summaries_after=self.summaries_after.replaced(touched, fresh), recomputed=recomputed)

    def on(self, snapshot: Snapshot) -> Overlay:
        """The same usage on `snapshot`, a later snapshot of the same nodes, entries and identifiers.

        Only free amounts differ between the two (see `same_layout`), so the rows and identifiers
        keep their usage as they are and only the summaries of the entries under assumptions are
        recomputed on `snapshot`'s free amounts: no row is resolved again.
        """
        bare = replace(
            self, summaries_after=empty_levels(sm.WIDTH, drop_zeros=False), recomputed=np.zeros(0, dtype=bool)
        )
        rows = self.rows
        return bare.summarized(snapshot, rows) if len(rows) else bare

    def summary_columns(self, base: IntArray, entries: IntArray) -> IntArray:
        """Summaries of `entries` column by column (summary.WIDTH x len(entries)), after assumptions.

        From the snapshot's (`EntryTable.columns`), with those of entries under assumptions replaced.
        """
        every = len(entries) == base.shape[1] and bool((entries[1:] > entries[:-1]).all())  # all, in order
        out: IntArray = base if every else base.take(entries, axis=1)
        if len(self.recomputed):
            mine = np.flatnonzero(self.recomputed[entries])
            if len(mine):
                where, fresh = self.summaries_after.find(entries[mine])
                out = out.copy() if out is base else out
                out[:, mine[where]] = fresh.T
        return out

    def subtract(self, rows: IntArray, free: IntArray) -> None:
        """Take assumed usage off `free` (len(rows) x 4, as `NodeColumns.free_amounts` gives), in place."""
        where, held = self.usage.find(rows)
        if len(where):
            free[where] -= held

    def assumed(self, ids: IntArray) -> IntArray:
        """(len(ids) x 3): devices, cpu and memory assumed on each identifier of `ids`."""
        held: IntArray = self.ident_usage[ids]
        return held


def empty_overlay(identifiers: int) -> Overlay:
    return Overlay(
        empty_levels(USAGE_WIDTH, drop_zeros=True),
        np.zeros((identifiers, 3), dtype=np.int64),
        empty_levels(sm.WIDTH, drop_zeros=False),
        np.zeros(0, dtype=bool),
    )


def same_layout(a: Snapshot, b: Snapshot) -> bool:
    """Whether two snapshots differ in free amounts only: same node columns, entries and identifiers.

    The builder shares these arrays between snapshots when only pods' requests changed, so identity
    is the test; an overlay built on one then holds on the other as is (`Overlay.on`).
    """
    return (
        a.nodes.names is b.nodes.names
        and a.nodes.cluster is b.nodes.cluster
        and a.entries.rows is b.entries.rows
        and a.entries.indptr is b.entries.indptr
        and a.index is b.index
        and a.vocabulary is b.vocabulary
    )
