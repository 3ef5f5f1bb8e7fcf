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
    clusters: IntArray
    """Cluster ids holding any of `rows`: their identifiers' summaries are no longer lower bounds."""
    ident_cpu: IntArray
    ident_memory: IntArray
    ident_devices: IntArray
    """Per identifier (snapshot order), what was assumed on it: used for totals and fit scores."""

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
    return Overlay(EMPTY_INT, EMPTY_INT, EMPTY_INT, EMPTY_INT, EMPTY_INT, zeros, zeros, zeros)
