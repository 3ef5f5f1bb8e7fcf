"""The small per-entry summary that lets most identifiers be decided without reading nodes.

An *entry* is the schedulable nodes of one identifier that share a kind (same architecture,
accelerator model, device memory and blocking taints). Per entry we keep counts, sums, maxima and
minima of free devices, cpu, memory and pod slots (the four dimensions placement fits, in that
order: `DIMS`), the free amounts of its roomiest node, and allocatable sums. From these, for any
replica shape, `fit.bounds` derives how many replicas the entry can hold at most (sums and
maxima) and at least (minima and the roomiest node). When the bounds agree no node is read;
otherwise only that entry's rows are scanned.

Free amounts are clipped at zero: a node whose pods request more than it has offers nothing.
The same rows are summarised again with assumed reservations taken off (`overlay.Overlay`), for
the few entries holding assumed nodes, so that decisions under assumptions stay constant-time too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from computenet.placement.arrays import IntArray, gather

if TYPE_CHECKING:
    from computenet.placement.overlay import Overlay
    from computenet.placement.snapshot import NodeColumns

DIMS = 4
"""Devices, cpu, memory, pod slots: the order of every per-dimension group of columns."""
ACC_SUM, CPU_SUM, MEM_SUM, POD_SUM, ACC_MAX, CPU_MAX, MEM_MAX, POD_MAX = range(8)
ACC_MIN, CPU_MIN, MEM_MIN, POD_MIN, REP_ACC, REP_CPU, REP_MEM, REP_POD = range(8, 16)
COUNT, ACC_ALLOC, CPU_ALLOC, MEM_ALLOC = range(16, 20)
WIDTH = 20
BOUNDS = 16
"""The first columns: sums, maxima, minima and the roomiest node, each (devices, cpu, memory, pods)."""

_CPU_BITS = 32


def summarize(
    indptr: IntArray, rows: IntArray, entries: IntArray, nodes: NodeColumns, overlay: Overlay | None = None
) -> IntArray:
    """Summary rows (len(entries) x WIDTH) for the given entries; every entry has at least one node.

    With `overlay`, what it assumes on each node is taken off that node's free amounts first.
    """
    out = np.zeros((len(entries), WIDTH), dtype=np.int64)
    if len(entries) == 0:
        return out
    picked, entry_of = gather(indptr, rows, entries)
    lengths = indptr[entries + 1] - indptr[entries]
    first = np.cumsum(lengths) - lengths
    out[:, COUNT] = lengths
    free = nodes.free_amounts(picked)
    if overlay is not None:
        overlay.subtract(picked, free)
    np.maximum(free, 0, out=free)
    out[:, ACC_SUM : POD_SUM + 1] = np.add.reduceat(free, first)
    out[:, ACC_MAX : POD_MAX + 1] = np.maximum.reduceat(free, first)
    out[:, ACC_MIN : POD_MIN + 1] = np.minimum.reduceat(free, first)
    alloc = ((nodes.cpu_alloc, CPU_ALLOC), (nodes.memory_alloc, MEM_ALLOC), (nodes.acc_alloc, ACC_ALLOC))
    for column, total in alloc:
        out[:, total] = np.add.reduceat(column[picked], first)
    acc, cpu, pods = free[:, 0], free[:, 1], free[:, 3]
    # The roomiest node: a pod slot left, then most free devices, then most free cpu. It proves one replica fits.
    rank = np.where(pods > 0, (acc << _CPU_BITS) | np.minimum(cpu, (1 << _CPU_BITS) - 1), -1)
    hits = np.flatnonzero(rank == np.maximum.reduceat(rank, first)[entry_of])
    chosen = hits[np.searchsorted(entry_of[hits], np.arange(len(entries)))]  # each entry's first
    out[:, REP_ACC : REP_POD + 1] = free[chosen]
    return out
