"""Amounts to take off a snapshot's free columns before deciding: the assumed reservations.

An overlay is built from the live assumptions (see `assume`) for one snapshot and applied to the
few node rows a decision reads, never to whole columns, so a burst of decisions costs no copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from computenet.placement.arrays import EMPTY_INT, IntArray


@dataclass(frozen=True, slots=True)
class Overlay:
    rows: IntArray
    """Sorted, unique node rows with assumed usage."""
    cpu: IntArray
    memory: IntArray
    devices: IntArray
    ident_cpu: IntArray
    ident_memory: IntArray
    ident_devices: IntArray
    """Per identifier (snapshot order), what was assumed on it: used for totals and fit scores."""

    def plus(self, rows: IntArray, usage: IntArray, idents: IntArray) -> Overlay:
        """A new overlay with `usage` (k x 3: cpu, memory, devices) added on `rows` and `idents` (-1: none)."""
        merged = np.union1d(self.rows, rows)
        totals = np.zeros((len(merged), 3), dtype=np.int64)
        totals[np.searchsorted(merged, self.rows)] = np.stack([self.cpu, self.memory, self.devices], axis=1)
        np.add.at(totals, np.searchsorted(merged, rows), usage)
        keep = totals.any(axis=1)
        per_ident = np.stack([self.ident_cpu, self.ident_memory, self.ident_devices])
        known = idents >= 0
        np.add.at(per_ident.T, idents[known], usage[known])
        merged, totals = merged[keep], totals[keep]
        return Overlay(merged, totals[:, 0], totals[:, 1], totals[:, 2], per_ident[0], per_ident[1], per_ident[2])

    def subtract(self, rows: IntArray, cpu: IntArray, memory: IntArray, devices: IntArray) -> None:
        """Take assumed usage off gathered copies of the free columns, in place."""
        if len(self.rows) == 0 or len(rows) == 0:
            return
        at = np.minimum(np.searchsorted(self.rows, rows), len(self.rows) - 1)
        hit = self.rows[at] == rows
        if hit.any():
            where, which = np.flatnonzero(hit), at[hit]
            cpu[where] -= self.cpu[which]
            memory[where] -= self.memory[which]
            devices[where] -= self.devices[which]


def empty_overlay(identifiers: int) -> Overlay:
    zeros = np.zeros(identifiers, dtype=np.int64)
    return Overlay(EMPTY_INT, EMPTY_INT, EMPTY_INT, EMPTY_INT, zeros, zeros, zeros)
