"""Whether a task's replicas fit on an identifier's nodes, on which model, and on which nodes.

This is where node-level truth is kept: 16 free GPUs spread 2 per node hold no 8-GPU replica,
and a gang of N fits only if the identifier's nodes offer N slots, counting several replicas per
node where they fit. A gang lands on a single accelerator model (one pod template, one product
selector); with any-of models the cheapest model that fits is chosen.

For speed, each identifier is first bounded from its entry summaries (see `summary`): an upper
bound on slots from sums and maxima, a lower bound from minima and the roomiest node. Only when
the bounds straddle the gang size, or the pod's node constraints (nodeSelector, nodeName,
required node affinity) admitting only some of the entry's nodes make the lower bound
unreliable, are that entry's node rows read (entries holding assumed nodes are summarised after
the assumptions, see `overlay`); an entry whose nodes are all refused holds nothing
(see `admission`). A task claiming DRA devices reads the rows of every entry with devices, since
summaries do not count them (see `devices`). The answer is exact either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from computenet.placement import summary as sm
from computenet.placement.arrays import FloatArray, IntArray, gather, group_max, group_sum
from computenet.placement.context import NO_FIT, NOT_COMPUTED, Context
from computenet.placement.demand import Strategy
from computenet.placement.node_admission import admitted

_UNKNOWN_PRICE = 1e300
"""Ranks a model that fits but has no price after every priced one, before any that does not fit."""


def _per(amount: IntArray, need: int, cap: int) -> IntArray:
    """Replicas that `amount` holds at `need` each (any number when need is 0), at most `cap`."""
    if need <= 0:
        return np.full(len(amount), cap, dtype=np.int64)
    held: IntArray = np.maximum(amount, 0)
    if need > 1:  # a pod slot each: no division
        held //= need
    np.minimum(held, cap, out=held)
    return held


def needs(ctx: Context) -> tuple[int, int, int, int]:
    """One replica's (devices, cpu, memory, pod slots), in the order of `summary.DIMS`: one pod each."""
    need = ctx.need
    return need.accelerators, need.cpu, need.memory, 1


def replica_slots(ctx: Context, devices: IntArray, cpu: IntArray, memory: IntArray, pods: IntArray) -> IntArray:
    """Per row, the replicas of the task that the given free amounts hold, at most the gang size."""
    cap = ctx.replicas
    held = [_per(amount, need, cap) for amount, need in zip((devices, cpu, memory, pods), needs(ctx), strict=True)]
    return np.minimum(np.minimum(held[0], held[1]), np.minimum(held[2], held[3]))


_FEW = 32
"""Below this many identifiers, gathering their entries beats one pass over all entries."""


def usable_entries(ctx: Context, ids: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Entries of `ids` whose kind suits the task: (entries, position in ids, model column)."""
    if len(ids) <= _FEW:
        entries, pos = ctx.entries_of(ids)
        column = ctx.entry_column[entries]
        keep = column >= 0
        return entries[keep], pos[keep], column[keep]
    where = np.full(len(ctx.snapshot), -1, dtype=np.int64)
    where[ids] = np.arange(len(ids))
    pos = where[ctx.snapshot.entries.ident]
    entries = np.flatnonzero((pos >= 0) & (ctx.entry_column >= 0))
    return entries, pos[entries], ctx.entry_column[entries]


def bounds(ctx: Context, s: IntArray) -> tuple[IntArray, IntArray]:
    """(most, least) replicas each summarised entry can hold, both at most the gang size.

    Most: what the entry's sums hold, and no more than every node being as roomy as the
    roomiest in each dimension. Least: every node as poor as the poorest in each dimension, or
    at least what the single roomiest node holds.
    """
    cap = ctx.replicas
    held = np.full((len(s), 4), cap, dtype=np.int64)  # columns: sums, maxima, minima, roomiest node
    for d, amount in enumerate(needs(ctx)):
        if amount > 0:
            per = np.maximum(s[:, d : sm.BOUNDS : sm.DIMS], 0)
            np.minimum(held, per // amount if amount > 1 else per, out=held)
    count = s[:, sm.COUNT]
    most = np.minimum(np.minimum(held[:, 0], count * held[:, 1]), cap)
    least = np.minimum(np.maximum(count * held[:, 2], held[:, 3]), cap)
    return most, least


def free_rows(ctx: Context, rows: IntArray) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Free (devices, cpu, memory, pod slots) on node rows, after assumptions."""
    free = ctx.snapshot.nodes.free_amounts(rows)
    ctx.overlay.subtract(rows, free)
    return free[:, 0], free[:, 1], free[:, 2], free[:, 3]


def scan(ctx: Context, entries: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Read node rows: (rows, index into `entries`, replica slots per row after assumptions).

    Only the rows the pod's node constraints admit are returned; the others hold no replica.
    """
    e = ctx.snapshot.entries
    rows, seg = gather(e.indptr, e.rows, entries)
    if ctx.claims:  # DRA: only nodes publishing devices can hold a replica
        _, hit = ctx.device_table.locate(rows)
        rows, seg = rows[hit], seg[hit]
    selected = ctx.rows_selected(rows)
    if selected is not None:
        rows, seg = rows[selected], seg[selected]
    slots = replica_slots(ctx, *free_rows(ctx, rows))
    if ctx.claims:  # DRA: the node's free devices must satisfy each replica's claims too
        slots = np.minimum(slots, ctx.device_slots(rows, e.ident[entries[seg]]))
    return rows, seg, slots


def ensure(ctx: Context, ids: IntArray) -> None:
    """Fill the context's fit arrays for `ids` (unique identifier indices), once each."""
    todo = ids[ctx.fit_model[ids] == NOT_COMPUTED]
    if len(todo):
        _compute(ctx, todo)


def _compute(ctx: Context, ids: IntArray) -> None:
    cap, n, width = ctx.replicas, len(ids), len(ctx.columns)
    if width == 0:  # the task wants devices and the pool has none of a usable model
        ctx.fit_model[ids] = NO_FIT
        return
    entries, pos, column = usable_entries(ctx, ids)
    s = ctx.overlay.summaries(ctx.snapshot.entries.summary, entries)
    upper, lower = bounds(ctx, s)
    admission = admitted(ctx, entries)
    if admission is not None:
        every, some = admission
        upper[~some] = 0
        lower[~every] = 0
    if ctx.claims:  # summaries know no DRA devices: entries without any hold nothing, the others are read
        upper[~ctx.entries_with_devices(entries)] = 0
        lower[:] = 0
    key = pos * width + column
    most, least = group_sum(key, upper, n * width), group_sum(key, lower, n * width)
    unsure = np.flatnonzero(((least < cap) & (most >= cap))[key])
    if len(unsure):
        _, seg, slots = scan(ctx, entries[unsure])
        exact = np.minimum(group_sum(seg, slots, len(unsure)), cap)
        upper[unsure] = lower[unsure] = exact
        most, least = group_sum(key, upper, n * width), group_sum(key, lower, n * width)
    most, least = most.reshape(n, width), least.reshape(n, width)
    fits = least >= cap
    prices = ctx.price(np.repeat(ids, width), np.tile(ctx.columns, n)).reshape(n, width)
    if width == 1:
        chosen = np.zeros(n, dtype=np.int64)
    else:
        rank = np.where(fits, np.where(np.isnan(prices), _UNKNOWN_PRICE, prices), np.inf)
        chosen = np.where(fits.any(axis=1), np.argmin(rank, axis=1), np.argmax(most, axis=1))
    at = (np.arange(n), chosen)
    ok = fits[at]
    ctx.fit_model[ids] = np.where(ok, ctx.columns[chosen], NO_FIT)
    ctx.fit_upper[ids], ctx.fit_lower[ids] = most[at], least[at]
    ctx.fit_price[ids] = np.where(ok, prices[at], np.nan)
    ctx.fit_utilization[ids] = _utilization(ctx, ids, s, key, width)[at]


def _utilization(ctx: Context, ids: IntArray, s: IntArray, key: IntArray, width: int) -> FloatArray:
    """Share of the task's dimensions in use after placing it, per (identifier, model column).

    `s` are the summaries after assumptions, so what pending tasks hold counts as used.
    """
    need, n = ctx.need, len(ids)
    if need.accelerators:
        dims = [(sm.ACC_ALLOC, sm.ACC_SUM, need.accelerators)]
    else:
        both = [(sm.CPU_ALLOC, sm.CPU_SUM, need.cpu), (sm.MEM_ALLOC, sm.MEM_SUM, need.memory)]
        dims = [d for d in both if d[2]]
    total: FloatArray = np.zeros((n, width))
    for alloc_col, free_col, amount in dims:
        alloc = group_sum(key, s[:, alloc_col], n * width).reshape(n, width)
        free = group_sum(key, s[:, free_col], n * width).reshape(n, width)
        used = np.divide(alloc - free + amount * ctx.replicas, alloc, out=np.ones((n, width)), where=alloc > 0)
        total += np.clip(used, 0.0, 1.0)
    return total / max(len(dims), 1)


def assign(ctx: Context, ident: int) -> tuple[tuple[int, int, int], ...]:
    """(node row, replicas, most) triples that hold the gang on `ident`, with its chosen model.

    Binpack fills the tightest nodes first; spread deals replicas one per node, roomiest first;
    equal nodes in arrival order. No more nodes than replicas are ever needed.

    The member's own scheduler has the last word: the pods are pinned to the chosen nodes as a
    set (one pod template serves every replica), so it may put any number of them on any of those
    nodes, up to what fits there. `most` is that bound: what an assumption must hold on the node
    until the member shows where the pods went, or a task placed meanwhile may count on room the
    gang took. It is taken from the node's allocatable amounts, not from what is free now: pods on
    the node may finish before the member's scheduler gets to the gang, and then it may pack more
    replicas there than fit at decision time (min(replicas that fit on the empty node, replicas)).
    """
    ensure(ctx, np.array([ident]))
    model = int(ctx.fit_model[ident])
    if model == NO_FIT:
        return ()
    entries, _, column = usable_entries(ctx, np.array([ident]))
    rows, _, slots = scan(ctx, entries[ctx.columns[column] == model])
    spread = ctx.demand.strategy is Strategy.SPREAD
    order = np.lexsort((rows, -slots if spread else slots))
    order = order[slots[order] > 0][: ctx.replicas]
    candidates = list(zip(rows[order].tolist(), slots[order].tolist(), strict=True))
    remaining, taken = ctx.replicas, dict.fromkeys((r for r, _ in candidates), 0)
    progress = True
    while remaining and spread and progress:  # deal one replica per node and round
        progress = False
        for r, s in candidates:
            if remaining and taken[r] < s:
                taken[r] += 1
                remaining -= 1
                progress = True
    for r, s in () if spread else candidates:
        taken[r] = min(s, remaining)
        remaining -= taken[r]
    chosen = [(r, c) for r, c in taken.items() if c]
    at = np.array([r for r, _ in chosen], dtype=np.int64)
    nodes = ctx.snapshot.nodes
    most = replica_slots(ctx, nodes.acc_alloc[at], nodes.cpu_alloc[at], nodes.memory_alloc[at], nodes.pods_alloc[at])
    if ctx.claims:
        most = np.minimum(most, ctx.device_slots(at, np.full(len(at), ident), allocatable=True))
    return tuple((r, c, max(c, m)) for (r, c), m in zip(chosen, most.tolist(), strict=True))


@dataclass(frozen=True, slots=True)
class Shortfall:
    """Why a gang does not fit, per identifier: what its usable nodes offer, after assumptions."""

    model: IntArray
    nodes: IntArray
    free: tuple[IntArray, IntArray, IntArray, IntArray]
    largest: tuple[IntArray, IntArray, IntArray, IntArray]
    """(devices, cpu, memory, pod slots) free in total and on the roomiest node, each per identifier."""


def shortfall(ctx: Context, ids: IntArray) -> Shortfall:
    """Totals over the usable nodes of each identifier's closest model, to explain a rejection.

    Summaries (after assumptions) answer for most entries; entries with only some nodes admitted
    by the pod's node constraints are read row by row, and entries with none admitted count
    nothing, so the numbers match what the fit decision saw.
    """
    n, width = len(ids), len(ctx.columns)
    entries, pos, column = usable_entries(ctx, ids)
    summary = ctx.overlay.summaries(ctx.snapshot.entries.summary, entries)
    devices = group_sum(pos * width + column, summary[:, sm.ACC_SUM], n * width)
    best = np.argmax(devices.reshape(n, width), axis=1) if width else np.zeros(n, dtype=np.int64)
    keep = column == best[pos]
    entries, pos, summary = entries[keep], pos[keep], summary[keep]
    exact = np.zeros(len(entries), dtype=bool)
    admission = admitted(ctx, entries)
    if admission is not None:
        every, some = admission
        entries, pos, summary, exact = entries[some], pos[some], summary[some], ~every[some]
    s = summary[~exact]
    at = pos[~exact]
    nodes = group_sum(at, s[:, sm.COUNT], n)
    free = [group_sum(at, s[:, c], n) for c in (sm.ACC_SUM, sm.CPU_SUM, sm.MEM_SUM, sm.POD_SUM)]
    largest = [group_max(at, s[:, c], n) for c in (sm.ACC_MAX, sm.CPU_MAX, sm.MEM_MAX, sm.POD_MAX)]
    if exact.any():
        e = ctx.snapshot.entries
        rows, seg = gather(e.indptr, e.rows, entries[exact])
        owner = pos[exact][seg]
        selected = ctx.rows_selected(rows)
        if selected is not None:
            rows, owner = rows[selected], owner[selected]
        nodes += np.bincount(owner, minlength=n)
        for i, values in enumerate(free_rows(ctx, rows)):
            values = np.maximum(values, 0)
            free[i] += group_sum(owner, values, n)
            np.maximum.at(largest[i], owner, values)
    return Shortfall(
        model=ctx.columns[best] if width else best,
        nodes=nodes,
        free=(free[0], free[1], free[2], free[3]),
        largest=(largest[0], largest[1], largest[2], largest[3]),
    )
