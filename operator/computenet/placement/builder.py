"""How the member layer turns its watch events into snapshots: upsert, remove, `snapshot()`.

The reflector of each member calls `upsert_node` / `remove_node` on node events and
`set_requested` (or `add_requested` with a delta) as pods bind, change or terminate; the
identifier controller calls `upsert_identifier` / `remove_identifier`. Any of them may be
called at any rate; nothing is computed until `snapshot()` is asked for, and then only what
changed is recomputed:

- only requested amounts changed (the common case during a burst): the free columns are
  recomputed in one vector pass and the summaries of the identifiers owning the changed nodes are
  rebuilt; everything else is shared with the previous snapshot;
- nodes appeared, vanished, changed labels, taints, readiness or allocatable: the affected
  identifiers regroup their nodes and every entry summary is recomputed in one vector pass;
- nothing changed: the previous snapshot is returned as is.

The builder is not thread-safe; snapshots are immutable and may be shared freely.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from computenet.placement.accelerators import canonical
from computenet.placement.arrays import EMPTY_INT, IntArray, Interner, csr, frozen
from computenet.placement.identifiers import Identifier
from computenet.placement.nodes import NodeLike, selects
from computenet.placement.resources import CPU, MEMORY
from computenet.placement.snapshot import EntryTable, IdentifierTable, NodeColumns, Snapshot, Vocabulary
from computenet.placement.store import NodeStore
from computenet.placement.summary import WIDTH, summarize


@dataclass
class _Record:
    ident: Identifier
    rows: set[int] = field(default_factory=set)
    kinds: IntArray = field(default_factory=lambda: EMPTY_INT)
    groups: list[IntArray] = field(default_factory=list)


class SnapshotBuilder:
    def __init__(self) -> None:
        self._store = NodeStore()
        self._records: dict[str, _Record] = {}
        self._by_cluster: dict[str, set[str]] = {}
        self._regions: Interner[str] = Interner()
        self._providers: Interner[str] = Interner()
        self._currencies: Interner[str] = Interner()
        self._classes: Interner[str] = Interner()
        self._order_dirty = True
        self._static_dirty: set[str] = set()
        self._structure_dirty: set[str] = set()
        self._values_dirty: set[str] = set()
        self._last: Snapshot | None = None
        self._seen = (-1, -1)

    # ---- identifiers ----

    def upsert_identifier(self, ident: Identifier) -> None:
        old = self._records.get(ident.name)
        if old is not None and old.ident == ident:
            return
        if old is None or old.ident.cluster != ident.cluster or old.ident.node_selector != ident.node_selector:
            if old is not None:
                self._by_cluster[old.ident.cluster].discard(ident.name)
            self._by_cluster.setdefault(ident.cluster, set()).add(ident.name)
            record = _Record(ident, self._members(ident))
            self._records[ident.name] = record
            self._structure_dirty.add(ident.name)
        else:
            old.ident = ident
        self._order_dirty |= old is None
        self._static_dirty.add(ident.name)
        for region in (ident.region, *ident.network.latency_ms):
            self._regions.id(region)
        self._providers.id(ident.provider)
        if ident.pricing:
            self._currencies.id(ident.pricing.currency)
        self._classes.id(str(ident.compute_class))

    def remove_identifier(self, name: str) -> None:
        record = self._records.pop(name, None)
        if record is not None:
            self._by_cluster[record.ident.cluster].discard(name)
            self._order_dirty = True

    def _members(self, ident: Identifier) -> set[int]:
        store = self._store
        rows = store.rows.get(ident.cluster, {}).values()
        return {r for r in rows if self._selected(ident, r)}

    def _selected(self, ident: Identifier, row: int) -> bool:
        store = self._store
        labels = dict(store.label_sets.values[int(store.columns["labels"][row])])
        labels["kubernetes.io/hostname"] = store.hostnames[row]
        return selects(ident.node_selector, labels)

    # ---- nodes ----

    def upsert_node(self, cluster: str, node: NodeLike, requested: Mapping[str, int] | None = None) -> None:
        """Add or replace a node; `requested` defaults to the node's own `requested` if it has one."""
        if requested is None:
            requested = getattr(node, "requested", None) or {}
        change = self._store.upsert(cluster, node, requested)
        for name in self._by_cluster.get(cluster, ()):
            record = self._records[name]
            if change.static:
                member = self._selected(record.ident, change.row)
                if member or change.row in record.rows:
                    self._structure_dirty.add(name)
                (record.rows.add if member else record.rows.discard)(change.row)
            elif change.values and change.row in record.rows:
                self._values_dirty.add(name)

    def upsert_nodes(self, cluster: str, nodes: Iterable[NodeLike]) -> None:
        for node in nodes:
            self.upsert_node(cluster, node)

    def remove_node(self, cluster: str, name: str) -> None:
        row = self._store.remove(cluster, name)
        if row is None:
            return
        for ident in self._by_cluster.get(cluster, ()):
            record = self._records[ident]
            if row in record.rows:
                record.rows.discard(row)
                self._structure_dirty.add(ident)

    def remove_cluster(self, cluster: str) -> None:
        for name in list(self._store.rows.get(cluster, {})):
            self.remove_node(cluster, name)

    def set_requested(self, cluster: str, node: str, requested: Mapping[str, int]) -> None:
        """Replace what non-terminated pods request on a node (the reflector's running sum)."""
        row = self._require(cluster, node)
        resource = self._store.accelerator_resource(row)
        columns = self._store.columns
        current = (
            int(columns["cpu_req"][row]),
            int(columns["memory_req"][row]),
            int(columns["acc_req"][row]),
        )
        wanted = (
            requested.get(CPU, 0),
            requested.get(MEMORY, 0),
            requested.get(resource, 0) if resource else 0,
        )
        if current != wanted:
            self._store.add_requested(row, *(w - c for w, c in zip(wanted, current, strict=True)))
            self._touch(cluster, row)

    def add_requested(self, cluster: str, node: str, delta: Mapping[str, int]) -> None:
        """Add (or with negative amounts, subtract) a pod's requests on a node."""
        row = self._require(cluster, node)
        resource = self._store.accelerator_resource(row)
        self._store.add_requested(
            row, delta.get(CPU, 0), delta.get(MEMORY, 0), delta.get(resource, 0) if resource else 0
        )
        self._touch(cluster, row)

    def _require(self, cluster: str, node: str) -> int:
        row = self._store.find(cluster, node)
        if row is None:
            raise KeyError(f"unknown node {cluster}/{node}")
        return row

    def _touch(self, cluster: str, row: int) -> None:
        for name in self._by_cluster.get(cluster, ()):
            if row in self._records[name].rows:
                self._values_dirty.add(name)

    # ---- snapshots ----

    def snapshot(self) -> Snapshot:
        """An immutable view of everything upserted so far; cheap when little changed."""
        store, last = self._store, self._last
        versions = (store.static_version, store.values_version)
        dirty = self._order_dirty or self._static_dirty or self._structure_dirty or self._values_dirty
        if last is not None and not dirty and versions == self._seen:
            return last
        nodes = self._freeze_nodes(last, versions)
        vocabulary = self._vocabulary(last)
        records = self._ordered()
        table = self._table(last, records, vocabulary)
        entries = self._entries(last, records, nodes)
        snap = Snapshot(
            generation=(last.generation + 1) if last else 1,
            identifiers=tuple(r.ident for r in records),
            index={r.ident.name: i for i, r in enumerate(records)} if self._order_dirty or not last else last.index,
            nodes=nodes,
            vocabulary=vocabulary,
            table=table,
            entries=entries,
        )
        self._order_dirty = False
        self._static_dirty.clear()
        self._structure_dirty.clear()
        self._values_dirty.clear()
        self._seen = versions
        self._last = snap
        return snap

    def _ordered(self) -> list[_Record]:
        if self._order_dirty or self._last is None:
            return [self._records[n] for n in sorted(self._records)]
        return [self._records[i.name] for i in self._last.identifiers]

    def _freeze_nodes(self, last: Snapshot | None, versions: tuple[int, int]) -> NodeColumns:
        store, size = self._store, len(self._store.names)
        c = store.columns
        if last is not None and versions == self._seen:
            return last.nodes
        static_same = last is not None and versions[0] == self._seen[0] and len(last.nodes.names) == size
        if static_same and last is not None:
            old: Any = last.nodes
            static = {k: getattr(old, k) for k in ("cluster", "kind", "labels", "schedulable")}
            static |= {k: getattr(old, k) for k in ("cpu_alloc", "memory_alloc", "acc_alloc")}
            names, hostnames = old.names, old.hostnames
        else:
            static = {k: frozen(c[k][:size].copy()) for k in ("cluster", "kind", "labels", "schedulable")}
            static |= {k: frozen(c[k][:size].copy()) for k in ("cpu_alloc", "memory_alloc", "acc_alloc")}
            names, hostnames = tuple(store.names), tuple(store.hostnames)
        free = {f"{r}_free": frozen(c[f"{r}_alloc"][:size] - c[f"{r}_req"][:size]) for r in ("cpu", "memory", "acc")}
        return NodeColumns(**static, **free, names=names, hostnames=hostnames)

    def _vocabulary(self, last: Snapshot | None) -> Vocabulary:
        s = self._store
        sizes = (
            len(s.clusters),
            len(s.archs),
            len(s.models),
            len(s.taint_sets),
            len(s.label_sets),
            len(s.kinds),
        )
        if last is not None:
            v = last.vocabulary
            old = (
                len(v.clusters),
                len(v.archs),
                len(v.models),
                len(v.taint_sets),
                len(v.label_sets),
                len(v.kinds),
            )
            if old == sizes and (len(v.regions), len(v.providers), len(v.currencies), len(v.classes)) == (
                len(self._regions), len(self._providers), len(self._currencies), len(self._classes)
            ):  # fmt: skip
                return v
        return Vocabulary(
            clusters=tuple(s.clusters.values),
            archs=tuple(s.archs.values),
            models=tuple(s.models.values),
            taint_sets=tuple(s.taint_sets.values),
            label_sets=tuple(s.label_sets.values),
            kinds=tuple(s.kinds.values),
            regions={r: i for i, r in enumerate(self._regions.values)},
            providers={p: i for i, p in enumerate(self._providers.values)},
            currencies={c: i for i, c in enumerate(self._currencies.values)},
            classes={c: i for i, c in enumerate(self._classes.values)},
        )

    def _table(self, last: Snapshot | None, records: list[_Record], vocabulary: Vocabulary) -> IdentifierTable:
        width = (len(records), len(vocabulary.models), len(self._regions))
        rebuild = last is None or self._order_dirty
        if not rebuild and last is not None:
            t = last.table
            rebuild = (t.price_devices.shape[1], t.latency_ms.shape[1]) != width[1:]
        if not rebuild and not self._static_dirty and not self._structure_dirty and last is not None:
            return last.table
        columns = self._empty_table(*width) if rebuild else self._copy_table(last)
        touched = self._static_dirty | self._structure_dirty
        changed = range(len(records)) if rebuild else [i for i, r in enumerate(records) if r.ident.name in touched]
        for i in changed:
            self._fill_row(columns, i, records[i], vocabulary)
        return IdentifierTable(**{k: frozen(v) for k, v in columns.items()})

    @staticmethod
    def _empty_table(n: int, models: int, regions: int) -> dict[str, Any]:
        ints = ["ready", "cluster", "region", "provider", "currency", "compute_class", "failures"]
        ints += ["members", "schedulable"]
        floats = ("bandwidth_gbps", "price_cpu", "price_memory")
        columns: dict[str, Any] = {k: np.zeros(n, dtype=np.int64) for k in ints}
        columns |= {k: np.full(n, np.nan) for k in floats}
        columns["price_devices"] = np.full((n, models), np.nan)
        columns["latency_ms"] = np.full((n, regions), np.nan)
        return columns

    @staticmethod
    def _copy_table(last: Snapshot | None) -> dict[str, Any]:
        assert last is not None
        t = last.table
        return {k: getattr(t, k).copy() for k in IdentifierTable.__dataclass_fields__}

    def _fill_row(self, columns: dict[str, Any], i: int, record: _Record, vocabulary: Vocabulary) -> None:
        ident, store = record.ident, self._store
        columns["ready"][i] = ident.ready
        columns["cluster"][i] = store.clusters.id(ident.cluster)
        columns["region"][i] = self._regions.id(ident.region)
        columns["provider"][i] = self._providers.id(ident.provider)
        columns["failures"][i] = ident.recent_failures
        columns["compute_class"][i] = self._classes.id(str(ident.compute_class))
        bandwidth = ident.network.bandwidth_gbps
        columns["bandwidth_gbps"][i] = np.nan if bandwidth is None else bandwidth
        columns["latency_ms"][i, :] = np.nan
        for region, ms in ident.network.latency_ms.items():
            columns["latency_ms"][i, self._regions.id(region)] = ms
        pricing = ident.pricing
        columns["currency"][i] = self._currencies.id(pricing.currency) if pricing else -1
        cpu = pricing.per_cpu_core_hour if pricing else None
        memory = pricing.per_gib_hour if pricing else None
        columns["price_cpu"][i] = np.nan if pricing is None else (cpu or 0.0)
        columns["price_memory"][i] = np.nan if pricing is None else (memory or 0.0)
        prices = {canonical(m): p for m, p in pricing.per_accelerator_hour.items()} if pricing else {}
        row = columns["price_devices"][i]
        row[:] = np.nan
        for model, (_, name) in enumerate(vocabulary.models):
            if name is not None and name in prices:
                row[model] = prices[name]
        columns["members"][i] = len(record.rows)
        schedulable = store.columns["schedulable"]
        columns["schedulable"][i] = sum(int(schedulable[r]) for r in record.rows)

    def _group(self, record: _Record) -> None:
        """Split an identifier's schedulable nodes by kind: its entries."""
        c = self._store.columns
        rows = np.fromiter(record.rows, dtype=np.int64, count=len(record.rows))
        rows = rows[c["schedulable"][rows] == 1]
        kinds = c["kind"][rows]
        order = np.lexsort((rows, kinds))
        rows, kinds = rows[order], kinds[order]
        record.kinds, starts = np.unique(kinds, return_index=True)
        record.groups = np.split(rows, starts[1:]) if len(rows) else []

    def _entries(self, last: Snapshot | None, records: list[_Record], nodes: NodeColumns) -> EntryTable:
        free = (nodes.cpu_free, nodes.memory_free, nodes.acc_free)
        alloc = (nodes.cpu_alloc, nodes.memory_alloc, nodes.acc_alloc)
        if last is None or self._order_dirty or self._structure_dirty:
            for record in records:
                if record.ident.name in self._structure_dirty or last is None or not record.groups:
                    self._group(record)
            ident_indptr, _ = csr([np.zeros(len(r.groups), dtype=np.int64) for r in records])
            groups = [g for r in records for g in r.groups]
            indptr, rows = csr(groups)
            kind = np.concatenate([r.kinds for r in records]).astype(np.int64) if records else EMPTY_INT
            ident = np.repeat(np.arange(len(records), dtype=np.int64), np.diff(ident_indptr))
            summary = summarize(indptr, rows, np.arange(len(groups), dtype=np.int64), free, alloc)
            return EntryTable(*(frozen(a) for a in (ident, kind, indptr, rows, ident_indptr, summary)))
        e = last.entries
        if not self._values_dirty and nodes is last.nodes:
            return e
        positions = np.array([last.index[n] for n in self._values_dirty if n in last.index], dtype=np.int64)
        lo, hi = e.ident_indptr[positions], e.ident_indptr[positions + 1]
        dirty = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True)] or [EMPTY_INT]).astype(np.int64)
        summary = e.summary.copy()
        summary[dirty] = summarize(e.indptr, e.rows, dirty, free, alloc)
        return EntryTable(e.ident, e.kind, e.indptr, e.rows, e.ident_indptr, frozen(summary))


__all__ = ["WIDTH", "SnapshotBuilder"]
