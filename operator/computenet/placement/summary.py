"""The small per-entry summary that lets most identifiers be decided without reading nodes.

An *entry* is the schedulable nodes of one identifier that share a kind (same architecture,
accelerator model, device memory and blocking taints). Per entry we keep counts, sums, maxima and
minima of free cpu, memory and devices, the free amounts of its roomiest node, and allocatable
sums. From these, for any replica shape, `fit.bounds` derives how many replicas the entry can
hold at most (sums and maxima) and at least (minima and the roomiest node). When the bounds
agree no node is read; otherwise only that entry's rows are scanned.

Free amounts are clipped at zero: a node whose pods request more than it has offers nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from computenet.placement.arrays import IntArray, gather

if TYPE_CHECKING:
    from computenet.placement.snapshot import NodeColumns

ACC_SUM, CPU_SUM, MEM_SUM, ACC_MAX, CPU_MAX, MEM_MAX, ACC_MIN, CPU_MIN, MEM_MIN = range(9)
REP_ACC, REP_CPU, REP_MEM, COUNT, ACC_ALLOC, CPU_ALLOC, MEM_ALLOC = range(9, 16)
WIDTH = 16
BOUNDS = 12
"""The first columns: sums, maxima, minima and the roomiest node, each (devices, cpu, memory)."""

_CPU_BITS = 32


def summarize(indptr: IntArray, rows: IntArray, entries: IntArray, nodes: NodeColumns) -> IntArray:
    """Summary rows (len(entries) x WIDTH) for the given entries; every entry has at least one node."""
    out = np.zeros((len(entries), WIDTH), dtype=np.int64)
    if len(entries) == 0:
        return out
    picked, entry_of = gather(indptr, rows, entries)
    lengths = indptr[entries + 1] - indptr[entries]
    first = np.cumsum(lengths) - lengths
    out[:, COUNT] = lengths
    acc, cpu, mem = (np.maximum(values, 0) for values in nodes.free(picked))
    columns = ((cpu, CPU_SUM, CPU_MAX, CPU_MIN), (mem, MEM_SUM, MEM_MAX, MEM_MIN), (acc, ACC_SUM, ACC_MAX, ACC_MIN))
    for values, total, high, low in columns:
        out[:, total] = np.add.reduceat(values, first)
        out[:, high] = np.maximum.reduceat(values, first)
        out[:, low] = np.minimum.reduceat(values, first)
    alloc = ((nodes.cpu_alloc, CPU_ALLOC), (nodes.memory_alloc, MEM_ALLOC), (nodes.acc_alloc, ACC_ALLOC))
    for column, total in alloc:
        out[:, total] = np.add.reduceat(column[picked], first)
    # The roomiest node: most free devices, then most free cpu. It proves one replica fits.
    rank = (acc << _CPU_BITS) | np.minimum(cpu, (1 << _CPU_BITS) - 1)
    hits = np.flatnonzero(rank == np.maximum.reduceat(rank, first)[entry_of])
    chosen = hits[np.flatnonzero(np.diff(entry_of[hits], prepend=-1))]
    out[:, REP_CPU], out[:, REP_MEM], out[:, REP_ACC] = cpu[chosen], mem[chosen], acc[chosen]
    return out
