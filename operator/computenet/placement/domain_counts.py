"""What each interconnect domain holds of a gang, and the identifier each domain's decision would choose.

`topology` decides a gang in one domain by the rule "the task placed once per domain, the best
fitting domain wins". Placing it once per domain costs a whole decision each; this module answers
the same question from one pass over the nodes of the identifiers that fit the task at all, as
Kueue's Topology Aware Scheduling counts a pod set per domain (the pods each node fits, summed by
domain: KEP-2724, "Computing the assignment"):

- `held`: per (identifier, model column, domain), the replicas of the gang that its nodes admitted by
  the pod's node constraints hold after assumptions (`fit.scan`), summed over the domain's nodes.
  A domain narrows the pod's nodeSelector to its nodes and only takes nodes away, so the gang fits
  an identifier inside a domain exactly when that sum reaches it: the Resources filter's verdict in
  that domain's decision, node for node.
- `best`: the decision each domain would make, over the (identifier, domain) pairs where the gang
  fits, with the default scores, and the winner across domains. Under the conditions of `predicts`,
  every score is the identifier's own but Price, whose cheapest candidate is the domain's (Price is
  proportional to the cheapest candidate of the decision, see `scores.price`): so one pass ranks
  every domain's candidates, with the pipeline's arithmetic in its order (the same floats).
- `largest`: the most replicas one domain of an identifier holds, for the shortfall a required
  domain reports.

The winner is only a prediction: the member's gang order (`gang_order`) may pass a candidate
over under assumptions, which a count cannot see. `topology` decides the winning domain (among
the identifier it chooses, told the domain's cheapest cost: `Winner.cheapest`) and takes the old
rule when its choice differs.

Reading: without assumptions, what each entry's nodes hold per domain is counted once per
snapshot and template (`Remembered`), from the rows the decision's fit already read where no node
reached the gang size, and else from the nodes with at least a replica's devices free (the device
column alone is read for the others). Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from computenet.placement import fit
from computenet.placement.arrays import FloatArray, IntArray, spans
from computenet.placement.context import NOT_COMPUTED, Context
from computenet.placement.demand import Strategy
from computenet.placement.filters import DEFAULT_FILTERS
from computenet.placement.framework import Filter, Score
from computenet.placement.ranking import TIE_DECIMALS
from computenet.placement.scores import DEFAULT_SCORES
from computenet.placement.scores.fit import Fit
from computenet.placement.scores.locality import Locality
from computenet.placement.scores.preference import Preference
from computenet.placement.scores.price import Price
from computenet.placement.scores.reliability import Reliability
from computenet.placement.snapshot import Snapshot

_OWN_SCORES = (Locality, Reliability, Preference)
"""Score plugins whose value for an identifier is the same in every domain's decision."""


@dataclass(frozen=True, slots=True)
class Held:
    """(identifier, model column, domain) triples where the gang's nodes hold any replica, and how many.

    `ident` are snapshot indices, `domain` codes of `Vocabulary.label_column(key)`; `replicas` is
    the sum over the domain's admitted nodes of what each holds, each node counted at most at the gang
    size or not capped (when remembered): exact below the gang size, and at least it exactly when
    the gang fits.
    """

    ident: IntArray
    column: IntArray
    domain: IntArray
    replicas: IntArray


def held(ctx: Context, ids: IntArray, key: str) -> Held:
    """What the nodes of `ids` in each domain of label `key` hold of the gang of `ctx` (see module).

    Rows the decision of `ctx` already read are not read again (`fit.scanned`); without
    assumptions, what each entry's nodes hold per domain is remembered on the snapshot (`_remembered`).
    """
    entries, pos, column = fit.usable_entries(ctx, ids)
    codes, values = ctx.snapshot.vocabulary.label_column(key)
    count = max(len(values), 1)
    memo = _remembered(ctx, key)
    if memo is None:
        rows, seg, slots = fit.scanned(ctx, entries)
        domain = codes[ctx.snapshot.nodes.labels[rows]]
        keep = (domain >= 0) & (slots > 0)
        at, domain, replicas = seg[keep], domain[keep], slots[keep]
    else:
        missing = entries[memo.start[entries] < 0]
        if len(missing):
            rows, seg, slots = _read_uncapped(ctx, missing)
            memo.add(missing, seg, codes[ctx.snapshot.nodes.labels[rows]], slots, count)
        found, at = spans(memo.start[entries], memo.stop[entries])
        domain, replicas = memo.domain[found], memo.replicas[found]
    width = len(ctx.columns)
    pair = (ids[pos[at]] * width + column[at]) * count + domain
    triples, where = np.unique(pair, return_inverse=True)
    total = np.bincount(where, weights=replicas, minlength=len(triples)).astype(np.int64)
    return Held(triples // count // width, triples // count % width, triples % count, total)


def _read_uncapped(ctx: Context, entries: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Rows of `entries` that may hold a replica: (rows, position of each row's entry in `entries`, slots at no cap).

    An entry the decision of `ctx` read row by row once (`fit._scans`: its fit was unsure), with
    every row below the gang size, is taken from that read: its slots, capped at the gang size, are
    the uncapped ones. The others are read (`_scan_roomy`). Only without assumptions or DRA claims.
    """
    scans = fit._scans(ctx)
    if not scans:
        return _scan_roomy(ctx, entries)
    size = len(ctx.snapshot.entries.kind)
    done = np.concatenate([s[0] for s in scans])
    owner = np.concatenate([s[2] for s in scans])
    slots = np.concatenate([s[3] for s in scans])
    reusable = np.bincount(done, minlength=size) == 1
    reusable[owner[slots >= ctx.replicas]] = False
    where = np.full(size, -1, dtype=np.int64)
    where[entries] = np.arange(len(entries))
    taken = reusable & (where >= 0)
    keep = taken[owner] & (slots > 0)
    rest = np.flatnonzero(~taken[entries])
    rows, seg, more = _scan_roomy(ctx, entries[rest])
    return (
        np.concatenate((np.concatenate([s[1] for s in scans])[keep], rows)),
        np.concatenate((where[owner[keep]], rest[seg])),
        np.concatenate((slots[keep], more)),
    )


def _scan_roomy(ctx: Context, entries: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """`fit.scan(ctx, entries, cap=fit.UNCAPPED)` over the rows `EntryTable.reading_order` gives.

    Rows with fewer free devices than a replica needs hold none and are not read (most nodes of a
    busy pool have fewer free than a gang's replica asks). Only without assumptions or DRA claims
    (as `_remembered` reads), where a row's free amounts are the snapshot's.
    """
    order, start, stop = ctx.snapshot.entries.reading_order(entries, ctx.need.accelerators)
    at, seg = spans(start, stop)
    rows = order[at]
    selected = ctx.rows_selected(rows)
    if selected is not None:
        rows, seg = rows[selected], seg[selected]
    return rows, seg, fit.replica_slots(ctx, *fit.free_rows(ctx, rows), cap=fit.UNCAPPED)


class Remembered:
    """What the nodes of each entry read so far hold per domain, at no gang cap: (domain, replicas) pairs.

    Entry e's pairs are ``[start[e], stop[e])`` of `domain` and `replicas`; ``start[e]`` is -1 until
    the entry is read. Entries are read once each, and their pairs appended.
    """

    def __init__(self, entries: int) -> None:
        self.start: IntArray = np.full(entries, -1, dtype=np.int64)
        self.stop: IntArray = np.full(entries, -1, dtype=np.int64)
        self.domain: IntArray = np.zeros(0, dtype=np.int64)
        self.replicas: IntArray = np.zeros(0, dtype=np.int64)

    def add(self, entries: IntArray, seg: IntArray, domain: IntArray, slots: IntArray, count: int) -> None:
        """Keep what the rows of `entries` hold (`seg`: each row's position in `entries`; `domain` -1: none)."""
        keep = (domain >= 0) & (slots > 0)
        found, sums = pair_sums(seg[keep] * count + domain[keep], slots[keep], len(entries) * count)
        owner, base = found // count, len(self.domain)  # positions in `entries`, ascending
        positions = np.arange(len(entries))
        self.start[entries] = base + np.searchsorted(owner, positions, side="left")
        self.stop[entries] = base + np.searchsorted(owner, positions, side="right")
        self.domain = np.concatenate((self.domain, found % count))
        self.replicas = np.concatenate((self.replicas, sums))


DENSE_SHARE = 4
"""`pair_sums` counts in an array of every possible key when it is at most this many times the keys given."""


def pair_sums(keys: IntArray, values: IntArray, bound: int) -> tuple[IntArray, IntArray]:
    """(the distinct `keys` ascending, the sum of `values` over each), keys being in ``[0, bound)``.

    Counted in one array of `bound` slots when that is not much larger than `keys` (no sort), else
    by sorting. A key whose values sum to 0 is kept.
    """
    if bound <= DENSE_SHARE * len(keys):
        seen = np.bincount(keys, minlength=bound)
        found = np.flatnonzero(seen)
        sums: IntArray = np.bincount(keys, weights=values, minlength=bound)[found].astype(np.int64)
        return found, sums
    found, at = np.unique(keys, return_inverse=True)
    sums = np.bincount(at, weights=values, minlength=len(found)).astype(np.int64)
    return found, sums


SUMS_KEPT = 32
"""(needs, node constraints, label) whose per-domain sums a snapshot remembers."""


def _remembered(ctx: Context, key: str) -> Remembered | None:
    """What the entries read so far hold per domain of `key`, remembered on the snapshot; None when not kept.

    As `fit._entry_sums`: without assumptions, what a node holds depends only on the snapshot, one
    replica's needs and the pod's node constraints (a verdict per label set), not on the gang
    size (a sum at cap c is min(the uncapped sum, c)), so the tasks of one template read each entry
    once per snapshot. Not kept under assumptions, when the pod names nodes, or when it claims devices.
    """
    if not ctx.overlay.empty or not ctx.by_label_set or ctx.claims:
        return None
    label_ok = ctx.label_ok
    memo: dict[object, Remembered] = ctx.snapshot.__dict__.setdefault("_domain_sums", {})
    index = (fit.needs(ctx), None if label_ok is None else label_ok.tobytes(), key)
    found = memo.get(index)
    if found is None:
        if len(memo) >= SUMS_KEPT:
            del memo[next(iter(memo))]
        found = memo[index] = Remembered(len(ctx.snapshot.entries.kind))
    return found


def largest(ctx: Context, ids: IntArray, key: str) -> int:
    """The most replicas of the gang, short of all, that one domain of `key` on one of `ids` holds."""
    counted = held(ctx, ids, key).replicas
    return min(int(counted.max()), ctx.replicas - 1) if len(counted) else 0


def counts(ctx: Context, filters: Sequence[Filter]) -> bool:
    """Whether `held` gives the verdict of each domain's decision on the gang's fit, identifier by identifier.

    It does for the default filters (node by node, a domain only narrows the nodeSelector), a
    single gang, and no DRA claims (the Devices filter reads them per domain).
    """
    return filters is DEFAULT_FILTERS and not ctx.demand.pod_sets and not ctx.claims


def predicts(ctx: Context, filters: Sequence[Filter], scores: Sequence[Score]) -> bool:
    """Whether `best` decides as the pipeline would.

    It does where `counts` does, with the default scores, each of them the identifier's own in every
    domain but Fit and Price (which follow the model the gang runs on there) and Price's cheapest:
    so not with preferred node affinity, which scores the nodes of the domain.
    """
    if not counts(ctx, filters) or scores is not DEFAULT_SCORES:
        return False
    return all(isinstance(s, (*_OWN_SCORES, Fit, Price)) for s in scores if s.applies(ctx))


@dataclass(frozen=True, slots=True)
class Winner:
    """The domain whose decision wins, and what that decision would choose."""

    group: int
    """Position of the identifiers' group (their ladder) in the order they were tried."""
    domain: str
    ident: int
    score: float
    cheapest: float | None
    """What the Price score divides by in the domain's decision: its candidates' cheapest known cost,
    or the task's own floor (`Demand.cheapest`) if lower; None when neither is known."""


def best(ctx: Context, groups: Sequence[tuple[IntArray, str]], scores: Sequence[Score]) -> Winner | None:
    """The winning domain over `groups` of (identifiers fitting the task at all, label key), or None.

    Each domain's decision chooses its best identifier (ties to the first by name); the domain whose
    choice scores best wins, ties to the first group, then to the first domain by name: `topology`'s
    rule. Only valid where `predicts` holds.
    """
    parts: list[tuple[IntArray, IntArray, IntArray, IntArray, FloatArray]] = []
    names: list[tuple[str, ...]] = []
    floors: list[FloatArray] = []
    for g, (ids, key) in enumerate(groups):
        ident, domain, price, used = _chosen(ctx, held(ctx, ids, key))
        names.append(ctx.snapshot.vocabulary.label_column(key)[1])
        cost = _priced(ctx, ident, price)
        floors.append(_cheapest(domain, cost, ctx.demand.cheapest))
        total = _totals(ctx, ident, domain, cost, floors[-1], used, scores)
        parts.append((np.full(len(ident), g), _by_name(ctx.snapshot, key)[domain], domain, ident, total))
    if not any(len(p[3]) for p in parts):
        return None
    group, rank, domain, ident, total = (np.concatenate([p[i] for p in parts]) for i in range(5))
    rounded = np.round(total, TIE_DECIMALS)
    # the best total, then the first group, domain and identifier (a NaN total ranks last)
    tied = np.flatnonzero(rounded == rounded.max()) if not np.isnan(rounded).any() else np.arange(len(total))
    top = int(tied[np.lexsort((ident[tied], rank[tied], group[tied], -rounded[tied]))[0]])
    g, at = int(group[top]), int(domain[top])
    floor = float(floors[g][at])
    return Winner(g, names[g][at], int(ident[top]), float(total[top]), None if np.isinf(floor) else floor)


def _chosen(ctx: Context, counted: Held) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """(identifier, domain, price per hour, utilization) of the pairs that each domain's decision keeps.

    The gang fits a pair on the model columns whose count reaches it, and runs on the cheapest of
    them (unpriced after priced, ties to the first column: `fit.ensure`'s choice); the MaxPrice
    filter is asked of that model's price.
    """
    fits = counted.replicas >= ctx.replicas
    ident, column, domain = counted.ident[fits], counted.column[fits], counted.domain[fits]
    own, at = np.unique(ident, return_inverse=True)
    width = len(ctx.columns)
    prices = ctx.price(np.repeat(own, width), np.tile(ctx.columns, len(own))).reshape(len(own), width)
    price = prices[at, column]
    if width > 1:  # the cheapest model that fits, in each pair: the first of its triples by (rank, column)
        rank = np.where(np.isnan(price), fit._UNKNOWN_PRICE, price)
        order = np.lexsort((column, rank, domain, ident))
        first = np.ones(len(order), dtype=bool)
        first[1:] = (ident[order][1:] != ident[order][:-1]) | (domain[order][1:] != domain[order][:-1])
        keep = np.sort(order[first])
        ident, column, domain, price, at = ident[keep], column[keep], domain[keep], price[keep], at[keep]
    used = _utilization(ctx, own)[at, column]
    limit, currency = ctx.demand.constraints.max_price_per_hour, ctx.demand.constraints.currency
    if limit is not None:  # `filters.price.MaxPrice`, on the model of the pair
        ok = ~np.isnan(price) & ~(price > limit)
        if currency is not None:
            quoted = ctx.snapshot.table.currency[ident]
            ok &= (quoted < 0) | (quoted == ctx.snapshot.vocabulary.currencies.get(currency, -2))
        ident, domain, price, used = ident[ok], domain[ok], price[ok], used[ok]
    return ident, domain, price, used


def _utilization(ctx: Context, own: IntArray) -> FloatArray:
    """`fit.utilization(ctx, own)`: what the decision of `ctx` kept of it when the task has one model column.

    With one column, the fit kept each computed identifier's utilization at it (summaries do not
    depend on the domain, so neither does utilization); with several, it kept only the chosen one's.
    """
    if len(ctx.columns) == 1 and not (ctx.fit_model[own] == NOT_COMPUTED).any():
        kept: FloatArray = ctx.fit_utilization[own].reshape(len(own), 1)
        return kept
    return fit.utilization(ctx, own)


def _totals(
    ctx: Context,
    ident: IntArray,
    domain: IntArray,
    cost: FloatArray,
    cheapest: FloatArray,
    used: FloatArray,
    scores: Sequence[Score],
) -> FloatArray:
    """Per (identifier, domain) pair where the gang fits: its total in that domain's decision.

    `cost` per pair as Price sees it (`_priced`), `cheapest` per domain code (`_cheapest`). The
    pipeline's sum in its order (weight x value per applicable score, then divided by the weights),
    so that the totals are the same floats.
    """
    total: FloatArray = np.zeros(len(ident))
    if not len(ident):
        return total
    own, at = np.unique(ident, return_inverse=True)
    weights = 0.0
    for s in scores:
        if not s.applies(ctx):
            continue
        if isinstance(s, Price):
            values = _price(domain, cost, cheapest)
        elif isinstance(s, Fit):  # `scores.fit.Fit` on the pair's model
            values = 100.0 * (1.0 - used if ctx.demand.strategy is Strategy.SPREAD else used)
        else:
            values = s.score(ctx, own)[at]
        weight = float(getattr(ctx.demand.weights, s.weight))
        total += weight * values
        weights += weight
    if weights > 0:
        total /= weights
    return total


def _priced(ctx: Context, ident: IntArray, per_hour: FloatArray) -> FloatArray:
    """Each pair's cost as `scores.price.Price` reads it: NaN where unknown or quoted in another currency."""
    price = _cost(ctx, ident, per_hour)
    currency = ctx.demand.constraints.currency
    if currency is not None:
        price[ctx.snapshot.table.currency[ident] != ctx.snapshot.vocabulary.currencies.get(currency, -2)] = np.nan
    return price


def _cheapest(domain: IntArray, cost: FloatArray, floor: float | None) -> FloatArray:
    """Per domain code (up to the largest of `domain`): what the Price score divides by there.

    The cheapest known `cost` of the domain's pairs (each domain is one decision, whose Price score
    divides by its own cheapest candidate), or `floor` (the task's `Demand.cheapest`, the cheapest
    of every variant) if lower; inf where neither is known.
    """
    cheapest: FloatArray = np.full(int(domain.max()) + 1 if len(domain) else 0, np.inf)
    known = ~np.isnan(cost)
    np.minimum.at(cheapest, domain[known], cost[known])
    if floor is not None:
        cheapest = np.minimum(cheapest, floor)
    return cheapest


def _price(domain: IntArray, cost: FloatArray, cheapest: FloatArray) -> FloatArray:
    """`scores.price.Price` of each pair, against its domain's `cheapest`; 0 where the cost is not known."""
    known = ~np.isnan(cost)
    scores: FloatArray = np.zeros(len(cost))
    if known.any():
        own = cheapest[domain[known]]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(cost[known] == own, 1.0, own / cost[known])
        scores[known] = 100.0 * ratio
    return scores


def _cost(ctx: Context, ident: IntArray, per_hour: FloatArray) -> FloatArray:
    """`Context.total_cost` of each pair at its own price per hour (a fresh array)."""
    data = ctx.demand.data
    if data is None or not data.located():
        return per_hour.copy()
    m = ctx.data_moves
    cost, quoted = m.cost[ident], m.currency[ident]
    comparable = (quoted == ctx.snapshot.table.currency[ident]) & ~np.isnan(cost)
    return np.asarray(per_hour * data.hours + np.where(comparable, cost, 0.0), dtype=np.float64)


def _by_name(snapshot: Snapshot, key: str) -> IntArray:
    """Per domain code of label `key`: its rank among the label's values sorted by name (kept per vocabulary)."""
    cache: dict[str, IntArray] = snapshot.vocabulary.__dict__.setdefault("_domain_ranks", {})
    found = cache.get(key)
    if found is None:
        values = snapshot.vocabulary.label_column(key)[1]
        found = np.empty(len(values), dtype=np.int64)
        found[sorted(range(len(values)), key=values.__getitem__)] = np.arange(len(values))
        cache[key] = found
    return found
