"""Whether a task's replicas fit on an identifier's nodes, on which model, and on which nodes.

This is where node-level truth is kept: 16 free GPUs spread 2 per node hold no 8-GPU replica,
and a gang of N fits only if the identifier's nodes offer N slots, counting several replicas per
node where they fit. A gang lands on a single accelerator model (one pod template, one product
selector); with any-of models the cheapest model that fits is chosen.

For speed, each identifier is first bounded from its entry summaries (see `summary`, read column
by column): an upper bound on slots from sums and maxima, a lower bound from minima and the
roomiest node. Where these straddle the gang size for a device gang, the entry's level table
(its nodes grouped by free devices, with the least cpu, memory and pod slots of each group)
tightens both, which decides most randomly loaded GPU entries without a row. Only when
the bounds still straddle the gang size, or the pod's node constraints (nodeSelector, nodeName,
required node affinity) admitting only some of the entry's nodes make the lower bound
unreliable, are that entry's node rows read (entries holding assumed nodes are summarised after
the assumptions, see `overlay`); an entry whose nodes are all refused holds nothing
(see `admission`). A task claiming DRA devices reads the rows of every entry with devices, since
summaries do not count them (see `devices`). Without assumptions, what an entry's rows hold is
remembered on the snapshot per (needs, node constraints, claims), whatever the gang size
(`_entry_sums`): the tasks of one template read each entry's rows once per snapshot. An entry
is read only until its rows hold the gang (`_read_until`): a single replica usually needs a few
of its nodes, not all; the rows read are remembered as a lower bound for larger gangs. Under
assumptions, the entries holding no assumed node are answered from the same memory, and only the
few holding one are read again (`_unassumed_entries`): a burst pays for what it assumed, not for
every node. The answer is exact either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from computenet.placement import summary as sm
from computenet.placement.arrays import BoolArray, FloatArray, IntArray, gather, group_max, group_sum, ranges, spans
from computenet.placement.context import FEW_IDENTIFIERS, NO_FIT, NOT_COMPUTED, Context
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


def replica_slots(
    ctx: Context, devices: IntArray, cpu: IntArray, memory: IntArray, pods: IntArray, cap: int | None = None
) -> IntArray:
    """Per row, the replicas of the task that the given free amounts hold, at most `cap` (the gang size)."""
    cap = ctx.replicas if cap is None else cap
    held = [_per(amount, need, cap) for amount, need in zip((devices, cpu, memory, pods), needs(ctx), strict=True)]
    return np.minimum(np.minimum(held[0], held[1]), np.minimum(held[2], held[3]))


def usable_entries(ctx: Context, ids: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Entries of `ids` whose kind suits the task: (entries, position in ids, model column)."""
    if len(ids) <= FEW_IDENTIFIERS:
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

    `s` holds the entries' summaries column by column (summary.WIDTH x entries, as
    `Overlay.summary_columns` gives). Most: what the entry's sums hold, and no more than every
    node being as roomy as the roomiest in each dimension. Least: every node as poor as the
    poorest in each dimension, or at least what the single roomiest node holds.
    """
    cap = ctx.replicas
    held = _held(ctx, s)
    count = s[sm.COUNT]
    most = np.minimum(held[0], count * held[1])  # held[0] is at most the gang already
    least = np.maximum(count * held[2], held[3])
    np.minimum(least, cap, out=least)
    return most, least


def _held(ctx: Context, s: IntArray) -> IntArray:
    """(4 x entries): replicas held by the entries' sums, maxima, minima and roomiest node, at most the gang.

    `s` column by column, as in `bounds`; its free amounts are never negative (`summarize` clips them).
    """
    held = np.full((4, s.shape[1]), ctx.replicas, dtype=np.int64)
    for d, amount in enumerate(needs(ctx)):
        if amount > 0:
            per = s[d : sm.BOUNDS : sm.DIMS]
            np.minimum(held, per // amount if amount > 1 else per, out=held)
    return held


def node_room(ctx: Context, s: IntArray) -> tuple[BoolArray, BoolArray]:
    """Per summarised entry: (some node may hold a replica, every node holds one), from its summary alone.

    `s` column by column, as in `bounds`. No node holds one when the maxima do not (each node is at
    most as roomy as the roomiest in each dimension); every node does when the minima do. Devices of
    DRA claims are not summarised.
    """
    held = _held(ctx, s)
    return held[1] > 0, held[2] > 0


def free_rows(ctx: Context, rows: IntArray) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Free (devices, cpu, memory, pod slots) on node rows, after assumptions."""
    free = ctx.snapshot.nodes.free_amounts(rows)
    ctx.overlay.subtract(rows, free)
    return free[:, 0], free[:, 1], free[:, 2], free[:, 3]


def head_free(ctx: Context, at: IntArray) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Free (devices, cpu, memory, pod slots) on the label heads at `at` (`EntryTable.head_free`), after assumptions."""
    rows, free = ctx.snapshot.entries.head_free(at)
    ctx.overlay.subtract(rows, free)
    return free[:, 0], free[:, 1], free[:, 2], free[:, 3]


def scan(ctx: Context, entries: IntArray, cap: int | None = None) -> tuple[IntArray, IntArray, IntArray]:
    """Read node rows: (rows, index into `entries`, replica slots per row after assumptions).

    Only the rows the pod's node constraints admit are returned; the others hold no replica.
    Slots are at most `cap` (default: the gang size); a row's slots at any cap c are
    min(its slots at a larger cap, c), as every bound on them is a minimum.
    """
    e = ctx.snapshot.entries
    rows, seg = gather(e.indptr, e.rows, entries)
    return _read(ctx, rows, seg, entries, cap)


def _read(
    ctx: Context, rows: IntArray, seg: IntArray, entries: IntArray, cap: int | None
) -> tuple[IntArray, IntArray, IntArray]:
    """`scan` of the given rows of `entries` (`seg`: each row's index into `entries`)."""
    e = ctx.snapshot.entries
    if ctx.claims:  # DRA: only nodes publishing devices can hold a replica
        _, hit = ctx.device_table.locate(rows)
        rows, seg = rows[hit], seg[hit]
    selected = ctx.rows_selected(rows)
    if selected is not None:
        rows, seg = rows[selected], seg[selected]
    slots = replica_slots(ctx, *free_rows(ctx, rows), cap=cap)
    if ctx.claims:  # DRA: the node's free devices must satisfy each replica's claims too
        slots = np.minimum(slots, ctx.device_slots(rows, e.ident[entries[seg]], cap=cap))
    return rows, seg, slots


FIRST_WINDOW = 8
"""Rows of each entry `_read_until` reads first (at most: two per replica of the gang); each further round
reads `WINDOW_GROWTH` times as many."""
WINDOW_GROWTH = 2


def _read_until(
    ctx: Context, entries: IntArray, cap: int, memo: EntrySums
) -> list[tuple[IntArray, IntArray, IntArray]]:
    """Read `entries` (unique) on from their first unread row until their rows hold `cap` replicas or are all read.

    A gang of c needs to know only min(what the entry holds, c), so an entry whose first rows
    already hold c replicas is not read further: reading stops entry by entry, in windows
    growing from `FIRST_WINDOW` rows. An entry read in part before (for a smaller gang) goes on
    from the row where that read stopped (`memo.read`), in windows as large as what it read.
    `memo.sums` gets the uncapped slots of the rows read (a lower bound of the entry's, exact where
    `memo.known` is set: every row that may hold a replica read).
    Returns what was read in this call, per round: (entry of each row, rows, uncapped slots).

    A replica asking for devices reads only the rows with its devices free, roomiest first
    (`EntryTable.reading_order`).
    """
    order, start, stop = ctx.snapshot.entries.reading_order(entries, ctx.need.accelerators)
    read = memo.read[entries]
    first = min(FIRST_WINDOW, 2 * cap)  # a replica or two per row read, and room for refused rows
    size = np.maximum(read, first)
    rounds: list[tuple[IntArray, IntArray, IntArray]] = []
    begin = start + read
    while len(entries):
        end = np.minimum(stop, begin + size)
        at, seg = spans(begin, end)
        rows, seg, slots = _read(ctx, order[at], seg, entries, UNCAPPED)
        memo.sums[entries] += group_sum(seg, slots, len(entries))
        memo.read[entries] = end - start
        rounds.append((entries[seg], rows, slots))
        full = end == stop
        memo.known[entries[full]] = True
        more = ~full & (memo.sums[entries] < cap)
        entries, begin, start, stop, size = (
            entries[more],
            end[more],
            start[more],
            stop[more],
            size[more] * WINDOW_GROWTH,
        )
    return rounds


def scanned(ctx: Context, entries: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """`scan(ctx, entries)` up to row order, reading only the entries no earlier scan of this decision read.

    Within one decision the snapshot, the assumptions and the demand are fixed, and an entry's rows
    and slots depend on nothing else, so an entry the fit read (`_compute`) is not read again by
    a score.
    """
    count = len(ctx.snapshot.entries.kind)
    where = np.full(count, -1, dtype=np.int64)
    where[entries] = np.arange(len(entries))
    read = np.zeros(count, dtype=bool)
    parts = []
    for done, rows, owner, slots in _scans(ctx):  # owner: the entry of each row
        read[done] = True
        at = where[owner]
        keep = at >= 0
        parts.append((rows[keep], at[keep], slots[keep]))
    missing = entries[~read[entries]]
    if len(missing) or not parts:
        rows, seg, slots = scan(ctx, missing)
        _remember(ctx, missing, rows, seg, slots)
        parts.append((rows, where[missing[seg]], slots))
    if len(parts) == 1:
        return parts[0]
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


def _scans(ctx: Context) -> list[tuple[IntArray, IntArray, IntArray, IntArray]]:
    """The scans of the decision so far: (entries read, rows, entry of each row, slots of each row)."""
    found: list[tuple[IntArray, IntArray, IntArray, IntArray]] = ctx.__dict__.setdefault("_scans", [])
    return found


def _remember(ctx: Context, entries: IntArray, rows: IntArray, seg: IntArray, slots: IntArray) -> None:
    """Keep what `scan(ctx, entries)` returned, for `scanned`."""
    _scans(ctx).append((entries, rows, entries[seg], slots))


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
    s = ctx.overlay.summary_columns(ctx.snapshot.entries.columns, entries)
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
    if len(unsure) and ctx.need.accelerators and not ctx.claims:
        surely = _by_levels(ctx, entries, s, unsure, None if admission is None else admission[0])
        if len(surely):
            upper[surely], lower[surely] = _level_bounds(ctx, entries[surely], s[:, surely], upper, lower, surely)
            most, least = group_sum(key, upper, n * width), group_sum(key, lower, n * width)
            unsure = np.flatnonzero(((least < cap) & (most >= cap))[key])
    if len(unsure):
        exact = _exact(ctx, entries[unsure])
        upper[unsure] = lower[unsure] = exact
        most, least = group_sum(key, upper, n * width), group_sum(key, lower, n * width)
    chosen, price = choose_models(most, least >= cap, width, lambda at, column: ctx.price(ids[at], ctx.columns[column]))
    at = np.arange(n) * width + chosen
    ok = least[at] >= cap
    ctx.fit_model[ids] = np.where(ok, ctx.columns[chosen], NO_FIT)
    ctx.fit_upper[ids], ctx.fit_lower[ids] = most[at], least[at]
    ctx.fit_price[ids] = price
    mine = np.flatnonzero(column == chosen[pos])
    ctx.fit_utilization[ids] = _utilization(ctx, ids, s, mine, pos[mine], 1)[:, 0]


def _by_levels(ctx: Context, entries: IntArray, s: IntArray, unsure: IntArray, every: BoolArray | None) -> IntArray:
    """The positions in `unsure` whose bounds the entry's level table may tighten.

    The table describes every node of the entry as the snapshot has it: not an entry the pod's
    node constraints split (some of its nodes refused), nor one holding assumed nodes (its
    summary is recomputed under the assumptions, its table is not).
    """
    keep = np.ones(len(unsure), dtype=bool)
    if every is not None:
        keep &= every[unsure]
    recomputed = ctx.overlay.recomputed
    if len(recomputed):
        keep &= ~recomputed[entries[unsure]]
    return unsure[keep]


def _level_bounds(
    ctx: Context, entries: IntArray, s: IntArray, upper: IntArray, lower: IntArray, at: IntArray
) -> tuple[IntArray, IntArray]:
    """(upper, lower) at `at`, tightened by the entries' level tables (`summary.level_bounds`)."""
    most, least = sm.level_bounds(ctx.snapshot.entries.levels[entries], s, needs(ctx), ctx.replicas)
    return np.minimum(upper[at], most), np.maximum(lower[at], least)


def choose_models(
    most: IntArray, fits: BoolArray, width: int, price: Callable[[IntArray, IntArray], FloatArray]
) -> tuple[IntArray, FloatArray]:
    """Per identifier: (the model column the gang runs on, the task's price there; NaN if none fits).

    `most` (replicas held at most) and `fits` are flat (identifiers x width), per (identifier, model
    column); `price(at, column)` prices identifiers `at` (positions) on model columns `column`. Where some model
    fits, the cheapest that fits (unknown prices after known ones, the first column among equals);
    where none does, the column holding the most replicas (the first among equals), to explain the
    shortfall. Only the (identifier, model) pairs with an entry are visited: most identifiers have
    one or two of the task's models, and the pool knows many.
    """
    n = len(most) // max(width, 1)
    chosen = np.zeros(n, dtype=np.int64)
    out: FloatArray = np.full(n, np.nan)
    held = np.flatnonzero(most)
    if len(held):  # none fits: the first column of the most replicas (0 where nothing is held anywhere)
        pair_id, pair_column = np.divmod(held, width)
        top = group_max(pair_id, most[held], n)
        best = most[held] == top[pair_id]
        first = np.full(n, width, dtype=np.int64)
        np.minimum.at(first, pair_id[best], pair_column[best])
        chosen = np.where(first < width, first, 0)
    fit = np.flatnonzero(fits)
    if not len(fit):
        return chosen, out
    fit_id, fit_column = np.divmod(fit, width)
    fit_price = price(fit_id, fit_column)
    rank = np.where(np.isnan(fit_price), _UNKNOWN_PRICE, fit_price)
    lowest = np.full(n, np.inf)
    np.minimum.at(lowest, fit_id, rank)
    best = rank == lowest[fit_id]
    first = np.full(n, width, dtype=np.int64)
    np.minimum.at(first, fit_id[best], fit_column[best])
    some = first < width
    chosen[some] = first[some]
    won = best & (fit_column == first[fit_id])
    out[fit_id[won]] = fit_price[won]
    return chosen, out


def _exact(ctx: Context, entries: IntArray) -> IntArray:
    """Per entry of `entries`: the replicas its admitted rows hold together, at most the gang size."""
    cap, memo = ctx.replicas, _entry_sums(ctx)
    if memo is None:
        clean = _unassumed_entries(ctx, entries)
        if clean is None:
            rows, seg, slots = scan(ctx, entries)
            _remember(ctx, entries, rows, seg, slots)
            return np.minimum(group_sum(seg, slots, len(entries)), cap)
        # under assumptions: the entries holding no assumed node read as without any (remembered)
        out = np.zeros(len(entries), dtype=np.int64)
        out[clean] = _exact(_bare(ctx), entries[clean])
        _scans(ctx).extend(_scans(_bare(ctx)))
        _scans(_bare(ctx)).clear()
        dirty = np.flatnonzero(~clean)
        if len(dirty):
            rows, seg, slots = scan(ctx, entries[dirty])
            _remember(ctx, entries[dirty], rows, seg, slots)
            out[dirty] = np.minimum(group_sum(seg, slots, len(dirty)), cap)
        return out
    known, sums, floor = memo.known, memo.sums, memo.floor
    missing = entries[~known[entries] & (sums[entries] < cap) & (floor[entries] < cap)]
    if len(missing) and ctx.label_ok is not None and not ctx.claims:  # DRA rooms are not in the heads' amounts
        split = missing[(floor[missing] < 0) & (memo.read[missing] == 0)]
        if len(split):
            admission = admitted(ctx, split)
            assert admission is not None  # label_ok is not None
            split = split[admission[1] & ~admission[0]]
            floor[split] = _head_sums(ctx, split)
            missing = missing[floor[missing] < cap]
    if len(missing):
        unread = memo.read[missing] == 0
        rounds = _read_until(ctx, missing, cap, memo)
        done = missing[known[missing] & unread]  # read whole in this decision: `scanned` need not read them again
        if len(done):
            whole = np.zeros(len(known), dtype=bool)
            whole[done] = True
            owner = np.concatenate([r[0] for r in rounds])
            keep = whole[owner]
            rows = np.concatenate([r[1] for r in rounds])[keep]
            slots = np.concatenate([r[2] for r in rounds])[keep]
            _scans(ctx).append((done, rows, owner[keep], np.minimum(slots, cap)))
    return np.minimum(np.maximum(sums[entries], floor[entries]), cap)


def _head_sums(ctx: Context, entries: IntArray) -> IntArray:
    """Per entry: the replicas (uncapped) the roomiest nodes of its admitted label sets hold, a lower bound.

    For entries the pod's node constraints split (some nodes admitted, some not), decided per
    label set: one row per admitted label set (`EntryTable.label_heads`), where the entry's
    first rows in level order may all be refused ones.
    """
    e = ctx.snapshot.entries
    label_ok = ctx.label_ok
    assert label_ok is not None  # the entries are split by it
    at, k = ranges(e.label_indptr, entries)
    ok = np.flatnonzero(label_ok[e.label_sets[at]])
    slots = replica_slots(ctx, *head_free(ctx, at[ok]), cap=UNCAPPED)
    return group_sum(k[ok], slots, len(entries))


def _unassumed_entries(ctx: Context, entries: IntArray) -> BoolArray | None:
    """Per entry of `entries`: whether no assumption holds anything on its nodes (None: not known here).

    An entry holding no assumed node (no usage, no DRA devices) reads the same with the assumptions
    as without, so `_exact` may take its remembered answer. Known when the pod's node constraints
    are decided per label set (as `_entry_sums` asks) and the overlay says which entries hold
    assumed nodes (`Overlay.recomputed`, kept by `assume` for every row it holds usage on).
    """
    overlay = ctx.overlay
    if overlay.empty or not ctx.by_label_set:
        return None
    usage = overlay.usage
    if (len(usage.base_keys) or len(usage.recent_keys)) and not len(overlay.recomputed):
        return None
    touched = overlay.recomputed[entries] if len(overlay.recomputed) else np.zeros(len(entries), dtype=bool)
    if overlay.devices:
        rows = np.fromiter(overlay.devices, dtype=np.int64, count=len(overlay.devices))
        touched = touched | np.isin(entries, ctx.snapshot.entries_of_rows(rows))
    clean: BoolArray = ~touched
    return clean


def _bare(ctx: Context) -> Context:
    """The decision's context without its assumptions (the same snapshot and demand), made once."""
    found: Context | None = ctx.__dict__.get("_bare")
    if found is None:
        found = ctx.__dict__["_bare"] = Context(ctx.snapshot, ctx.demand)
    return found


UNCAPPED = 2**32
"""A cap no gang reaches, and whose sums over a million rows stay far inside int64."""
ENTRY_SUMS_KEPT = 32
"""(needs, node constraints, claims) whose entry sums a snapshot remembers (see `_entry_sums`)."""
_NO_ROWS = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class EntrySums:
    """What the rows of each entry of a snapshot read so far hold of one template's replicas (see `_entry_sums`)."""

    known: BoolArray
    """Per entry: every row that may hold a replica was read."""
    sums: IntArray
    """Per entry: the replicas its admitted rows read so far hold, at no cap."""
    read: IntArray
    """Per entry: how many of its rows were read, from the first in the order `_read_until` reads."""
    floor: IntArray
    """Per entry: what the roomiest node of each admitted label set holds together (`_head_sums`), a
    lower bound asked once, before any row is read, of entries the node constraints split; -1: not asked."""


def _entry_sums(ctx: Context) -> EntrySums | None:
    """What each entry's rows read so far hold: whether read whole, and the replicas its admitted rows hold at no cap.

    The sum is exact for an entry read whole, and otherwise what its first rows hold (0: none
    read): a lower bound, which answers every gang it reaches (see `_read_until`).

    An entry is read row by row when its summary cannot answer: the pod's node constraints admit
    only some of its nodes, its bounds straddle the gang, or the task claims DRA devices. Without
    assumptions, what the entry's rows hold depends only on the snapshot, one replica's needs, the
    verdict per label set of the pod's nodeSelector and required affinity, and the claims'
    answers; not on the gang size, since min(sum of uncapped slots, gang) equals min(sum of slots
    capped at the gang, gang) (a row reaching the cap brings both sums to it). So the sums are
    remembered on the snapshot per (needs, label verdicts, claims) and filled in as decisions read
    entries; a later task of the same template reads no row again, but for a larger gang than
    an entry's first rows were read for. None when
    they do not apply: under assumptions, or when the pod names nodes (a per-row verdict). A snapshot
    after a change of free amounts only starts from the previous one's sums but for the entries
    holding a changed node (`Snapshot.carry_memos`).
    """
    if not ctx.overlay.empty or not ctx.by_label_set:
        return None
    label_ok = ctx.label_ok
    answers, table = (ctx.device_answers, ctx.device_table) if ctx.claims else (None, None)
    key = (needs(ctx), None if label_ok is None else label_ok.tobytes(), id(answers), id(table))
    memo: dict[object, tuple[object, object, EntrySums]]
    memo = ctx.snapshot.__dict__.setdefault("_entry_sums", {})
    found = memo.get(key)
    if found is not None and found[0] is answers and found[1] is table:
        return found[2]
    count = len(ctx.snapshot.entries.kind)
    zeros = np.zeros(count, dtype=np.int64)
    sums = EntrySums(np.zeros(count, dtype=bool), zeros, zeros.copy(), np.full(count, -1, dtype=np.int64))
    carried = ctx.snapshot.carried("_entry_sums", key)  # the last snapshot's, where no free amount changed
    if carried is not None and carried[0][0] is answers and carried[0][1] is table:
        (_, _, before), stale = carried
        sums = EntrySums(
            before.known & ~stale,
            np.where(stale, 0, before.sums),
            np.where(stale, 0, before.read),
            np.where(stale, -1, before.floor),
        )
    if len(memo) >= ENTRY_SUMS_KEPT:
        del memo[next(iter(memo))]
    memo[key] = (answers, table, sums)  # the answers and table kept referenced: their ids are not reused
    return sums


def utilization(ctx: Context, ids: IntArray) -> FloatArray:
    """(len(ids) x model columns): the share of the task's dimensions in use after placing it, per model.

    What `ensure` keeps in ``ctx.fit_utilization`` at the model it chooses, for every model column.
    """
    entries, pos, column = usable_entries(ctx, ids)
    s = ctx.overlay.summary_columns(ctx.snapshot.entries.columns, entries)
    return _utilization(ctx, ids, s, None, pos * len(ctx.columns) + column, len(ctx.columns))


def _utilization(
    ctx: Context, ids: IntArray, s: IntArray, at: IntArray | None, key: IntArray, width: int
) -> FloatArray:
    """Share of the task's dimensions in use after placing it, per (identifier, model column).

    `s` are the summaries after assumptions, column by column (summary.WIDTH x entries), so what
    pending tasks hold counts as used; `at` picks the entries counted (None: all), `key` their
    (identifier, column) keys.
    """
    need, n = ctx.need, len(ids)
    if need.accelerators:
        dims = [(sm.ACC_ALLOC, sm.ACC_SUM, need.accelerators)]
    else:
        both = [(sm.CPU_ALLOC, sm.CPU_SUM, need.cpu), (sm.MEM_ALLOC, sm.MEM_SUM, need.memory)]
        dims = [d for d in both if d[2]]
    total: FloatArray = np.zeros((n, width))
    for alloc_col, free_col, amount in dims:
        alloc_of, free_of = (s[alloc_col], s[free_col]) if at is None else (s[alloc_col][at], s[free_col][at])
        alloc = group_sum(key, alloc_of, n * width).reshape(n, width)
        free = group_sum(key, free_of, n * width).reshape(n, width)
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
    summary = ctx.overlay.summary_columns(ctx.snapshot.entries.columns, entries)
    devices = group_sum(pos * width + column, summary[sm.ACC_SUM], n * width)
    best = np.argmax(devices.reshape(n, width), axis=1) if width else np.zeros(n, dtype=np.int64)
    keep = column == best[pos]
    entries, pos, summary = entries[keep], pos[keep], summary[:, keep]
    exact = np.zeros(len(entries), dtype=bool)
    admission = admitted(ctx, entries)
    if admission is not None:
        every, some = admission
        entries, pos, summary, exact = entries[some], pos[some], summary[:, some], ~every[some]
    s = summary[:, ~exact]
    at = pos[~exact]
    nodes = group_sum(at, s[sm.COUNT], n)
    free = [group_sum(at, s[c], n) for c in (sm.ACC_SUM, sm.CPU_SUM, sm.MEM_SUM, sm.POD_SUM)]
    largest = [group_max(at, s[c], n) for c in (sm.ACC_MAX, sm.CPU_MAX, sm.MEM_MAX, sm.POD_MAX)]
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
