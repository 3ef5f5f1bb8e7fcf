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

A snapshot keeps the summaries column by column (`EntryTable.columns`): decisions read a few
whole columns over thousands of entries. A second table (`level_table`) groups each entry's nodes
by free devices, for the bounds of device gangs (`level_bounds`).
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


LEVELS = 9
"""Free-device levels of a level table: nodes with 0, 1, ... 7 free devices, and 8 or more (the last)."""
L_COUNT, L_ACC_MIN, L_CPU_MIN, L_MEM_MIN, L_POD_MIN = range(5)
LEVEL_WIDTH = 5
"""Per (entry, level): its nodes, and their least free devices, cpu, memory and pod slots (0 when none)."""


def level_table(indptr: IntArray, rows: IntArray, entries: IntArray, nodes: NodeColumns) -> IntArray:
    """(len(entries) x LEVELS x LEVEL_WIDTH): each entry's nodes grouped by free devices, with their minima.

    What `level_bounds` tightens a device gang's bounds with: an entry of 8-GPU nodes randomly
    loaded has sums and extremes that straddle most gang sizes, but how many nodes have each
    number of devices free, and how poor in cpu, memory and pod slots those are at worst, often
    decides the gang without reading a row. Free amounts are clipped at zero, as in `summarize`.
    """
    out = np.zeros((len(entries) * LEVELS, LEVEL_WIDTH), dtype=np.int64)
    if len(entries):
        picked, entry_of = gather(indptr, rows, entries)
        free = nodes.free_amounts(picked)
        np.maximum(free, 0, out=free)
        key = entry_of * LEVELS + np.minimum(free[:, 0], LEVELS - 1)
        out[:, L_COUNT] = np.bincount(key, minlength=len(out))
        least = np.full((len(out), 4), np.iinfo(np.int64).max, dtype=np.int64)
        for d in range(4):
            np.minimum.at(least[:, d], key, free[:, d])
        out[:, L_ACC_MIN:] = np.where(out[:, L_COUNT, None] > 0, least, 0)
    return out.reshape(len(entries), LEVELS, LEVEL_WIDTH)


def nodes_at_least(levels: IntArray, entries: IntArray, devices: int) -> IntArray:
    """Per entry of `entries`: its nodes with `devices` (>= 1) free devices or more, from its level table.

    Exact up to ``LEVELS - 1`` devices; beyond, the nodes with ``LEVELS - 1`` or more. `levels` is a
    contiguous `level_table`; read by flat index, one level at a time, not by gathering whole tables.
    """
    flat = levels.reshape(-1)
    base = entries * (LEVELS * LEVEL_WIDTH) + L_COUNT
    total = np.zeros(len(entries), dtype=np.int64)
    for level in range(min(devices, LEVELS - 1), LEVELS):
        total += flat.take(base + level * LEVEL_WIDTH)
    return total


def level_order(indptr: IntArray, rows: IntArray, entries: IntArray, nodes: NodeColumns) -> IntArray:
    """The rows of `entries` (concatenated in that order), each entry's ordered by free-device level, most first.

    Levels as in `level_table` (free devices clipped at 0 and at ``LEVELS - 1``); within a level,
    rows keep their order in `rows`. So the rows of entry e at level k or more are the first
    ``level_table(...)[e, k:, L_COUNT].sum()`` of its span: a count over a gang's replica reads
    only the nodes with a replica's devices free, without reading the others' free devices.
    """
    if not len(entries):
        return np.zeros(0, dtype=np.int64)
    picked, entry_of = gather(indptr, rows, entries)
    level = np.minimum(np.maximum(nodes.free_devices(picked), 0), LEVELS - 1)
    key = entry_of * LEVELS + (LEVELS - 1 - level)
    ordered: IntArray = picked[np.argsort(key, kind="stable")]
    return ordered


def label_heads(ordered: IntArray, owner: IntArray, labels: IntArray) -> IntArray:
    """Per distinct (entry, label set) of the level-ordered rows `ordered`, its first row: the part's roomiest.

    `ordered` is `level_order`'s output for some entries, `owner` the entry of each of its rows
    (non-decreasing, as `level_order` keeps the entries' order) and `labels` every node row's
    label set (`NodeColumns.labels`). One row per distinct (entry, label set), entries in order
    and label sets ascending within each: aligned with those entries' `EntryTable.label_sets`.
    Each is the row of that label set with the most free devices (clipped as in `level_table`),
    the first in row order among equals: the row a question about that part's room asks first.
    """
    if not len(ordered):
        return np.zeros(0, dtype=np.int64)
    label = labels[ordered]
    _, first = np.unique(owner * (int(label.max()) + 1) + label, return_index=True)
    heads: IntArray = ordered[first]
    return heads


def level_bounds(levels: IntArray, s: IntArray, need: tuple[int, int, int, int], cap: int) -> tuple[IntArray, IntArray]:
    """(most, least) replicas of one replica's `need` (devices > 0, cpu, memory, pods) each entry holds.

    `levels` (k x LEVELS x LEVEL_WIDTH, from `level_table`) and `s` (WIDTH x k: `summarize`'s rows
    column by column) are of the same k entries. Least: every node holds what the poorest node of
    its level holds in each dimension. Most: a node of level L has L free devices (the last level:
    at most the entry's maximum) and no more cpu, memory or pod slots than the entry's roomiest in
    each. Both count each node at most `cap` (the gang size) and are at most `cap`.
    """
    count = levels[:, :, L_COUNT]
    low = np.full(count.shape, cap, dtype=np.int64)
    for column, amount in zip((L_ACC_MIN, L_CPU_MIN, L_MEM_MIN, L_POD_MIN), need, strict=True):
        if amount > 0:
            per = levels[:, :, column]
            np.minimum(low, per // amount if amount > 1 else per, out=low)
    devices = np.broadcast_to(np.arange(LEVELS, dtype=np.int64), count.shape).copy()
    devices[:, -1] = s[ACC_MAX]
    high = np.minimum(devices // need[0], cap)
    for column, amount in zip((CPU_MAX, MEM_MAX, POD_MAX), need[1:], strict=True):
        if amount > 0:
            np.minimum(high, (s[column] // amount)[:, None], out=high)
    most = np.minimum((count * high).sum(axis=1), cap)
    least = np.minimum((count * low).sum(axis=1), cap)
    return most, least
