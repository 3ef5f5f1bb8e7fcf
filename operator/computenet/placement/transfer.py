"""What moving a task's data to each identifier takes: bytes, seconds and money, before anything moves.

For every identifier, each piece of the task's data (`demand.DataPiece`: an input, or the rest of
``spec.data.size``) is

- free where the identifier's region holds a copy (the data's own region, or a dataset's replica);
- otherwise moved from one copy: the one in the region nearest the identifier by its own latency map,
  ties (and unknown latencies) broken by region name: the rule the staging plan uses to pick the
  replica it copies (`computenet.data.staging`), so placement prices the copy that will be made.

Per region pair the figures come from two per-region facts, computed once per snapshot (`links`):

- **bandwidth**: a move from region A into identifier i runs at min(i's bandwidth, A's), where A's
  is the best bandwidth any identifier of A declares (the store's side of the link); without a
  figure for A, i's alone. An identifier that declares no bandwidth cannot say how long a move
  takes: its time is unknown (NaN). Seconds = bytes x 8 / (Gbit/s x 1e9), summed over the pieces
  (they share the identifier's link, so running them at once is no faster).
- **egress price**: what A's store charges per GiB moved out of it (``spec.storage.egressPricePerGiB``,
  in the declaring identifier's pricing currency). A's store is the one of its identifiers, first by
  name, that declares one: the store staging copies from (`computenet.tasks.staging.stager`). A
  region where no identifier declares a store has no known price: moving out of it costs an unknown
  amount (NaN).
  Cost = GiB moved x price, summed over the pieces; pieces from stores quoting different currencies
  cannot be added, and the cost is then unknown too (currency `MIXED`).

Pure and vectorised: one pass over the identifiers per piece (a task has at most 32 inputs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from computenet.placement.arrays import BoolArray, FloatArray, IntArray
from computenet.placement.demand import Data, DataPiece
from computenet.placement.resources import GIB
from computenet.placement.snapshot import Snapshot

NONE = -1
"""Currency of a cost where nothing moves."""
MIXED = -2
"""Currency of a cost made of pieces priced in different currencies (the cost is then unknown)."""


@dataclass(frozen=True, slots=True)
class Links:
    """Per region id of the snapshot: the best bandwidth out of it, and its store's egress price."""

    bandwidth_gbps: FloatArray
    """NaN where no identifier of the region declares a bandwidth."""
    egress_per_gib: FloatArray
    """NaN where no identifier of the region declares a store."""
    egress_currency: IntArray
    """Interned currency of `egress_per_gib`; -1 where unknown."""


@dataclass(frozen=True, slots=True)
class Moves:
    """Per identifier of the snapshot: what bringing the task's data into its region takes."""

    bytes: FloatArray
    """Bytes moved from another region (0 where every piece has a copy in the identifier's region)."""
    seconds: FloatArray
    """Transfer time in seconds; NaN unknown (no bandwidth)."""
    cost: FloatArray
    """Egress cost in `currency`; NaN unknown (no priced store at a source, or mixed currencies)."""
    currency: IntArray
    """Interned currency of `cost`; `NONE` where nothing moves, `MIXED` for several."""


def links(snapshot: Snapshot) -> Links:
    """The snapshot's per-region facts, computed once per identifier table and kept with the snapshot."""
    cache: dict[str, Links] = snapshot.__dict__.setdefault("_links", {})
    found = cache.get("links")
    if found is None:
        found = cache["links"] = _links(snapshot)
    return found


def _links(snapshot: Snapshot) -> Links:
    t = snapshot.table
    regions = max(len(snapshot.vocabulary.regions), 1)
    bandwidth = np.full(regions, np.nan)
    known = t.bandwidth_gbps > 0  # NaN (unknown) compares False
    np.fmax.at(bandwidth, t.region[known], t.bandwidth_gbps[known])
    price = np.full(regions, np.nan)
    currency = np.full(regions, NONE, dtype=np.int64)
    stores = np.flatnonzero(~np.isnan(t.egress_per_gib))  # in name order, as the snapshot keeps identifiers
    regions_of, first = np.unique(t.region[stores], return_index=True)  # each region's first store by name
    price[regions_of] = t.egress_per_gib[stores[first]]
    currency[regions_of] = t.egress_currency[stores[first]]
    return Links(bandwidth, price, currency)


def _sources(snapshot: Snapshot, piece: DataPiece) -> tuple[tuple[str, ...], IntArray]:
    """The piece's regions by name, and their snapshot region ids; -1 for a region no identifier knows."""
    table = snapshot.vocabulary.regions
    names = tuple(sorted(set(piece.regions)))
    return names, np.array([table.get(r, NONE) for r in names], dtype=np.int64)


def nearest(snapshot: Snapshot, piece: DataPiece, ids: IntArray) -> tuple[BoolArray, IntArray, IntArray]:
    """Per identifier in `ids`: whether its region holds a copy, and the copy a move would come from.

    The copy is given as its position in the piece's regions sorted by name, and as a region id
    (-1 for a region no identifier knows: its bandwidth and price are unknown). It is the copy
    nearest by the identifier's latency map, ties and unknown latencies broken by region name.
    """
    t = snapshot.table
    _, sources = _sources(snapshot, piece)
    holds = np.zeros(len(snapshot.vocabulary.regions) + 1, dtype=bool)  # the extra slot: "no such region"
    holds[sources[sources >= 0]] = True
    here: BoolArray = holds[t.region[ids]]
    if len(sources) == 1:
        at = np.zeros(len(ids), dtype=np.int64)
    else:
        latency = np.full((len(ids), len(sources)), np.inf)
        known = sources >= 0
        if known.any():
            latency[:, known] = t.latency_ms[np.ix_(ids, sources[known])]
        latency[np.isnan(latency)] = np.inf
        at = np.argmin(latency, axis=1)
    return here, at, sources[at]


def moves(snapshot: Snapshot, data: Data | None, ids: IntArray | None = None) -> Moves:
    """What moving `data` into each identifier's region takes (every identifier unless `ids`)."""
    t = snapshot.table
    ids = np.arange(len(snapshot), dtype=np.int64) if ids is None else ids
    n = len(ids)
    moved, seconds, cost = np.zeros(n), np.zeros(n), np.zeros(n)
    currency = np.full(n, NONE, dtype=np.int64)
    pieces = data.located() if data is not None else ()
    if not pieces:
        return Moves(moved, seconds, cost, currency)
    link = links(snapshot)
    own = t.bandwidth_gbps[ids]
    own = np.where(own > 0, own, np.nan)  # NaN stays NaN; a zero bandwidth moves nothing in any time
    for piece in pieces:
        here, _, source = nearest(snapshot, piece, ids)
        at = np.maximum(source, 0)
        unknown = source < 0
        far = link.bandwidth_gbps[at]
        price = link.egress_per_gib[at]
        quoted = link.egress_currency[at]
        if unknown.any():
            far, price, quoted = far.copy(), price.copy(), quoted.copy()
            far[unknown], price[unknown], quoted[unknown] = np.nan, np.nan, NONE
        gbps = np.where(np.isnan(far), own, np.minimum(own, far))  # np.minimum keeps an unknown own bandwidth NaN
        term = piece.size_bytes * 8e-9 / gbps
        term[here] = 0.0
        seconds += term
        term = piece.size_bytes / GIB * price
        term[here] = 0.0
        cost += term
        away = ~here
        moved[away] += piece.size_bytes
        first = away & (currency == NONE)
        currency[first] = quoted[first]
        currency[away & ~first & (currency != quoted)] = MIXED
    cost[currency == MIXED] = np.nan
    return Moves(moved, seconds, cost, currency)


def origins(snapshot: Snapshot, data: Data | None, ident: int) -> tuple[tuple[str, int], ...]:
    """For one identifier: (source region, bytes) of its moves, bytes added up per region; for details."""
    out: dict[str, int] = {}
    ids = np.array([ident], dtype=np.int64)
    for piece in data.located() if data is not None else ():
        here, at, _ = nearest(snapshot, piece, ids)
        if not here[0]:
            region = _sources(snapshot, piece)[0][int(at[0])]
            out[region] = out.get(region, 0) + piece.size_bytes
    return tuple(sorted(out.items()))
