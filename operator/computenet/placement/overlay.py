"""Amounts to take off a snapshot's free columns before deciding: the assumed reservations.

An overlay is built from the live assumptions (see `assume`) for one snapshot and applied to the
few node rows a decision reads, never to whole columns, so a burst of decisions costs no copies.
It also carries the entry summaries (see `summary`) of the entries holding assumed nodes,
recomputed with the assumptions taken off, which a decision reads instead of the snapshot's: an
identifier under assumptions is decided from its summaries like any other. Each change
recomputes only the entries holding the nodes it touched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from computenet.placement import summary as sm
from computenet.placement.arrays import EMPTY_INT, IntArray

if TYPE_CHECKING:
    from computenet.placement.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class Overlay:
    rows: IntArray
    """Sorted, unique node rows with assumed usage."""
    held: IntArray
    """(len(rows) x 4): cpu millicores, memory bytes, devices and pod slots assumed on each row."""
    ident_cpu: IntArray
    ident_memory: IntArray
    ident_devices: IntArray
    """Per identifier (snapshot order), what was assumed on it: used for totals and fit scores."""
    entries: IntArray
    """Sorted entries holding assumed nodes, whose summaries are recomputed in `summary`."""
    summary: IntArray
    """(len(entries) x summary.WIDTH): their summaries with the assumptions taken off."""

    def plus(self, rows: IntArray, usage: IntArray, idents: IntArray) -> Overlay:
        """A new overlay with `usage` (k x 4: cpu, memory, devices, pods) added on `rows` and `idents` (-1: none).

        Costs one copy of the overlay's arrays (the few new rows are inserted in order), not a sort.
        """
        new, inverse = np.unique(rows, return_inverse=True)
        added = np.zeros((len(new), 4), dtype=np.int64)
        np.add.at(added, inverse, usage)
        merged, totals = _merged(self.rows, self.held, new, added, add=True)
        keep = totals.any(axis=1)
        if not keep.all():
            merged, totals = merged[keep], totals[keep]
        per_ident = np.stack([self.ident_cpu, self.ident_memory, self.ident_devices])
        known = idents >= 0
        np.add.at(per_ident.T, idents[known], usage[known, :3])
        return Overlay(merged, totals, per_ident[0], per_ident[1], per_ident[2], self.entries, self.summary)

    def summarized(self, snapshot: Snapshot, rows: IntArray) -> Overlay:
        """A copy with the summaries of the entries holding `rows` recomputed on `snapshot`.

        Entries left with no assumed node keep their entry in `entries` (their recomputed summary
        then equals the snapshot's): harmless, and it saves a search per change.
        """
        touched = snapshot.entries_of_rows(rows)
        if len(touched) == 0:
            return self
        e = snapshot.entries
        fresh = sm.summarize(e.indptr, e.rows, touched, snapshot.nodes, self)
        entries, summary = _merged(self.entries, self.summary, touched, fresh, add=False)
        return replace(self, entries=entries, summary=summary)

    def summaries(self, base: IntArray, entries: IntArray) -> IntArray:
        """`base[entries]` (the snapshot's summaries), with those of entries under assumptions replaced."""
        out: IntArray = base[entries]
        if len(self.entries) and len(entries):
            at = np.minimum(np.searchsorted(self.entries, entries), len(self.entries) - 1)
            hit = np.flatnonzero(self.entries[at] == entries)
            out[hit] = self.summary[at[hit]]
        return out

    def subtract(self, rows: IntArray, cpu: IntArray, memory: IntArray, devices: IntArray, pods: IntArray) -> None:
        """Take assumed usage off gathered copies of the free columns, in place."""
        if len(self.rows) == 0 or len(rows) == 0:
            return
        at = np.minimum(np.searchsorted(self.rows, rows), len(self.rows) - 1)
        hit = self.rows[at] == rows
        if hit.any():
            where, held = np.flatnonzero(hit), self.held[at[hit]]
            cpu[where] -= held[:, 0]
            memory[where] -= held[:, 1]
            devices[where] -= held[:, 2]
            pods[where] -= held[:, 3]


def _merged(keys: IntArray, values: IntArray, new: IntArray, more: IntArray, *, add: bool) -> tuple[IntArray, IntArray]:
    """Sorted `keys` (rows of `values`) with sorted unique `new` keys merged in: `more` added or replacing."""
    at = np.searchsorted(keys, new)
    hit = at < len(keys)
    hit[hit] = keys[at[hit]] == new[hit]
    values = values.copy()
    if add:
        values[at[hit]] += more[hit]
    else:
        values[at[hit]] = more[hit]
    miss = ~hit
    if miss.any():
        keys = np.insert(keys, at[miss], new[miss])
        values = np.insert(values, at[miss], more[miss], axis=0)
    return keys, values


def empty_overlay(identifiers: int) -> Overlay:
    zeros = np.zeros(identifiers, dtype=np.int64)
    no_summary = np.zeros((0, sm.WIDTH), dtype=np.int64)
    return Overlay(EMPTY_INT, np.zeros((0, 4), dtype=np.int64), zeros, zeros, zeros, EMPTY_INT, no_summary)
