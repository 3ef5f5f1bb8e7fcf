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

import numpy as np

from computenet.placement.arrays import IntArray, gather

COUNT, CPU_SUM, MEM_SUM, ACC_SUM, CPU_MAX, MEM_MAX, ACC_MAX, CPU_MIN, MEM_MIN, ACC_MIN = range(10)
REP_CPU, REP_MEM, REP_ACC, CPU_ALLOC, MEM_ALLOC, ACC_ALLOC = range(10, 16)
WIDTH = 16
BOUNDS = (ACC_SUM, CPU_SUM, MEM_SUM, ACC_MAX, CPU_MAX, MEM_MAX, ACC_MIN, CPU_MIN, MEM_MIN, REP_ACC, REP_CPU, REP_MEM)
"""Sums, maxima, minima and the roomiest node, each as (devices, cpu, memory): see `fit.bounds`."""

_CPU_BITS = 32


def summarize(
    indptr: IntArray, rows: IntArray, entries: IntArray, free: tuple[IntArray, IntArray, IntArray],
    alloc: tuple[IntArray, IntArray, IntArray],
) -> IntArray:  # fmt: skip
    """Summary rows (len(entries) x WIDTH) for the given entries; every entry has at least one node."""
    out = np.zeros((len(entries), WIDTH), dtype=np.int64)
    if len(entries) == 0:
        return out
    picked, entry_of = gather(indptr, rows, entries)
    lengths = indptr[entries + 1] - indptr[entries]
    first = np.cumsum(lengths) - lengths
    out[:, COUNT] = lengths
    cpu, mem, acc = (np.maximum(column[picked], 0) for column in free)
    for values, total, high, low in ((cpu, CPU_SUM, CPU_MAX, CPU_MIN), (mem, MEM_SUM, MEM_MAX, MEM_MIN),
                                     (acc, ACC_SUM, ACC_MAX, ACC_MIN)):  # fmt: skip
        out[:, total] = np.add.reduceat(values, first)
        out[:, high] = np.maximum.reduceat(values, first)
        out[:, low] = np.minimum.reduceat(values, first)
    for column, total in zip(alloc, (CPU_ALLOC, MEM_ALLOC, ACC_ALLOC), strict=True):
        out[:, total] = np.add.reduceat(column[picked], first)
    # The roomiest node: most free devices, then most free cpu. It proves one replica fits.
    rank = (acc << _CPU_BITS) | np.minimum(cpu, (1 << _CPU_BITS) - 1)
    best = np.maximum.reduceat(rank, first)
    hits = np.flatnonzero(rank == best[entry_of])
    _, first_hit = np.unique(entry_of[hits], return_index=True)
    chosen = hits[first_hit]
    out[:, REP_CPU], out[:, REP_MEM], out[:, REP_ACC] = cpu[chosen], mem[chosen], acc[chosen]
    return out
